r"""Attention-Based Fusion Layer (ABFL): node features rewrite the frozen model's input embeddings.

Transducer Tuning (Yusuf & Jiang, arXiv 2412.13467), section "Attention-Based Fusion Layer". Two
modes:

``paper`` (:class:`PaperFusion`) reproduces the released code exactly
(FeatureFusionModuleAttention):

.. math::
    g_b = \mathrm{RMSNorm}\big(\tfrac{1}{N_b}\textstyle\sum_v z_v\big), \quad
    Q = \mathrm{RMSNorm}(E) W_q, \quad K_i = g_b W_k \;\forall i, \quad V = \mathrm{RMSNorm}(E) W_v,
    \quad E' = \mathrm{softmax}(Q K^\top / \sqrt{f})\, V\, W_o

Every key row is the same pooled vector, so each softmax row is exactly uniform (1/T, padding
included): the output is the mean of the values, independent of the graph, and the graph encoder
gets no gradient. The output replaces the embeddings (no residual). Kept for comparison only.

``node`` (:class:`NodeFusion`, the default) fixes it:

.. math::
    Q = \mathrm{RMSNorm}(E) W_q, \quad K = \mathrm{RMSNorm}(Z) W_k, \quad V = Z W_v, \quad
    A = \mathrm{softmax}\big(Q K^\top / \sqrt{f} + \beta\, C - \infty\,(1 - M)\big), \quad
    E' = E + \gamma \cdot (A V W_o) \odot m

per example: tokens of example b attend only to the nodes of graph b. ``C[i, v] = 1`` when node
v's byte span covers token i's span (the token lies inside the node's code); ``beta`` is a
learned scalar initialised to ``span_bias`` (so the layer starts by preferring the syntax around
each token, and can learn how much to). ``M`` masks padding nodes; ``m`` zeroes the update of
padding tokens; a graph with no nodes gives a zero update. ``W_o`` starts at zero, so an untrained
transducer leaves the frozen model's logits exactly unchanged; ``gamma`` is a learned scalar gate
that starts at one. Why ``W_o`` and not the gate (as LoRA zeroes B, not A): with a zero gate the
update's direction stays the random one of the initial ``W_o`` until the gate grows, and a random
direction gives the gate no consistent gradient (docs/results/README.md, "Design measurements").
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ttune.transducer.graphops import mean_pool, to_dense_batch
from ttune.transducer.gve import RMSNorm

FUSIONS = ("node", "paper")


class PaperFusion(nn.Module):
    """The released ABFL: pooled graph vector as every key; output replaces the embeddings.

    Shapes:
        - embeds: ``[B, T, d_model]``; nodes: ``[N, graph_dim]``; batch: ``[N]`` graph index of each
        node
        - output: ``[B, T, d_model]``
    """

    def __init__(self, d_model: int, graph_dim: int, fusion_dim: int) -> None:
        super().__init__()
        self.norm_embeds = RMSNorm(d_model)
        self.norm_graph = RMSNorm(graph_dim)
        self.q = nn.Linear(d_model, fusion_dim, bias=False)
        self.k = nn.Linear(graph_dim, fusion_dim, bias=False)
        self.v = nn.Linear(d_model, fusion_dim, bias=False)
        self.o = nn.Linear(fusion_dim, d_model, bias=False)
        self.scale = 1.0 / math.sqrt(fusion_dim)

    def forward(
        self,
        embeds: Tensor,
        attention_mask: Tensor,
        nodes: Tensor,
        batch: Tensor,
        node_span: Tensor | None = None,
        token_spans: Tensor | None = None,
    ) -> Tensor:
        B, T, _ = embeds.shape
        dt = self.q.weight.dtype  # compute in the layer's dtype
        pooled = mean_pool(nodes.to(dt), batch, size=B)  # [B, g]
        e = self.norm_embeds(embeds.to(dt))
        g = self.norm_graph(pooled)
        keys = self.k(g.unsqueeze(1).repeat(1, T, 1))  # [B, T, f], identical rows
        scores = self.q(e) @ keys.transpose(1, 2) * self.scale  # [B, T, T]; no padding mask
        return self.o(scores.softmax(-1) @ self.v(e)).to(embeds.dtype)  # [B, T, d] replaces embeds


class NodeFusion(nn.Module):
    """Token queries over node keys/values with a span bias, a gate and a zero-initialised ``W_o``.

    Shapes:
        - embeds: ``[B, T, d_model]``; attention_mask: ``[B, T]``
        - nodes: ``[N, graph_dim]``; batch: ``[N]``; node_span: ``[N, 2]``
        - token_spans: ``[B, T, 2]`` byte (start, end) of each token in the graph's source, (-1, -1)
        if none
        - output: ``[B, T, d_model]``
    """

    def __init__(
        self, d_model: int, graph_dim: int, fusion_dim: int, span_bias: float = 2.0
    ) -> None:
        super().__init__()
        self.norm_tokens = RMSNorm(d_model)
        self.norm_nodes = RMSNorm(graph_dim)
        self.q = nn.Linear(d_model, fusion_dim, bias=False)
        self.k = nn.Linear(graph_dim, fusion_dim, bias=False)
        self.v = nn.Linear(graph_dim, fusion_dim, bias=False)
        self.o = nn.Linear(fusion_dim, d_model, bias=False)
        nn.init.zeros_(self.o.weight)  # exact identity until trained
        self.gate = nn.Parameter(torch.ones(1))
        self.span_bias = nn.Parameter(torch.tensor([float(span_bias)])) if span_bias else None
        self.scale = 1.0 / math.sqrt(fusion_dim)

    def forward(
        self,
        embeds: Tensor,
        attention_mask: Tensor,
        nodes: Tensor,
        batch: Tensor,
        node_span: Tensor | None = None,
        token_spans: Tensor | None = None,
    ) -> Tensor:
        B, T, _ = embeds.shape
        dt = self.q.weight.dtype  # compute in the layer's dtype
        z, node_mask = to_dense_batch(nodes.to(dt), batch, batch_size=B)  # [B, Nmax, g], [B, Nmax]
        q = self.q(self.norm_tokens(embeds.to(dt)))  # [B, T, f]
        k = self.k(self.norm_nodes(z))  # [B, Nmax, f]
        v = self.v(z)  # [B, Nmax, f]
        scores = q @ k.transpose(1, 2) * self.scale  # [B, T, Nmax]
        if self.span_bias is not None and token_spans is not None and node_span is not None:
            span, _ = to_dense_batch(node_span, batch, fill_value=-1, batch_size=B)  # [B, Nmax, 2]
            ts, te = token_spans[..., 0].unsqueeze(2), token_spans[..., 1].unsqueeze(2)  # [B, T, 1]
            ns, ne = span[..., 0].unsqueeze(1), span[..., 1].unsqueeze(1)  # [B, 1, Nmax]
            covers = (ts >= 0) & (te > ts) & (ns <= ts) & (te <= ne)  # [B, T, Nmax]
            scores = scores + self.span_bias * covers.to(scores.dtype)
        scores = scores.masked_fill(~node_mask.unsqueeze(1), torch.finfo(scores.dtype).min)
        # A graph with no nodes has all scores at the minimum -> uniform over padding; the node mask
        # then zeroes those weights, so its tokens get exactly zero update (no NaN).
        attn = scores.softmax(-1) * node_mask.unsqueeze(1).to(scores.dtype)
        update = self.o(attn @ v)  # [B, T, d]
        update = update * attention_mask.unsqueeze(-1).to(update.dtype)
        return embeds + (self.gate * update).to(embeds.dtype)
