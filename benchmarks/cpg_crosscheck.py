"""Cross-check ttune's Python CFG against Google's python-graphs on standard-library functions.

    pip install python-graphs        # optional; not a ttune dependency
    python benchmarks/cpg_crosscheck.py [--limit 1500] [--seed 0]

The two graphs have different granularity (python-graphs has one node per instruction and no
nodes for ``break``/``continue``/``pass``/``try``; ttune has one node per statement), so both
are compared at *line* level: lines that are nodes in both graphs are kept, edges are projected
through the lines only one graph has, and each function's two sets of (line, next line) pairs
are compared. Reported: the share of functions whose sets are identical, and edge precision and
recall of ttune against python-graphs, for functions without try/with (no exception modelling
involved) and for all functions.

Result (Python 3.11 stdlib, 1500 functions, seed 0): without try/with/match/nested defs, 1240 of
1248 identical (99.4%), precision 1.000, recall 0.998 -- every difference is the false edge
python-graphs gives ``while True:``, which ttune omits on purpose; all functions: 93.3%
identical, precision 0.971, recall 0.995 (ttune adds an exception edge from every statement of
a try body and models ``with``; python-graphs raises only from the end of a basic block).
"""

from __future__ import annotations

import argparse
import ast
import random
import sysconfig
import textwrap
import warnings
from collections import Counter
from pathlib import Path

from ttune.cpg import CPGError, extract


def stdlib_functions(limit: int, seed: int) -> list[str]:
    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(
        p for p in root.rglob("*.py") if "site-packages" not in p.parts and "test" not in p.parts
    )
    sources: list[str] = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(text)
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                and not node.decorator_list
            ):
                seg = ast.get_source_segment(text, node)
                if seg and seg.startswith(("def ", "async def ")):
                    sources.append(seg)
                elif seg:
                    sources.append(textwrap.dedent(" " * node.col_offset + seg))
    random.Random(seed).shuffle(sources)
    return sources[:limit]


def _project(edges: set[tuple[int, int]], keep: set[int]) -> set[tuple[int, int]]:
    """Edges among ``keep`` lines, passing through lines not in ``keep``."""
    succ: dict[int, set[int]] = {}
    for a, b in edges:
        succ.setdefault(a, set()).add(b)
    out: set[tuple[int, int]] = set()
    for a in keep:
        seen: set[int] = set()
        stack = list(succ.get(a, ()))
        while stack:
            b = stack.pop()
            if b in seen:
                continue
            seen.add(b)
            if b in keep:
                if b != a:
                    out.add((a, b))
            else:
                stack.extend(succ.get(b, ()))
    return out


def ttune_lines(src: str) -> tuple[set[int], set[tuple[int, int]]]:
    cpg = extract(src, "python")
    method = next(m for m in cpg.methods if cpg.nodes[m].kind == "METHOD")
    entry, exit = cpg.methods[method]
    # nodes of this method only: the nested functions' flows are not compared
    inner = {x for m, pair in cpg.methods.items() if m != method for x in pair}
    lines: set[int] = set()
    edges: set[tuple[int, int]] = set()
    for e in cpg.edges:
        if e.type != "CFG" or e.source in inner or e.target in inner:
            continue
        if e.source in (entry, exit) or e.target in (entry, exit):
            continue
        a, b = cpg.nodes[e.source].line, cpg.nodes[e.target].line
        lines.update((a, b))
        if a != b:
            edges.add((a, b))
    if not edges:
        for e in cpg.edges:
            if e.type == "CFG" and e.source == entry and e.target != exit:
                lines.add(cpg.nodes[e.target].line)
    return lines, edges


def python_graphs_lines(src: str) -> tuple[set[int], set[tuple[int, int]]]:
    from python_graphs import control_flow

    graph = control_flow.get_control_flow_graph(src)
    lines: set[int] = set()
    edges: set[tuple[int, int]] = set()
    for node in graph.get_control_flow_nodes():
        a = getattr(node.instruction.node, "lineno", None)
        if a is None:
            continue
        lines.add(a)
        for nxt in node.next:
            b = getattr(nxt.instruction.node, "lineno", None)
            if b is not None and b != a:
                edges.add((a, b))
    return lines, edges


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    try:
        import python_graphs  # noqa: F401
    except ImportError:
        raise SystemExit("python-graphs is not installed (pip install python-graphs)") from None
    stats: dict[str, Counter] = {"simple": Counter(), "all": Counter()}
    failures = Counter()
    for src in stdlib_functions(args.limit, args.seed):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pg_lines, pg_edges = python_graphs_lines(src)
        except Exception as e:  # python-graphs does not support every construct
            failures[f"python-graphs: {type(e).__name__}"] += 1
            continue
        try:
            tt_lines, tt_edges = ttune_lines(src)
        except (CPGError, StopIteration) as e:
            failures[f"ttune: {type(e).__name__}"] += 1
            continue
        common = pg_lines & tt_lines
        a = _project(tt_edges, common)
        b = _project(pg_edges, common)
        tree = ast.parse(src)
        simple = not any(
            isinstance(n, (ast.Try, ast.With, ast.AsyncWith, ast.Match)) for n in ast.walk(tree)
        ) and not any(
            isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef))
            for n in ast.walk(tree.body[0])
            if n is not tree.body[0]
        )
        for key in ("simple", "all") if simple else ("all",):
            c = stats[key]
            c["functions"] += 1
            c["identical"] += a == b
            c["both"] += len(a & b)
            c["ttune"] += len(a)
            c["python_graphs"] += len(b)
    for key, c in stats.items():
        if not c["functions"]:
            continue
        label = "no try/with/match/nested defs" if key == "simple" else "all sampled functions"
        precision = c["both"] / max(c["ttune"], 1)
        recall = c["both"] / max(c["python_graphs"], 1)
        print(
            f"{label}: {c['functions']} functions, identical line-level CFG in "
            f"{c['identical']} ({100 * c['identical'] / c['functions']:.1f}%); edge precision "
            f"{precision:.3f}, recall {recall:.3f}"
        )
    if failures:
        print("skipped:", dict(failures))


if __name__ == "__main__":
    main()
