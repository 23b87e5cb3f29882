"""The code property graph: nodes, typed edges, and the shared kind vocabulary.

One vocabulary for every language, so a transducer trained on Java graphs reads C# graphs with the
same node-kind ids. The order of ``NODE_KINDS`` and ``EDGE_TYPES`` is part of the on-disk format
(``SCHEMA_VERSION``): append, never reorder.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SCHEMA_VERSION = 1

# Joern-like node kinds. Index in this tuple = integer kind id used by tensors.
NODE_KINDS: tuple[str, ...] = (
    "FILE",  # the whole source file (root of the AST)
    "TYPE_DECL",  # class, interface, enum, struct, record
    "METHOD",  # function, method, constructor, lambda with a body
    "PARAM",  # formal parameter
    "BLOCK",  # statement block / suite
    "LOCAL",  # local variable declaration
    "IDENTIFIER",  # a name
    "LITERAL",  # number, string, boolean, null
    "CALL",  # call or object creation
    "OPERATOR",  # assignment, binary/unary/comparison/boolean operation
    "FIELD_ACCESS",  # a.b, this.x, self.x
    "CONTROL_STRUCTURE",  # if, while, for, do, switch/match, try, with/using, break, continue
    "RETURN",  # return / yield-return
    "THROW",  # raise / throw
    "IMPORT",  # import / using directive / package
    "TYPE_REF",  # a type name used in a declaration
    "MODIFIER",  # public, static, async, ...
    "ANNOTATION",  # decorator / annotation / attribute
    "COMMENT",  # comment / docstring-less comment
    "ERROR",  # tree-sitter error or missing node (syntax error recovered)
    "METHOD_ENTRY",  # synthetic: CFG entry of a method
    "METHOD_EXIT",  # synthetic: CFG exit of a method
    "UNKNOWN",  # any other syntax
)
KIND_ID: dict[str, int] = {k: i for i, k in enumerate(NODE_KINDS)}

EDGE_TYPES: tuple[str, ...] = ("AST", "CFG", "CDG", "DDG", "CALL")
EDGE_TYPE_ID: dict[str, int] = {t: i for i, t in enumerate(EDGE_TYPES)}

LABEL_MAX_CHARS = 80


@dataclass(slots=True)
class Node:
    """One CPG node. ``start_byte``/``end_byte`` index the *original* source bytes (UTF-8)."""

    id: int
    kind: str
    label: str
    start_byte: int
    end_byte: int
    line: int  # 1-based line of start_byte in the original source
    ts_type: str = ""  # the tree-sitter node type it came from ("" for synthetic nodes)
    name: str | None = None  # declared name for METHOD / PARAM / TYPE_DECL / LOCAL


# Not frozen: a frozen dataclass's __init__ goes through object.__setattr__ per field, which made
# creating the millions of edges of a large corpus three times slower. Hashable by value all the
# same.
@dataclass(slots=True, unsafe_hash=True)
class Edge:
    source: int
    target: int
    type: str  # one of EDGE_TYPES
    variable: str | None = None  # DDG only: the variable whose definition reaches the use
    label: str | None = None  # CFG only: "true"/"false"/"exception"/... where the branch matters


@dataclass
class CPG:
    """A code property graph of one source text.

    ``methods`` maps a METHOD node id to its (METHOD_ENTRY id, METHOD_EXIT id); the FILE node
    stands as a method for top-level statements (Python module code, C# top-level statements).
    """

    language: str
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    methods: dict[int, tuple[int, int]] = field(default_factory=dict)
    syntax_errors: int = 0
    source_bytes: int = 0

    def add_node(
        self,
        kind: str,
        label: str,
        start_byte: int,
        end_byte: int,
        line: int,
        ts_type: str = "",
        name: str | None = None,
    ) -> int:
        if len(label) > LABEL_MAX_CHARS:
            label = label[: LABEL_MAX_CHARS - 3] + "..."
        nid = len(self.nodes)
        self.nodes.append(Node(nid, kind, label, start_byte, end_byte, line, ts_type, name))
        return nid

    def add_edge(
        self,
        source: int,
        target: int,
        type: str,
        variable: str | None = None,
        label: str | None = None,
    ) -> None:
        self.edges.append(Edge(source, target, type, variable, label))

    def edges_of(self, type: str) -> list[Edge]:
        return [e for e in self.edges if e.type == type]

    def edge_counts(self) -> dict[str, int]:
        counts = {t: 0 for t in EDGE_TYPES}
        for e in self.edges:
            counts[e.type] += 1
        return counts
