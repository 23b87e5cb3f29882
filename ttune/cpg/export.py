"""CPG exporters: JSON (and back), DOT, GraphML, networkx, PyTorch Geometric.

Every exporter takes ``edge_types``: the edge types to keep (None: all), for ``--edges``.
networkx, torch and torch_geometric are imported inside the functions that need them, so
importing this module stays cheap (the CPG cache and ``ttune cpg`` import it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .base import CPGError
from .graph import CPG, EDGE_TYPE_ID, EDGE_TYPES, KIND_ID, NODE_KINDS, SCHEMA_VERSION, Edge, Node

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx  # lazy: slow to import; only the networkx and GraphML exports use it
    from torch_geometric.data import Data

EDGE_COLOURS = {"AST": "gray60", "CFG": "blue", "CDG": "darkgreen", "DDG": "red", "CALL": "purple"}


def _edge_filter(edge_types: Iterable[str] | None) -> frozenset[str] | None:
    if edge_types is None:
        return None
    keep = frozenset(edge_types)
    unknown = sorted(keep - set(EDGE_TYPES))
    if unknown:
        raise CPGError(f"unknown edge type(s) {', '.join(unknown)}; known: {', '.join(EDGE_TYPES)}")
    return keep


def _edges(cpg: CPG, edge_types: Iterable[str] | None) -> list[Edge]:
    keep = _edge_filter(edge_types)
    if keep is None:
        return cpg.edges
    return [e for e in cpg.edges if e.type in keep]


# ----------------------------------------------------------------------------------- JSON
def to_json(cpg: CPG, edge_types: Iterable[str] | None = None) -> dict[str, Any]:
    """A JSON-ready dict (schema in docs/cpg-schema.md); None-valued fields are omitted."""
    nodes = []
    for n in cpg.nodes:
        d: dict[str, Any] = {
            "id": n.id,
            "kind": n.kind,
            "label": n.label,
            "start_byte": n.start_byte,
            "end_byte": n.end_byte,
            "line": n.line,
        }
        if n.name is not None:
            d["name"] = n.name
        nodes.append(d)
    edges = []
    for e in _edges(cpg, edge_types):
        d = {"source": e.source, "target": e.target, "type": e.type}
        if e.variable is not None:
            d["variable"] = e.variable
        if e.label is not None:
            d["label"] = e.label
        edges.append(d)
    methods = [{"method": m, "entry": en, "exit": ex} for m, (en, ex) in cpg.methods.items()]
    return {
        "version": SCHEMA_VERSION,
        "language": cpg.language,
        "nodes": nodes,
        "edges": edges,
        "methods": methods,
        "syntax_errors": cpg.syntax_errors,
    }


def from_json(data: dict[str, Any]) -> CPG:
    """Rebuild a CPG from :func:`to_json` output; CPGError on a wrong version or bad graph.

    ``ts_type`` is not part of the JSON and comes back empty; ``source_bytes`` comes back as
    the largest end_byte (the FILE node's span)."""
    if not isinstance(data, dict):
        raise CPGError("CPG JSON must be an object")
    version = data.get("version")
    if version != SCHEMA_VERSION:
        raise CPGError(
            f"unsupported CPG JSON version {version!r}; this ttune reads version {SCHEMA_VERSION}"
        )
    try:
        cpg = CPG(language=str(data["language"]))
        for i, n in enumerate(data["nodes"]):
            if n["id"] != i:
                raise CPGError(f"node ids must be 0..N-1 in order; node {i} has id {n['id']!r}")
            if n["kind"] not in KIND_ID:
                raise CPGError(f"node {i}: unknown kind {n['kind']!r}")
            cpg.nodes.append(
                Node(
                    i,
                    n["kind"],
                    str(n["label"]),
                    int(n["start_byte"]),
                    int(n["end_byte"]),
                    int(n["line"]),
                    "",
                    n.get("name"),
                )
            )
        count = len(cpg.nodes)
        for j, e in enumerate(data["edges"]):
            s, t, typ = e["source"], e["target"], e["type"]
            if typ not in EDGE_TYPE_ID:
                raise CPGError(f"edge {j}: unknown type {typ!r}")
            if not (
                isinstance(s, int) and isinstance(t, int) and 0 <= s < count and 0 <= t < count
            ):
                raise CPGError(f"edge {j}: endpoint {s!r} -> {t!r} is not a node id")
            cpg.edges.append(Edge(s, t, typ, e.get("variable"), e.get("label")))
        for m in data.get("methods", []):
            ids = (m["method"], m["entry"], m["exit"])
            if not all(isinstance(x, int) and 0 <= x < count for x in ids):
                raise CPGError(f"method entry {m!r} names a missing node")
            cpg.methods[ids[0]] = (ids[1], ids[2])
        cpg.syntax_errors = int(data.get("syntax_errors", 0))
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, CPGError):
            raise
        raise CPGError(f"malformed CPG JSON: {type(e).__name__}: {e}") from None
    cpg.source_bytes = max((n.end_byte for n in cpg.nodes), default=0)
    return cpg


# ------------------------------------------------------------------------------------ DOT
def _dot_escape(s: str) -> str:
    # Inside a quoted DOT string only the quote is special; backslash starts a label escape
    # (\n, \l, ...), so a literal backslash is doubled. Labels are one line already.
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")


