"""Java front end: tree-sitter-java syntax -> CPG nodes (AST) + one ir.MethodIR per method.

Data sets hold bare methods (CodeXGLUE's one-line methods, TL-CodeSum's space-tokenised methods,
ATLAS test methods). tree-sitter-java accepts a bare method at the top level, but not a bare
constructor or a method with no return type; ``build`` wraps the text in ``class __W__ {`` ... ``}``
only when that parses with fewer syntax errors (or, on broken input, when only the wrapped parse
finds a method at all: see ``JavaBuilder.parse_source``), and maps every span back to the
original text. The wrapper's own nodes get no CPG node.

Kinds (shared vocabulary, graph.NODE_KINDS) are in ``KINDS``; identifiers are IDENTIFIER except the
bare parameters of a lambda (``x -> ...``, ``(a, b) -> ...``), which are PARAM. String internals
(fragments, escapes) get no node of their own: the LITERAL's label already holds them.

The walk to statement IR is cfamily.CFamilyBuilder's; this module holds the tables and the
Java-only parts (labelled loops and switches, try-with-resources, synchronized, patterns).
"""

from __future__ import annotations

from . import cfamily, ir
from .base import CPGConfig, FrontEndResult, iter_nodes
from .cfamily import PREFIX, SUFFIX, dedupe
from .graph import CPG
from .ts import SNode, parse

LANG = "java"

_TYPE_DECLS = (
    "class_declaration",
    "interface_declaration",
    "enum_declaration",
    "record_declaration",
    "annotation_type_declaration",
)
_METHODS = (
    "method_declaration",
    "constructor_declaration",
    "compact_constructor_declaration",
    "lambda_expression",
)
_CONTROL = (
    "if_statement",
    "while_statement",
    "for_statement",
    "enhanced_for_statement",
    "do_statement",
    "switch_expression",
    "try_statement",
    "try_with_resources_statement",
    "catch_clause",
    "finally_clause",
    "synchronized_statement",
    "break_statement",
    "continue_statement",
    "yield_statement",
)
_LITERALS = (
    "decimal_integer_literal",
    "hex_integer_literal",
    "octal_integer_literal",
    "binary_integer_literal",
    "decimal_floating_point_literal",
    "hex_floating_point_literal",
    "true",
    "false",
    "character_literal",
    "string_literal",
    "null_literal",
    "class_literal",
)
_TYPES = (
    "type_identifier",
    "integral_type",
    "floating_point_type",
    "boolean_type",
    "void_type",
    "generic_type",
    "array_type",
    "scoped_type_identifier",
    "annotated_type",
)
_OPERATORS = (
    "assignment_expression",
    "binary_expression",
    "unary_expression",
    "update_expression",
    "ternary_expression",
    "instanceof_expression",
    "cast_expression",
    "array_access",
)

KINDS: dict[str, str] = cfamily.kind_table(
    {
        "TYPE_DECL": _TYPE_DECLS,
        "METHOD": _METHODS,
        "CONTROL_STRUCTURE": _CONTROL,
        "LITERAL": _LITERALS,
        "TYPE_REF": _TYPES,
        "OPERATOR": _OPERATORS,
    },
    formal_parameter="PARAM",
    spread_parameter="PARAM",
    catch_formal_parameter="LOCAL",  # declares the exception variable of a catch block
    block="BLOCK",
    constructor_body="BLOCK",
    local_variable_declaration="LOCAL",
    identifier="IDENTIFIER",
    this="IDENTIFIER",
    super="IDENTIFIER",
    method_invocation="CALL",
    object_creation_expression="CALL",
    explicit_constructor_invocation="CALL",
    field_access="FIELD_ACCESS",
    return_statement="RETURN",
    throw_statement="THROW",
    import_declaration="IMPORT",
    package_declaration="IMPORT",
    module_declaration="IMPORT",
    modifiers="MODIFIER",
    annotation="ANNOTATION",
    marker_annotation="ANNOTATION",
    line_comment="COMMENT",
    block_comment="COMMENT",
)
"""tree-sitter-java node type -> CPG node kind; anything not listed is UNKNOWN."""

_COMMENTS = frozenset({"line_comment", "block_comment"})
_MEMBERS = frozenset({"method_declaration", "constructor_declaration"})
_NAMED = frozenset(
    _TYPE_DECLS
    + _METHODS
    + (
        "formal_parameter",
        "catch_formal_parameter",
        "spread_parameter",
        "local_variable_declaration",
        "identifier",
    )
)


def _is_lambda_param(n: SNode) -> bool:
    p = n.parent
    return p is not None and (
        p.type == "inferred_parameters"
        or (p.type == "lambda_expression" and n.field == "parameters")
    )


def _count_members(root: SNode) -> int:
    return sum(1 for n in iter_nodes(root) if n.type in _MEMBERS)


