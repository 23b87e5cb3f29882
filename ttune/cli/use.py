"""`ttune summarize`, `ttune assert`, `ttune translate`: the end-user commands.

Argument parsing only; the work is in ttune.api (ttune.use). Nothing heavy is imported until a
command runs, so `ttune summarize --help` does not load torch. Each result is printed as soon as
it is generated (a folder or a large file shows a progress bar on stderr while it runs).
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from tqdm import tqdm

from ttune.cli.errors import errors_as_fail
from ttune.cli.options import with_config
from ttune.cpg.languages import describe
from ttune.options import GenerationOptions
from ttune.use import MAX_BYTES, NOT_A_STATEMENT, SourceWarning

# The options all three commands share, declared once so their names and help stay the same.
ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model",
        help="Backbone: a local folder, a hub id, or ttune-tiny (the built-in one). "
        "Default: the transducer's own.",
    ),
]
TransducerOption = Annotated[
    Path | None,
    typer.Option(
        "--transducer",
        help="A trained method folder (ttune train's output). "
        "Default: the built-in model for this task.",
    ),
]
FunctionOption = Annotated[
    str | None,
    typer.Option("--function", "-f", help="Only this function: NAME, Class.NAME or NAME:LINE."),
]
MaxBytesOption = Annotated[
    int, typer.Option("--max-bytes", help="Refuse source files larger than this (as ttune cpg).")
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON list when every function is done.")
]


def _warn(message: Any, category: type, *args: Any, **kwargs: Any) -> None:
    if issubclass(category, SourceWarning):
        typer.echo(f"warning: {message}", err=True)


def _stream(
    results: Callable[..., Iterator[dict]],
    *args: Any,
    as_json: bool,
    line: Callable[[dict, bool], str],
    blank_between: bool = False,
    **kwargs: Any,
) -> None:
    """Print each result of ``results(*args, **kwargs)`` as it comes (``line(result, folder)``),
    or one JSON list at the end; skipped files and syntax errors go to stderr as one line each."""
    folder = Path(args[0]).is_dir()
    skipped: list[str] = []

    def on_skip(path: Path, reason: str) -> None:
        skipped.append(str(path))
        typer.echo(f"skipped {path}: {reason}", err=True)

    collected, n = [], 0
    with warnings.catch_warnings(), errors_as_fail(ValueError, OSError):
        warnings.simplefilter("always", SourceWarning)
        warnings.showwarning = _warn
        for r in results(*args, on_skip=on_skip, progress=sys.stderr.isatty(), **kwargs):
            n += 1
            if as_json:
                collected.append(r if folder else {k: v for k, v in r.items() if k != "file"})
                continue
            with tqdm.external_write_mode(file=sys.stdout):
                print(("\n" if blank_between and n > 1 else "") + line(r, folder), flush=True)
    if as_json:
        typer.echo(json.dumps(collected, indent=2, ensure_ascii=False))
    if folder and skipped and n == 0:
        raise typer.Exit(1)


def _where(r: dict, folder: bool) -> str:
    return (f"{r['file']}: " if folder else "") + f"{r['name']} (line {r['line']})"


@with_config(GenerationOptions, param="gen")
def summarize(
    gen: GenerationOptions,
    path: Path = typer.Argument(
        ..., help=f"A {describe(display=True)} source file, or a folder of them."
    ),
    function: FunctionOption = None,
    as_json: JsonOption = False,
    model: ModelOption = None,
    transducer: TransducerOption = None,
    max_bytes: MaxBytesOption = MAX_BYTES,
) -> None:
    """Summarize every function and method of PATH: one line each, NAME (line N): summary."""
    from ttune import api

    _stream(
        api.iter_summaries,
        path,
        function,
        model=model,
        transducer=transducer,
        max_bytes=max_bytes,
        as_json=as_json,
        line=lambda r, folder: f"{_where(r, folder)}: {r['summary']}",
        **asdict(gen),
    )


@with_config(GenerationOptions, param="gen")
def assert_(
    gen: GenerationOptions,
    test_path: Path = typer.Argument(
        ..., help=f"A test file ({describe(display=True)}), or a folder of them."
    ),
    function: Annotated[
        str | None,
        typer.Option(
            "--function",
            "-f",
            help="The test function: NAME, Class.NAME or NAME:LINE "
            "(default: every function named test...).",
        ),
    ] = None,
    focal: Path | None = typer.Option(
        None, "--focal", help="The file of the code under test (default: the test's own file)."
    ),
    as_json: JsonOption = False,
    model: ModelOption = None,
    transducer: TransducerOption = None,
    max_bytes: MaxBytesOption = MAX_BYTES,
) -> None:
    """Generate the assertion of each test function (at its "<AssertPlaceHolder>", else at its
    end)."""
    from ttune import api

    single = function is not None and not test_path.is_dir()
    if single:  # one named test of one file: the assertion alone, or one JSON object
        with errors_as_fail(ValueError, OSError):
            r = api.generate_assert(
                test_path,
                function,
                focal,
                model=model,
                transducer=transducer,
                max_bytes=max_bytes,
                **asdict(gen),
            )
        typer.echo(json.dumps(r, indent=2, ensure_ascii=False) if as_json else r["assertion"])
        if not as_json and not r["statement"]:
            typer.echo(f"note: {NOT_A_STATEMENT}", err=True)
        return
    _stream(
        api.iter_asserts,
        test_path,
        function,
        focal,
        model=model,
        transducer=transducer,
        max_bytes=max_bytes,
        as_json=as_json,
        line=lambda r, folder: (
            f"{_where(r, folder)}: {r['assertion']}"
            + ("" if r["statement"] else f"  ({NOT_A_STATEMENT})")
        ),
        **asdict(gen),
    )


@with_config(GenerationOptions, param="gen")
def translate(
    gen: GenerationOptions,
    path: Path = typer.Argument(
        ..., help=f"A {describe(display=True)} source file, or a folder of them."
    ),
    to: str = typer.Option(..., "--to", help=f"Target language: {describe()}."),
    function: FunctionOption = None,
    as_json: JsonOption = False,
    model: ModelOption = None,
    transducer: TransducerOption = None,
    max_bytes: MaxBytesOption = MAX_BYTES,
) -> None:
    """Translate each function of PATH into another language (one method at a time)."""
    from ttune import api
    from ttune.use import render_translation

    def line(r: dict, folder: bool) -> str:
        r = {**r, "name": _where(r, folder).rsplit(" (line", 1)[0]}
        return render_translation(r, to).rstrip("\n")

    _stream(
        api.iter_translations,
        path,
        to,
        function,
        model=model,
        transducer=transducer,
        max_bytes=max_bytes,
        as_json=as_json,
        line=line,
        blank_between=True,
        **asdict(gen),
    )


def register(app: typer.Typer) -> None:
    app.command("summarize")(summarize)
    app.command("assert")(assert_)
    app.command("translate")(translate)