def to_dot(cpg: CPG, edge_types: Iterable[str] | None = None) -> str:
    """Graphviz DOT text; edges coloured by type (AST gray, CFG blue, CDG green, DDG red,
    CALL purple), DDG edges labelled with their variable, CFG edges with their branch label."""
    lines = ["digraph cpg {", '  node [shape=box, fontname="monospace", fontsize=10];']
    for n in cpg.nodes:
        text = f"{n.kind}\\n{_dot_escape(n.label)}" if n.label else n.kind
        lines.append(f'  n{n.id} [label="{text}"];')
    for e in _edges(cpg, edge_types):
        attrs = [f'color="{EDGE_COLOURS[e.type]}"', f'type="{e.type}"']
        tag = e.variable if e.variable is not None else e.label
        if tag is not None:
            attrs.append(f'label="{_dot_escape(tag)}"')
        lines.append(f"  n{e.source} -> n{e.target} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------- networkx
def to_networkx(cpg: CPG, edge_types: Iterable[str] | None = None) -> nx.MultiDiGraph:
    """A networkx MultiDiGraph: node attrs kind/label/start_byte/end_byte/line (+name), edge
    attr ``type`` (+variable/label). Node keys are the CPG node ids."""
    import networkx as nx  # lazy: slow to import; only the networkx and GraphML exports use it

    g = nx.MultiDiGraph(language=cpg.language, syntax_errors=cpg.syntax_errors)
    for n in cpg.nodes:
        attrs: dict[str, Any] = {
            "kind": n.kind,
            "label": n.label,
            "start_byte": n.start_byte,
            "end_byte": n.end_byte,
            "line": n.line,
        }
        if n.name is not None:
            attrs["name"] = n.name
        g.add_node(n.id, **attrs)
    for e in _edges(cpg, edge_types):
        attrs = {"type": e.type}
        if e.variable is not None:
            attrs["variable"] = e.variable
        if e.label is not None:
            attrs["label"] = e.label
        g.add_edge(e.source, e.target, **attrs)
    return g


def to_graphml(cpg: CPG, edge_types: Iterable[str] | None = None) -> str:
    """GraphML text (networkx.generate_graphml of :func:`to_networkx`)."""
    import networkx as nx  # lazy: slow to import; only the networkx and GraphML exports use it

    return "\n".join(nx.generate_graphml(to_networkx(cpg, edge_types))) + "\n"


# ------------------------------------------------------------------------------------ PyG
def to_tensors(
    cpg: CPG, edge_types: Iterable[str] | None = None, first_nodes: int | None = None
) -> dict:
    """The one tensor schema of a CPG as a dict (what :func:`to_pyg` wraps into a ``Data``; the
    transducer's inference path batches these dicts in plain torch).

    ``first_nodes``: keep only the first N nodes (the front ends add AST nodes in pre-order, so
    this is a pre-order prefix of the tree) and the edges among them.

    Shapes:
        kind: [N] long, index into graph.NODE_KINDS
        edge_index: [2, E] long (source row 0, target row 1)
        edge_type: [E] long, index into graph.EDGE_TYPES
        span: [N, 2] long, (start_byte, end_byte) in the original source
        labels: list of N str; num_nodes: N
    """
    import torch  # lazy: only this export needs torch; ttune cpg runs without it

    nodes = cpg.nodes if first_nodes is None else cpg.nodes[:first_nodes]
    n = len(nodes)
    # Node ids index cpg.nodes; after a cut, only edges with both ends kept survive.
    edges = [e for e in _edges(cpg, edge_types) if e.source < n and e.target < n]
    try:
        kind = torch.tensor([KIND_ID[x.kind] for x in nodes], dtype=torch.long)
    except KeyError as e:
        raise CPGError(f"unknown node kind {e.args[0]!r}") from None
    try:
        edge_type = torch.tensor([EDGE_TYPE_ID[e.type] for e in edges], dtype=torch.long)
    except KeyError as e:
        raise CPGError(f"unknown edge type {e.args[0]!r}") from None
    span = torch.tensor([(x.start_byte, x.end_byte) for x in nodes], dtype=torch.long).view(n, 2)
    edge_index = torch.tensor(
        [[e.source for e in edges], [e.target for e in edges]], dtype=torch.long
    ).view(2, -1)
    return {
        "kind": kind,
        "edge_index": edge_index,
        "edge_type": edge_type,
        "span": span,
        "labels": [x.label for x in nodes],
        "num_nodes": n,
    }


def to_pyg(
    cpg: CPG, edge_types: Iterable[str] | None = None, first_nodes: int | None = None
) -> Data:
    """A torch_geometric ``Data`` of the graph: :func:`to_tensors` as ``Data`` fields (the
    transducer's ``featurize`` adds token ids of the labels to it)."""
    from torch_geometric.data import Data  # lazy: loads torch and torch_geometric

    return Data(**to_tensors(cpg, edge_types, first_nodes))


__all__ = [
    "EDGE_COLOURS",
    "NODE_KINDS",
    "from_json",
    "to_dot",
    "to_graphml",
    "to_json",
    "to_networkx",
    "to_pyg",
    "to_tensors",
]
