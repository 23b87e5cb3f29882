"""The transducer ablations (ttune.methods.ablations): registered, thin presets, and each removes
exactly what its name says."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Batch

from compare.conftest import tiny_records

ABLATIONS = [
    "transducer-nograph",
    "transducer-linear",
    "transducer-paper",
    "transducer-no-ast",
    "transducer-no-cfg",
    "transducer-no-cdg",
    "transducer-no-ddg",
]


@pytest.fixture(scope="module")
def loaded(backbone_dir):
    from ttune.backbone import load_backbone

    return load_backbone(str(backbone_dir))


@pytest.fixture(scope="module")
def graph(loaded):
    """A batch of two real CPGs (Python; both have AST, CFG, CDG and DDG edges)."""
    from ttune.cpg import extract
    from ttune.transducer import featurize

    _, tok = loaded
    return Batch.from_data_list(
        [featurize(extract(r["source"], "python"), tok) for r in tiny_records()[:2]]
    )


def adapted(loaded, name, seed=0, **kw):
    from ttune.methods import apply_method, make_config

    backbone, tok = loaded
    torch.manual_seed(seed)
    return apply_method(backbone, make_config(name, **kw), tok)


def without(graph, edge_types):
    """The same batch with every edge of ``edge_types`` deleted."""
    from ttune.cpg.graph import EDGE_TYPE_ID

    g = graph.clone()
    keep = torch.ones(g.edge_type.shape[0], dtype=torch.bool)
    for t in edge_types:
        keep &= g.edge_type != EDGE_TYPE_ID[t]
    g.edge_index, g.edge_type = g.edge_index[:, keep], g.edge_type[keep]
    return g


def test_ablations_are_registered_with_their_presets():
    from ttune.methods import config_from_dict, make_config, method_names

    assert set(ABLATIONS) <= set(method_names())
    base = make_config("transducer")
    want = {
        "transducer-nograph": {"gnn": "none"},
        "transducer-linear": {"gnn": "linear"},
        "transducer-paper": {"fusion": "paper"},
        "transducer-no-ast": {"edge_types": ("CFG", "CDG", "DDG", "CALL")},
        "transducer-no-cfg": {"edge_types": ("AST", "CDG", "DDG", "CALL")},
        "transducer-no-cdg": {"edge_types": ("AST", "CFG", "DDG", "CALL")},
        "transducer-no-ddg": {"edge_types": ("AST", "CFG", "CDG", "CALL")},
    }
    for name in ABLATIONS:
        cfg = make_config(name)
        d, b = cfg.to_dict(), base.to_dict()
        changed = {k for k in d if k not in ("method",) and d[k] != b[k]}
        assert d["method"] == name and changed == set(want[name]), name  # a thin preset
        assert {k: getattr(cfg, k) for k in want[name]} == want[name]
        assert config_from_dict(d) == cfg


@pytest.mark.parametrize(
    "name, override, needs",
    [
        ("transducer-no-ddg", {"edge_types": ["AST", "DDG"]}, "edge_types without DDG"),
        ("transducer-no-ast", {"edge_types": ["AST"]}, "edge_types without AST"),
        ("transducer-paper", {"fusion": "node"}, 'fusion="paper"'),
        ("transducer-nograph", {"gnn": "gatv2"}, 'gnn="none"'),
        ("transducer-linear", {"gnn": "typed"}, 'gnn="linear"'),
    ],
)
def test_an_override_cannot_undo_the_ablation(name, override, needs):
    from ttune.methods import MethodConfigError, make_config

    with pytest.raises(MethodConfigError, match=f"{name}: this ablation needs {needs}"):
        make_config(name, **override)
    make_config(name, graph_dim=16)  # other fields stay free


@pytest.mark.parametrize("removed", ["AST", "CFG", "CDG", "DDG"])
def test_no_edge_type_ablation_never_sees_that_edge_type(loaded, graph, removed):
    from ttune.cpg.graph import EDGE_TYPE_ID

    assert int((graph.edge_type == EDGE_TYPE_ID[removed]).sum()) > 0  # the graph has them
    m = adapted(loaded, f"transducer-{'no-' + removed.lower()}")
    assert removed not in m.config.edge_types
    assert int(m.transducer.gve.relation_of[EDGE_TYPE_ID[removed]]) == -1
    with torch.no_grad():
        full, cut = (
            m.transducer.encode_graph(graph),
            m.transducer.encode_graph(without(graph, [removed])),
        )
        assert torch.equal(full, cut)  # those edges change nothing
        # ... while the full transducer with the same weights does read them
        base = adapted(loaded, "transducer")
        base.load_method_state_dict(m.method_state_dict())
        assert not torch.allclose(
            base.transducer.encode_graph(graph),
            base.transducer.encode_graph(without(graph, [removed])),
        )


@pytest.mark.parametrize("name", ["transducer-nograph", "transducer-linear"])
def test_graph_free_ablations_ignore_every_edge(loaded, graph, name):
    from ttune.cpg.graph import EDGE_TYPES

    m = adapted(loaded, name)
    with torch.no_grad():
        assert torch.equal(
            m.transducer.encode_graph(graph), m.transducer.encode_graph(without(graph, EDGE_TYPES))
        )


def test_parameter_counts_differ_by_exactly_the_gnn(loaded):
    from torch import nn

    full = adapted(loaded, "transducer").num_trainable()
    nograph, linear = adapted(loaded, "transducer-nograph"), adapted(loaded, "transducer-linear")
    assert len(nograph.transducer.gve.convs) == 0
    assert isinstance(linear.transducer.gve.convs[0], nn.Linear)
    b = 8  # graph_bottleneck: GATv2Conv(b, b) has lin_l b*b + lin_r b*b + att b; Linear(b, b) b*b
    assert full - nograph.num_trainable() == 2 * b * b + b
    assert full - linear.num_trainable() == b * b + b
    for name in (
        "transducer-no-ast",
        "transducer-no-cfg",
        "transducer-no-cdg",
        "transducer-no-ddg",
    ):
        assert adapted(loaded, name).num_trainable() == full  # gatv2 has no per-type weights


def test_paper_ablation_uses_the_paper_fusion(loaded):
    from ttune.transducer.fusion import NodeFusion, PaperFusion

    assert isinstance(adapted(loaded, "transducer-paper").transducer.fusion, PaperFusion)
    assert isinstance(adapted(loaded, "transducer").transducer.fusion, NodeFusion)


def test_ablation_saves_and_loads_as_itself(loaded, tmp_path):
    from ttune.methods import load_method, read_method_config, save_method

    backbone, tok = loaded
    m = adapted(loaded, "transducer-no-ddg")
    with torch.no_grad():
        m.transducer.fusion.gate.fill_(0.5)
    save_method(m, tmp_path)
    assert read_method_config(tmp_path)["config"]["method"] == "transducer-no-ddg"
    back = load_method(tmp_path, backbone, tok)
    assert back.config == m.config and type(back.config) is type(m.config)
    for (n, p), (n2, q) in zip(m.trainable_parameters(), back.trainable_parameters()):
        assert n == n2 and torch.equal(p, q)
