"""Exporters: JSON round trip, DOT, GraphML, networkx and PyG."""

from __future__ import annotations

import json
import re

import networkx as nx
import pytest
import torch

from ttune.cpg import EDGE_TYPES, NODE_KINDS, SCHEMA_VERSION, CPGError, extract
from ttune.cpg.export import from_json, to_dot, to_graphml, to_json, to_networkx, to_pyg

SRC = """def f(a, b="x\\"y"):
    if a > 0:
        b = g(a)  # {weird} <label> |chars|
    return b

def g(z):
    return f(z)
"""


@pytest.fixture(scope="module")
def cpg():
    return extract(SRC, "python")


def test_json_shape_and_round_trip(cpg):
    data = to_json(cpg)
    assert set(data) == {"version", "language", "nodes", "edges", "methods", "syntax_errors"}
    assert data["version"] == SCHEMA_VERSION and data["language"] == "python"
    assert data["nodes"][0] == {
        "id": 0,
        "kind": "FILE",
        "label": "",
        "start_byte": 0,
        "end_byte": len(SRC.encode()),
        "line": 1,
    }
    method = next(n for n in data["nodes"] if n["kind"] == "METHOD")
    assert method["name"] == "f"
    assert all("name" not in n for n in data["nodes"] if n["kind"] == "IDENTIFIER")
    ddg = [e for e in data["edges"] if e["type"] == "DDG"]
    assert ddg and all(set(e) == {"source", "target", "type", "variable"} for e in ddg)
    assert {e.get("label") for e in data["edges"] if e["type"] == "CFG"} == {None, "true", "false"}
    assert all(
        set(e) == {"source", "target", "type"}
        for e in data["edges"]
        if e["type"] in ("AST", "CDG", "CALL")
    )
    assert len(data["methods"]) == 3
    # JSON text round trip: equal dicts, equal graphs (ts_type is not exported)
    text = json.dumps(data)
    back = from_json(json.loads(text))
    assert to_json(back) == data
    assert back.edges == cpg.edges and back.methods == cpg.methods
    assert [(n.kind, n.label, n.start_byte, n.end_byte, n.line, n.name) for n in back.nodes] == [
        (n.kind, n.label, n.start_byte, n.end_byte, n.line, n.name) for n in cpg.nodes
    ]


def test_json_edge_filter(cpg):
    data = to_json(cpg, edge_types={"CFG", "CALL"})
    assert {e["type"] for e in data["edges"]} == {"CFG", "CALL"}
    assert len(data["edges"]) == cpg.edge_counts()["CFG"] + cpg.edge_counts()["CALL"]
    with pytest.raises(CPGError, match="unknown edge type.*FOO"):
        to_json(cpg, edge_types={"FOO"})


def test_from_json_validates(cpg):
    data = to_json(cpg)
    with pytest.raises(CPGError, match="unsupported CPG JSON version 99"):
        from_json({**data, "version": 99})
    bad = json.loads(json.dumps(data))
    bad["edges"].append({"source": 0, "target": len(bad["nodes"]), "type": "AST"})
    with pytest.raises(CPGError, match=f"endpoint 0 -> {len(bad['nodes'])} is not a node id"):
        from_json(bad)
    bad = json.loads(json.dumps(data))
    bad["edges"][0]["type"] = "XYZ"
    with pytest.raises(CPGError, match="unknown type 'XYZ'"):
        from_json(bad)
    bad = json.loads(json.dumps(data))
    del bad["nodes"][3]["kind"]
    with pytest.raises(CPGError, match="malformed CPG JSON"):
        from_json(bad)
    with pytest.raises(CPGError, match="must be an object"):
        from_json([])


_DOT_NODE = re.compile(r'^  n(\d+) \[label="((?:[^"\\]|\\.)*)"\];$')
_DOT_EDGE = re.compile(
    r'^  n(\d+) -> n(\d+) \[color="([a-z0-9]+)", type="([A-Z]+)"'
    r'(?:, label="((?:[^"\\]|\\.)*)")?\];$'
)


def _unescape(s: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), s)


