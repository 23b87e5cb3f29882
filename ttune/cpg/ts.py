"""The only module that talks to tree-sitter.

py-tree-sitter changed its API several times (0.22 -> 0.26), so every call into it lives here.
``parse`` returns a light pure-Python tree of :class:`SNode` built with one iterative cursor walk:
front ends never touch tree-sitter objects and never recurse, so deeply nested code cannot hit
Python's recursion limit.
"""

from __future__ import annotations

import importlib
from functools import cache

from .languages import get_language


class SNode:
    """A syntax node. ``field`` is the name of the field this node fills in its parent (or None)."""

    __slots__ = (
        "type",
        "field",
        "start_byte",
        "end_byte",
        "start_row",
        "named",
        "is_error",
        "is_missing",
        "children",
        "parent",
        "cid",
    )

    def __init__(
        self,
        type: str,
        field: str | None,
        start_byte: int,
        end_byte: int,
        start_row: int,
        named: bool,
        is_error: bool,
        is_missing: bool,
        parent: SNode | None,
    ) -> None:
        self.type = type
        self.field = field
        self.start_byte = start_byte
        self.end_byte = end_byte
        self.start_row = start_row
        self.named = named
        self.is_error = is_error
        self.is_missing = is_missing
        self.children: list[SNode] = []
        self.parent = parent
        self.cid = -1  # CPG node id once a front end has added this node (-1: none)

    def child(self, field: str) -> SNode | None:
        """First child filling ``field`` (tree-sitter's child_by_field_name)."""
        for c in self.children:
            if c.field == field:
                return c
        return None

    def children_of(self, field: str) -> list[SNode]:
        return [c for c in self.children if c.field == field]

    @property
    def named_children(self) -> list[SNode]:
        return [c for c in self.children if c.named]

    def __repr__(self) -> str:
        return f"SNode({self.type!r}, {self.start_byte}..{self.end_byte})"


def _grammar(lang: str):
    """(parser, type name by kind id, named flag by kind id, field name by field id) of a language
    of the table (:mod:`ttune.cpg.languages`); UnknownLanguageError for another name."""
    return _load_grammar(get_language(lang).grammar)


@cache
def _load_grammar(spec: str):
    import tree_sitter  # lazy: tree-sitter and the grammar load on the first parse, not on import

    module, _, function = spec.partition(":")
    grammar = getattr(importlib.import_module(module), function or "language")
    language = tree_sitter.Language(grammar())
    # Tables indexed by kind id / field id: reading an int off each node and looking the string up
    # is cheaper than asking tree-sitter for the type string and the named flag per node.
    types = [language.node_kind_for_id(i) or "" for i in range(language.node_kind_count)]
    named = [bool(language.node_kind_is_named(i)) for i in range(language.node_kind_count)]
    fields = [None] + [language.field_name_for_id(i) for i in range(1, language.field_count + 1)]
    return tree_sitter.Parser(language), types, named, fields


def _parser(lang: str):
    return _grammar(lang)[0]


_ERROR_KIND = 65535  # tree-sitter's kind id of ERROR nodes (ts_builtin_sym_error)


def parse(source: bytes, lang: str) -> SNode:
    """Parse ``source`` and return the root :class:`SNode`. Never raises on syntax errors:
    tree-sitter recovers and marks ERROR / missing nodes."""
    parser, types, named, fields = _grammar(lang)
    tree = parser.parse(source)
    cursor = tree.walk()
    n = cursor.node
    root = SNode(
        n.type,
        None,
        n.start_byte,
        n.end_byte,
        n.start_point[0],
        n.is_named,
        n.is_error,
        n.is_missing,
        None,
    )
    current = root
    new = SNode
    # Iterative pre-order walk with the cursor (the cheapest traversal py-tree-sitter offers).
    while True:
        if cursor.goto_first_child():
            parent = current
        else:
            while not cursor.goto_next_sibling():
                if not cursor.goto_parent():
                    return root
                current = current.parent  # type: ignore[assignment]
            parent = current.parent
        n = cursor.node
        k = n.kind_id
        if k == _ERROR_KIND:
            child = new(
                "ERROR",
                fields[cursor.field_id or 0],
                n.start_byte,
                n.end_byte,
                n.start_point[0],
                True,
                True,
                False,
                parent,
            )
        else:
            child = new(
                types[k],
                fields[cursor.field_id or 0],
                n.start_byte,
                n.end_byte,
                n.start_point[0],
                named[k],
                False,
                n.is_missing,
                parent,
            )
        parent.children.append(child)  # type: ignore[union-attr]
        current = child


def parse_only(source: bytes, lang: str) -> int:
    """Parse without building SNodes; returns the root's named child count (benchmark baseline)."""
    return _parser(lang).parse(source).root_node.named_child_count
