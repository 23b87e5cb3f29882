r"""Graph batching and the graph layers of the transducer's inference path, in plain torch.

The same operations as the torch_geometric ones the training path uses, without importing
torch_geometric (whose import alone costs seconds: it loads ``torch._dynamo`` and sympy), so that
a one-shot command starts fast. Tests check each against its PyG counterpart.

- :class:`GraphBatch` / :func:`collate_graphs`: ``Batch.from_data_list`` of featurized graphs
  (node tensors concatenated, edge indices shifted by the nodes before them, a ``batch`` vector);
- :func:`to_dense_batch`: ``torch_geometric.utils.to_dense_batch``;
- :func:`mean_pool`: ``torch_geometric.nn.global_mean_pool``;
- :class:`GATv2`: ``GATv2Conv(b, b, heads=1, bias=False)`` with the same parameter names
  (``lin_l``, ``lin_r``, ``att``), so its weights load as they are:

.. math::
    e_{ji} = a^\top \mathrm{LeakyReLU}_{0.2}(W_l h_j + W_r h_i), \quad
    \alpha_{ji} = \mathrm{softmax}_{j \in \mathcal{N}(i) \cup \{i\}}(e_{ji}), \quad
    h'_i = \textstyle\sum_j \alpha_{ji} W_l h_j

(existing self loops replaced by one per node, as PyG's ``add_self_loops=True``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass
class GraphBatch:
    """B featurized graphs as one disjoint graph (the fields the transducer reads).

    Shapes:
        - label_ids, label_mask: ``[N, L]``; kind: ``[N]``; span: ``[N, 2]``
        - edge_index: ``[2, E]`` (numbered in the batch); edge_type: ``[E]``
        - batch: ``[N]`` graph index of each node
    """

    label_ids: Tensor
    label_mask: Tensor
    kind: Tensor
    span: Tensor
    edge_index: Tensor
    edge_type: Tensor
    batch: Tensor
    num_graphs: int

    def to(self, device) -> GraphBatch:
        moved = {k: v.to(device) for k, v in vars(self).items() if isinstance(v, Tensor)}
        return GraphBatch(**moved, num_graphs=self.num_graphs)


def collate_graphs(graphs: Sequence[dict[str, Tensor]]) -> GraphBatch:
    """One :class:`GraphBatch` of graphs given as dicts of tensors
    (:func:`ttune.transducer.vectorize.graph_features`)."""
    sizes = [int(g["kind"].shape[0]) for g in graphs]
    offsets = torch.tensor([0, *sizes[:-1]], dtype=torch.long).cumsum(0)
    edge_index = torch.cat([g["edge_index"] + off for g, off in zip(graphs, offsets)], dim=1)
    return GraphBatch(
        label_ids=torch.cat([g["label_ids"] for g in graphs]),
        label_mask=torch.cat([g["label_mask"] for g in graphs]),
        kind=torch.cat([g["kind"] for g in graphs]),
        span=torch.cat([g["span"] for g in graphs]),
        edge_index=edge_index,
        edge_type=torch.cat([g["edge_type"] for g in graphs]),
        batch=torch.repeat_interleave(torch.arange(len(graphs)), torch.tensor(sizes)),
        num_graphs=len(graphs),
    )


def to_dense_batch(
    x: Tensor, batch: Tensor, fill_value: float = 0.0, batch_size: int | None = None
) -> tuple[Tensor, Tensor]:
    """Node rows of a sorted ``batch`` vector laid out per graph and padded.

    Shapes: x ``[N, F]``, batch ``[N]`` -> (``[B, Nmax, F]``, mask ``[B, Nmax]``).
    """
    B = int(batch.max()) + 1 if batch_size is None else batch_size
    counts = torch.zeros(B, dtype=torch.long, device=x.device)
    counts.scatter_add_(0, batch, torch.ones_like(batch))
    n_max = int(counts.max()) if B and x.shape[0] else 0
    starts = counts.cumsum(0) - counts  # [B] first row of each graph
    pos = torch.arange(x.shape[0], device=x.device) - starts[batch] + batch * n_max  # [N]
    out = x.new_full((B * n_max, *x.shape[1:]), fill_value)
    out[pos] = x
    mask = torch.zeros(B * n_max, dtype=torch.bool, device=x.device)
    mask[pos] = True
    return out.view(B, n_max, *x.shape[1:]), mask.view(B, n_max)


def mean_pool(x: Tensor, batch: Tensor, size: int) -> Tensor:
    """Mean of each graph's node rows (zero for a graph without nodes).

    Shapes: x ``[N, F]``, batch ``[N]`` -> ``[size, F]``.
    """
    count = x.new_zeros(size).scatter_add_(0, batch, x.new_ones(x.shape[0])).clamp(min=1)
    total = x.new_zeros(size, x.shape[1]).scatter_add_(0, batch.view(-1, 1).expand_as(x), x)
    return total / count.view(-1, 1)


class GATv2(nn.Module):
    """One-head GATv2 layer without bias (see the module docstring).

    Shapes: x ``[N, b]``, edge_index ``[2, E]`` (row 0 source j, row 1 target i) -> ``[N, b]``.
    """

    def __init__(self, channels: int, negative_slope: float = 0.2) -> None:
        super().__init__()
        self.lin_l = nn.Linear(channels, channels, bias=False)
        self.lin_r = nn.Linear(channels, channels, bias=False)
        self.att = nn.Parameter(torch.empty(1, 1, channels))
        nn.init.xavier_uniform_(self.att)
        self.negative_slope = negative_slope

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        N, C = x.shape[0], self.lin_l.out_features
        x_l, x_r = self.lin_l(x).view(N, 1, C), self.lin_r(x).view(N, 1, C)  # [N, 1, C]
        keep = edge_index[0] != edge_index[1]
        loops = torch.arange(N, device=x.device)
        src = torch.cat([edge_index[0, keep], loops])  # [E'] j
        dst = torch.cat([edge_index[1, keep], loops])  # [E'] i
        e = nn.functional.leaky_relu(x_l[src] + x_r[dst], self.negative_slope)  # [E', 1, C]
        alpha = (e * self.att).sum(-1)  # [E', 1]
        # Softmax over the edges into each node i, as torch_geometric.utils.softmax.
        idx = dst.view(-1, 1)
        top = alpha.new_zeros(N, 1).scatter_reduce_(
            0, idx, alpha, reduce="amax", include_self=False
        )
        alpha = (alpha - top.index_select(0, dst)).exp()
        total = alpha.new_zeros(N, 1).scatter_add_(0, idx, alpha) + 1e-16
        alpha = alpha / total.index_select(0, dst)  # [E', 1]
        msg = x_l[src] * alpha.unsqueeze(-1)  # [E', 1, C]
        out = x_l.new_zeros(N, 1, C).scatter_add_(0, dst.view(-1, 1, 1).expand_as(msg), msg)
        return out.view(N, C)