def test_dot_parses_back(cpg):
    text = to_dot(cpg)
    lines = text.splitlines()
    assert lines[0] == "digraph cpg {" and lines[-1] == "}"
    nodes, dot_edges = {}, []
    for line in lines[2:-1]:
        m = _DOT_NODE.match(line)
        if m:
            nodes[int(m.group(1))] = _unescape(m.group(2))
            continue
        m = _DOT_EDGE.match(line)
        assert m, f"unparsable DOT line: {line!r}"
        dot_edges.append(
            (
                int(m.group(1)),
                int(m.group(2)),
                m.group(4),
                m.group(3),
                None if m.group(5) is None else _unescape(m.group(5)),
            )
        )
    assert len(nodes) == len(cpg.nodes)
    for n in cpg.nodes:
        assert nodes[n.id] == (f"{n.kind}\n{n.label}" if n.label else n.kind)
    colours = {"AST": "gray60", "CFG": "blue", "CDG": "darkgreen", "DDG": "red", "CALL": "purple"}
    assert dot_edges == [
        (
            e.source,
            e.target,
            e.type,
            colours[e.type],
            e.variable if e.variable is not None else e.label,
        )
        for e in cpg.edges
    ]
    # the label with a quote survived escaping
    assert any('"x\\"y"' in v for v in nodes.values())
    only = to_dot(cpg, edge_types=["DDG"])
    assert only.count(" -> ") == cpg.edge_counts()["DDG"]


def test_networkx_and_graphml(cpg):
    g = to_networkx(cpg)
    assert isinstance(g, nx.MultiDiGraph)
    assert g.number_of_nodes() == len(cpg.nodes) and g.number_of_edges() == len(cpg.edges)
    assert g.nodes[0]["kind"] == "FILE"
    types = sorted(d["type"] for _, _, d in g.edges(data=True))
    assert types == sorted(e.type for e in cpg.edges)
    back = nx.parse_graphml(to_graphml(cpg), force_multigraph=True)
    assert back.number_of_nodes() == len(cpg.nodes)
    assert back.number_of_edges() == len(cpg.edges)
    node = cpg.nodes[5]
    assert back.nodes[str(node.id)]["label"] == node.label
    assert back.nodes[str(node.id)]["start_byte"] == node.start_byte
    got = sorted(
        (int(u), int(v), d["type"], d.get("variable")) for u, v, d in back.edges(data=True)
    )
    assert got == sorted((e.source, e.target, e.type, e.variable) for e in cpg.edges)
    cfg_only = nx.parse_graphml(to_graphml(cpg, edge_types={"CFG"}), force_multigraph=True)
    assert cfg_only.number_of_edges() == cpg.edge_counts()["CFG"]


def test_pyg_shapes_and_dtypes(cpg):
    data = to_pyg(cpg)
    n, e = len(cpg.nodes), len(cpg.edges)
    assert data.num_nodes == n
    assert data.kind.shape == (n,) and data.kind.dtype == torch.long
    assert data.edge_index.shape == (2, e) and data.edge_index.dtype == torch.long
    assert data.edge_type.shape == (e,) and data.edge_type.dtype == torch.long
    assert data.span.shape == (n, 2) and data.span.dtype == torch.long
    assert data.labels == [x.label for x in cpg.nodes]
    assert data.kind.tolist() == [NODE_KINDS.index(x.kind) for x in cpg.nodes]
    assert data.edge_type.tolist() == [EDGE_TYPES.index(x.type) for x in cpg.edges]
    assert data.edge_index[:, 0].tolist() == [cpg.edges[0].source, cpg.edges[0].target]
    assert data.span[0].tolist() == [0, len(SRC.encode())]
    ast = to_pyg(cpg, edge_types={"AST"})
    assert ast.edge_index.shape == (2, cpg.edge_counts()["AST"])
    assert set(ast.edge_type.tolist()) == {0}


def test_pyg_of_empty_graph():
    data = to_pyg(extract("", "python"))
    assert data.num_nodes == 1
    assert data.edge_index.shape == (2, 0) and data.edge_type.shape == (0,)
    assert data.span.shape == (1, 2)
