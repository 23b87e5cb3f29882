"""The transducer: vectorizer -> Graph Vectorization Engine -> Attention-Based Fusion Layer.

It maps a frozen backbone's token embeddings and a batch of CPGs to new token embeddings, which
the backbone then reads as ``inputs_embeds``. Sizes follow the paper's bottleneck
(node vectors -> 8 -> 128, and 8 inside the fusion).

Trainable parameters in ``paper`` mode with a CodeT5+ 220M backbone (d = 768) and 1024-d node
vectors (vectorizer "hashed", node_dim=1024), as the released code builds them:

    GVE:    RMSNorm(1024)                  1,024
            Linear(1024, 8, no bias)       8,192
            GATv2Conv(8, 8, heads=1, no bias): lin_l 64 + lin_r 64 + att 8 = 136
            Linear(8, 128, no bias)        1,024      -> 10,376
    Fusion: RMSNorm(768) + RMSNorm(128)    896
            W_q Linear(768, 8)             6,144
            W_k Linear(128, 8)             1,024
            W_v Linear(768, 8)             6,144
            W_o Linear(8, 768)             6,144      -> 20,352
    Total                                             30,728   (the paper's count)

``node`` mode with the default embedding vectorizer (node_dim = d = 768): GVE 768 + 6,144 + 136 +
1,024 = 8,072; fusion 768 + 128 + 6,144 + 1,024 (W_k) + 1,024 (W_v from 128) + 6,144 + 1 (gate)
+ 1 (span bias) = 15,234; total 23,306.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor, nn

from ttune.cpg.graph import EDGE_TYPES, NODE_KINDS
from ttune.transducer.fusion import FUSIONS, NodeFusion, PaperFusion
from ttune.transducer.gve import GNNS, GraphVectorizationEngine
from ttune.transducer.vectorize import VECTORIZERS, make_vectorizer

HASHED_DEFAULT_DIM = 1024  # the paper's node-vector width


class TransducerConfigError(ValueError):
    """An invalid transducer configuration."""


@dataclass
class TransducerConfig:
    """How the transducer is built. Defaults: embedding vectorizer, one GATv2 layer, node fusion."""

    vectorizer: str = "embedding"
    """Node-label vectorizer: "embedding" (backbone's token table), "hashed" or "kind"."""
    node_dim: int | None = None
    """Node-vector width; None = natural width (backbone d_model, 1024 hashed, #kinds one-hot)."""
    gnn: str = "gatv2"
    """Graph layer: "gatv2" (paper), "gcn", "typed" (per-edge-type weights), "linear", "none"."""
    gnn_layers: int = 1
    """Number of GNN layers (ignored for gnn="none")."""
    graph_bottleneck: int = 8
    """Width inside the GVE (after the down-projection); 8 in the paper."""
    graph_dim: int = 128
    """Width of the node features the GVE outputs; 128 in the paper."""
    fusion: str = "node"
    """Fusion mode: "node" (corrected, default) or "paper" (the released design, for comparison)."""
    fusion_dim: int = 8
    """Attention width inside the fusion layer; 8 in the paper."""
    edge_types: tuple[str, ...] = field(default_factory=lambda: tuple(EDGE_TYPES))
    """CPG edge types the GNN sees (others are dropped), e.g. ("AST",) for an AST-only ablation."""
    span_bias: float = 2.0
    """Initial value of the learned bias toward nodes whose span covers the token (0 = no bias)."""
    max_label_tokens: int = 16
    """Tokens kept per node label when featurizing."""
    max_graph_nodes: int | None = None
    """Nodes of each CPG the transducer reads: the first this many (a pre-order prefix of the AST)
    and the edges among them; None reads all. (Saved configs may call it ``max_nodes``.)"""

    def __post_init__(self) -> None:
        def need(ok: bool, msg: str) -> None:
            if not ok:
                raise TransducerConfigError(msg)

        need(
            self.vectorizer in VECTORIZERS,
            f"unknown vectorizer {self.vectorizer!r}; known: {', '.join(VECTORIZERS)}",
        )
        need(self.gnn in GNNS, f"unknown gnn {self.gnn!r}; known: {', '.join(GNNS)}")
        need(self.fusion in FUSIONS, f"unknown fusion {self.fusion!r}; known: {', '.join(FUSIONS)}")
        for name in (
            "gnn_layers",
            "graph_bottleneck",
            "graph_dim",
            "fusion_dim",
            "max_label_tokens",
        ):
            v = getattr(self, name)
            need(
                isinstance(v, int) and not isinstance(v, bool) and v >= 1,
                f"{name} must be an integer >= 1, got {v!r}",
            )
        for name in ("node_dim", "max_graph_nodes"):
            v = getattr(self, name)
            need(
                v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 1),
                f"{name} must be an integer >= 1 or null, got {v!r}",
            )
        if isinstance(self.edge_types, str):
            self.edge_types = (self.edge_types,)
        self.edge_types = tuple(self.edge_types)
        bad = [t for t in self.edge_types if t not in EDGE_TYPES]
        need(not bad, f"unknown edge type(s) {bad}; known: {', '.join(EDGE_TYPES)}")
        need(
            len(self.edge_types) > 0 and len(set(self.edge_types)) == len(self.edge_types),
            "edge_types must be a non-empty list without repeats",
        )
        need(
            isinstance(self.span_bias, (int, float)) and not isinstance(self.span_bias, bool),
            f"span_bias must be a number, got {self.span_bias!r}",
        )
        self.span_bias = float(self.span_bias)
        if self.vectorizer == "kind":
            need(
                self.node_dim in (None, len(NODE_KINDS)),
                f"the kind vectorizer gives {len(NODE_KINDS)}-d vectors; node_dim {self.node_dim} "
                f"does not match",
            )

    def resolved_node_dim(self, d_model: int) -> int:
        """The node-vector width for a backbone of width ``d_model``."""
        if self.vectorizer == "embedding":
            if self.node_dim not in (None, d_model):
                raise TransducerConfigError(
                    f"the embedding vectorizer gives {d_model}-d vectors (backbone width); "
                    f"node_dim is {self.node_dim}"
                )
            return d_model
        if self.vectorizer == "kind":
            return len(NODE_KINDS)
        return self.node_dim or HASHED_DEFAULT_DIM


