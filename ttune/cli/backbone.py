"""`ttune init-backbone`: a randomly initialised T5 backbone, made locally."""

from __future__ import annotations

from pathlib import Path

import typer


def init_backbone(
    output: Path = typer.Option(..., "--output", "-o", help="Folder to write the backbone to."),
    shape: str = typer.Option("tiny", "--shape", help="tiny, small, codet5p-220m or codet5p-770m."),
    tokenizer: str = typer.Option(
        "stdlib",
        "--tokenizer",
        help="'stdlib' (train a byte-level BPE on the Python standard library) or a saved "
        "tokenizer folder.",
    ),
    vocab_size: int = typer.Option(8000, "--vocab-size", help="Tokens of the stdlib tokenizer."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random weights and the file sample."),
) -> None:
    """Create a randomly initialised T5 of a named shape, with no download (for trying the
    pipeline, tests and benchmarks; its outputs mean nothing until it is trained)."""
    from ttune import api
    from ttune.backbone import BackboneError
    from ttune.cli.main import fail

    try:
        path = api.init_backbone(
            output, shape=shape, tokenizer=tokenizer, vocab_size=vocab_size, seed=seed
        )
    except BackboneError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"wrote a random {shape} T5 backbone to {path}")


def register(app: typer.Typer) -> None:
    app.command("init-backbone")(init_backbone)
