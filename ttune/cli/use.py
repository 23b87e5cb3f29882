"""`ttune summarize`, `ttune assert`, `ttune translate`: the end-user commands.

Argument parsing only; the work is in ttune.api (ttune.use). Nothing heavy is imported until a
command runs, so `ttune summarize --help` does not load torch.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from ttune.cpg.languages import describe

T = TypeVar("T")

# The options all three commands share, declared once so their names and help stay the same
# (`ttune predict` takes the same --num-beams and --device).
ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model",
        help="Backbone: a local folder, a hub id, or ttune-tiny (the built-in one). Default: the "
             "transducer's own.",
    ),
]
TransducerOption = Annotated[
    Path | None,
    typer.Option(
        "--transducer",
        help="A trained method folder (ttune train's output). Default: the built-in model for this "
             "task.",
    ),
]
BeamsOption = Annotated[int, typer.Option("--num-beams", help="Beam width.")]
DeviceOption = Annotated[str, typer.Option("--device", help="cpu, cuda, cuda:1, ...")]


def _quiet_libraries() -> None:
    """Keep stderr for ttune's one-line errors: no load bars or advice from transformers."""
    import os

    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault(
        "HF_HUB_DISABLE_PROGRESS_BARS", "1"
    )  # also transformers' "Loading weights" bar


def _call(api_function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a command's ttune.api function with quiet libraries; a bad input (ValueError) or an
    unreadable file (OSError) ends the command with one line and exit code 1."""
    from ttune.cli.main import errors_as_fail

    _quiet_libraries()
    with errors_as_fail(ValueError, OSError):
        return api_function(*args, **kwargs)


def summarize(
    file: Path = typer.Argument(..., help=f"A {describe(display=True)} source file."),
    function: Optional[str] = typer.Option(None, "--function", "-f", help="Only this function: NAME, Class.NAME or NAME:LINE."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list of {name, line, summary}."),
    model: ModelOption = None,
    transducer: TransducerOption = None,
    num_beams: BeamsOption = 4,
    device: DeviceOption = "cpu",
) -> None:
    """Summarize every function and method of FILE: one line each, NAME (line N): summary."""
    from ttune import api

    results = _call(api.summarize_file, file, function, model=model, transducer=transducer,
                    num_beams=num_beams, device=device)
    if as_json:
        typer.echo(json.dumps(results, indent=2, ensure_ascii=False))
        return
    for r in results:
        typer.echo(f"{r['name']} (line {r['line']}): {r['summary']}")


def assert_(
    test_file: Path = typer.Argument(..., help=f"A test file ({describe(display=True)})."),
    function: str = typer.Option(..., "--function", "-f", help="The test function: NAME, Class.NAME or NAME:LINE."),
    focal: Optional[Path] = typer.Option(None, "--focal", help="The file of the code under test (default: the test file)."),
    as_json: bool = typer.Option(False, "--json", help="Print {name, line, focal, assertion} as JSON."),
    model: ModelOption = None,
    transducer: TransducerOption = None,
    num_beams: BeamsOption = 4,
    device: DeviceOption = "cpu",
) -> None:
    """Generate the assertion of test FUNCTION (at its "<AssertPlaceHolder>", else at its end)."""
    from ttune import api

    result = _call(
        api.generate_assert,
        test_file,
        function,
        focal,
        model=model,
        transducer=transducer,
        num_beams=num_beams,
        device=device,
    )
    typer.echo(json.dumps(result, indent=2, ensure_ascii=False) if as_json else result["assertion"])


def translate(
    file: Path = typer.Argument(..., help=f"A {describe(display=True)} source file."),
    to: str = typer.Option(..., "--to", help=f"Target language: {describe()}."),
    function: Optional[str] = typer.Option(None, "--function", "-f", help="Only this function: NAME, Class.NAME or NAME:LINE."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list of {name, line, translation}."),
    model: ModelOption = None,
    transducer: TransducerOption = None,
    num_beams: BeamsOption = 4,
    device: DeviceOption = "cpu",
) -> None:
    """Translate each function of FILE into another language (one method at a time)."""
    from ttune import api
    from ttune.use import render_translations

    results = _call(api.translate_file, file, to, function, model=model, transducer=transducer,
                    num_beams=num_beams, device=device)
    typer.echo(json.dumps(results, indent=2, ensure_ascii=False) if as_json
               else render_translations(results, to).rstrip("\n"))


def register(app: typer.Typer) -> None:
    app.command("summarize")(summarize)
    app.command("assert")(assert_)
    app.command("translate")(translate)
