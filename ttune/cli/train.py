"""`ttune train`, `ttune predict`, `ttune info`: train a method, generate with it, describe it."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from ttune.cli.errors import errors_as_fail
from ttune.cli.options import Flag, key_values, with_config
from ttune.options import GenerationOptions
from ttune.train.config import TrainConfig, with_method_config

WorkersOption = Annotated[int, typer.Option("--workers", help="Processes extracting CPGs.")]


def _method_names() -> list[str]:
    from ttune.methods import method_names  # lazy: loads torch; `ttune --help` does not

    return method_names()


def _task_names() -> list[str]:
    from ttune.tasks import task_names  # lazy: loads tree-sitter; `ttune --help` does not

    return task_names()


METHOD_FLAG = Flag(choices=_method_names, help_extra="One of: {methods}.")
TASK_FLAG = Flag(choices=_task_names, help_extra="One of: {tasks}.")

# How TrainConfig's fields appear on the command line where the field name is not the option.
TRAIN_FLAGS = {
    "train_file": Flag("train"),
    "valid_file": Flag("valid"),
    "output_dir": Flag("output", "-o"),
    "task": TASK_FLAG,
    "method": METHOD_FLAG,
    "method_options": Flag(
        "method-option",
        "-m",
        cli_type=list[str],
        parse=lambda items: key_values(items, "--method-option"),
        help="Method config field as KEY=VALUE, e.g. -m r=8 (repeatable).",
    ),
    "max_train_records": Flag("limit"),
    "early_stopping_patience": Flag("patience"),
    "early_stopping_metric": Flag("metric"),
    "num_workers": Flag("workers"),
}


@with_config(TrainConfig, flags=TRAIN_FLAGS)
def train(
    config: TrainConfig,
    method_config: Path | None = typer.Option(
        None,
        "--method-config",
        help='JSON file of the method\'s config ({"method": NAME, fields...}, e.g. the best.json '
        "of ttune search, or a trained method's method_config.json); -m options override it.",
    ),
) -> None:
    """Train METHOD on TRAIN; the best method (by validation) ends up in OUTPUT."""
    from ttune import api

    with errors_as_fail():
        if method_config is not None:
            config = with_method_config(config, method_config)
        out = api.train(config)
    typer.echo(f"trained {config.method} -> {out}")


@with_config(GenerationOptions, param="gen")
def predict(
    gen: GenerationOptions,
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
    workers: WorkersOption = 1,
) -> None:
    """Generate a prediction for every record of INPUT (from the source only)."""
    from ttune import api

    with errors_as_fail():
        result = api.predict_file(
            checkpoint,
            input_file,
            output,
            model=model,
            task=task,
            num_workers=workers,
            **asdict(gen),
        )
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
