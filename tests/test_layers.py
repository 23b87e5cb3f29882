"""The import graph of ttune/: no cycles between modules or subpackages, and a lower layer never
imports a higher one. Every import counts, at module level or inside a function, read with
``ast`` (nothing is imported). Layers are listed in docs/architecture.md."""

from __future__ import annotations

import ast
from pathlib import Path

import ttune

ROOT = Path(ttune.__file__).resolve().parent

# Bottom to top. A unit is a subpackage (ttune/cpg/ ...) or a top-level module (ttune/io.py);
# a unit may import units of its own layer or below, never above.
LAYERS: list[set[str]] = [
    {"ttune", "io", "runs", "options", "plugins", "dist"},
    {"cpg"},
    {"data", "metrics"},
    {"transducer", "scan"},
    {"methods", "tasks", "backbone", "builtin"},
    {"train", "lite"},
    {"compare", "pretrain", "use", "session", "search", "rank"},
    {"api"},
    {"cli", "lsp", "__main__"},
]
LAYER_OF = {unit: i for i, layer in enumerate(LAYERS) for unit in layer}


def modules() -> dict[str, tuple[Path, bool]]:
    """{dotted module name: (file, is package __init__)} of every module under ttune/."""
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        found[".".join(parts)] = (path, is_pkg)
    return found


def _imports(tree: ast.AST, in_function: bool = False):
    """(import node, inside a function?) of every import statement under ``tree``."""
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child, in_function
        inner = in_function or isinstance(
            child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
        )
        yield from _imports(child, inner)


def import_edges() -> tuple[set[tuple[str, str]], list[tuple[str, int, str]]]:
    """(edges module -> ttune module, [(module, line, target)] of the imports inside functions)."""
    mods = modules()

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    edges: set[tuple[str, str]] = set()
    in_functions: list[tuple[str, int, str]] = []
    for name, (path, is_pkg) in mods.items():
        package = name if is_pkg else name.rpartition(".")[0]
        for node, in_function in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                if node.level:
                    parts = package.split(".")
                    base = parts[: len(parts) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                # `from pkg import name`: the submodule pkg.name if there is one, else pkg.
                targets = [
                    f"{module}.{a.name}" if f"{module}.{a.name}" in mods else module
                    for a in node.names
                ]
            hits = {resolve(t) for t in targets if t.split(".")[0] == "ttune"} - {None, name}
            for target in sorted(hits):
                edges.add((name, target))
                if in_function:
                    in_functions.append((name, node.lineno, target))
    return edges, in_functions


def unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def cycles(edges: set[tuple[str, str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan)."""
    graph: dict[str, list[str]] = {}
    for a, b in edges:
        graph.setdefault(a, []).append(b)
        graph.setdefault(b, [])
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


EDGES, IN_FUNCTIONS = import_edges()


def test_the_graph_is_read():
    # A few edges that exist: the test would pass vacuously if parsing found none.
    assert ("ttune.train.engine", "ttune.train.inference") in EDGES
    assert ("ttune.cpg.cfamily", "ttune.cpg.ir") in EDGES  # `from . import ir`
    assert ("ttune.metrics", "ttune.metrics.bleu") in EDGES  # `from ttune.metrics import bleu`
    assert any(m == "ttune.api" for m, _, _ in IN_FUNCTIONS)  # imports inside functions count


def test_no_cycle_between_modules():
    assert cycles(EDGES) == []


def test_no_cycle_between_subpackages():
    units = {(unit(a), unit(b)) for a, b in EDGES if unit(a) != unit(b)}
    assert cycles(units) == []


def test_every_unit_has_a_layer():
    assert {unit(m) for m in modules()} - set(LAYER_OF) == set()


def test_no_import_goes_up_a_layer():
    upward = [
        f"{a} (layer {LAYER_OF[unit(a)]}) imports {b} (layer {LAYER_OF[unit(b)]})"
        for a, b in sorted(EDGES)
        if LAYER_OF[unit(b)] > LAYER_OF[unit(a)]
    ]
    assert upward == []


def test_the_checks_catch_a_cycle_and_an_upward_import():
    assert cycles({("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")}) == [["a", "b", "c"]]
    assert LAYER_OF["train"] > LAYER_OF["cpg"]  # so ttune.cpg importing ttune.train would fail
