"""`ttune pretrain`: pretrain a small T5 backbone from scratch on local code (resumable)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import typer


def pretrain(
    output: Path = typer.Option(
        ...,
        "--output",
        "-o",
        help="Run folder; the backbone goes to OUTPUT/backbone. Run the same command again to "
             "resume.",
    ),
    shape: str = typer.Option(
        "ttune-tiny",
        "--shape",
        help="Model shape: ttune-tiny (d256, 4+4 layers), ttune-mini, tiny, small, codet5p-220m, "
             "codet5p-770m.",
    ),
    d_model: int | None = typer.Option(None, "--d-model", help="Override the shape's hidden size."),
    d_ff: int | None = typer.Option(None, "--d-ff", help="Override the shape's feed-forward size."),
    layers: int | None = typer.Option(
        None, "--layers", help="Override the shape's layers (encoder and decoder each)."
    ),
    heads: int | None = typer.Option(None, "--heads", help="Override the shape's attention heads."),
    max_steps: int = typer.Option(
        3000, "--max-steps", help="Optimizer steps of the whole run (the schedule spans them)."
    ),
    max_minutes: float | None = typer.Option(
        None,
        "--max-minutes",
        help="Wall-clock budget of this invocation; then checkpoint and write the backbone (rerun "
             "to continue).",
    ),
    corpus_bytes: int = typer.Option(
        48_000_000,
        "--corpus-bytes",
        help="Size cap of the corpus in bytes, shared equally by the sources.",
    ),
    sources: str | None = typer.Option(
        None,
        "--sources",
        help="Comma-separated corpus sources (default: all of python-stdlib, site-packages, jdk, "
             "codexglue-java-cs, avatar-java-python, code-docstring, tl-codesum, atlas).",
    ),
    vocab_size: int = typer.Option(
        12_000, "--vocab-size", help="Byte-level BPE vocabulary (with 100 <extra_id_*> sentinels)."
    ),
    seed: int = typer.Option(
        0, "--seed", help="Seed of the corpus sample, init, data order and noise."
    ),
    batch_size: int = typer.Option(32, "--batch-size", help="Windows per optimizer step."),
    input_length: int = typer.Option(
        256, "--input-length", help="Corpus tokens per window before span corruption."
    ),
    prefix_share: float = typer.Option(
        0.25,
        "--prefix-share",
        help="Share of steps training prefix LM (the decoder continues a window).",
    ),
    docstring_share: float = typer.Option(
        0.25,
        "--docstring-share",
        help="Share of steps training docstring generation on (code, docstring) pairs of the local "
             "sources; 0 turns it off.",
    ),
    docstring_pairs: int = typer.Option(
        60_000, "--docstring-pairs", help="Most (code, docstring) pairs collected."
    ),
    lr: float = typer.Option(2e-3, "--lr", help="Peak AdamW learning rate."),
    warmup_steps: int = typer.Option(200, "--warmup-steps", help="Linear warm-up steps."),
    schedule: str = typer.Option(
        "cosine", "--schedule", help="cosine, linear or constant after warm-up."
    ),
    checkpoint_every: int = typer.Option(
        200, "--checkpoint-every", help="Checkpoint (and held-out loss) every N steps."
    ),
    log_every: int = typer.Option(10, "--log-every", help="A log.jsonl line every N steps."),
    save_dtype: str = typer.Option(
        "float32",
        "--save-dtype",
        help="Storage dtype of the final backbone: float32, float16, bfloat16.",
    ),
    data_dir: Path | None = typer.Option(
        None,
        "--data-dir",
        help="Shared data sets folder (default $TTUNE_DATA_DIR or ../shared/datasets).",
    ),
    precision: str = typer.Option(
        "auto",
        "--precision",
        help="bf16 (autocast, float32 weights), fp32, or auto (bf16 where the hardware computes it "
             "natively).",
    ),
    threads: int | None = typer.Option(None, "--threads", help="torch CPU threads."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Train a byte-level BPE tokenizer and a small T5 (span corruption, prefix LM and docstring
    generation) on code from this machine and the training splits of the shared data sets; the
    result
    is a backbone folder."""
    from ttune import api
    from ttune.cli.main import errors_as_fail
    from ttune.pretrain.config import PretrainConfig, PretrainError

    with errors_as_fail(PretrainError):
        extra = {"sources": sources} if sources else {}
        config = PretrainConfig(
            output_dir=str(output),
            shape=shape,
            d_model=d_model,
            d_ff=d_ff,
            num_layers=layers,
            num_heads=heads,
            max_steps=max_steps,
            max_minutes=max_minutes,
            corpus_bytes=corpus_bytes,
            vocab_size=vocab_size,
            seed=seed,
            batch_size=batch_size,
            input_length=input_length,
            lr=lr,
            prefix_share=prefix_share,
            docstring_share=docstring_share,
            docstring_pairs=docstring_pairs,
            warmup_steps=warmup_steps,
            schedule=schedule,
            checkpoint_every=checkpoint_every,
            log_every=log_every,
            save_dtype=save_dtype,
            data_dir=str(data_dir) if data_dir else None,
            precision=precision,
            threads=threads,
            progress=progress,
            command="ttune pretrain " + " ".join(shlex.quote(a) for a in sys.argv[2:]),
            **extra,
        )
        path = api.pretrain(config)
    typer.echo(f"wrote the pretrained backbone to {path}")


def register(app: typer.Typer) -> None:
    app.command("pretrain")(pretrain)
