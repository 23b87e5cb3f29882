"""``full``: full fine-tuning, every backbone parameter trainable (the upper-bound baseline).

The checkpoint then holds the whole model (tied embeddings saved once), which is what full
fine-tuning costs; it is still loaded only onto a backbone of the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass

from ttune.methods.base import AdaptedModel, MethodConfig
from ttune.methods.registry import register_method


@dataclass
class FullConfig(MethodConfig):
    """No fields: all parameters of the backbone are trained."""

    name = "full"
    version = 1


class FullModel(AdaptedModel):
    """The backbone with ``requires_grad=True`` everywhere."""


def apply(backbone, config: FullConfig, tokenizer=None) -> FullModel:
    for p in backbone.parameters():
        p.requires_grad_(True)
    return FullModel(backbone, config)


register_method("full", FullConfig, apply)
