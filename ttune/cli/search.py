"""`ttune search`: MambaPEFT's hybrid method search (Optuna TPE, two steps, resumable).

Its options are the fields of :class:`ttune.search.SearchConfig`."""

from __future__ import annotations

import json
import shlex
import sys

import typer

from ttune.cli.compare import parse_method_options
from ttune.cli.errors import errors_as_fail
from ttune.cli.options import Flag, comma_list, with_config
from ttune.cli.train import TASK_FLAG
from ttune.search import SearchConfig, SearchError


def parse_space(items: list[str]) -> dict[str, dict[str, list[int]]]:
    """METHOD.FIELD=LOW,HIGH pairs, e.g. lora.r=2,32."""
    out: dict[str, dict[str, list[int]]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        method, dot, name = key.strip().partition(".")
        try:
            low, high = (int(v) for v in value.split(","))
        except ValueError:
            low = high = None
        if not sep or not dot or low is None:
            raise ValueError(f"--space {item!r}: expected METHOD.FIELD=LOW,HIGH, e.g. lora.r=2,32")
        out.setdefault(method, {})[name] = [low, high]
    return out


def parse_range(text: str | None) -> tuple[float, float] | None:
    """LOW,HIGH -> (low, high); None stays None."""
    if text is None:
        return None
    try:
        low, high = (float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"--lr-scale-range {text!r}: expected LOW,HIGH, e.g. 0.1,5") from None
    return low, high


SEARCH_FLAGS = {
    "train_file": Flag("train"),
    "valid_file": Flag("valid"),
    "output_dir": Flag("output", "-o"),
    "task": TASK_FLAG,
    "candidates": Flag(
        cli_type=str, default=None, parse=comma_list, help_extra="Separated by commas."
    ),
    "method_options": Flag(
        "method-option",
        "-m",
        cli_type=list[str],
        parse=parse_method_options,
        help="Fixed config field of a candidate as METHOD.KEY=VALUE, e.g. lora.alpha=16 "
        "(repeatable).",
    ),
    "space": Flag(
        cli_type=list[str],
        parse=parse_space,
        help="Size range of a candidate's field as METHOD.FIELD=LOW,HIGH, e.g. lora.r=2,32 "
        "(repeatable; default: the method's own search_space).",
    ),
    "lr_scale_range": Flag(cli_type=str, default=None, parse=parse_range),
    "max_train_records": Flag("limit"),
    "num_workers": Flag("workers"),
}


def _command() -> dict:
    return {"command": "ttune search " + " ".join(shlex.quote(a) for a in sys.argv[2:])}


def _trial_line(rec: dict) -> str:
    head = f"step {rec['step']} trial {rec['slot']}"
    if rec["state"] != "complete":
        return f"{head}: pruned ({rec['reason']})"
    parts = " + ".join(p["method"] for p in rec["options"]["parts"])
    return (
        f"{head}: {parts}: validation loss {rec['objective']:.4f}, "
        f"{rec['trainable_parameters']:,} trainable"
    )


@with_config(
    SearchConfig,
    flags=SEARCH_FLAGS,
    skip=("command",),
    fixed=_command,
    errors=(SearchError, ValueError),
)
def search(config: SearchConfig) -> None:
    """Search the best combination of CANDIDATES (MambaPEFT's hybrid search, TPE): step 1 switches
    each on or off, step 2 tunes sizes, learning-rate multipliers and dropping one. Writes
    best.json (for ttune train --method hybrid --method-config), report.md and a plot into
    OUTPUT; the same command again resumes."""
    from ttune import api  # lazy: torch, transformers and optuna load only when it runs

    with errors_as_fail(SearchError, ValueError):
        summary = api.search(config, on_trial=lambda r: typer.echo(_trial_line(r), err=True))
    best = summary["best"]
    typer.echo(
        f"best: validation loss {best['objective']:.4f}, {best['trainable_parameters']:,} "
        f"trainable: {json.dumps(summary['best_config'], sort_keys=True)}"
    )
    typer.echo(f"report: {config.output_dir}/report.md")


def register(app: typer.Typer) -> None:
    app.command("search")(search)
