"""``linear``: one d-by-d linear map on the encoder's input embeddings (the paper's linear adapter).

Initialised to the identity (and a zero bias, if any), so training starts exactly from the frozen
model. Only the encoder input is mapped; the decoder's own token embeddings stay untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ttune.methods.base import AdaptedModel, MethodConfig, MethodConfigError
from ttune.methods.registry import register_method


@dataclass
class LinearConfig(MethodConfig):
    """A linear map E' = E W (+ b) on the input embeddings."""

    name = "linear"
    version = 1

    bias: bool = False
    """Also learn a bias vector (d more parameters)."""

    def __post_init__(self) -> None:
        if not isinstance(self.bias, bool):
            raise MethodConfigError(f"linear: bias must be true or false, got {self.bias!r}")


class LinearModel(AdaptedModel):
    """Shapes: embeddings ``[B, T, d]`` -> ``[B, T, d]`` through ``Linear(d, d)``."""

    def __init__(self, backbone, config: LinearConfig) -> None:
        super().__init__(backbone, config)
        d = backbone.get_input_embeddings().weight.shape[1]
        self.proj = nn.Linear(d, d, bias=config.bias)
        with torch.no_grad():
            self.proj.weight.copy_(torch.eye(d))
            if self.proj.bias is not None:
                self.proj.bias.zero_()
        self.proj.to(backbone.get_input_embeddings().weight.device)

    def prepare_inputs(
        self, input_ids: Tensor, attention_mask: Tensor, graph=None, token_spans=None
    ) -> dict:
        e = self.embed(input_ids)
        return {
            "inputs_embeds": self.proj(e.to(self.proj.weight.dtype)).to(e.dtype),
            "attention_mask": attention_mask,
        }


def apply(backbone, config: LinearConfig, tokenizer=None) -> LinearModel:
    return LinearModel(backbone, config)


register_method("linear", LinearConfig, apply)
