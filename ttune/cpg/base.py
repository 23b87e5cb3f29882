"""Machinery shared by the language front ends: limits, line index, AST nodes, snippet wrapping.

A front end maps tree-sitter node types to the shared kinds (graph.NODE_KINDS), calls
:func:`add_ast` once, then walks the SNode tree again to build one ir.MethodIR per method.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from .graph import CPG, LABEL_MAX_CHARS, Edge, Node
from .ir import MethodIR
from .ts import SNode, parse


class CPGError(ValueError):
    """Input the extractor refuses (binary, too large, unknown language). Message is one line."""


@dataclass
class CPGConfig:
    """Limits and options of the extractor."""

    max_bytes: int = 2_000_000
    """Largest source accepted, in bytes; bigger input is refused with a message naming this
    limit."""
    max_extract_nodes: int = 1_000_000
    """Most CPG nodes extraction builds for one source; past it extraction stops with a message
    naming this limit (a guard against runaway input, not a size filter: see
    ``ttune.data.hygiene``'s ``max_cpg_nodes`` and the transducer's ``max_graph_nodes``)."""
    snippets: bool = True
    """Wrap a bare Java/C# method (as the data sets hold them) in a class to parse it, then map
    spans back to the original text."""


@dataclass
class FrontEndResult:
    methods: list[MethodIR] = field(default_factory=list)
    calls: list[tuple[int, str]] = field(default_factory=list)
    """(call-site node id, callee simple name) for CALL-edge resolution within the file."""
    method_names: dict[int, str] = field(default_factory=dict)
    """METHOD node id -> simple name (methods that a call can resolve to)."""


class LineIndex:
    """Byte offset -> 1-based line number over the original source."""

    def __init__(self, source: bytes) -> None:
        self._starts = [0]
        pos = source.find(b"\n")
        while pos != -1:
            self._starts.append(pos + 1)
            pos = source.find(b"\n", pos + 1)

    def line(self, byte: int) -> int:
        return bisect.bisect_right(self._starts, byte)


def node_text(source: bytes, n: SNode, offset: int = 0, limit: int = 240) -> str:
    """The code text of ``n`` (at most ``limit`` bytes), whitespace collapsed. ``offset`` is the
    length of any wrapper prefix: ``n``'s bytes index the wrapped text."""
    start = n.start_byte - offset
    raw = source[max(start, 0) : max(min(n.end_byte - offset, start + limit), 0)]
    return " ".join(raw.decode("utf-8", "replace").split())


def iter_nodes(root: SNode) -> Iterator[SNode]:
    """Pre-order over all SNodes, iteratively."""
    stack = [root]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children))


