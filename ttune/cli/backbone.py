"""`ttune init-backbone`: a randomly initialised T5 or causal-LM backbone, made locally."""

from __future__ import annotations

from pathlib import Path

import typer


def init_backbone(
    output: Path = typer.Option(..., "--output", "-o", help="Folder to write the backbone to."),
    shape: str = typer.Option(
        "tiny",
        "--shape",
        help="T5: tiny, small, codet5p-220m, codet5p-770m; causal: tiny-llama, tiny-qwen2, "
        "tiny-starcoder2, tiny-gpt-bigcode, tiny-mamba, tiny-mamba2, qwen2.5-coder-0.5b, "
        "starcoder2-3b, mamba-130m.",
    ),
    tokenizer: str = typer.Option(
        "stdlib",
        "--tokenizer",
        help="'stdlib' (train a byte-level BPE on the Python standard library) or a saved "
        "tokenizer folder.",
    ),
    vocab_size: int = typer.Option(8000, "--vocab-size", help="Tokens of the stdlib tokenizer."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random weights and the file sample."),
) -> None:
    """Create a randomly initialised T5 or causal LM of a named shape, with no download (for
    trying the pipeline, tests and benchmarks; its outputs mean nothing until it is trained)."""
    from ttune import api
    from ttune.backbone import BackboneError, is_causal_shape
    from ttune.cli.main import fail

    try:
        path = api.init_backbone(
            output, shape=shape, tokenizer=tokenizer, vocab_size=vocab_size, seed=seed
        )
    except BackboneError as exc:
        raise fail(str(exc)) from None
    kind = "causal LM" if is_causal_shape(shape) else "T5"
    typer.echo(f"wrote a random {shape} {kind} backbone to {path}")


def register(app: typer.Typer) -> None:
    app.command("init-backbone")(init_backbone)
