"""Does a decoded record parse? (tree-sitter through :func:`ttune.cpg.ts.parse`, the only entry
point).

The data sets hold bare Java / C# methods; those are wrapped in ``class W { ... }`` to parse, as the
CPG front ends do. Used by tests (parse rate of converted data) and by the builders.
"""

from __future__ import annotations

from ttune.cpg.ts import SNode, parse

_WRAP = {"java": (b"class W {\n", b"\n}\n"), "csharp": (b"class W {\n", b"\n}\n")}


def count_error_nodes(root: SNode) -> int:
    """Number of ERROR nodes (tree-sitter's recovery nodes) in the tree (iterative walk)."""
    n, stack = 0, [root]
    while stack:
        node = stack.pop()
        n += node.is_error
        stack.extend(node.children)
    return n


def parse_code(code: str, lang: str) -> SNode:
    """Parse a snippet; bare Java/C# members are parsed inside a wrapper class."""
    data = code.encode("utf-8")
    if lang in _WRAP:
        prefix, suffix = _WRAP[lang]
        data = prefix + data + suffix
    return parse(data, lang)


def has_error_node(code: str, lang: str) -> bool:
    return count_error_nodes(parse_code(code, lang)) > 0


def parse_ok_rate(codes: list[str], lang: str) -> float:
    """Fraction of ``codes`` that parse with no ERROR node."""
    if not codes:
        return 0.0
    return sum(not has_error_node(c, lang) for c in codes) / len(codes)
