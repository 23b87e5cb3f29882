"""How a command fails: one line on stderr (``error: ...``) and a non-zero exit, no traceback."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import typer


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print a one-line error to stderr and return the Exit to raise (no traceback)."""
    typer.echo(f"error: {one_line(message)}", err=True)
    return typer.Exit(code)


def one_line(exc: BaseException | str) -> str:
    """The first line of an error's message (its class name when the message is empty)."""
    text = str(exc).strip()
    if not text:
        return type(exc).__name__ if isinstance(exc, BaseException) else "failed"
    return text.splitlines()[0]


@contextlib.contextmanager
def errors_as_fail(*types: type[BaseException]) -> Iterator[None]:
    """Report an error of ``types`` (default ValueError, the base of every ttune error) raised in
    the block as one line on stderr with exit code 1, not a traceback."""
    try:
        yield
    except BrokenPipeError:  # not an input error: the reader of stdout went away (ttune.cli.main)
        raise
    except types or (ValueError,) as exc:  # noqa: B030 (a tuple of classes, built at call time)
        raise fail(one_line(exc)) from None
