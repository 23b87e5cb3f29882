"""The server's settings: ``initializationOptions`` first, then the client's
``workspace/configuration``
section ``ttune`` on top (both use the camelCase keys of :data:`KEYS`)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

Task = Literal["summarize", "assert", "translate"]
TASKS: tuple[Task, ...] = ("summarize", "assert", "translate")


@dataclass(frozen=True)
class Settings:
    """What the editor can set (key in the client's JSON in brackets)."""

    model: str | None = None
    """Backbone (``model``): a local folder or ``ttune-tiny``; default: each transducer's own."""
    transducer: dict[str, str] = field(default_factory=dict)
    """Trained method folder per task (``transducer``: {"summarize": DIR, "assert": DIR,
    "translate": DIR}); a task left out uses the built-in model for the file's language."""
    num_beams: int = 1
    """Beam width (``numBeams``); 1 (greedy) keeps the editor responsive."""
    device: str = "cpu"
    """Where models run (``device``): cpu, cuda, cuda:1, ..."""
    max_file_bytes: int = 1_000_000
    """Documents larger than this are refused (``maxFileBytes``)."""
    max_new_tokens: int | None = None
    """Most tokens generated per answer (``maxNewTokens``); None or 0: the model's own."""


KEYS = {
    "model": "model",
    "transducer": "transducer",
    "numBeams": "num_beams",
    "device": "device",
    "maxFileBytes": "max_file_bytes",
    "maxNewTokens": "max_new_tokens",
}


def _check(key: str, value: Any) -> Any:
    if key == "model":
        if not isinstance(value, str):
            raise ValueError("must be a string")
        return value or None
    if key == "transducer":
        if not isinstance(value, dict) or not all(
            k in TASKS and isinstance(v, str) for k, v in value.items()
        ):
            raise ValueError(f"must map tasks ({', '.join(TASKS)}) to folders")
        return {k: v for k, v in value.items() if v}
    if key == "device":
        if not isinstance(value, str) or not value:
            raise ValueError("must be a non-empty string")
        return value
    if key == "max_new_tokens" and value == 0:  # 0: the model's own
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError("must be a positive integer")
    return value


def merge(settings: Settings, options: Any) -> tuple[Settings, list[str]]:
    """``settings`` with the known keys of ``options`` (a dict; None and unknown keys ignored)
    applied; returns the new settings and one message per rejected value."""
    if not isinstance(options, dict):
        return settings, ([] if options is None else ["ttune settings must be an object"])
    changes, problems = {}, []
    for key, attr in KEYS.items():
        if options.get(key) is None:
            continue
        try:
            changes[attr] = _check(attr, options[key])
        except ValueError as e:
            problems.append(f"ttune.{key}: {e}")
    return replace(settings, **changes), problems