def add_ast(
    cpg: CPG,
    root: SNode,
    source: bytes,
    kind_of: Callable[[SNode], str],
    config: CPGConfig,
    offset: int = 0,
    keep: Callable[[SNode], bool] | None = None,
    name_of: Callable[[SNode], str | None] | None = None,
) -> None:
    """Add one CPG node per named SNode (plus ERROR/missing nodes) and the AST edges.

    ``source`` is the original text; SNode spans index the parsed text, which is ``source`` with
    a wrapper prefix of ``offset`` bytes. Nodes for which ``keep`` is False (the wrapper's own
    class, say) get no CPG node: their children hang from the nearest kept ancestor. The root
    always becomes the FILE node spanning the whole original source. Sets ``SNode.cid``.
    """
    # Hot loop (one iteration per syntax node): locals instead of attribute lookups, Node/Edge
    # built directly, lines from tree-sitter's row when there is no wrapper prefix, labels
    # sliced from one decoded copy of ASCII sources. Output is the same as building each node
    # with node_text / LineIndex.line / CPG.add_node / CPG.add_edge.
    total = len(source)
    root.cid = cpg.add_node("FILE", "", 0, total, 1, root.type)
    root_cid = root.cid
    nodes = cpg.nodes
    edges = cpg.edges
    node_limit = config.max_extract_nodes
    lines = LineIndex(source) if offset else None
    text = source.decode("ascii") if source.isascii() else None
    errors = 0
    stack: list[SNode] = root.children[::-1]
    pop = stack.pop
    push = stack.extend
    if offset == 0:
        # The common case (a whole file): spans need no clamping and lines come from
        # tree-sitter's rows.
        while stack:
            n = pop()
            if n.children:
                push(n.children[::-1])
            if n.named:
                bad = n.is_error or n.is_missing
            elif n.is_error or n.is_missing:
                bad = True
            else:
                continue
            if keep is not None and not keep(n):
                continue
            nid = len(nodes)
            if nid >= node_limit:
                raise CPGError(
                    f"more than max_extract_nodes={config.max_extract_nodes} CPG nodes; "
                    "raise the limit (CPGConfig.max_extract_nodes / "
                    "--max-extract-nodes) or split the file"
                )
            sb = n.start_byte
            eb = n.end_byte
            if bad:
                kind = "ERROR"
                errors += 1
            else:
                kind = kind_of(n)
            hi = eb if eb - sb <= 240 else sb + 240
            if text is not None:
                label = " ".join(text[sb:hi].split())
            else:
                label = " ".join(source[sb:hi].decode("utf-8", "replace").split())
            if len(label) > LABEL_MAX_CHARS:
                label = label[: LABEL_MAX_CHARS - 3] + "..."
            nodes.append(
                Node(
                    nid,
                    kind,
                    label,
                    sb,
                    eb,
                    n.start_row + 1,
                    n.type,
                    name_of(n) if name_of is not None else None,
                )
            )
            n.cid = nid
            parent = n.parent
            while parent.cid < 0:  # the root has a cid, so this stops
                parent = parent.parent
            edges.append(Edge(parent.cid, nid, "AST"))
        cpg.syntax_errors += errors
        return
    while stack:
        n = pop()
        if n.children:
            push(n.children[::-1])
        bad = n.is_error or n.is_missing
        if not (n.named or bad):
            continue
        if keep is not None and not keep(n):
            continue
        nid = len(nodes)
        if nid >= node_limit:
            raise CPGError(
                f"more than max_extract_nodes={config.max_extract_nodes} CPG nodes; "
                "raise the limit (CPGConfig.max_extract_nodes / --max-extract-nodes) "
                "or split the file"
            )
        sb = n.start_byte - offset
        eb = n.end_byte - offset
        start = min(max(sb, 0), total)
        end = min(max(eb, start), total)
        if bad:
            kind = "ERROR"
            errors += 1
        else:
            kind = kind_of(n)
        name = name_of(n) if name_of is not None else None
        lo = sb if sb > 0 else 0
        hi = min(eb, sb + 240)
        if hi < 0:
            hi = 0
        if text is not None:
            label = " ".join(text[lo:hi].split())
        else:
            label = " ".join(source[lo:hi].decode("utf-8", "replace").split())
        if len(label) > LABEL_MAX_CHARS:
            label = label[: LABEL_MAX_CHARS - 3] + "..."
        line = n.start_row + 1 if lines is None else lines.line(start)
        nodes.append(Node(nid, kind, label, start, end, line, n.type, name))
        n.cid = nid
        parent = n.parent
        while parent is not None and parent.cid < 0:
            parent = parent.parent
        edges.append(Edge(parent.cid if parent is not None else root_cid, nid, "AST"))
    cpg.syntax_errors += errors


def release_tree(root: SNode) -> None:
    """Cut the parent links of a syntax tree a front end is done with, so reference counting
    frees it at once instead of leaving millions of objects in reference cycles for the cyclic
    garbage collector to trace."""
    stack = [root]
    pop = stack.pop
    push = stack.extend
    while stack:
        n = pop()
        n.parent = None
        if n.children:
            push(n.children)


def count_errors(root: SNode) -> int:
    return sum(1 for n in iter_nodes(root) if n.is_error or n.is_missing)


def parse_snippet(
    source: bytes, lang: str, prefix: bytes, suffix: bytes, needs_wrap: Callable[[SNode], bool]
) -> tuple[SNode, int]:
    """Parse ``source``; if ``needs_wrap(root)`` says it is a bare member (a method with no class
    around it) and wrapping in ``prefix``/``suffix`` gives fewer syntax errors, use the wrapped
    parse. Returns (root, offset) where offset is len(prefix) for a wrapped parse, else 0."""
    root = parse(source, lang)
    if not needs_wrap(root):
        return root, 0
    wrapped = parse(prefix + source + suffix, lang)
    if count_errors(wrapped) < count_errors(root):
        return wrapped, len(prefix)
    return root, 0
