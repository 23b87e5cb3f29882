"""The built-in models and which model a command runs: the registry behind ``--model`` and
``--transducer`` defaults.

The package data folder ``ttune/models/`` (or ``$TTUNE_MODELS_DIR``) holds the ``ttune-tiny``
backbone and one transducer folder per task and language (``summarize-python``,
``summarize-java``, ``summarize-csharp``, ``assert-java``, ``assert-python``,
``translate-java-csharp``).
:func:`resolve_model` picks the transducer and backbone for a task: a trained method folder given
by the user (its backbone is ``model`` if given, else the one its train_config.json or
method_config.json names), else the built-in ones. ``model="ttune-tiny"`` names the built-in
backbone. Reads JSON files only.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path


class ModelNotFoundError(ValueError):
    """No model fits (none installed, a folder that is not a trained method). One line."""


BUILTIN_BACKBONE = "ttune-tiny"
"""Name of the built-in backbone (a folder of that name inside the models folder)."""

NO_BUILTIN = (
    "no built-in model is installed yet; pass --transducer DIR "
    "(and --model PATH if its backbone moved)"
)


@dataclass(frozen=True)
class ResolvedModel:
    """A transducer folder and the backbone to load it on."""

    transducer: Path
    """The trained method folder (method_config.json + method.safetensors)."""
    backbone: str
    """Local folder or hub id of the backbone."""
    builtin: bool
    """True when both come from the built-in models folder."""


def models_dir() -> Path:
    """Where the built-in models live: $TTUNE_MODELS_DIR, else the package's ``ttune/models``."""
    env = os.environ.get("TTUNE_MODELS_DIR")
    return Path(env) if env else Path(__file__).resolve().parent / "models"


def builtin_backbone() -> Path:
    """The built-in backbone's folder (``ttune-tiny`` in the models folder); ModelNotFoundError when
    absent."""
    folder = models_dir() / BUILTIN_BACKBONE
    if not folder.is_dir():
        raise ModelNotFoundError(NO_BUILTIN)
    return folder


def builtin_name(task: str, lang: str, target_lang: str | None = None) -> str:
    """Folder name of a built-in transducer: ``summarize-python``, ``translate-java-csharp``."""
    return f"{task}-{lang}" + (f"-{target_lang}" if target_lang else "")


def _backbone_of(folder: Path) -> str | None:
    """The backbone a trained method folder names (train_config.json's ``model``, else the
    ``name_or_path`` recorded in method_config.json)."""
    for name, get in (
        ("train_config.json", lambda d: d.get("model")),
        ("method_config.json", lambda d: (d.get("backbone") or {}).get("name_or_path")),
    ):
        path = folder / name
        if path.is_file():
            try:
                value = get(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, AttributeError):
                raise ModelNotFoundError(f"corrupt {path}") from None
            if value:
                return str(value)
    return None


def resolve_model(
    task: str,
    lang: str,
    model: str | None = None,
    transducer: str | os.PathLike | None = None,
    target_lang: str | None = None,
) -> ResolvedModel:
    """Which transducer and backbone run ``task`` on ``lang`` code (see the module docstring).
    Reads a few JSON files only; ModelNotFoundError (one line) when nothing fits."""
    root = models_dir()
    if model == BUILTIN_BACKBONE:
        model = str(builtin_backbone())
    if transducer is not None:
        folder = Path(transducer)
        if not folder.is_dir():
            raise ModelNotFoundError(f"transducer folder not found: {folder}")
        if not (folder / "method_config.json").is_file():
            raise ModelNotFoundError(
                f"{folder} is not a trained method folder (no method_config.json)"
            )
        backbone = model or _backbone_of(folder)
        if not backbone:
            raise ModelNotFoundError(f"{folder} does not name its backbone; pass --model PATH")
        if (
            backbone == BUILTIN_BACKBONE and not Path(backbone).exists()
        ):  # trained with --model ttune-tiny
            backbone = str(builtin_backbone())
        if model is None and Path(backbone).is_absolute() and not Path(backbone).exists():
            raise ModelNotFoundError(
                f"the backbone of {folder} is not at {backbone} any more; pass --model PATH"
            )
        return ResolvedModel(folder, backbone, False)
    if not root.is_dir() or not (root / BUILTIN_BACKBONE).is_dir():
        raise ModelNotFoundError(NO_BUILTIN)
    name = builtin_name(task, lang, target_lang)
    folder = root / name
    if not (folder / "method_config.json").is_file():
        have = sorted(p.name for p in root.iterdir() if (p / "method_config.json").is_file())
        raise ModelNotFoundError(
            f"no built-in model for {name}; built-in: {', '.join(have) or '(none)'}; "
            "pass --transducer DIR"
        )
    return ResolvedModel(folder, model or str(root / BUILTIN_BACKBONE), model is None)
