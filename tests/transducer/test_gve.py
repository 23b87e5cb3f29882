"""Graph Vectorization Engine: shapes, edge types, per-graph independence, paper layout."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Batch

from transducer.conftest import hand_cpg

GNNS = ["gatv2", "gcn", "typed", "linear", "none"]


def _graph(tok, **kw):
    from ttune.transducer import featurize

    return featurize(hand_cpg(**kw), tok)


def _x(g, dim=32):
    from ttune.transducer import make_vectorizer

    return make_vectorizer("hashed", dim)(g.label_ids, g.label_mask, g.kind)


@pytest.mark.parametrize("gnn", GNNS)
@pytest.mark.parametrize("layers", [1, 2])
def test_shapes(gnn, layers, tok):
    from ttune.transducer import GraphVectorizationEngine

    torch.manual_seed(0)
    gve = GraphVectorizationEngine(32, 8, 12, gnn, layers)
    g = _graph(tok)
    out = gve(_x(g), g.edge_index, g.edge_type)
    assert out.shape == (5, 12) and torch.isfinite(out).all()


def test_paper_layout_parameter_count():
    from ttune.transducer import GraphVectorizationEngine

    gve = GraphVectorizationEngine(1024, 8, 128, "gatv2", 1)
    # RMSNorm 1024 + down 8,192 + GATv2 (lin_l 64, lin_r 64, att 8) + up 1,024
    assert sum(p.numel() for p in gve.parameters()) == 10_376


def test_typed_gnn_tells_edge_types_apart(tok):
    """Relabel the DDG edge as CDG: the typed GNN's output changes, GATv2's does not."""
    from ttune.cpg.graph import EDGE_TYPE_ID
    from ttune.transducer import GraphVectorizationEngine

    g = _graph(tok)
    relabelled = g.edge_type.clone()
    relabelled[relabelled == EDGE_TYPE_ID["DDG"]] = EDGE_TYPE_ID["CDG"]
    torch.manual_seed(0)
    typed = GraphVectorizationEngine(32, 8, 12, "typed")
    gat = GraphVectorizationEngine(32, 8, 12, "gatv2")
    x = _x(g)
    assert not torch.allclose(
        typed(x, g.edge_index, g.edge_type), typed(x, g.edge_index, relabelled)
    )
    assert torch.equal(gat(x, g.edge_index, g.edge_type), gat(x, g.edge_index, relabelled))


def test_edge_type_selection_drops_other_edges(tok):
    from ttune.transducer import GraphVectorizationEngine

    with_ddg, without = _graph(tok, ddg=True), _graph(tok, ddg=False)
    torch.manual_seed(0)
    ast_only = GraphVectorizationEngine(32, 8, 12, "gatv2", edge_types=("AST", "CFG"))
    x = _x(with_ddg)
    assert torch.equal(
        ast_only(x, with_ddg.edge_index, with_ddg.edge_type),
        ast_only(x, without.edge_index, without.edge_type),
    )
    torch.manual_seed(0)
    all_edges = GraphVectorizationEngine(32, 8, 12, "gatv2")
    assert not torch.allclose(
        all_edges(x, with_ddg.edge_index, with_ddg.edge_type),
        all_edges(x, without.edge_index, without.edge_type),
    )


@pytest.mark.parametrize("gnn", ["gatv2", "gcn", "typed"])
def test_batched_equals_one_by_one(gnn, tok):
    from ttune.transducer import GraphVectorizationEngine

    a, b = _graph(tok, ddg=True), _graph(tok, ddg=False)
    batch = Batch.from_data_list([a, b])
    torch.manual_seed(0)
    gve = GraphVectorizationEngine(32, 8, 12, gnn, 2)
    out = gve(_x(batch), batch.edge_index, batch.edge_type)
    assert torch.allclose(out[:5], gve(_x(a), a.edge_index, a.edge_type), atol=1e-6)
    assert torch.allclose(out[5:], gve(_x(b), b.edge_index, b.edge_type), atol=1e-6)
