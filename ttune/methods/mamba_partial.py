r"""``mamba-partial``: partial tuning of a Mamba backbone's own SSM parameters (MambaPEFT).

Unfreezes, in every mixer, the selected groups of the backbone's parameters; nothing is added,
so the untrained method is the backbone exactly and the checkpoint holds the tuned tensors:

- ``a_log``: the state matrix :math:`\log(-A)` (Mamba: :math:`d_{in} \times N`; Mamba2: one per
  head);
- ``d``: the skip connection :math:`D` (:math:`d_{in}`; Mamba2: one per head);
- ``conv1d``: the depthwise causal convolution (weight :math:`d_{in} \times k`, and its bias);
- ``bias``: the step's bias (Mamba ``dt_proj.bias``, Mamba2 ``dt_bias``) and the projections'
  biases when the backbone has them.

Trainable parameters per layer (Mamba): a_log :math:`d_{in} N`, d :math:`d_{in}`, conv1d
:math:`d_{in} k + d_{in}`, bias :math:`d_{in}` (without projection biases). state-spaces/mamba-130m
(:math:`d_{in}` = 1536, N = 16, k = 4, L = 24), all four: 24 x (24,576 + 1,536 + 7,680 + 1,536)
= 24 x 35,328 = 847,872.

Args (config fields): ``a_log``, ``d``, ``conv1d``, ``bias``.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from ttune.methods.base import AdaptedModel, MethodConfig, MethodConfigError
from ttune.methods.mamba_common import check_bool, mamba_mixers
from ttune.methods.registry import register_method

GROUPS = ("a_log", "d", "conv1d", "bias")


def group_parameters(mixer: nn.Module, group: str) -> list[nn.Parameter]:
    """The parameters of ``mixer`` that the partial-tuning ``group`` unfreezes."""
    if group == "a_log":
        return [mixer.A_log]
    if group == "d":
        return [mixer.D]
    if group == "conv1d":
        return [p for p in mixer.conv1d.parameters()]
    out = []
    dt_proj = getattr(mixer, "dt_proj", None)
    if dt_proj is not None and dt_proj.bias is not None:
        out.append(dt_proj.bias)
    if getattr(mixer, "dt_bias", None) is not None:
        out.append(mixer.dt_bias)
    for name in ("in_proj", "out_proj"):
        b = getattr(getattr(mixer, name), "bias", None)
        if b is not None:
            out.append(b)
    return out


@dataclass
class MambaPartialConfig(MethodConfig):
    """Which groups of every mixer's own parameters train."""

    name = "mamba-partial"
    version = 1

    a_log: bool = True
    """Tune ``A_log`` (the state matrix)."""
    d: bool = True
    """Tune ``D`` (the skip connection)."""
    conv1d: bool = False
    """Tune the causal convolution's weight and bias."""
    bias: bool = False
    """Tune the step bias (and any projection bias)."""

    def __post_init__(self) -> None:
        for g in GROUPS:
            check_bool(self.name, g, getattr(self, g))
        if not self.groups():
            raise MethodConfigError(f"{self.name}: select at least one of {', '.join(GROUPS)}")

    def groups(self) -> tuple[str, ...]:
        return tuple(g for g in GROUPS if getattr(self, g))


class MambaPartialModel(AdaptedModel):
    """The backbone with the selected SSM parameters trainable (saved under their own names)."""


def apply(backbone, config: MambaPartialConfig, tokenizer=None) -> MambaPartialModel:
    for mixer in mamba_mixers(backbone, config.name):
        for g in config.groups():
            for p in group_parameters(mixer, g):
                p.requires_grad_(True)
    return MambaPartialModel(backbone, config)


register_method("mamba-partial", MambaPartialConfig, apply)
