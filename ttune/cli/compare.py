"""`ttune compare`: train and evaluate several methods x seeds on the same data, then report."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import typer


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


def progress_line(event) -> str:
    """One line of the progress display for a ttune.compare.ProgressEvent."""
    head = f"[{event.index}/{event.total}] {event.method} seed {event.seed}"
    left = (
        f" ({_duration(event.seconds_left)} left)"
        if event.seconds_left is not None
        else " (time left: known after the first run)"
    )
    if event.kind == "start":
        return f"{head}: training and evaluating{left}"
    if event.kind == "skip":
        return f"{head}: already finished, kept"
    if event.kind == "done":
        return f"{head}: done in {_duration(event.elapsed)}{left}"
    return f"{head}: FAILED: {event.message}"


def _command_line() -> str:
    """The command as typed (recorded in results.json); in-process calls only say so."""
    if sys.argv[1:2] == ["compare"]:
        return shlex.join(["ttune", *sys.argv[1:]])
    return "ttune compare (called in-process)"


def _pairs(items: list[str], what: str) -> list[tuple[str, str]]:
    out = []
    for item in items:
        if "=" not in item:
            raise ValueError(f"{what} {item!r}: expected NAME=VALUE")
        k, v = item.split("=", 1)
        out.append((k.strip(), v.strip()))
    return out


def parse_seeds(text: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise ValueError(
            f"--seeds {text!r}: expected integers separated by commas, e.g. 18,99"
        ) from None
    if not seeds:
        raise ValueError("--seeds: give at least one seed")
    return seeds


def parse_method_lr(items: list[str]) -> dict[str, float]:
    out = {}
    for k, v in _pairs(items, "--method-lr"):
        try:
            out[k] = float(v)
        except ValueError:
            raise ValueError(f"--method-lr {k}={v}: the learning rate is not a number") from None
    return out


def parse_method_options(items: list[str]) -> dict[str, dict]:
    """METHOD.KEY=VALUE pairs; VALUE is read as JSON where it parses, else kept as a string."""
    out: dict[str, dict] = {}
    for k, v in _pairs(items, "--method-option"):
        if "." not in k:
            raise ValueError(f"--method-option {k}={v}: expected METHOD.KEY=VALUE, e.g. lora.r=8")
        method, key = k.split(".", 1)
        try:
            value = json.loads(v)
        except json.JSONDecodeError:
            value = v
        out.setdefault(method, {})[key] = value
    return out


def compare(
    task: str = typer.Option(..., "--task", help="summarize, assert, translate or custom."),
    methods: str = typer.Option(
        "transducer,lora,prefix,prompt,linear,full,none",
        "--methods",
        help="Methods to compare, separated by commas (ablations too: transducer-no-ddg, ...).",
    ),
    model: str = typer.Option(
        ...,
        "--model",
        help="Backbone: ttune-tiny (built-in), a local folder or a hub id (the same for every "
        "run).",
    ),
    train_file: Path = typer.Option(..., "--train", help="Training data (JSON lines)."),
    valid_file: Path | None = typer.Option(
        None, "--valid", help="Validation data (best checkpoint, validation curves)."
    ),
    test_file: Path = typer.Option(
        ..., "--test", help="Test data (JSON lines) every run is scored on."
    ),
    output: Path = typer.Option(
        ..., "--output", "-o", help="Comparison folder; the same command again resumes it."
    ),
    seeds: str = typer.Option(
        "18,99", "--seeds", help="Seeds separated by commas; each method runs once per seed."
    ),
    max_steps: int | None = typer.Option(
        None, "--max-steps", help="Optimizer steps per run (overrides --epochs)."
    ),
    epochs: int = typer.Option(3, "--epochs", help="Passes over the training data per run."),
    batch_size: int = typer.Option(8, "--batch-size", help="Examples per micro-batch."),
    grad_accum: int = typer.Option(1, "--grad-accum", help="Micro-batches per optimizer step."),
    lr: float = typer.Option(
        1e-3, "--lr", help="Learning rate of every method without --method-lr."
    ),
    method_lr: list[str] = typer.Option(
        [],
        "--method-lr",
        help="Learning rate of one method as METHOD=LR, e.g. full=1e-4 (repeatable).",
    ),
    method_option: list[str] = typer.Option(
        [],
        "--method-option",
        "-m",
        help="Method config field as METHOD.KEY=VALUE, e.g. lora.r=8 (repeatable).",
    ),
    max_source_len: int | None = typer.Option(
        None, "--max-source-len", help="Source tokens (default: the task's)."
    ),
    max_target_len: int | None = typer.Option(
        None, "--max-target-len", help="Target tokens (default: the task's)."
    ),
    limit: int | None = typer.Option(
        None, "--limit", help="Use only the first N training records."
    ),
    test_limit: int | None = typer.Option(
        None, "--test-limit", help="Score only the first N test records."
    ),
    num_beams: int = typer.Option(1, "--num-beams", help="Beam width of test generation."),
    max_new_tokens: int | None = typer.Option(
        None,
        "--max-new-tokens",
        help="Tokens generated per test example (default: the target length).",
    ),
    eval_every: int = typer.Option(
        0, "--eval-every", help="Validate every N steps (0 = every epoch)."
    ),
    patience: int = typer.Option(
        0, "--patience", help="Early stopping after N validations without improvement (0 = off)."
    ),
    follow_bias: float = typer.Option(
        0.0,
        "--follow-bias",
        help="Train and decode every method under this follow bias (a task that copies from the "
        "source, such as translate; docs/decoding.md); 0 = the plain loss.",
    ),
    baseline: str = typer.Option(
        "transducer", "--baseline", help="Method the Wilcoxon tests compare the others with."
    ),
    test_metric: list[str] = typer.Option(
        [],
        "--test-metric",
        help="Metric of the Wilcoxon tests, e.g. codebleu (repeatable; the first is plotted; "
        "default: the task's headline).",
    ),
    mixed_precision: str = typer.Option(
        "auto", "--mixed-precision", help="auto, no, bf16 or fp16."
    ),
    device: str = typer.Option(
        "auto", "--device", help="Device of every run: auto, cpu, cuda, cuda:N or mps."
    ),
    workers: int = typer.Option(1, "--workers", help="Processes extracting CPGs."),
    cache_dir: Path | None = typer.Option(
        None, "--cache-dir", help="CPG cache (default: $TTUNE_CACHE or ~/.cache/ttune/cpg)."
    ),
    log_every: int = typer.Option(10, "--log-every", help="Training log line every N steps."),
    run_progress: bool = typer.Option(
        False, "--run-progress/--no-run-progress", help="Also show each run's training bar."
    ),
) -> None:
    """Train and evaluate every method x seed on the same data and budget; write results.csv,
    results.json, Wilcoxon tests, plots and report.md into OUTPUT."""
    from ttune import api
    from ttune.cli.main import errors_as_fail, fail
    from ttune.compare import CompareConfig
    from ttune.cpg.cache import default_cache_dir

    with errors_as_fail():
        config = CompareConfig(
            task=task,
            methods=methods,
            model=model,
            train_file=str(train_file),
            valid_file=str(valid_file) if valid_file else None,
            test_file=str(test_file),
            output_dir=str(output),
            seeds=parse_seeds(seeds),
            max_steps=max_steps,
            epochs=epochs,
            batch_size=batch_size,
            grad_accum=grad_accum,
            lr=lr,
            method_lr=parse_method_lr(method_lr),
            method_options=parse_method_options(method_option),
            max_source_len=max_source_len,
            max_target_len=max_target_len,
            max_train_records=limit,
            test_limit=test_limit,
            num_beams=num_beams,
            max_new_tokens=max_new_tokens,
            eval_every=eval_every,
            early_stopping_patience=patience,
            follow_bias=follow_bias,
            baseline=baseline,
            test_metrics=tuple(test_metric),
            mixed_precision=mixed_precision,
            device=device,
            cache_dir=str(cache_dir) if cache_dir else default_cache_dir(),
            num_workers=workers,
            log_every=log_every,
            progress=run_progress,
            command=_command_line(),
        )
        results = api.compare(config, on_event=lambda e: typer.echo(progress_line(e), err=True))
    metric = results["primary_metric"]
    for method, cols in results["summary"].items():
        tp = cols["trainable_parameters"]["mean"]
        s = cols.get(metric, {}) if metric else {}
        score = (
            f"{metric} {s['mean']:.2f}" + (f" ± {s['std']:.2f}" if s.get("std") is not None else "")
            if s.get("mean") is not None
            else "no score"
        )
        typer.echo(f"{method:24s} {int(tp) if tp is not None else '?':>12} trainable  {score}")
    typer.echo(f"report: {Path(config.output_dir) / 'report.md'}")
    failed = [r for r in results["runs"] if r.get("status") != "ok"]
    if failed:
        raise fail(f"{len(failed)} run(s) failed; see the report")


def register(app: typer.Typer) -> None:
    app.command("compare")(compare)
