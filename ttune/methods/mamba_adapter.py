r"""``parallel-adapter``: a bottleneck adapter beside every Mamba mixer (MambaPEFT).

Each mixer's output gets the output of a small network that reads the mixer's own input
(He et al.'s parallel adapter, which MambaPEFT found the best adapter placement for Mamba):

.. math::
    y = \mathrm{Mixer}(h) + W_{up}\,\sigma(W_{down} h + b_{down}) + b_{up}

with :math:`W_{up} = 0, b_{up} = 0` at initialisation, so the untrained method is the backbone
exactly. Works on Mamba and Mamba2 (a forward hook on each mixer).

Trainable parameters: :math:`L (2 d r + r + d)`. state-spaces/mamba-130m (d = 768, L = 24),
r = 32: 24 x (49,152 + 32 + 768) = 24 x 49,952 = 1,198,848.

Args (config fields): ``bottleneck`` (r), ``activation``.

Shapes:
    - mixer input and output ``[B, T, d]``
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torch import nn

from ttune.methods.adapter import ACTIVATIONS
from ttune.methods.base import AdaptedModel, MethodConfig, MethodConfigError
from ttune.methods.mamba_common import check_positive, mamba_mixers
from ttune.methods.registry import register_method


@dataclass
class ParallelAdapterConfig(MethodConfig):
    """A zero-initialised bottleneck beside every Mamba mixer."""

    name = "parallel-adapter"
    version = 1
    search_space = {"bottleneck": (1, 64)}

    bottleneck: int = 32
    """Bottleneck width r."""
    activation: Literal["relu", "gelu", "tanh"] = "relu"
    """Non-linearity between the down- and up-projection."""

    def __post_init__(self) -> None:
        check_positive(self.name, "bottleneck", self.bottleneck)
        if self.activation not in ACTIVATIONS:
            raise MethodConfigError(
                f"{self.name}: activation must be one of {', '.join(ACTIVATIONS)}, "
                f"got {self.activation!r}"
            )


class ParallelAdapterModel(AdaptedModel):
    """``self.adapters``: one down / act / up stack per layer."""

    def __init__(self, backbone, config: ParallelAdapterConfig) -> None:
        super().__init__(backbone, config)
        mixers = mamba_mixers(backbone, config.name)
        w = backbone.get_input_embeddings().weight
        d, r, kw = w.shape[1], config.bottleneck, dict(device=w.device, dtype=w.dtype)
        self.adapters = nn.ModuleList()
        for _ in mixers:
            up = nn.Linear(r, d, **kw)
            nn.init.zeros_(up.weight)
            nn.init.zeros_(up.bias)
            self.adapters.append(
                nn.Sequential(nn.Linear(d, r, **kw), ACTIVATIONS[config.activation](), up)
            )
        self._hooks = [
            m.register_forward_hook(self._hook(i), with_kwargs=True) for i, m in enumerate(mixers)
        ]

    def _hook(self, i: int):
        def hook(module, args, kwargs, output):
            h = args[0] if args else kwargs["hidden_states"]
            return output + self.adapters[i](h).to(output.dtype)

        return hook


def apply(backbone, config: ParallelAdapterConfig, tokenizer=None) -> ParallelAdapterModel:
    return ParallelAdapterModel(backbone, config)


register_method("parallel-adapter", ParallelAdapterConfig, apply)
