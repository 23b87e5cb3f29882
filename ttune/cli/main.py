"""The `ttune` command: a small entry module that maps command names to ttune.api calls.

Each area registers its commands from its own module (ttune/cli/<area>.py, a `register(app)`
function). Commands import ttune.api lazily so `ttune --help` starts fast.

Every failure, a bad option included, is one line on stderr (``error: ...``) and a non-zero exit
(:class:`TtuneGroup`); help shows flags without a value type and usage lines with FILE, not
``{file}`` (:class:`TtuneCommand`).
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import os
import re
import sys
import warnings
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

try:  # typer vendors click from 0.26 on; its exceptions are not click's
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover
    from click import exceptions as click_exceptions

from ttune import __version__, dist
from ttune.cli.errors import errors_as_fail, fail, one_line

__all__ = ["app", "main", "fail", "one_line", "errors_as_fail", "quiet_libraries"]


def _lazy_names(placeholder: str) -> str:
    """The names a help placeholder stands for, read from the registry at help time."""
    if placeholder == "{methods}":
        from ttune.methods import method_names

        return ", ".join(method_names())
    from ttune.tasks import task_names

    return ", ".join(task_names())


def _fill_help(text: str | None) -> str | None:
    if not text:
        return text
    for placeholder in ("{methods}", "{tasks}"):
        if placeholder in text:
            text = text.replace(placeholder, _lazy_names(placeholder))
    return text


class TtuneCommand(TyperCommand):
    """A command whose help has no ``<bool>`` type on flags, ``FILE`` rather than ``{file}`` in
    its usage line and registry names filled in."""

    def collect_usage_pieces(self, ctx: typer.Context) -> list[str]:
        pieces = super().collect_usage_pieces(ctx)
        return [re.sub(r"\{([\w-]+)\}", lambda m: m.group(1).upper(), p) for p in pieces]

    def format_help(self, ctx: typer.Context, formatter: Any) -> None:
        for param in self.get_params(ctx):
            if param.param_type_name == "option":
                param.help = _fill_help(param.help)
                if param.is_flag:
                    param.display_type_rich = lambda ctx: None  # type: ignore[method-assign]
        super().format_help(ctx, formatter)


class TtuneGroup(TyperGroup):
    """The command group: a usage error is one ``error: ...`` line with exit code 2."""

    def format_help(self, ctx: typer.Context, formatter: Any) -> None:
        for param in self.get_params(ctx):
            if param.param_type_name == "option" and param.is_flag:
                param.display_type_rich = lambda ctx: None  # type: ignore[method-assign]
        super().format_help(ctx, formatter)

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click_exceptions.ClickException as exc:
            message = one_line(exc.format_message()).replace("Value error, ", "")
            typer.echo(f"error: {message}", err=True)
            sys.exit(exc.exit_code)
        except typer.Abort:
            typer.echo("interrupted", err=True)
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    name="ttune",
    help="Transducer Tuning for code: code property graphs fused into a frozen code model.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=TtuneGroup,
)

# Area modules, in --help order. A module that is not there yet is simply not registered.
_COMMAND_MODULES = (
    "use",
    "cpg",
    "backbone",
    "pretrain",
    "train",
    "data",
    "compare",
    "search",
    "lsp",
)


def quiet_libraries() -> None:
    """Keep stderr for ttune's own progress bars and one-line errors: no load or save bars,
    advice or deprecation warnings from transformers and peft in user-facing commands."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # transformers' load/save bars too
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"(transformers|peft)(\.|$)")
    warnings.filterwarnings("ignore", category=FutureWarning, message=r".*gradient_checkpointing")
    if "transformers" in sys.modules:  # already imported (tests): its settings were read then
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ttune {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Transducer Tuning for code models."""
    quiet_libraries()


def _tidy(typer_app: typer.Typer) -> None:
    """Every command of ``typer_app`` (and its sub-apps) uses :class:`TtuneCommand` and has its
    description as one paragraph (docstring line breaks are not shown)."""
    for info in typer_app.registered_commands:
        if info.cls in (None, TyperCommand):
            info.cls = TtuneCommand
        doc = info.help or (info.callback.__doc__ if info.callback else None)
        if doc:
            paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", doc.strip())]
            info.help = "\n\n".join(paragraphs)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            if group.typer_instance.info.cls in (None, TyperGroup):
                group.typer_instance.info.cls = TtuneGroup
            _tidy(group.typer_instance)


for _name in _COMMAND_MODULES:
    if importlib.util.find_spec(f"ttune.cli.{_name}") is not None:
        importlib.import_module(f"ttune.cli.{_name}").register(app)
_tidy(app)


def main() -> None:
    if not dist.is_main():  # one of several processes (torchrun): rank 0 prints the results
        sys.stdout = open(os.devnull, "w")  # for the life of the process
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:  # the reader went away (`ttune summarize big.py | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
    finally:
        # The process ends here. Frozen objects are out of the collector's reach, so the
        # interpreter's last collections at exit skip the objects torch created (over 100,000)
        # (atexit handlers and finalizers still run).
        gc.freeze()


if __name__ == "__main__":
    main()
