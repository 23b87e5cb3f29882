"""`ttune train`, `ttune predict`, `ttune info`: train a method, generate with it, describe it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ttune.cli.use import BeamsOption, DeviceOption

WorkersOption = Annotated[int, typer.Option("--workers", help="Processes extracting CPGs.")]


def _quiet_libraries() -> None:
    """Keep stderr for ttune's own progress bar and errors: no per-load bars or advice from
    transformers (they would bury the one-line error of a failed command)."""
    import os

    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except ImportError:
        pass


def _parse_options(items: list[str]) -> dict:
    """KEY=VALUE pairs; VALUE is read as JSON where it parses (8, 0.1, true, [..]), else a
    string."""
    out = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"--method-option {item!r}: expected KEY=VALUE")
        key, value = item.split("=", 1)
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def train(
    train_file: Path = typer.Option(
        ..., "--train", help="Training data (JSON lines: source, target, source_lang, target_lang)."
    ),
    output: Path = typer.Option(
        ..., "--output", "-o", help="Run folder; running the same command again resumes it."
    ),
    model: str = typer.Option(
        ..., "--model", help="Backbone: ttune-tiny (built-in), a local folder or a hub id."
    ),
    valid_file: Path | None = typer.Option(
        None, "--valid", help="Validation data (picks the best checkpoint)."
    ),
    task: str = typer.Option("summarize", "--task", help="summarize, assert, translate or custom."),
    method: str = typer.Option(
        "transducer", "--method", help="transducer, lora, prefix, prompt, linear, full, none, ..."
    ),
    method_option: list[str] = typer.Option(
        [], "--method-option", "-m", help="Method config field as KEY=VALUE (repeatable)."
    ),
    epochs: int = typer.Option(3, "--epochs", help="Passes over the training data."),
    max_steps: int | None = typer.Option(
        None, "--max-steps", help="Stop after this many optimizer steps."
    ),
    batch_size: int = typer.Option(8, "--batch-size", help="Examples per micro-batch."),
    grad_accum: int = typer.Option(1, "--grad-accum", help="Micro-batches per optimizer step."),
    lr: float = typer.Option(1e-3, "--lr", help="Peak learning rate (AdamW)."),
    weight_decay: float = typer.Option(0.0, "--weight-decay", help="AdamW weight decay."),
    warmup_ratio: float = typer.Option(
        0.0, "--warmup-ratio", help="Fraction of steps of linear warm-up."
    ),
    schedule: str = typer.Option("linear", "--schedule", help="linear or constant after warm-up."),
    max_grad_norm: float = typer.Option(
        1.0, "--max-grad-norm", help="Gradient clipping norm (0 = off)."
    ),
    max_source_len: int | None = typer.Option(
        None, "--max-source-len", help="Source tokens (default: the task's)."
    ),
    max_target_len: int | None = typer.Option(
        None, "--max-target-len", help="Target tokens (default: the task's)."
    ),
    max_train_records: int | None = typer.Option(
        None, "--limit", help="Use only the first N training records."
    ),
    seed: int = typer.Option(42, "--seed", help="Seed of every RNG and of the data order."),
    eval_every: int = typer.Option(
        0, "--eval-every", help="Validate and checkpoint every N steps (0 = every epoch)."
    ),
    save_every: int | None = typer.Option(
        None, "--save-every", help="Checkpoint every N steps (default: --eval-every)."
    ),
    patience: int = typer.Option(
        0, "--patience", help="Early stopping after N validations without improvement (0 = off)."
    ),
    metric: str = typer.Option(
        "loss", "--metric", help="Validation score for best/early stopping: loss or a metric name."
    ),
    num_beams: int = typer.Option(1, "--num-beams", help="Beam width when validation generates."),
    max_new_tokens: int | None = typer.Option(
        None,
        "--max-new-tokens",
        help="Tokens generated per example in validation (default: --max-target-len).",
    ),
    mixed_precision: str = typer.Option(
        "auto", "--mixed-precision", help="auto, no, bf16 or fp16."
    ),
    workers: WorkersOption = 1,
    cache_dir: Path | None = typer.Option(
        None, "--cache-dir", help="CPG cache (default: $TTUNE_CACHE or ~/.cache/ttune/cpg)."
    ),
    log_every: int = typer.Option(10, "--log-every", help="Log every N steps to log.jsonl."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Train METHOD on TRAIN; the best method (by validation) ends up in OUTPUT."""
    from ttune import api
    from ttune.cli.main import errors_as_fail
    from ttune.cpg.cache import default_cache_dir
    from ttune.train.config import TrainConfig

    _quiet_libraries()
    with errors_as_fail():
        config = TrainConfig(
            model=model,
            train_file=str(train_file),
            output_dir=str(output),
            task=task,
            method=method,
            method_options=_parse_options(method_option),
            valid_file=str(valid_file) if valid_file else None,
            epochs=epochs,
            max_steps=max_steps,
            batch_size=batch_size,
            grad_accum=grad_accum,
            lr=lr,
            weight_decay=weight_decay,
            warmup_ratio=warmup_ratio,
            schedule=schedule,
            max_grad_norm=max_grad_norm,
            max_source_len=max_source_len,
            max_target_len=max_target_len,
            max_train_records=max_train_records,
            seed=seed,
            eval_every=eval_every,
            save_every=save_every,
            early_stopping_patience=patience,
            early_stopping_metric=metric,
            num_beams=num_beams,
            max_new_tokens=max_new_tokens,
            mixed_precision=mixed_precision,
            num_workers=workers,
            cache_dir=str(cache_dir) if cache_dir else default_cache_dir(),
            log_every=log_every,
            progress=progress,
        )
        out = api.train(config)
    typer.echo(f"trained {method} -> {out}")


