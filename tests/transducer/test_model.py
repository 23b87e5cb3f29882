"""TransducerConfig validation and the assembled Transducer."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Batch

from transducer.conftest import SRC, hand_cpg


def test_config_defaults_follow_the_paper():
    from ttune.cpg.graph import EDGE_TYPES
    from ttune.transducer import TransducerConfig

    c = TransducerConfig()
    assert (
        c.vectorizer,
        c.gnn,
        c.gnn_layers,
        c.graph_bottleneck,
        c.graph_dim,
        c.fusion,
        c.fusion_dim,
    ) == ("embedding", "gatv2", 1, 8, 128, "node", 8)
    assert c.edge_types == tuple(EDGE_TYPES) and c.resolved_node_dim(768) == 768
    assert TransducerConfig(vectorizer="hashed").resolved_node_dim(768) == 1024
    assert TransducerConfig(vectorizer="kind").resolved_node_dim(768) == 23


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"gnn": "gin"}, "unknown gnn"),
        ({"edge_types": ()}, "non-empty"),
        ({"edge_types": ("AST", "AST")}, "without repeats"),
        ({"max_graph_nodes": 0}, "max_graph_nodes"),
        ({"gnn_layers": 0}, "gnn_layers"),
    ],
)
def test_config_errors(kw, match):
    from ttune.transducer import TransducerConfig, TransducerConfigError

    with pytest.raises(TransducerConfigError, match=match):
        TransducerConfig(**kw)


def test_embedding_vectorizer_width_must_match_backbone(tok):
    from ttune.transducer import Transducer, TransducerConfig, TransducerConfigError

    with pytest.raises(TransducerConfigError, match="backbone width"):
        Transducer(TransducerConfig(node_dim=1024), 16, torch.nn.Embedding(10, 16))


@pytest.mark.parametrize("vectorizer", ["embedding", "hashed", "kind"])
@pytest.mark.parametrize("gnn", ["gatv2", "typed", "none"])
def test_forward_shapes(vectorizer, gnn, tok):
    from ttune.transducer import Transducer, TransducerConfig, featurize

    emb = torch.nn.Embedding(len(tok), 16)
    t = Transducer(TransducerConfig(vectorizer=vectorizer, gnn=gnn, graph_dim=12), 16, emb)
    enc = tok([SRC, "y = 2"], return_tensors="pt", padding=True)
    g = Batch.from_data_list([featurize(hand_cpg(), tok)] * 2)
    out = t(emb(enc["input_ids"]), enc["attention_mask"], g)
    assert out.shape == (2, enc["input_ids"].shape[1], 16)
    assert all(
        "embedding" not in n for n, _ in t.named_parameters()
    )  # the backbone table is not ours


def test_graph_count_must_match_batch(tok):
    from ttune.transducer import Transducer, TransducerConfig, TransducerConfigError, featurize

    emb = torch.nn.Embedding(len(tok), 16)
    t = Transducer(TransducerConfig(), 16, emb)
    enc = tok([SRC, SRC], return_tensors="pt")
    with pytest.raises(TransducerConfigError, match="got 1 graphs for a batch of 2"):
        t(
            emb(enc["input_ids"]),
            enc["attention_mask"],
            Batch.from_data_list([featurize(hand_cpg(), tok)]),
        )
