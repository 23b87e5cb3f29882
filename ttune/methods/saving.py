"""Saving and loading trained methods: a folder with ``method_config.json`` and
``method.safetensors`` (the trainable weights only), written atomically. Never pickle.

``method_config.json`` layout::

    {"format_version": 1,
     "config": {"method": "lora", "version": 1, "r": 8, ...},
     "backbone": {"model_type": "t5", "d_model": 768, "vocab_size": 32100, "num_layers": 12,
                  "name_or_path": "..."},
     "meta": {...}}
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from ttune.backbone import FINGERPRINT_KEYS, backbone_fingerprint
from ttune.io import atomic_file, atomic_write_text
from ttune.methods.base import AdaptedModel, CheckpointError, MethodConfigError, UnknownMethodError
from ttune.methods.registry import apply_method, config_from_dict

FORMAT_VERSION = 1
CONFIG_FILE = "method_config.json"
WEIGHTS_FILE = "method.safetensors"


def save_method(adapted: AdaptedModel, out_dir: str | Path, meta: dict | None = None) -> Path:
    """Write ``method_config.json`` and ``method.safetensors`` (trainable weights only) to
    ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    doc = {
        "format_version": FORMAT_VERSION,
        "config": adapted.config.to_dict(),
        "backbone": backbone_fingerprint(adapted.backbone),
        "meta": meta or {},
    }
    text = json.dumps(doc, indent=2, sort_keys=False) + "\n"
    sd = adapted.method_state_dict()
    with atomic_file(out / WEIGHTS_FILE) as tmp:
        save_file(sd, str(tmp), metadata={"format": "pt"})
    atomic_write_text(out / CONFIG_FILE, text)
    return out


def read_method_config(in_dir: str | Path) -> dict:
    """The parsed ``method_config.json`` of a saved method (CheckpointError if missing/corrupt)."""
    path = Path(in_dir) / CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(f"no {CONFIG_FILE} in {in_dir}")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"corrupt {path}: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("config"), dict):
        raise CheckpointError(f"corrupt {path}: no 'config' object")
    fv = doc.get("format_version")
    if fv != FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: format_version {fv!r} is not supported (expected {FORMAT_VERSION})"
        )
    return doc


def load_method(in_dir: str | Path, backbone: nn.Module, tokenizer=None) -> AdaptedModel:
    """Apply a saved method to ``backbone`` and load its weights. Errors:
    :class:`CheckpointError`."""
    in_dir = Path(in_dir)
    doc = read_method_config(in_dir)
    try:
        config = config_from_dict(doc["config"])
    except (UnknownMethodError, MethodConfigError) as e:
        raise CheckpointError(f"{in_dir / CONFIG_FILE}: {e}") from None
    saved, now = doc.get("backbone") or {}, backbone_fingerprint(backbone)
    diff = [k for k in FINGERPRINT_KEYS if saved.get(k) != now[k]]
    if diff:
        raise CheckpointError(
            "method was trained on another backbone: "
            + ", ".join(f"{k} {saved.get(k)!r} != {now[k]!r}" for k in diff)
        )
    if (
        saved.get("name_or_path")
        and now["name_or_path"]
        and saved["name_or_path"] != now["name_or_path"]
    ):
        warnings.warn(
            f"method was trained on {saved['name_or_path']!r}, loading onto "
            f"{now['name_or_path']!r}",
            stacklevel=2,
        )
    wpath = in_dir / WEIGHTS_FILE
    if not wpath.is_file():
        raise CheckpointError(f"no {WEIGHTS_FILE} in {in_dir}")
    try:
        sd = load_file(str(wpath))
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise CheckpointError(
            f"corrupt {wpath}: {str(e).splitlines()[0] if str(e) else type(e).__name__}"
        ) from None
    adapted = apply_method(backbone, config, tokenizer)
    adapted.load_method_state_dict(sd)
    return adapted
