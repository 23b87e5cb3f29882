"""Adaptation methods: one registry, one config dataclass and one apply function per method.

Built-ins: none, full, linear, lora, prefix, prompt, transducer; third parties add methods
through the ``ttune.methods`` entry-point group.
"""

from ttune.methods.base import (
    AdaptedModel,
    CheckpointError,
    GraphOptions,
    MethodConfig,
    MethodConfigError,
    MethodError,
    UnknownMethodError,
)
from ttune.methods.registry import (
    MethodSpec,
    apply_method,
    config_from_dict,
    get_method,
    make_config,
    method_names,
    register_method,
)
from ttune.methods.saving import load_method, read_method_config, save_method

__all__ = [
    "AdaptedModel",
    "CheckpointError",
    "GraphOptions",
    "MethodConfig",
    "MethodConfigError",
    "MethodError",
    "MethodSpec",
    "UnknownMethodError",
    "apply_method",
    "config_from_dict",
    "get_method",
    "load_method",
    "make_config",
    "method_names",
    "read_method_config",
    "register_method",
    "save_method",
]
