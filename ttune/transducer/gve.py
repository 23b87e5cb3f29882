r"""Graph Vectorization Engine (GVE): node vectors -> node features, batched over many graphs.

Transducer Tuning (Yusuf & Jiang, arXiv 2412.13467), section "Graph Vectorization Engine":

.. math::
    H^{(0)} = \mathrm{RMSNorm}(X) W_{down}, \qquad
    H^{(l+1)} = \mathrm{GNN}_l(H^{(l)}, \mathcal{E}), \qquad
    Z = H^{(L)} W_{up}

with a tiny bottleneck (1024 -> 8 -> 128 in the paper). GNN choices:

- ``gatv2`` (paper): ``GATv2Conv(b, b, heads=1, bias=False)`` (Brody et al., ICLR 2022);
- ``gcn``: ``GCNConv(b, b)`` (Kipf & Welling, ICLR 2017);
- ``typed``: ``RGCNConv(b, b, num_relations=len(edge_types))`` (Schlichtkrull et al., ESWC 2018):
  one weight per edge type, so AST, CFG, CDG, DDG and CALL edges are not mixed up;
- ``linear``: a per-node ``Linear(b, b)`` (the paper's "no graph" ablation, GVE_Linear);
- ``none``: no layer between the projections.

With ``plain=True`` the ``gatv2`` layer is :class:`ttune.transducer.graphops.GATv2` (same math and
parameter names, no torch_geometric import), for inference.

Layers are separated by ELU (a single layer, as in the paper, has none). Edges whose type is not in
``edge_types`` are dropped before the GNN (ablations: "AST only", "no DDG", ...).

Shapes:
    - x: ``[N, node_dim]`` node vectors of all graphs in the batch
    - edge_index: ``[2, E]`` (PyG Batch numbering), edge_type: ``[E]`` index into ``EDGE_TYPES``
    - output: ``[N, graph_dim]``
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ttune.cpg.graph import EDGE_TYPE_ID
from ttune.transducer.graphops import GATv2

GNNS = ("gatv2", "gcn", "typed", "linear", "none")
PLAIN_GNNS = ("gatv2", "linear", "none")
"""The GNNs with a plain-torch layer (``plain=True``: no torch_geometric import)."""


class RMSNorm(nn.Module):
    """T5-style RMS normalisation with a learned scale (no bias, no mean subtraction).

    Shapes: input ``[..., dim]`` -> output ``[..., dim]``.
    """

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


class GraphVectorizationEngine(nn.Module):
    """RMSNorm -> down-projection -> ``layers`` GNN layers -> up-projection (see module
    docstring)."""

    def __init__(
        self,
        node_dim: int,
        bottleneck: int,
        graph_dim: int,
        gnn: str = "gatv2",
        layers: int = 1,
        edge_types: tuple[str, ...] = tuple(EDGE_TYPE_ID),
        plain: bool = False,
    ) -> None:
        super().__init__()
        if gnn not in GNNS:
            raise ValueError(f"unknown gnn {gnn!r}; known: {', '.join(GNNS)}")
        if plain and gnn not in PLAIN_GNNS:
            raise ValueError(
                f"gnn {gnn!r} has no plain-torch layer; plain: {', '.join(PLAIN_GNNS)}"
            )
        self.gnn, self.plain = gnn, plain
        self.norm = RMSNorm(node_dim)
        self.down = nn.Linear(node_dim, bottleneck, bias=False)
        self.up = nn.Linear(bottleneck, graph_dim, bias=False)
        # Map EDGE_TYPES ids -> relation index among the kept types (-1 = dropped). A buffer, so it
        # moves with .to(device), but not persistent: it is derived from the config, not trained.
        rel = torch.full((len(EDGE_TYPE_ID),), -1, dtype=torch.long)
        for i, t in enumerate(edge_types):
            rel[EDGE_TYPE_ID[t]] = i
        self.register_buffer("relation_of", rel, persistent=False)
        n_layers = 0 if gnn == "none" else layers
        self.convs = nn.ModuleList(
            self._make_layer(gnn, bottleneck, len(edge_types), plain) for _ in range(n_layers)
        )

    @staticmethod
    def _make_layer(gnn: str, b: int, num_relations: int, plain: bool) -> nn.Module:
        if gnn == "gatv2" and plain:
            return GATv2(b)
        if gnn in ("gatv2", "gcn", "typed"):
            # lazy: torch_geometric takes seconds to import; the plain inference path never needs it
            from torch_geometric.nn import GATv2Conv, GCNConv, RGCNConv
        if gnn == "gatv2":
            return GATv2Conv(b, b, heads=1, concat=True, bias=False)
        if gnn == "gcn":
            return GCNConv(b, b)
        if gnn == "typed":
            return RGCNConv(b, b, num_relations=num_relations)
        return nn.Linear(b, b, bias=False)

    def forward(self, x: Tensor, edge_index: Tensor, edge_type: Tensor) -> Tensor:
        rel = self.relation_of[edge_type]  # [E]
        keep = rel >= 0
        edge_index, rel = edge_index[:, keep], rel[keep]
        h = self.down(self.norm(x))  # [N, b]
        for i, conv in enumerate(self.convs):
            if i:
                h = nn.functional.elu(h)
            if self.gnn == "typed":
                h = conv(h, edge_index, rel)
            elif self.gnn == "linear":
                h = conv(h)
            else:
                h = conv(h, edge_index)
        return self.up(h)  # [N, graph_dim]
