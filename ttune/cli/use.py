"""`ttune summarize`, `ttune assert`, `ttune translate`: the end-user commands.

Argument parsing only; the work is in ttune.api (ttune.use). Nothing heavy is imported until a
command runs, so `ttune summarize --help` does not load torch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

_MODEL_HELP = "Backbone: a local folder, a hub id, or ttune-tiny (the built-in one). Default: the transducer's own."
_TRANSDUCER_HELP = "A trained method folder (ttune train's output). Default: the built-in model for this task."


def _quiet_libraries() -> None:
    """Keep stderr for ttune's one-line errors: no load bars or advice from transformers."""
    import os

    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # also transformers' "Loading weights" bar


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def summarize(
    file: Path = typer.Argument(..., help="A Python, Java or C# source file."),
    function: Optional[str] = typer.Option(None, "--function", "-f", help="Only this function: NAME, Class.NAME or NAME:LINE."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list of {name, line, summary}."),
    model: Optional[str] = typer.Option(None, "--model", help=_MODEL_HELP),
    transducer: Optional[Path] = typer.Option(None, "--transducer", help=_TRANSDUCER_HELP),
    num_beams: int = typer.Option(4, "--num-beams", help="Beam width."),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda, cuda:1, ..."),
) -> None:
    """Summarize every function and method of FILE: one line each, NAME (line N): summary."""
    from ttune import api
    from ttune.cli.main import fail

    _quiet_libraries()
    try:
        results = api.summarize_file(file, function, model=model, transducer=transducer,
                                     num_beams=num_beams, device=device)
    except (ValueError, OSError) as exc:
        raise fail(_one_line(exc))
    if as_json:
        typer.echo(json.dumps(results, indent=2, ensure_ascii=False))
        return
    for r in results:
        typer.echo(f"{r['name']} (line {r['line']}): {r['summary']}")


def assert_(
    test_file: Path = typer.Argument(..., help="A test file (Java, Python or C#)."),
    function: str = typer.Option(..., "--function", "-f", help="The test function: NAME, Class.NAME or NAME:LINE."),
    focal: Optional[Path] = typer.Option(None, "--focal", help="The file of the code under test (default: the test file)."),
    as_json: bool = typer.Option(False, "--json", help="Print {name, line, focal, assertion} as JSON."),
    model: Optional[str] = typer.Option(None, "--model", help=_MODEL_HELP),
    transducer: Optional[Path] = typer.Option(None, "--transducer", help=_TRANSDUCER_HELP),
    num_beams: int = typer.Option(4, "--num-beams", help="Beam width."),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda, cuda:1, ..."),
) -> None:
    """Generate the assertion of test FUNCTION (at its "<AssertPlaceHolder>", else at its end)."""
    from ttune import api
    from ttune.cli.main import fail

    _quiet_libraries()
    try:
        result = api.generate_assert(test_file, function, focal, model=model, transducer=transducer,
                                     num_beams=num_beams, device=device)
    except (ValueError, OSError) as exc:
        raise fail(_one_line(exc))
    typer.echo(json.dumps(result, indent=2, ensure_ascii=False) if as_json else result["assertion"])


def translate(
    file: Path = typer.Argument(..., help="A Java, Python or C# source file."),
    to: str = typer.Option(..., "--to", help="Target language: csharp, python or java."),
    function: Optional[str] = typer.Option(None, "--function", "-f", help="Only this function: NAME, Class.NAME or NAME:LINE."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list of {name, line, translation}."),
    model: Optional[str] = typer.Option(None, "--model", help=_MODEL_HELP),
    transducer: Optional[Path] = typer.Option(None, "--transducer", help=_TRANSDUCER_HELP),
    num_beams: int = typer.Option(4, "--num-beams", help="Beam width."),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda, cuda:1, ..."),
) -> None:
    """Translate each function of FILE into another language (one method at a time)."""
    from ttune import api
    from ttune.cli.main import fail
    from ttune.use import render_translations

    _quiet_libraries()
    try:
        results = api.translate_file(file, to, function, model=model, transducer=transducer,
                                     num_beams=num_beams, device=device)
    except (ValueError, OSError) as exc:
        raise fail(_one_line(exc))
    typer.echo(json.dumps(results, indent=2, ensure_ascii=False) if as_json
               else render_translations(results, to).rstrip("\n"))


def register(app: typer.Typer) -> None:
    app.command("summarize")(summarize)
    app.command("assert")(assert_)
    app.command("translate")(translate)
