"""``none``: the frozen backbone as it is (the zero-shot baseline); nothing is trained."""

from __future__ import annotations

from dataclasses import dataclass

from ttune.methods.base import AdaptedModel, MethodConfig
from ttune.methods.registry import register_method


@dataclass
class NoneConfig(MethodConfig):
    """No fields: the backbone is used unchanged."""

    name = "none"
    version = 1


class NoneModel(AdaptedModel):
    """The backbone unchanged; ``num_trainable() == 0`` and the saved weights file is empty."""


def apply(backbone, config: NoneConfig, tokenizer=None) -> NoneModel:
    return NoneModel(backbone, config)


register_method("none", NoneConfig, apply)
