"""`ttune pretrain`: pretrain a small T5 (or Mamba / Llama) backbone on local code, from scratch or
from a backbone (resumable).

Its options are the fields of :class:`ttune.pretrain.config.PretrainConfig`."""

from __future__ import annotations

import shlex
import sys

import typer

from ttune.cli.errors import errors_as_fail
from ttune.cli.options import Flag, comma_list, with_config
from ttune.pretrain.config import PretrainConfig, PretrainError

PRETRAIN_FLAGS = {
    "output_dir": Flag("output", "-o"),
    "num_layers": Flag("layers"),
    "num_heads": Flag("heads"),
    "sources": Flag(
        cli_type=str,
        default=None,
        parse=comma_list,
        help_extra="Separated by commas; default: all.",
    ),
}


def _command() -> dict:
    return {"command": "ttune pretrain " + " ".join(shlex.quote(a) for a in sys.argv[2:])}


@with_config(
    PretrainConfig,
    flags=PRETRAIN_FLAGS,
    skip=("command",),
    fixed=_command,
    errors=(PretrainError, ValueError),
)
def pretrain(config: PretrainConfig) -> None:
    """Train a byte-level BPE tokenizer and a small T5 (span corruption, prefix LM and the
    supervised tasks summarize, generate, translate, assert) on code from this machine and the
    training splits of the shared data sets, or continue a backbone (--init-from); the result is a
    backbone folder. --arch mamba / llama trains a decoder-only model instead (next-token
    prediction and the same tasks in the causal prompt layout)."""
    from ttune import api  # lazy: the run's modules (torch, transformers) load only when it runs

    with errors_as_fail(PretrainError, ValueError):
        path = api.pretrain(config)
    typer.echo(f"wrote the pretrained backbone to {path}")


def register(app: typer.Typer) -> None:
    app.command("pretrain")(pretrain)
