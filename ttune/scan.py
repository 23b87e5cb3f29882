r"""Mamba's selective scan in plain PyTorch, linear in the sequence length in time and memory.

Without ``mamba_ssm``'s CUDA kernels, transformers' Mamba mixer runs the scan as a Python loop
that reads ``discrete_A[:, :, t]`` at each token: autograd then builds a full-size zero gradient
for every slice, so a backward pass costs :math:`O(L^2)` memory traffic in the window length L.
:func:`selective_scan` computes the same recurrence (Gu and Dao, *Mamba: Linear-Time Sequence
Modeling with Selective State Spaces*, 2023, Algorithm 2)

.. math::
    \Delta_t = \mathrm{softplus}(\Delta^{raw}_t + b_\Delta), \quad
    h_t = \exp(\Delta_t A) \odot h_{t-1} + \Delta_t B_t u_t, \quad
    y_t = C_t^\top h_t + D u_t, \quad \text{out}_t = y_t \cdot \mathrm{silu}(z_t)

token by token with the time axis first, in one autograd function (:class:`SelectiveScan`) whose
hand-written backward pass runs the loop in reverse: with :math:`a_t = \exp(\Delta_t A)` and
:math:`\bar g_t = \partial y_t / \partial h_t + a_{t+1} \odot \bar g_{t+1}` (the gradient reaching
:math:`h_t`), :math:`\partial (\Delta_t A) = \bar g_t \odot h_{t-1} \odot a_t`, :math:`\partial
(\Delta_t u_t) = \bar g_t B_t` and :math:`\partial B_t = (\Delta_t u_t)^\top \bar g_t`. Every step
touches only ``[B, D, N]`` slices, which stay in the CPU's cache, where autograd's version of the
same loop would stream ``[B, D, L, N]`` tensors through memory. The state runs in float32 (as in
transformers' path) whatever autocast is on.

:func:`use_linear_scan` makes transformers' Mamba (v1) mixers call it: every Mamba backbone that
:mod:`ttune.backbone` builds or loads, and every one ``ttune pretrain --arch mamba`` trains, does
so unless ``mamba_ssm``'s kernels are installed. Mamba2's mixer has its own chunked scan and is
left alone.

Shapes (transformers' kernel layout, which :func:`selective_scan` takes and returns):
    - u, dt, z: ``[B, D, L]``; A: ``[D, N]``; B, C: ``[B, N, L]``; D, delta_bias: ``[D]``
    - output ``[B, D, L]``; last state ``[B, D, N]``
"""

from __future__ import annotations

import importlib.util

import torch
import torch.nn.functional as F
from torch import Tensor
from transformers.models.mamba import modeling_mamba

TRANSFORMERS_SCAN = modeling_mamba.mamba_selective_scan
"""transformers' own scan function (its token loop without ``mamba_ssm``), kept for comparison."""


def _no_autocast(t: Tensor):
    """The scan runs in float32 whatever autocast is on (its state would lose the small decays)."""
    return torch.autocast(device_type=t.device.type, enabled=False)


