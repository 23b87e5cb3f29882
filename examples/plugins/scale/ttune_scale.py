"""``scale``: a learned per-dimension scale and shift of the encoder's input embeddings.

E' = E * gamma + beta, with gamma initialised to ones and beta to zeros, so an untrained method
leaves the frozen backbone exactly as it was. 2 * d_model trainable parameters (d_model with
``shift=false``). A complete ttune method in one module: a config dataclass, an AdaptedModel,
an apply function and one ``register_method`` call, which runs when ttune loads this module
through the ``ttune.methods`` entry point of this package's pyproject.toml.

Shapes: embeddings ``[B, T, d]`` -> ``[B, T, d]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ttune.methods import AdaptedModel, MethodConfig, MethodConfigError, register_method


@dataclass
class ScaleConfig(MethodConfig):
    """A learned scale (and shift) of each embedding dimension."""

    name = "scale"
    version = 1

    shift: bool = True
    """Also learn a shift vector beta (d_model more parameters)."""
    init_scale: float = 1.0
    """Initial value of every scale; 1.0 starts from the frozen model unchanged."""

    def __post_init__(self) -> None:
        if not isinstance(self.shift, bool):
            raise MethodConfigError(f"scale: shift must be true or false, got {self.shift!r}")
        if isinstance(self.init_scale, bool) or not isinstance(self.init_scale, (int, float)):
            raise MethodConfigError(f"scale: init_scale must be a number, got {self.init_scale!r}")
        self.init_scale = float(self.init_scale)


class ScaleModel(AdaptedModel):
    """The frozen backbone reading ``embed(input_ids) * scale + shift``."""

    def __init__(self, backbone: nn.Module, config: ScaleConfig) -> None:
        super().__init__(backbone, config)
        weight = backbone.get_input_embeddings().weight
        d = weight.shape[1]
        self.scale = nn.Parameter(torch.full((d,), config.init_scale, device=weight.device))
        self.shift = nn.Parameter(torch.zeros(d, device=weight.device)) if config.shift else None

    def prepare_inputs(
        self,
        input_ids: Tensor,
        attention_mask: Tensor,
        graph=None,
        token_spans: Tensor | None = None,
    ) -> dict[str, Tensor]:
        e = self.embed(input_ids)
        out = e.to(self.scale.dtype) * self.scale
        if self.shift is not None:
            out = out + self.shift
        return {"inputs_embeds": out.to(e.dtype), "attention_mask": attention_mask}


def apply(backbone: nn.Module, config: ScaleConfig, tokenizer=None) -> ScaleModel:
    """Wrap the backbone (it arrives frozen from ttune.backbone.load_backbone; only the new
    scale and shift train)."""
    return ScaleModel(backbone, config)


register_method("scale", ScaleConfig, apply)
