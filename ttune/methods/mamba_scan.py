r"""``additional-scan``: extra state dimensions in every Mamba mixer's selective scan (MambaPEFT).

The selective scan of a Mamba mixer keeps, per channel, a state of N dimensions with a diagonal
:math:`A \in \mathbb{R}^{d_{in} \times N}` and input-dependent :math:`B_t, C_t \in
\mathbb{R}^{N}` (from ``x_proj``). Additional-scan appends n learned dimensions:

.. math::
    A' = [A; -\exp(A^{add}_{\log})], \qquad B'_t = [B_t; W_B x_t], \qquad C'_t = [C_t; W_C x_t]

with :math:`A^{add}_{\log} \in \mathbb{R}^{d_{in} \times n}` (S4D-real initialisation continuing
the backbone's: :math:`\log(N+1 \dots N+n)`), :math:`W_B, W_C \in \mathbb{R}^{n \times d_{in}}`,
and :math:`W_C = 0` at initialisation, so the extra dimensions add nothing to
:math:`y_t = C'^\top_t h_t` until trained: the untrained method is the backbone exactly. The
scan itself is transformers' (its pure-PyTorch path), run on the extended A, B and C: a hook
extends ``x_proj``'s output and the mixer's ``A_log`` is extended for the duration of its call;
cached generation keeps the larger state.

Trainable parameters: :math:`L \cdot 3 n d_{in}`. state-spaces/mamba-130m (:math:`d_{in}` = 1536,
L = 24), n = 8: 24 x 3 x 8 x 1536 = 884,736.

Args (config fields): ``num_states`` (n), ``seed``.

Shapes:
    - ``x_proj`` output ``[B, T, R + 2N]`` -> ``[B, T, R + 2(N + n)]``
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ttune.methods.base import AdaptedModel, MethodConfig
from ttune.methods.mamba_affix import wrap_forward
from ttune.methods.mamba_common import check_positive, mamba_mixers
from ttune.methods.registry import register_method


@dataclass
class AdditionalScanConfig(MethodConfig):
    """n extra state dimensions in every mixer's scan."""

    name = "additional-scan"
    version = 1
    search_space = {"num_states": (1, 16)}

    num_states: int = 8
    """Extra state dimensions n per channel."""
    seed: int = 0
    """Seed of W_B's initialisation."""

    def __post_init__(self) -> None:
        check_positive(self.name, "num_states", self.num_states)


class ScanExtension(nn.Module):
    """The extra dimensions of one mixer: ``A_log`` ``[d_in, n]``, ``B`` and ``C`` ``[n, d_in]``."""

    def __init__(self, mixer: nn.Module, n: int, seed: int) -> None:
        super().__init__()
        w = mixer.A_log
        d_in, N = w.shape
        kw = dict(device=w.device, dtype=w.dtype)
        self.A_log = nn.Parameter(torch.empty(d_in, n, **kw))
        self.B = nn.Parameter(torch.empty(n, d_in, **kw))
        self.C = nn.Parameter(torch.zeros(n, d_in, **kw))
        if not w.is_meta:
            with torch.no_grad():
                a = torch.arange(N + 1, N + n + 1, dtype=torch.float32).log()
                self.A_log.copy_(a.expand(d_in, n))
                g = torch.Generator().manual_seed(seed)
                self.B.copy_(torch.randn(n, d_in, generator=g) / math.sqrt(d_in))


class AdditionalScanModel(AdaptedModel):
    """``self.scan``: one :class:`ScanExtension` per layer."""

    def __init__(self, backbone, config: AdditionalScanConfig) -> None:
        super().__init__(backbone, config)
        mixers = mamba_mixers(backbone, config.name, ("mamba",))
        self.scan = nn.ModuleList(
            [ScanExtension(m, config.num_states, config.seed + i) for i, m in enumerate(mixers)]
        )
        self._hooks = []
        for i, m in enumerate(mixers):
            self._hooks.append(m.x_proj.register_forward_hook(self._extend_bc(i, m)))
            wrap_forward(m, self._extend_a(i, m))

    def _extend_bc(self, i: int, mixer: nn.Module):
        R, N = mixer.time_step_rank, mixer.A_log.shape[1]

        def hook(module, args, output: Tensor) -> Tensor:
            x, ext = args[0], self.scan[i]
            dt, B, C = torch.split(output, [R, N, N], dim=-1)
            extra_b, extra_c = (x @ ext.B.t()).to(B.dtype), (x @ ext.C.t()).to(C.dtype)
            return torch.cat([dt, B, extra_b, C, extra_c], -1)

        return hook

    def _extend_a(self, i: int, mixer: nn.Module):
        def forward(original, *args, **kw):
            a_log, N = mixer.A_log, mixer.ssm_state_size
            # The mixer reads self.A_log and self.ssm_state_size; both grow for this call only.
            mixer._parameters["A_log"] = torch.cat([a_log, self.scan[i].A_log], 1)
            mixer.ssm_state_size = N + self.scan[i].A_log.shape[1]
            try:
                return original(*args, **kw)
            finally:
                mixer._parameters["A_log"] = a_log
                mixer.ssm_state_size = N

        return forward


def apply(backbone, config: AdditionalScanConfig, tokenizer=None) -> AdditionalScanModel:
    return AdditionalScanModel(backbone, config)


register_method("additional-scan", AdditionalScanConfig, apply)
