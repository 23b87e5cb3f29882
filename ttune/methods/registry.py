"""One registry of adaptation methods: built-ins plus the ``ttune.methods`` entry-point group.

A method registers with one call, ``register_method(name, config_cls, apply_fn)``, where
``apply_fn(backbone, config, tokenizer) -> AdaptedModel``. Third-party packages declare an entry
point in the ``ttune.methods`` group whose object is either a module that calls
``register_method`` when imported or a zero-argument callable that does; entry points load
lazily, the first time an unknown name is looked up or the names are listed. A plugin that fails
to load is named in a warning and left out. See docs/plugins.md.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from ttune.methods.base import AdaptedModel, MethodConfig, MethodConfigError, UnknownMethodError
from ttune.plugins import load_entry_points

BUILTINS = (
    "none",
    "full",
    "linear",
    "lora",
    "prefix",
    "prompt",
    "transducer",
    "ablations",
    "adapter",
    "prompt_attention",
    "cpg_prompt",
    "xprompt",
    "topro",
    "hybrid",
    "mamba_lora",
    "mamba_partial",
    "mamba_affix",
    "mamba_scan",
    "mamba_adapter",
)
ENTRY_POINT_GROUP = "ttune.methods"


@dataclass(frozen=True)
class MethodSpec:
    name: str
    config_cls: type[MethodConfig]
    apply_fn: Callable[..., AdaptedModel]


_REGISTRY: dict[str, MethodSpec] = {}
_loaded = {"builtins": False, "entry_points": False}


def register_method(
    name: str, config_cls: type[MethodConfig], apply_fn: Callable[..., AdaptedModel]
) -> None:
    """Register a method. Re-registering the same name with another config class is an error."""
    if not (isinstance(config_cls, type) and issubclass(config_cls, MethodConfig)):
        raise MethodConfigError(f"method {name!r}: config class must subclass MethodConfig")
    if config_cls.name != name:
        raise MethodConfigError(f"method {name!r}: its config class says name={config_cls.name!r}")
    old = _REGISTRY.get(name)
    if old is not None and old.config_cls is not config_cls:
        raise MethodConfigError(f"method {name!r} is already registered")
    _REGISTRY[name] = MethodSpec(name, config_cls, apply_fn)


def _ensure_loaded(with_entry_points: bool) -> None:
    if not _loaded["builtins"]:
        _loaded["builtins"] = True
        for mod in BUILTINS:
            importlib.import_module(f"ttune.methods.{mod}")
    if with_entry_points and not _loaded["entry_points"]:
        _loaded["entry_points"] = True
        # Each entry point registers its method(s) when its module is imported or it is called.
        load_entry_points(entry_points(group=ENTRY_POINT_GROUP), ENTRY_POINT_GROUP)


def method_names() -> list[str]:
    """Every known method name, sorted."""
    _ensure_loaded(with_entry_points=True)
    return sorted(_REGISTRY)


def get_method(name: str) -> MethodSpec:
    """The registered method ``name``; unknown -> :class:`UnknownMethodError` listing known
    names."""
    _ensure_loaded(with_entry_points=False)
    if name not in _REGISTRY:
        _ensure_loaded(with_entry_points=True)
    if name not in _REGISTRY:
        raise UnknownMethodError(f"unknown method {name!r}; known: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def config_from_dict(d: dict[str, Any]) -> MethodConfig:
    """Rebuild the config of any registered method from its ``to_dict`` output."""
    if not isinstance(d, dict) or "method" not in d:
        raise MethodConfigError("a method config needs a 'method' field")
    return get_method(str(d["method"])).config_cls.from_dict(d)


def make_config(name: str, **overrides: Any) -> MethodConfig:
    """The config of method ``name`` with defaults, changed by ``overrides`` (validated)."""
    return get_method(name).config_cls.from_fields(**overrides)


def apply_method(backbone, config: MethodConfig, tokenizer=None) -> AdaptedModel:
    """Wrap a frozen backbone with the method that ``config`` describes."""
    return get_method(config.name).apply_fn(backbone, config, tokenizer)
