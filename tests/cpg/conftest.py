"""Helpers for the CPG tests: readable edge sets, so tests can assert EXACT graphs.

A node is shown as ``"<line>:<text>"``: statements by their code (``"3:x = 0"``), control
structures / returns / raises by their first word (``"2:if"``, ``"5:except"``, ``"7:return"``),
methods as ``"<line>:def <name>"``, parameters as ``"param <name>"``, and the synthetic nodes as
``"ENTRY"`` / ``"EXIT"``.
"""

from __future__ import annotations

import textwrap

import pytest

from ttune.cpg import CPG, extract


def show(cpg: CPG, nid: int) -> str:
    n = cpg.nodes[nid]
    if n.kind == "METHOD_ENTRY":
        return "ENTRY"
    if n.kind == "METHOD_EXIT":
        return "EXIT"
    if n.kind == "PARAM":
        return f"param {n.name}"
    if n.kind == "METHOD":
        return f"{n.line}:def {n.name}"
    if n.kind == "TYPE_DECL":
        return f"{n.line}:class {n.name}"
    if n.kind in ("CONTROL_STRUCTURE", "RETURN", "THROW"):
        return f"{n.line}:{n.label.split()[0].rstrip(':')}"
    return f"{n.line}:{n.label}"


def method_nodes(cpg: CPG, name: str) -> set[int]:
    """Node ids of method ``name`` (``"<module>"``: the file's top level): its AST subtree
    without nested methods' subtrees (their def node itself stays: it is a statement here),
    plus its entry and exit."""
    if name == "<module>":
        root = 0
    else:
        matches = [n.id for n in cpg.nodes if n.kind == "METHOD" and n.name == name]
        assert len(matches) == 1, f"{len(matches)} methods named {name!r}"
        root = matches[0]
    children: dict[int, list[int]] = {}
    for e in cpg.edges:
        if e.type == "AST":
            children.setdefault(e.source, []).append(e.target)
    ids = {root}
    stack = list(children.get(root, ()))
    while stack:
        n = stack.pop()
        ids.add(n)
        if cpg.nodes[n].kind != "METHOD":
            stack.extend(children.get(n, ()))
    ids.update(cpg.methods[root])
    return ids


def edges(cpg: CPG, type: str, method: str | None = None) -> set[tuple]:
    """Edges of one type as readable tuples: CFG (source, target, label or ""), DDG (source,
    target, variable), CDG / CALL / AST (source, target). ``method`` keeps edges whose both ends
    belong to that method."""
    keep = method_nodes(cpg, method) if method is not None else None
    out: set[tuple] = set()
    for e in cpg.edges:
        if e.type != type:
            continue
        if keep is not None and (e.source not in keep or e.target not in keep):
            continue
        s, t = show(cpg, e.source), show(cpg, e.target)
        if type == "CFG":
            out.add((s, t, e.label or ""))
        elif type == "DDG":
            out.add((s, t, e.variable))
        else:
            out.add((s, t))
    return out


def py(source: str) -> CPG:
    """CPG of dedented Python source."""
    return extract(textwrap.dedent(source).lstrip("\n"), "python")


def check_invariants(cpg: CPG, source_len: int) -> None:
    """Structural facts every CPG must satisfy (used by several test modules)."""
    n = len(cpg.nodes)
    assert n >= 1 and cpg.nodes[0].kind == "FILE"
    for i, node in enumerate(cpg.nodes):
        assert node.id == i
        assert 0 <= node.start_byte <= node.end_byte <= source_len, node
        assert node.line >= 1
    for e in cpg.edges:
        assert 0 <= e.source < n and 0 <= e.target < n, e
    # AST: a tree rooted at FILE (every other node but entry/exit has exactly one parent).
    parents: dict[int, int] = {}
    for e in cpg.edges:
        if e.type == "AST":
            assert e.target not in parents, f"node {e.target} has two AST parents"
            parents[e.target] = e.source
    synthetic = {x for pair in cpg.methods.values() for x in pair}
    for i in range(1, n):
        if i not in synthetic:
            assert i in parents, f"node {i} ({cpg.nodes[i].kind}) has no AST parent"
    # CFG edges stay inside one method: both ends are owned by the same method (the nearest
    # strict METHOD/FILE ancestor; entry/exit belong to their method).
    owner: dict[int, int] = {}
    for mid, (en, ex) in cpg.methods.items():
        owner[en] = mid
        owner[ex] = mid

    def own(i: int) -> int:
        if i in owner:
            return owner[i]
        p = parents.get(i)
        while p is not None and cpg.nodes[p].kind not in ("METHOD", "FILE"):
            p = parents.get(p)
        return p if p is not None else 0

    for e in cpg.edges:
        if e.type in ("CFG", "CDG"):
            assert own(e.source) == own(e.target), (e, cpg.nodes[e.source], cpg.nodes[e.target])
    for mid, (en, ex) in cpg.methods.items():
        assert cpg.nodes[en].kind == "METHOD_ENTRY" and cpg.nodes[ex].kind == "METHOD_EXIT"
        assert cpg.nodes[mid].kind in ("METHOD", "FILE")


@pytest.fixture
def invariants():
    return check_invariants
