"""Loading entry points: the one way ttune reads its plugin groups (``ttune.methods``,
``ttune.tasks``, ``ttune.languages``; see docs/plugins.md).

An entry point names a module, which registers what it adds when it is imported, or a
zero-argument callable, which registers it or returns it. A plugin that fails to load is named
in a warning and skipped, so a broken package never breaks ttune.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any


def load_entry_points(eps: Iterable[Any], group: str) -> list[Any]:
    """Load each entry point of ``eps`` (from ``importlib.metadata.entry_points(group=group)``):
    its object, or what calling it returns when it is a callable that is not a class. Returns
    those values in order (a module's import, a registering callable's None included)."""
    out = []
    for ep in eps:
        try:
            obj = ep.load()
            if callable(obj) and not isinstance(obj, type):
                obj = obj()
        except Exception as e:  # whatever a broken plugin raises: name it and go on
            warnings.warn(
                f"{group} entry point {ep.name!r} ({ep.value}) failed to load: "
                f"{type(e).__name__}: {e}",
                stacklevel=3,
            )
            continue
        out.append(obj)
    return out
