"""The plain-torch graph operations equal their torch_geometric counterparts."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Batch
from torch_geometric.nn import GATv2Conv, global_mean_pool
from torch_geometric.utils import to_dense_batch as pyg_to_dense_batch

from ttune.cpg import extract
from ttune.transducer import (
    GATv2,
    Transducer,
    TransducerConfig,
    collate_graphs,
    featurize,
    graph_features,
)
from ttune.transducer.graphops import mean_pool, to_dense_batch

from .conftest import SRC, hand_cpg

CODE = [
    SRC,
    "def g(a, b):\n    while a:\n        a -= 1\n        b = b + a\n    return b\n",
    "def h():\n    pass\n",
]


def _graphs(tok):
    return [extract(c, "python") for c in CODE] + [hand_cpg()]


def test_collate_equals_pyg_batch(tok):
    cpgs = _graphs(tok)
    mine = collate_graphs([graph_features(c, tok) for c in cpgs])
    pyg = Batch.from_data_list([featurize(c, tok) for c in cpgs])
    assert mine.num_graphs == pyg.num_graphs == 4
    for name in ("label_ids", "label_mask", "kind", "span", "edge_index", "edge_type", "batch"):
        assert torch.equal(getattr(mine, name), getattr(pyg, name)), name


def test_dense_batch_and_mean_pool_equal_pyg():
    g = torch.Generator().manual_seed(0)
    batch = torch.tensor([0, 0, 0, 2, 2, 3])  # graph 1 has no nodes
    x = torch.randn(6, 5, generator=g)
    for fill in (0.0, -1.0):
        mine, mask = to_dense_batch(x, batch, fill_value=fill, batch_size=5)
        theirs, their_mask = pyg_to_dense_batch(x, batch, fill_value=fill, batch_size=5)
        assert torch.equal(mine, theirs) and torch.equal(mask, their_mask)
    assert mine.shape == (5, 3, 5)
    assert torch.equal(mean_pool(x, batch, 5), global_mean_pool(x, batch, size=5))
    assert torch.equal(mean_pool(x, batch, 5)[1], torch.zeros(5))


def test_gatv2_equals_pyg_with_the_same_weights():
    g = torch.Generator().manual_seed(1)
    torch.manual_seed(0)
    pyg = GATv2Conv(8, 8, heads=1, concat=True, bias=False)
    mine = GATv2(8)
    mine.load_state_dict(pyg.state_dict(), strict=True)  # same parameter names
    x = torch.randn(7, 8, generator=g)
    # Duplicate edges, a self loop to be replaced, a node with no incoming edge.
    edge_index = torch.tensor([[0, 1, 2, 2, 3, 3, 4, 5], [1, 2, 1, 1, 3, 4, 0, 0]])
    out, ref = mine(x, edge_index), pyg(x, edge_index)
    assert out.shape == (7, 8)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-6)
    assert not torch.equal(out, x @ pyg.lin_l.weight.t())  # the edges change the result


@pytest.mark.parametrize("gnn", ["gatv2", "linear", "none"])
def test_plain_transducer_equals_pyg_transducer(gnn, tok):
    """A plain Transducer with the PyG one's weights gives the same embeddings on the same
    graphs, batched each way."""
    torch.manual_seed(0)
    emb = torch.nn.Embedding(len(tok), 16)
    cfg = TransducerConfig(gnn=gnn, graph_dim=12)
    pyg = Transducer(cfg, 16, emb)
    for p in pyg.parameters():  # W_o starts at zero; give every weight a value
        torch.nn.init.normal_(p, std=0.5)
    plain = Transducer(cfg, 16, emb, plain=True)
    plain.load_state_dict(pyg.state_dict(), strict=True)
    cpgs = _graphs(tok)
    B, T = len(cpgs), 9
    embeds = torch.randn(B, T, 16, generator=torch.Generator().manual_seed(2))
    mask = torch.ones(B, T, dtype=torch.long)
    mask[2, 6:] = 0
    spans = torch.randint(0, 30, (B, T, 1), generator=torch.Generator().manual_seed(3))
    spans = torch.cat([spans, spans + 3], -1)
    ref = pyg(embeds, mask, Batch.from_data_list([featurize(c, tok) for c in cpgs]), spans)
    out = plain(embeds, mask, collate_graphs([graph_features(c, tok) for c in cpgs]), spans)
    assert not torch.equal(ref, embeds)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-6)


def test_plain_refuses_gnns_without_a_plain_layer():
    with pytest.raises(ValueError, match="no plain-torch layer"):
        Transducer(TransducerConfig(gnn="typed"), 16, torch.nn.Embedding(10, 16), plain=True)