def predict(
    checkpoint: Path = typer.Option(
        ...,
        "--checkpoint",
        "-c",
        help="A trained method folder (a run's output, or checkpoints/step-N).",
    ),
    input_file: Path = typer.Option(
        ..., "--input", "-i", help="JSON lines with source (and target to score)."
    ),
    output: Path = typer.Option(
        ..., "--output", "-o", help="JSON lines {id, prediction, target} written here."
    ),
    model: str | None = typer.Option(
        None, "--model", help="Backbone (default: the one it was trained on)."
    ),
    task: str | None = typer.Option(
        None, "--task", help="Task (default: the one it was trained on)."
    ),
    batch_size: int = typer.Option(8, "--batch-size", help="Examples per batch."),
    num_beams: BeamsOption = 4,
    max_new_tokens: int | None = typer.Option(
        None, "--max-new-tokens", help="Most generated tokens per example."
    ),
    workers: WorkersOption = 1,
    device: DeviceOption = "cpu",
) -> None:
    """Generate a prediction for every record of INPUT (from the source only)."""
    from ttune import api
    from ttune.cli.main import errors_as_fail

    _quiet_libraries()
    with errors_as_fail():
        result = api.predict_file(checkpoint, input_file, output, model=model, task=task,
                                  batch_size=batch_size, num_beams=num_beams,
                                  max_new_tokens=max_new_tokens, num_workers=workers, device=device)
    scores = ", ".join(f"{k} {v:.4f}" for k, v in result["scores"].items())
    typer.echo(
        f"{result['records']} predictions -> {result['output']}"
        + (f" ({scores})" if scores else "")
    )


def info(
    directory: Path = typer.Argument(..., help="A trained method folder."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Describe a trained method: backbone, method, trainable parameters, data, scores."""
    from ttune import api
    from ttune.cli.main import errors_as_fail

    with errors_as_fail():
        d = api.checkpoint_info(directory)
    if as_json:
        typer.echo(json.dumps(d, indent=2, sort_keys=True))
        return
    data = d["data"]
    lines = [
        f"folder:     {d['path']}",
        f"backbone:   {d['backbone']}",
        f"method:     {d['method']} {json.dumps(d['method_config'], sort_keys=True)}",
        f"trainable:  {d['trainable_parameters']} parameters",
        f"task:       {d['task']}",
        f"data:       train {data['train_file']} ({data['train_records']} records)"
        + (
            f", valid {data['valid_file']} ({data['valid_records']} records)"
            if data["valid_file"]
            else ""
        ),
        f"step:       {d['step']}",
        "scores:     "
        + (
            ", ".join(
                f"{k} {v:.4f}" if isinstance(v, (int, float)) else f"{k} {v}"
                for k, v in sorted(d["scores"].items())
            )
            or "none"
        ),
    ]
    typer.echo("\n".join(lines))


def register(app: typer.Typer) -> None:
    app.command("train")(train)
    app.command("predict")(predict)
    app.command("info")(info)
