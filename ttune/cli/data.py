"""`ttune data convert|build|clean|significance` and `ttune eval`: data sets, hygiene and
evaluation.

Commands only parse arguments and call ttune.api; errors become one line on stderr and exit 1.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import asdict
from pathlib import Path

import typer

from ttune.cli.options import with_config
from ttune.options import GenerationOptions, RankerOptions

data_app = typer.Typer(
    help="Convert research data sets, build samples from real code, clean data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _fail(exc: BaseException) -> typer.Exit:
    from ttune.cli.main import fail

    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return fail(msg)


def _command(name: str, options: dict) -> str:
    """The command line that reproduces this call (rebuilt from the parsed options, so it is the
    same whether ttune ran from a shell or from a test runner)."""
    parts = ["ttune", name]
    for flag, value in options.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            if v is None or v is False:
                continue
            parts += [flag] if v is True else [flag, shlex.quote(str(v))]
    return " ".join(parts)


def _echo(obj: dict) -> None:
    typer.echo(json.dumps(obj, indent=2, ensure_ascii=False))


@data_app.command("convert")
def convert(
    fmt: str = typer.Option(
        ..., "--format", help="codexglue-trans, tl-codesum, code-docstring, atlas or avatar."
    ),
    input: Path = typer.Option(..., "--input", help="The data set's folder (or one of its files)."),
    output: Path = typer.Option(..., "--output", help="JSONL file to write."),
    split: str | None = typer.Option(
        None, "--split", help="Keep one split: train, dev or test (default: all)."
    ),
    reverse: bool = typer.Option(
        False, "--reverse", help="Swap source and target (e.g. Python -> Java)."
    ),
) -> None:
    """Convert a research data set into ttune's JSONL schema."""
    from ttune import api

    try:
        res = api.convert_dataset(fmt, input, output, split=split, reverse=reverse)
    except (ValueError, OSError) as exc:
        raise _fail(exc) from None
    if res["skipped"]:
        shown = "; ".join(f"{w}: {why}" for w, why in res["skipped_examples"][:5])
        typer.echo(f"skipped {res['skipped']} source line(s): {shown}", err=True)
    _echo(res)


@data_app.command("build")
def build(
    task: str = typer.Argument(..., help="summarize, assert or types."),
    source: Path = typer.Option(
        ..., "--source", help="Folder of source files (or a .zip such as openjdk's src.zip)."
    ),
    output: Path = typer.Option(..., "--output", help="JSONL file to write."),
    lang: str = typer.Option(
        "python",
        "--lang",
        help="python or java (assert: Python tests or JUnit tests in ATLAS's layout).",
    ),
    limit: int = typer.Option(200, "--limit", help="Records to build (0 = all)."),
    per_file: int = typer.Option(2, "--per-file", help="At most this many records from one file."),
) -> None:
    """Build task records from real code on this machine."""
    from ttune import api

    try:
        res = api.build_dataset(
            task, source, output, lang=lang, limit=limit or None, per_file=per_file
        )
    except (ValueError, OSError) as exc:
        raise _fail(exc) from None
    _echo(res)


@data_app.command("clean")
def clean(
    train: Path = typer.Option(..., "--train", help="Training JSONL (deduplicated)."),
    test: list[Path] = typer.Option(
        [],
        "--test",
        help="Test/dev JSONL, deduplicated and decontaminated against train (repeatable).",
    ),
    output_dir: Path = typer.Option(
        ..., "--output-dir", help="Folder for the cleaned files and hygiene_report.json."
    ),
    preset: str | None = typer.Option(
        None, "--preset", help="paper: at most 400 source tokens and 50 CPG nodes."
    ),
    threshold: float = typer.Option(
        0.8, "--threshold", help="Jaccard threshold of near-duplicates."
    ),
    no_near: bool = typer.Option(False, "--exact-only", help="Remove exact duplicates only."),
    near_min_tokens: int = typer.Option(
        0,
        "--near-min-tokens",
        help="Near-duplicate detection only for records with at least this many distinct tokens.",
    ),
    max_source_tokens: int | None = typer.Option(
        None, "--max-source-tokens", help="Length filter (tokens)."
    ),
    tokenizer: str | None = typer.Option(
        None, "--tokenizer", help="Tokenizer folder for the length filter (default: code tokens)."
    ),
    max_cpg_nodes: int | None = typer.Option(
        None, "--max-cpg-nodes", help="CPG size filter (nodes)."
    ),
    task: str = typer.Option(
        "custom", "--task", help="Task whose graph code the CPG filter measures."
    ),
) -> None:
    """Exact and near-duplicate removal, decontamination, optional length / graph-size filters."""
    from ttune import api

    try:
        rep = api.clean_dataset(
            train,
            test,
            output_dir,
            preset=preset,
            threshold=threshold,
            near_dedup=not no_near,
            near_min_tokens=near_min_tokens,
            max_source_tokens=max_source_tokens,
            tokenizer=tokenizer,
            max_cpg_nodes=max_cpg_nodes,
            task=task,
        )
    except (ValueError, OSError) as exc:
        raise _fail(exc) from None
    for f in rep["files"]:
        removed = ", ".join(f"{k} {v}" for k, v in f["removed"].items() if v)
        typer.echo(
            f"{f['role']:5s} {f['input']}: read {f['read']}, malformed {f['malformed']}, "
            f"removed [{removed or 'none'}], kept {f['kept']} -> {f['output']}"
        )
        if f["malformed"]:
            from ttune.data.io import describe_bad_lines

            typer.echo(describe_bad_lines(f["input"], f["malformed_lines"]), err=True)


