"""featurize: CPG -> PyG Data with label token ids, kinds, typed edges and byte spans."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Batch

from transducer.conftest import SRC, hand_cpg


def test_fields_are_exact(tok):
    from ttune.cpg.graph import EDGE_TYPE_ID, KIND_ID
    from ttune.transducer import featurize

    d = featurize(hand_cpg(), tok, max_label_tokens=4)
    assert d.num_nodes == 5
    ids = tok("return x + 1", add_special_tokens=False)["input_ids"][:4]
    assert d.label_ids[3, : len(ids)].tolist() == ids and d.label_mask[3].sum() == len(ids)
    file_ids = tok("file", add_special_tokens=False)["input_ids"]  # empty label -> kind name
    assert d.label_ids[0, : len(file_ids)].tolist() == file_ids
    assert (d.label_ids[~d.label_mask] == tok.pad_token_id).all()
    assert d.kind.tolist() == [
        KIND_ID[k] for k in ("FILE", "METHOD", "PARAM", "RETURN", "IDENTIFIER")
    ]
    assert d.edge_index.tolist() == [[0, 1, 1, 3, 2, 2], [1, 2, 3, 4, 3, 4]]
    a, cfg, ddg = EDGE_TYPE_ID["AST"], EDGE_TYPE_ID["CFG"], EDGE_TYPE_ID["DDG"]
    assert d.edge_type.tolist() == [a, a, a, a, cfg, ddg]
    assert d.span.tolist() == [[0, 27], [0, 26], [6, 7], [14, 26], [21, 22]]
    assert d.label_ids.shape == (5, 4) and d.label_mask.dtype == torch.bool


def test_max_graph_nodes_keeps_prefix_and_inner_edges(tok):
    from ttune.transducer import featurize

    d = featurize(hand_cpg(), tok, max_graph_nodes=3)
    assert d.num_nodes == 3 and d.edge_index.tolist() == [[0, 1], [1, 2]]
    assert d.span.shape == (3, 2) and d.kind.shape == (3,)


def test_empty_graph_and_batching(tok):
    from ttune.cpg.graph import CPG
    from ttune.transducer import featurize

    empty = featurize(CPG("python"), tok)
    assert (
        empty.num_nodes == 0
        and empty.label_ids.shape == (0, 16)
        and empty.edge_index.shape == (2, 0)
    )
    one = featurize(hand_cpg(), tok)
    b = Batch.from_data_list([one, empty, one])
    assert b.num_graphs == 3 and b.num_nodes == 10
    assert b.batch.tolist() == [0] * 5 + [2] * 5
    assert b.edge_index[:, 6:].tolist() == (one.edge_index + 5).tolist()  # renumbered per graph


def test_real_extracted_graph(tok):
    from ttune.cpg import extract
    from ttune.transducer import featurize

    cpg = extract(SRC, "python")
    d = featurize(cpg, tok)
    assert d.num_nodes == len(cpg.nodes) and d.edge_index.shape[1] == len(cpg.edges)
    assert int(d.edge_index.max()) < d.num_nodes and (d.label_mask.sum(1) >= 1).all()
    assert (d.span[:, 0] <= d.span[:, 1]).all() and int(d.span.max()) <= len(SRC.encode())


def test_bad_arguments(tok):
    from ttune.cpg.graph import CPG
    from ttune.transducer import FeaturizeError, featurize

    with pytest.raises(FeaturizeError, match="max_label_tokens"):
        featurize(hand_cpg(), tok, max_label_tokens=0)
    c = CPG("python")
    c.add_node("NOT_A_KIND", "x", 0, 1, 1)
    with pytest.raises(FeaturizeError, match="unknown node kind 'NOT_A_KIND'"):
        featurize(c, tok)
