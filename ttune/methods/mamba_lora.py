r"""``mamba-lora``: LoRA on a Mamba mixer's linear projections (MambaPEFT's LoRA variants).

Each selected projection :math:`W \in \mathbb{R}^{o \times i}` of every mixer gets a low-rank
update, applied through a forward hook on the frozen module:

.. math::
    h = W x + \frac{\alpha}{r} B A\,\mathrm{dropout}(x), \qquad A \in \mathbb{R}^{r \times i},
    \; B \in \mathbb{R}^{o \times r}, \; B = 0 \text{ at initialisation}

so the untrained method is the backbone exactly. Targets (each selectable): ``in_proj``
(:math:`d \to 2 d_{in}`), ``x_proj`` (:math:`d_{in} \to R + 2N`: the input-dependent
:math:`\Delta, B, C`) and ``out_proj`` (:math:`d_{in} \to d`). ttune uses its own layer, not peft,
because peft refuses ``out_proj`` (and ``conv1d``) on Mamba models.

Trainable parameters: :math:`L \cdot r \cdot \sum_{targets} (i + o)`. state-spaces/mamba-130m
(d = 768, :math:`d_{in}` = 1536, R = 48, N = 16, L = 24), r = 8, all three targets:
24 x 8 x ((768 + 3072) + (1536 + 80) + (1536 + 768)) = 24 x 8 x 7,760 = 1,489,920.

Args (config fields): ``r``, ``alpha``, ``dropout``, ``in_proj``, ``x_proj``, ``out_proj``.

Shapes:
    - hooked module input ``[B, T, i]``, output ``[B, T, o]``
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ttune.methods.base import AdaptedModel, MethodConfig, MethodConfigError
from ttune.methods.mamba_common import check_bool, check_positive, mamba_mixers
from ttune.methods.registry import register_method

TARGETS = ("in_proj", "x_proj", "out_proj")


class LoraDelta(nn.Module):
    """The low-rank update :math:`\\frac{\\alpha}{r} B A\\,\\mathrm{dropout}(x)` of one
    projection."""

    def __init__(self, base: nn.Linear, r: int, alpha: float, dropout: float) -> None:
        super().__init__()
        w = base.weight
        self.A = nn.Parameter(torch.empty(r, base.in_features, device=w.device, dtype=w.dtype))
        self.B = nn.Parameter(torch.zeros(base.out_features, r, device=w.device, dtype=w.dtype))
        if not w.is_meta:
            nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))
        self.scale = alpha / r
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return (self.dropout(x) @ self.A.t() @ self.B.t()) * self.scale


@dataclass
class MambaLoraConfig(MethodConfig):
    """LoRA on the selected projections of every Mamba mixer."""

    name = "mamba-lora"
    version = 1
    search_space = {"r": (1, 16)}

    r: int = 8
    """Rank of each update."""
    alpha: float = 16.0
    """Scaling numerator: updates are scaled by alpha / r."""
    dropout: float = 0.0
    """Dropout on the update's input (training only)."""
    in_proj: bool = True
    """Adapt ``in_proj`` (the input and gate projection)."""
    x_proj: bool = True
    """Adapt ``x_proj`` (the projection to the input-dependent step, B and C; Mamba 1 only)."""
    out_proj: bool = True
    """Adapt ``out_proj`` (the output projection)."""

    def __post_init__(self) -> None:
        check_positive(self.name, "r", self.r)
        if not (isinstance(self.alpha, (int, float)) and self.alpha > 0):
            raise MethodConfigError(f"{self.name}: alpha must be > 0, got {self.alpha!r}")
        if not (isinstance(self.dropout, (int, float)) and 0.0 <= self.dropout < 1.0):
            raise MethodConfigError(f"{self.name}: dropout must be in [0, 1), got {self.dropout!r}")
        for t in TARGETS:
            check_bool(self.name, t, getattr(self, t))
        if not self.targets():
            raise MethodConfigError(f"{self.name}: select at least one of {', '.join(TARGETS)}")

    def targets(self) -> tuple[str, ...]:
        return tuple(t for t in TARGETS if getattr(self, t))


class MambaLoraModel(AdaptedModel):
    """Low-rank updates hooked onto the selected projections; ``self.lora`` holds them, keyed
    ``layer_<i>_<target>``."""

    def __init__(self, backbone, config: MambaLoraConfig) -> None:
        super().__init__(backbone, config)
        mixers = mamba_mixers(backbone, config.name)
        if config.x_proj and not hasattr(mixers[0], "x_proj"):
            raise MethodConfigError(f"{config.name}: this Mamba has no x_proj; set x_proj=false")
        sites = {
            f"layer_{i}_{t}": getattr(m, t) for i, m in enumerate(mixers) for t in config.targets()
        }
        self.lora = nn.ModuleDict(
            {k: LoraDelta(mod, config.r, config.alpha, config.dropout) for k, mod in sites.items()}
        )
        self._hooks = [mod.register_forward_hook(self._hook(k)) for k, mod in sites.items()]

    def _hook(self, key: str):
        def hook(module, args, output):
            return output + self.lora[key](args[0]).to(output.dtype)

        return hook


def apply(backbone, config: MambaLoraConfig, tokenizer=None) -> MambaLoraModel:
    return MambaLoraModel(backbone, config)


register_method("mamba-lora", MambaLoraConfig, apply)