class SelectiveScan(torch.autograd.Function):
    r"""The recurrence of one mixer, token by token with the time axis first:
    :math:`h_t = \exp(\Delta_t A) \odot h_{t-1} + (\Delta_t u_t) B_t^\top`,
    :math:`y_t = h_t C_t` (:math:`h_{-1} = 0`). Each step reads and writes ``[B, D, N]`` slices
    that stay in the CPU's cache; the decays :math:`\exp(\Delta_t A)` are recomputed in the
    backward pass instead of stored, only the states are kept.

    Shapes: delta, u ``[L, B, D]``; A ``[D, N]``; Bm, Cm ``[L, B, N]`` (float32) ->
    y ``[L, B, D]``, last state ``[B, D, N]``.
    """

    @staticmethod
    def forward(ctx, delta: Tensor, u: Tensor, A: Tensor, Bm: Tensor, Cm: Tensor):
        with _no_autocast(delta):
            L, b, d = delta.shape
            du = delta * u  # [L, B, D]
            H = delta.new_empty(L, b, d, A.shape[1])  # every state, for the backward pass
            y = delta.new_empty(L, b, d, 1)
            h = delta.new_zeros(b, d, A.shape[1])
            for t in range(L):
                decay = torch.exp(delta[t, :, :, None] * A)
                h = torch.addcmul(du[t, :, :, None] * Bm[t, :, None, :], decay, h, out=H[t])
                torch.bmm(h, Cm[t, :, :, None], out=y[t])
            ctx.save_for_backward(delta, u, du, A, Bm, Cm, H)
        return y.squeeze(-1), H[-1].clone()

    @staticmethod
    def backward(ctx, gy: Tensor | None, glast: Tensor | None):
        delta, u, du, A, Bm, Cm, H = ctx.saved_tensors
        with _no_autocast(delta):
            L = delta.shape[0]
            gh = H.new_zeros(H.shape[1:]) if glast is None else glast.clone()  # dLoss/dh_t
            g_delta, g_u = torch.empty_like(delta), torch.empty_like(u)
            gB, gC = torch.empty_like(Bm), torch.empty_like(Cm)
            gA = torch.zeros_like(A)
            gy = torch.zeros_like(delta) if gy is None else gy.contiguous()
            for t in range(L - 1, -1, -1):
                gh.addcmul_(gy[t, :, :, None], Cm[t, :, None, :])
                torch.bmm(gy[t, :, None, :], H[t], out=gC[t, :, None, :])
                torch.bmm(du[t, :, None, :], gh, out=gB[t, :, None, :])
                g_du = torch.bmm(gh, Bm[t, :, :, None]).squeeze(-1)  # [B, D]
                decay = torch.exp(delta[t, :, :, None] * A)
                torch.mul(g_du, u[t], out=g_delta[t])
                torch.mul(g_du, delta[t], out=g_u[t])
                if t:
                    g_x = gh * H[t - 1] * decay  # dLoss/d(delta_t A)
                    gA += torch.einsum("bdn,bd->dn", g_x, delta[t])
                    g_delta[t] += (g_x * A).sum(-1)
                gh.mul_(decay)
        return g_delta, g_u, gA, gB, gC


def selective_scan(
    hidden_states: Tensor,
    dt: Tensor,
    A: Tensor,
    B: Tensor,
    C: Tensor,
    D: Tensor | None = None,
    z: Tensor | None = None,
    delta_bias: Tensor | None = None,
    delta_softplus: bool = False,
    return_last_state: bool = False,
    **unused,
) -> Tensor | tuple[Tensor, Tensor]:
    """The scan of one Mamba mixer over a whole sequence; the arguments of transformers'
    ``mamba_selective_scan`` (``use_mambapy`` and ``use_associative_scan`` are ignored)."""
    dtype = hidden_states.dtype
    delta = dt.float()
    if delta_bias is not None:
        delta = delta + delta_bias.float()[:, None]
    if delta_softplus:
        delta = F.softplus(delta)
    time_first = lambda x: x.float().permute(2, 0, 1).contiguous()  # noqa: E731  [B, X, L] -> [L, B, X]
    y, last = SelectiveScan.apply(
        time_first(delta), time_first(hidden_states), A.float(), time_first(B), time_first(C)
    )
    y = y.permute(1, 2, 0)  # [B, D, L]
    if D is not None:
        y = y + hidden_states.float() * D.float()[None, :, None]
    if z is not None:
        y = y * F.silu(z.float())
    y = y.to(dtype)
    return (y, last) if return_last_state else y


def use_linear_scan(model: torch.nn.Module) -> bool:
    """Route transformers' Mamba (v1) mixers to :func:`selective_scan` when ``model`` has any and
    ``mamba_ssm`` (the CUDA kernels, which transformers prefers) is not installed; returns whether
    it did. The routing is transformers' module-level scan function, so it holds for every Mamba
    model of the process; it computes what transformers' own path computes."""
    if importlib.util.find_spec("mamba_ssm") is not None:
        return False
    if not any(isinstance(m, modeling_mamba.MambaMixer) for m in model.modules()):
        return False
    modeling_mamba.mamba_selective_scan = selective_scan
    return True
