"""Helpers shared by the Java and C# front-end tests (test_java.py, test_csharp.py).

Their snippets are one-line methods, as the data sets hold them, where conftest's
``line:first word`` node names would merge different control structures; here nodes are named
by their header text instead, and an edge set fails loudly on two distinct nodes with one name.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest

from ttune.cpg import extract
from ttune.cpg.base import CPGConfig, FrontEndResult
from ttune.cpg.graph import CPG

from .conftest import check_invariants

DATA = Path(
    os.environ.get(
        "TTUNE_DATA_DIR", Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
    )
)


def short(cpg: CPG, i: int) -> str:
    """A node's label, cut before its first ``{`` (so compound statements read as headers)."""
    n = cpg.nodes[i]
    if n.kind in ("METHOD_ENTRY", "METHOD_EXIT"):
        return n.label
    return n.label.split("{")[0].strip() if "{" in n.label else n.label


def edges(cpg: CPG, type: str) -> set[tuple]:
    """Edges of one type as (source label, target label[, CFG label / DDG variable]), nodes
    named by :func:`short`; fails on two distinct nodes with one name."""
    out = set()
    ids: dict[str, set[int]] = {}
    for e in cpg.edges:
        if e.type != type:
            continue
        a, b = short(cpg, e.source), short(cpg, e.target)
        ids.setdefault(a, set()).add(e.source)
        ids.setdefault(b, set()).add(e.target)
        if type == "CFG":
            out.add((a, b, e.label))
        elif type == "DDG":
            out.add((a, b, e.variable))
        else:
            out.add((a, b))
    clashes = {k: v for k, v in ids.items() if len(v) > 1}
    assert not clashes, f"test snippet has distinct nodes with one label: {clashes}"
    return out


def flows(src: str, lang: str) -> tuple[CPG, dict[str, set[tuple]]]:
    """The CPG of an error-free snippet (invariants checked) and its CFG/CDG/DDG/CALL edges."""
    cpg = extract(src, lang)
    assert cpg.syntax_errors == 0
    check_invariants(cpg, len(src.encode()))
    return cpg, {t: edges(cpg, t) for t in ("CFG", "CDG", "DDG", "CALL")}


def front_end(src: str, lang: str) -> tuple[CPG, FrontEndResult]:
    """Run only the language's front end: the AST in the CPG, plus the statement IR."""
    cpg = CPG(lang)
    front = importlib.import_module(f"ttune.cpg.{lang}")
    return cpg, front.build(src.encode(), cpg, CPGConfig())


def check_codexglue_lines(lang: str, suffix: str, count: int = 300) -> None:
    """Every one of the first ``count`` CodeXGLUE train methods gives a sound CPG with a flow;
    at least 95% parse with no ERROR node."""
    path = DATA / "codexglue-java-cs" / f"train.java-cs.txt.{suffix}"
    if not path.is_file():
        pytest.skip(f"data set not found: {path} (set TTUNE_DATA_DIR)")
    lines = path.read_text(encoding="utf-8").splitlines()[:count]
    clean = 0
    for line in lines:
        cpg = extract(line, lang)
        check_invariants(cpg, len(line.encode()))
        assert cpg.methods, line[:80]
        clean += cpg.syntax_errors == 0
    frac = clean / len(lines)
    print(f"codexglue {suffix} train[:{count}]: {frac:.4f} with zero ERROR nodes")
    assert frac >= 0.95


def check_while_break_continue(lang: str, f: str, g: str, h: str) -> None:
    """The same loop in Java and C# (method names ``f``, ``g``, ``h`` in the language's
    style): ``continue`` goes back to the test, ``break`` past the loop; exact CFG/CDG/DDG."""
    _, got = flows(
        f"void {f}(int n) {{ int i = 0; while (i < n) {{ i++; if (i == 3) continue; "
        f"if (i == 7) break; {g}(i); }} {h}(); }}",
        lang,
    )
    c3, c7, gi, hc = "if (i == 3) continue;", "if (i == 7) break;", f"{g}(i)", f"{h}()"
    entry, exit_ = f"ENTRY {f}", f"EXIT {f}"
    assert got["CFG"] == {
        (entry, "int i = 0;", None),
        ("int i = 0;", "while (i < n)", None),
        ("while (i < n)", "i++", "true"),
        ("while (i < n)", hc, "false"),
        ("i++", c3, None),
        (c3, "continue;", "true"),
        (c3, c7, "false"),
        ("continue;", "while (i < n)", None),
        (c7, "break;", "true"),
        (c7, gi, "false"),
        ("break;", hc, None),
        (gi, "while (i < n)", None),
        (hc, exit_, None),
    }
    assert got["CDG"] == {
        (c7, "break;"),
        (c7, gi),
        (c7, "while (i < n)"),
        (c3, "continue;"),
        (c3, "while (i < n)"),
        (c3, c7),
        ("while (i < n)", "i++"),
        ("while (i < n)", c3),
        (entry, "int i = 0;"),
        (entry, "while (i < n)"),
        (entry, hc),
    }
    assert got["DDG"] == {
        ("i++", gi, "i"),
        ("i++", c7, "i"),
        ("i++", c3, "i"),
        ("i++", "i++", "i"),
        ("int i = 0;", "i++", "i"),
        ("i++", "while (i < n)", "i"),
        ("int i = 0;", "while (i < n)", "i"),
        ("int n", "while (i < n)", "n"),
    }


def check_spans(cpg: CPG, src: str, exact: bool = False) -> None:
    """Every syntax node's label is its span of ``src`` (white space folded unless ``exact``)
    and its line is the line that span starts on: spans index the original text, never the
    class wrapper a snippet may have been parsed in."""
    data = src.encode()
    for n in cpg.nodes[1:]:
        if n.kind in ("METHOD_ENTRY", "METHOD_EXIT"):
            continue
        text = data[n.start_byte : n.end_byte].decode()
        assert (text if exact else " ".join(text.split())) == n.label, n
        assert n.line == data[: n.start_byte].count(b"\n") + 1, n


def check_kinds(cpg: CPG, expect: dict[str, str]) -> dict[str, set[str]]:
    """Assert each tree-sitter type in ``expect`` always got the kind given; returns the kinds
    seen per type, for further checks."""
    by: dict[str, set[str]] = {}
    for n in cpg.nodes:
        by.setdefault(n.ts_type, set()).add(n.kind)
    for ts_type, kind in expect.items():
        assert by.get(ts_type) == {kind}, ts_type
    return by


def edge_counts(src: str, lang: str) -> dict[str, int]:
    """Edge counts of an error-free source (for inputs too big to list edges of)."""
    cpg = extract(src, lang)
    assert cpg.syntax_errors == 0
    return cpg.edge_counts()


def ir_rows(body: list) -> list[tuple]:
    """A statement list as (IR class name, defs, uses) rows."""
    return [(type(s).__name__, s.defs, s.uses) for s in body]


SHARED_DEFS_USES: list[tuple[str, tuple]] = [
    ("int x = a + 1, y;", ("Simple", ["x", "y"], ["a"])),
    ("x += y;", ("Simple", ["x"], ["x", "y"])),
    ("arr[x] = a;", ("Simple", ["arr"], ["arr", "x", "a"])),  # an element store: weak update
    ("obj.field.sub = x;", ("Simple", ["obj.field.sub"], ["obj.field", "obj", "x"])),
    ("this.count++;", ("Simple", ["this.count"], ["this.count"])),
]
"""Statements spelled alike in Java and C# (in a method with parameters ``int a, int[] arr,
Obj obj``) and the (IR class, defs, uses) both front ends must give them."""
