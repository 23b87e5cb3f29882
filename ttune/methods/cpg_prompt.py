r"""``cpg-prompt``: a soft prompt generated per input from its code property graph.

After CPTPP (Yang et al., NeurIPS 2023, "Cross-domain Personalised Prompt Tuning"), which generates
a personalised prompt per user from the user's profile and fuses it with the pre-trained
embeddings. Here the "profile" is the input's CPG: the transducer's graph encoder (vectorizer ->
:class:`ttune.transducer.gve.GraphVectorizationEngine`) gives node features, their mean is the
pooled CPG vector :math:`g`, and a prompt generator turns it into m soft tokens prepended to the
input embeddings:

.. math::
    P(g) = \tanh(W_2 \tanh(W_1 g + b_1) + b_2) \in \mathbb{R}^{m \times d}

With ``fuse=True`` the token embeddings are also fused with :math:`g` by CPTPP's fusion MLP:

.. math::
    e_t' = e_t + \tanh(W_4 \tanh(W_3 [e_t; g] + b_3) + b_4)

CPTPP's released code builds the generator and fusion modules but never passes their parameters to
the optimizer, so they stay at their initialisation; here they are ordinary trainable parameters of
the method (``trainable_parameters``), which the trainer's AdamW receives.

Trainable parameters, with graph width g (``graph_dim``), generator width h (``hidden``), prompt
length m and backbone width d: the graph encoder's (as in the transducer's GVE: RMSNorm node_dim +
node_dim*b + GNN + b*g) + generator :math:`g h + h + h m d + m d` + fusion
:math:`(d + g) h + h + h d + d` (with ``fuse``). CodeT5+ 220M (d = 768), defaults (embedding
vectorizer, GATv2, b = 8, g = 128, h = 64, m = 10): GVE 768 + 6,144 + 136 + 1,024 = 8,072;
generator 8,192 + 64 + 491,520 + 7,680 = 507,456; total 515,528; with ``fuse`` + 57,344 + 64 +
49,152 + 768 = 107,328, total 622,856.

Choices where CPTPP gives no detail for this setting: the pooled vector is the mean of the node
features (CPTPP's profile vector is already one vector); the fusion is residual (CPTPP replaces the
embedding by the MLP output, which in a frozen backbone would throw away the pre-trained token
embeddings the backbone was trained on); the generator's hidden width is 64.

Args (config fields): the graph encoder's ``vectorizer``, ``node_dim``, ``gnn``, ``gnn_layers``,
``graph_bottleneck``, ``graph_dim``, ``edge_types`` (as in
:class:`ttune.transducer.TransducerConfig`); the featurization's ``max_label_tokens`` and
``max_graph_nodes``; ``num_virtual_tokens`` (m), ``hidden`` (h), ``fuse``.

Shapes:
    - embeds: ``[B, T, d]``; graph: PyG Batch of B graphs; pooled g: ``[B, graph_dim]``
    - prompt: ``[B, m, d]``; backbone input: ``[B, m + T, d]``
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn
from torch_geometric.utils import scatter

from ttune.cpg.graph import EDGE_TYPES
from ttune.methods.base import AdaptedModel, GraphOptions, MethodConfig, MethodConfigError
from ttune.methods.registry import register_method
from ttune.transducer.gve import GraphVectorizationEngine
from ttune.transducer.model import TransducerConfig, TransducerConfigError
from ttune.transducer.vectorize import make_vectorizer


@dataclass
class CPGPromptConfig(MethodConfig):
    """Graph encoder -> pooled CPG vector -> prompt generator (-> optional fusion MLP)."""

    name = "cpg-prompt"
    version = 1

    num_virtual_tokens: int = 10
    """Prompt length m (soft tokens generated per input)."""
    hidden: int = 64
    """Hidden width h of the generator (and of the fusion MLP)."""
    fuse: bool = False
    """Also fuse every token embedding with the pooled CPG vector (CPTPP's fusion MLP)."""
    vectorizer: str = "embedding"
    """Node-label vectorizer: "embedding" (backbone's token table), "hashed" or "kind"."""
    node_dim: int | None = None
    """Node-vector width; None = natural width (backbone d_model, 1024 hashed, #kinds one-hot)."""
    gnn: str = "gatv2"
    """Graph layer of the encoder: "gatv2", "gcn", "typed", "linear", "none"."""
    gnn_layers: int = 1
    """Number of GNN layers."""
    graph_bottleneck: int = 8
    """Width inside the graph encoder."""
    graph_dim: int = 128
    """Width g of the node features and of the pooled CPG vector."""
    edge_types: tuple[str, ...] = field(default_factory=lambda: tuple(EDGE_TYPES))
    """CPG edge types the GNN sees."""
    max_label_tokens: int = 16
    """Tokens kept per node label when featurizing."""
    max_graph_nodes: int | None = None
    """Read at most this many nodes of each graph (pre-order prefix); None reads all."""

    def __post_init__(self) -> None:
        for name in ("num_virtual_tokens", "hidden"):
            v = getattr(self, name)
            if not (isinstance(v, int) and not isinstance(v, bool) and v >= 1):
                raise MethodConfigError(f"cpg-prompt: {name} must be an integer >= 1, got {v!r}")
        if not isinstance(self.fuse, bool):
            raise MethodConfigError(f"cpg-prompt: fuse must be true or false, got {self.fuse!r}")
        v = self.max_graph_nodes
        if not (v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 1)):
            raise MethodConfigError(
                f"cpg-prompt: max_graph_nodes must be an integer >= 1 or null, got {v!r}"
            )
        self.graph_config()  # validates the graph encoder's fields
        if isinstance(self.edge_types, (str, list)):
            self.edge_types = tuple(
                [self.edge_types] if isinstance(self.edge_types, str) else self.edge_types
            )

    def graph_options(self) -> GraphOptions:
        return GraphOptions(
            max_graph_nodes=self.max_graph_nodes, max_label_tokens=self.max_label_tokens
        )

    def graph_config(self) -> TransducerConfig:
        """The graph encoder's fields as a :class:`TransducerConfig` (validated; node limits are
        featurization options, not part of it)."""
        try:
            return TransducerConfig(
                vectorizer=self.vectorizer,
                node_dim=self.node_dim,
                gnn=self.gnn,
                gnn_layers=self.gnn_layers,
                graph_bottleneck=self.graph_bottleneck,
                graph_dim=self.graph_dim,
                edge_types=self.edge_types,
                max_label_tokens=self.max_label_tokens,
            )
        except TransducerConfigError as e:
            raise MethodConfigError(f"cpg-prompt: {e}") from None