class JavaBuilder(cfamily.CFamilyBuilder):
    LANG = LANG
    FILE_LEVEL = frozenset(
        _TYPE_DECLS
        + ("package_declaration", "import_declaration", "module_declaration")
        + tuple(_COMMENTS)
    )
    DROP = frozenset({"string_fragment", "escape_sequence", "multiline_string_fragment"})
    OPAQUE = frozenset(
        _TYPE_DECLS
        + _METHODS
        + ("class_body", "modifiers", "annotation", "marker_annotation")
        + _TYPES
    )
    BLOCKS = frozenset({"block", "constructor_body", "switch_block_statement_group"})
    COMMENTS = _COMMENTS
    BLOCK_SKIP = _COMMENTS | {"switch_label"}
    DECL_STMTS = frozenset(_TYPE_DECLS)
    METHODS = frozenset(_METHODS)
    ANON_METHODS = frozenset({"lambda_expression"})
    CATCH_ALL = frozenset({"Exception", "Throwable", "java.lang.Exception", "java.lang.Throwable"})
    ACCESS, ACCESS_MEMBER, ACCESS_OBJECT = "field_access", "field", "object"
    RECEIVERS = ("identifier", "this", "super")
    ELEMENT, ELEMENT_OBJECT = "array_access", "array"
    UPDATES = frozenset({"update_expression"})
    SWITCH = "switch_expression"
    FOR_INIT = "init"
    FOREACH, FOREACH_ITER = "enhanced_for_statement", "value"
    CATCH_DECL = "catch_formal_parameter"

    @classmethod
    def parse_source(cls, source: bytes, config: CPGConfig) -> tuple[SNode, int]:
        root, offset = super().parse_source(source, config)
        if (
            config.snippets
            and offset == 0
            and not any(c.type in _MEMBERS for c in root.children)
            and cls.needs_wrap(root)
        ):
            # ATLAS test methods have no return type and their focal methods' parameters have no
            # names: both parses have errors, often as many, but unwrapped the test method is a
            # call statement followed by a loose block, while wrapped it is a constructor with its
            # body. A parse that finds no method at all is worse than any that finds one.
            wrapped = parse(PREFIX + source + SUFFIX, LANG)
            if _count_members(wrapped) > _count_members(root):
                return wrapped, len(PREFIX)
        return root, offset

    # -- kinds and names ------------------------------------------------------------------------
    def name_of(self, n: SNode) -> str | None:
        t = n.type
        if t not in _NAMED:
            return None
        if t in _TYPE_DECLS or t in (
            "method_declaration",
            "constructor_declaration",
            "compact_constructor_declaration",
            "formal_parameter",
            "catch_formal_parameter",
        ):
            return self.src(n.child("name")) or None
        if t == "lambda_expression":
            return "<lambda>"
        if t == "spread_parameter":
            for c in n.children:
                if c.type == "variable_declarator":
                    return self.src(c.child("name"))
            return None
        if t == "local_variable_declaration":
            return ",".join(self.src(d.child("name")) for d in n.children_of("declarator")) or None
        if t == "identifier" and _is_lambda_param(n):
            return self.src(n)
        return None

    def kind_of(self, n: SNode) -> str:
        """add_ast's kind callback; it also notes the methods and calls (one pass, not two)."""
        t = n.type
        kind = KINDS.get(t, "UNKNOWN")
        if kind == "IDENTIFIER":
            if t == "identifier" and _is_lambda_param(n):
                return "PARAM"
        elif kind == "METHOD" or kind == "CALL":
            self.seen.append(n)
        return kind

    # -- variables read and written by an expression --------------------------------------------
    def compound(self, op: SNode) -> bool:
        return op.type != "="  # the operator token's type is its text

    def visit(self, n: SNode, t: str, defs: list[str], uses: list[str], stack: list[SNode]) -> bool:
        if t == "method_invocation":
            stack.extend(reversed([c for c in n.children if c.field != "name"]))
        elif t == "variable_declarator" or (t == "resource" and n.child("name") is not None):
            name = n.child("name")
            if name is not None:
                defs.append(self.src(name))
            stack.extend(reversed([c for c in n.children if c.field != "name"]))
        elif t == "instanceof_expression":
            name = n.child("name")
            if name is not None:
                defs.append(self.src(name))
            left = n.child("left")
            if left is not None:
                stack.append(left)
            stack.extend(c for c in n.children if c.type in ("record_pattern", "type_pattern"))
        elif t == "type_pattern":
            defs.extend(self.src(c) for c in n.children if c.type == "identifier")
        elif t == "method_reference":
            first = n.named_children
            if first:
                stack.append(first[0])
        else:
            return False
        return True

    # -- statements -----------------------------------------------------------------------------
    def labeled(self, n: SNode, out: list[ir.Stmt], stack: list[SNode]) -> None:
        """``outer: while (...)``: the label names the loop or switch for ``break outer``."""
        label = next((x for x in n.children if x.type == "identifier"), None)
        inner = [x for x in n.named_children if x is not label and x.type not in _COMMENTS]
        if len(inner) == 1 and inner[0].type not in self.BLOCKS:
            start = len(out)
            self.stmt(inner[0], out)
            if len(out) > start and isinstance(out[start], (ir.Loop, ir.Switch)):
                out[start].label = self.src(label)  # type: ignore[union-attr]
        else:  # a labelled block: `break label` inside it cannot be resolved
            stack.extend(reversed(inner))

    def loop_vars(self, n: SNode) -> list[str]:
        name = n.child("name")
        return [self.src(name)] if name is not None else []

    def special_stmt(self, n: SNode, t: str, out: list[ir.Stmt]) -> bool:
        if t == "try_with_resources_statement":
            res = n.child("resources")
            defs: list[str] = []
            uses: list[str] = []
            self.defuse(res, defs, uses)
            has_handlers = any(c.type in ("catch_clause", "finally_clause") for c in n.children)
            with_node = res if has_handlers and res is not None else n
            w = ir.With(
                node=with_node.cid,
                defs=dedupe(defs),
                uses=dedupe(uses),
                body=self.body(n.child("body")),
            )
            out.append(self.try_(n, [w]) if has_handlers else w)
        elif t == "synchronized_statement":
            lock = next((c for c in n.named_children if c.field != "body"), None)
            out.append(ir.With(node=n.cid, **self.header(lock), body=self.body(n.child("body"))))
        else:
            return False
        return True

    def is_true(self, n: SNode) -> bool:
        return n.type == "true"

    def switch(self, n: SNode) -> ir.Switch:
        sw = ir.Switch(node=n.cid, **self.header(n.child("condition")))
        block = n.child("body")
        arrow = False
        for g in block.named_children if block is not None else []:
            if g.type not in ("switch_block_statement_group", "switch_rule"):
                continue
            labels = [c for c in g.children if c.type == "switch_label"]
            if not labels:
                continue
            defs: list[str] = []
            uses: list[str] = []
            for lab in labels:
                self.defuse(lab, defs, uses)
            case = ir.Case(
                node=labels[0].cid,
                default=any(self.src(lab).startswith("default") for lab in labels),
                defs=dedupe(defs),
                uses=dedupe(uses),
            )
            if g.type == "switch_rule":
                arrow = True
                for c in g.named_children:
                    if c.type != "switch_label" and c.type not in _COMMENTS:
                        self.stmts(c, case.body)
            else:
                self.stmts(g, case.body)
            sw.cases.append(case)
        sw.fallthrough = not arrow
        return sw

    def catches_all(self, decl: SNode | None) -> bool:
        if decl is None:
            return False
        ctype = next((p for p in decl.children if p.type == "catch_type"), None)
        types = [self.src(x) for x in ctype.named_children] if ctype else []
        return len(types) == 1 and types[0] in self.CATCH_ALL

    # -- methods and calls ----------------------------------------------------------------------
    def add_params(self, n: SNode, params: dict[int, str]) -> None:
        plist = n.child("parameters")
        if n.type == "compact_constructor_declaration":
            # A record's compact constructor takes the record header's parameters implicitly.
            rec = n.parent.parent if n.parent is not None else None
            plist = rec.child("parameters") if rec is not None else None
        if plist is None:
            return
        if plist.type == "identifier":  # `x -> ...`
            params[plist.cid] = self.src(plist)
        for p in plist.named_children:
            if p.type in ("formal_parameter", "spread_parameter") or p.type == "identifier":
                name = self.name_of(p) if p.type != "identifier" else self.src(p)
                if name and p.cid >= 0:
                    params[p.cid] = name

    def callee(self, n: SNode) -> str | None:
        t = n.type
        if t == "method_invocation":
            return self.src(n.child("name")) or None
        if t == "object_creation_expression":
            ty = n.child("type")
            while ty is not None and ty.type in (
                "generic_type",
                "scoped_type_identifier",
                "annotated_type",
            ):
                names = [c for c in ty.named_children if c.type in _TYPES]
                ty = names[-1] if ty.type != "generic_type" else (names[0] if names else None)
            return self.src(ty) if ty is not None else None
        if t == "explicit_constructor_invocation":
            ctor = n.child("constructor")
            if ctor is not None and ctor.type == "this":
                return self.enclosing_ctor(n)
        return None


def build(source: bytes, cpg: CPG, config: CPGConfig) -> FrontEndResult:
    """Add the AST of Java ``source`` to ``cpg``; return its methods' IR, call sites and names."""
    return cfamily.build(JavaBuilder, source, cpg, config)