@data_app.command("significance")
def significance(
    a: Path = typer.Option(..., "--a", help="Predictions file of system A (*.predictions.jsonl)."),
    b: Path = typer.Option(..., "--b", help="Predictions file of system B on the same records."),
    metric: str = typer.Option("smooth_bleu4", "--metric", help="Per-example metric to compare."),
    lang: str | None = typer.Option(None, "--lang", help="Target language (codebleu needs it)."),
) -> None:
    """Paired Wilcoxon signed-rank test with rank-biserial effect size."""
    from ttune import api

    try:
        _echo(api.compare_results(a, b, metric, lang=lang))
    except (ValueError, OSError) as exc:
        raise _fail(exc) from None


@with_config(GenerationOptions, param="gen")
def evaluate(
    gen: GenerationOptions,
    checkpoint: Path = typer.Option(..., "--checkpoint", "-c", help="Trained method folder."),
    task: str = typer.Option(..., "--task", help="summarize, assert, translate, types or custom."),
    test: Path = typer.Option(..., "--test", help="Test JSONL."),
    output: Path = typer.Option(
        ..., "--output", "-o", help="Results JSON to write (predictions go beside it)."
    ),
    limit: int | None = typer.Option(None, "--limit", help="Evaluate the first N records only."),
    metric: list[str] = typer.Option(
        [], "--metric", help="Metric (repeatable; default: the task's)."
    ),
    model: str | None = typer.Option(
        None, "--model", help="Backbone (ttune-tiny, a folder or a hub id) if not the checkpoint's."
    ),
) -> None:
    """Generate for the test records (sources only), score them, write the results file."""
    from ttune import api

    kw = {"model": model} if model else {}
    try:
        res = api.evaluate(
            checkpoint,
            task,
            test,
            output,
            limit=limit,
            metrics=metric or None,
            **asdict(gen),
            **kw,
            command=_command(
                "eval",
                {
                    "--checkpoint": checkpoint,
                    "--task": task,
                    "--test": test,
                    "--output": output,
                    "--limit": limit,
                    "--metric": metric,
                    "--num-beams": gen.num_beams,
                    "--batch-size": gen.batch_size,
                    "--max-new-tokens": gen.max_new_tokens,
                    "--device": gen.device,
                    "--copy-bias": gen.copy_bias,
                    "--repeat-penalty": gen.repeat_penalty,
                    "--model": model,
                },
            ),
        )
    except (ValueError, OSError) as exc:
        raise _fail(exc) from None
    if res.get("malformed_note"):
        typer.echo(res["malformed_note"], err=True)
    _echo(
        {
            "scores": res["scores"],
            "unavailable_metrics": res["unavailable_metrics"],
            "n_records": res["header"]["n_records"],
            "output": str(output),
        }
    )


@with_config(RankerOptions, param="options")
def fit_ranker(
    options: RankerOptions,
    checkpoint: Path = typer.Option(..., "--checkpoint", "-c", help="Trained method folder."),
    train: Path = typer.Option(
        ..., "--train", help="Training JSONL with targets (a training split, never a test one)."
    ),
    task: str = typer.Option("assert", "--task", help="A task that lists candidates (assert)."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Ranker JSON to write (default: <checkpoint>/ranker.json)."
    ),
    model: str | None = typer.Option(
        None, "--model", help="Backbone (ttune-tiny, a folder or a hub id) if not the checkpoint's."
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar on stderr."),
) -> None:
    """Fit the ranker with which a trained method chooses among its task's candidate targets
    (assert: the assertion forms over the test's values) and write it into the method's folder,
    where prediction reads it (docs/decoding.md, "Choosing among candidate assertions")."""
    from tqdm import tqdm

    from ttune import api

    bars: list = []  # made at the first report: nothing is drawn before the model scores

    def on_progress(done: int, total: int) -> None:
        if not bars:
            bars.append(
                tqdm(total=total, desc="scoring candidates", unit="test", disable=not progress)
            )
        bars[0].update(done - bars[0].n)

    try:
        res = api.fit_ranker(
            checkpoint,
            train,
            options=options,
            task=task,
            model=model,
            device=device,
            output=output,
            on_progress=on_progress,
        )
    except (ValueError, OSError) as exc:
        raise _fail(exc) from None
    finally:
        for bar in bars:
            bar.close()
    _echo(res)


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
    app.command("eval")(evaluate)
    app.command("fit-ranker")(fit_ranker)