class Transducer(nn.Module):
    """Vectorizer -> GVE -> fusion. Owns only its own (trainable) parameters. ``plain``: the GVE's
    layers in plain torch (inference without torch_geometric; same parameter names), and ``graph``
    may be a :class:`ttune.transducer.graphops.GraphBatch`.

    Shapes:
        - embeds: ``[B, T, d_model]`` frozen token embeddings; attention_mask: ``[B, T]``
        - graph: a PyG ``Batch`` of B graphs from :func:`ttune.transducer.featurize`
        - token_spans: ``[B, T, 2]`` long or None
        - output: ``[B, T, d_model]`` embeddings to pass as ``inputs_embeds``
    """

    def __init__(
        self,
        config: TransducerConfig,
        d_model: int,
        embedding: nn.Embedding | None = None,
        plain: bool = False,
    ) -> None:
        super().__init__()
        self.config = config
        node_dim = config.resolved_node_dim(d_model)
        self.vectorizer = make_vectorizer(config.vectorizer, node_dim, embedding)
        self.gve = GraphVectorizationEngine(
            node_dim,
            config.graph_bottleneck,
            config.graph_dim,
            config.gnn,
            config.gnn_layers,
            config.edge_types,
            plain,
        )
        if config.fusion == "paper":
            self.fusion: nn.Module = PaperFusion(d_model, config.graph_dim, config.fusion_dim)
        else:
            self.fusion = NodeFusion(d_model, config.graph_dim, config.fusion_dim, config.span_bias)

    def encode_graph(self, graph) -> Tensor:
        """Node features of every node in the batch. Shapes: ``[N, graph_dim]``."""
        x = self.vectorizer(graph.label_ids, graph.label_mask, graph.kind)  # [N, node_dim]
        x = x.to(self.gve.down.weight.dtype)
        return self.gve(x, graph.edge_index, graph.edge_type)  # [N, graph_dim]

    def forward(
        self, embeds: Tensor, attention_mask: Tensor, graph, token_spans: Tensor | None = None
    ) -> Tensor:
        B = embeds.shape[0]
        if int(graph.num_graphs) != B:
            raise TransducerConfigError(
                f"got {int(graph.num_graphs)} graphs for a batch of {B} examples"
            )
        nodes = self.encode_graph(graph)
        return self.fusion(embeds, attention_mask, nodes, graph.batch, graph.span, token_spans)