def _mlp(d_in: int, hidden: int, d_out: int) -> nn.Sequential:
    """CPTPP's two-layer block: Linear, tanh, Linear, tanh."""
    return nn.Sequential(nn.Linear(d_in, hidden), nn.Tanh(), nn.Linear(hidden, d_out), nn.Tanh())


class CPGPromptModel(AdaptedModel):
    """The backbone reading ``[P(g); e']`` where g is the input's pooled CPG vector."""

    needs_graph = True

    def __init__(self, backbone, config: CPGPromptConfig) -> None:
        super().__init__(backbone, config)
        emb = backbone.get_input_embeddings()
        d = emb.weight.shape[1]
        gc = config.graph_config()
        try:
            node_dim = gc.resolved_node_dim(d)
        except TransducerConfigError as e:
            raise MethodConfigError(f"cpg-prompt: {e}") from None
        self.vectorizer = make_vectorizer(gc.vectorizer, node_dim, emb)
        self.gve = GraphVectorizationEngine(
            node_dim, gc.graph_bottleneck, gc.graph_dim, gc.gnn, gc.gnn_layers, gc.edge_types
        )
        m = config.num_virtual_tokens
        self.generator = _mlp(gc.graph_dim, config.hidden, m * d)
        self.fusion = _mlp(d + gc.graph_dim, config.hidden, d) if config.fuse else None
        self.to(device=emb.weight.device)

    def pooled(self, graph) -> Tensor:
        """Mean node feature per graph (zeros for an empty graph). Shapes: -> ``[B, graph_dim]``."""
        x = self.vectorizer(graph.label_ids, graph.label_mask, graph.kind)
        x = x.to(self.gve.down.weight.dtype)
        nodes = self.gve(x, graph.edge_index, graph.edge_type)  # [N, g]
        return scatter(nodes, graph.batch, dim=0, dim_size=int(graph.num_graphs), reduce="mean")

    def prompt(self, g: Tensor) -> Tensor:
        """The generated soft tokens. Shapes: ``[B, g]`` -> ``[B, m, d]``."""
        return self.generator(g).view(g.shape[0], self.config.num_virtual_tokens, -1)

    def prepare_inputs(
        self, input_ids: Tensor, attention_mask: Tensor, graph=None, token_spans=None
    ) -> dict:
        embeds = self.embed(input_ids)
        B = embeds.shape[0]
        if int(graph.num_graphs) != B:
            raise MethodConfigError(
                f"cpg-prompt: got {int(graph.num_graphs)} graphs for a batch of {B} examples"
            )
        g = self.pooled(graph)
        if self.fusion is not None:
            gt = g[:, None, :].expand(-1, embeds.shape[1], -1).to(embeds.dtype)
            embeds = embeds + self.fusion(torch.cat([embeds, gt], -1))
        prompt = self.prompt(g).to(embeds.dtype)
        ones = attention_mask.new_ones(B, prompt.shape[1])
        return {
            "inputs_embeds": torch.cat([prompt, embeds], 1),
            "attention_mask": torch.cat([ones, attention_mask], 1),
        }


def apply(backbone, config: CPGPromptConfig, tokenizer=None) -> CPGPromptModel:
    return CPGPromptModel(backbone, config)


register_method("cpg-prompt", CPGPromptConfig, apply)
