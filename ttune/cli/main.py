"""The `ttune` command: a small entry module that maps command names to ttune.api calls.

Each area registers its commands from its own module (ttune/cli/<area>.py, a `register(app)`
function). Commands import ttune.api lazily so `ttune --help` starts fast.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import sys
from typing import Iterator

import typer

from ttune import __version__

app = typer.Typer(
    name="ttune",
    help="Transducer Tuning for code: code property graphs fused into a frozen code model.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Area modules, in --help order. A module that is not there yet is simply not registered.
_COMMAND_MODULES = ("use", "cpg", "backbone", "pretrain", "train", "data", "compare", "lsp")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ttune {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """Transducer Tuning for code models."""


for _name in _COMMAND_MODULES:
    if importlib.util.find_spec(f"ttune.cli.{_name}") is not None:
        importlib.import_module(f"ttune.cli.{_name}").register(app)


def fail(message: str, code: int = 1) -> "typer.Exit":
    """Print a one-line error to stderr and return the Exit to raise (no traceback)."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def one_line(exc: BaseException) -> str:
    """The first line of an error's message (its class name when the message is empty)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextlib.contextmanager
def errors_as_fail(*types: type[BaseException]) -> Iterator[None]:
    """Report an error of ``types`` (default ValueError, the base of every ttune error) raised in
    the block as one line on stderr with exit code 1, not a traceback."""
    try:
        yield
    except (types or (ValueError,)) as exc:
        raise fail(one_line(exc)) from None


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
