"""C# front end: tree-sitter-c-sharp syntax -> CPG nodes (AST) + one ir.MethodIR per method.

tree-sitter-c-sharp parses a bare method (CodeXGLUE's C# side) as a top-level local function,
without syntax errors, so such a snippet is only wrapped in ``class __W__ {`` ... ``}`` when
that parses with fewer errors (as for Java; spans always index the original text). Top-level
statements get a MethodIR whose ``method`` is the FILE node, unless the top level only declares
local functions (the usual bare-method snippet: nothing runs there).

Kinds are in ``KINDS``. The grammar has no type-identifier node: an ``identifier`` (or
``generic_name`` / ``qualified_name``) in a type position is TYPE_REF, elsewhere IDENTIFIER.
Property accessors, operators and destructors are METHODs too (accessors named ``get_P`` /
``set_P`` as .NET names them). ``goto`` is a plain statement in the IR: its jump is not followed.

The walk to statement IR is cfamily.CFamilyBuilder's; this module holds the tables and the
C#-only parts (type positions, tuples and ``out``/``ref``, patterns, switch sections, ``using``/
``lock``/``fixed``, ``yield``, expression-bodied members, top-level statements).
"""

from __future__ import annotations

from . import cfamily, ir
from .base import CPGConfig, FrontEndResult
from .cfamily import dedupe, has_token
from .graph import CPG
from .ts import SNode

LANG = "csharp"

_TYPE_DECLS = (
    "class_declaration",
    "interface_declaration",
    "enum_declaration",
    "record_declaration",
    "struct_declaration",
)
_NAMED_METHODS = (
    "method_declaration",
    "constructor_declaration",
    "destructor_declaration",
    "local_function_statement",
    "operator_declaration",
    "conversion_operator_declaration",
    "accessor_declaration",
)
_ANON_METHODS = ("lambda_expression", "anonymous_method_expression")
_METHODS = _NAMED_METHODS + _ANON_METHODS
_CONTROL = (
    "if_statement",
    "while_statement",
    "for_statement",
    "foreach_statement",
    "do_statement",
    "switch_statement",
    "try_statement",
    "catch_clause",
    "finally_clause",
    "using_statement",
    "lock_statement",
    "fixed_statement",
    "break_statement",
    "continue_statement",
    "yield_statement",
    "goto_statement",
)
_LITERALS = (
    "integer_literal",
    "real_literal",
    "boolean_literal",
    "character_literal",
    "string_literal",
    "verbatim_string_literal",
    "raw_string_literal",
    "null_literal",
    "interpolated_string_expression",
)
_TYPES = (
    "predefined_type",
    "implicit_type",
    "array_type",
    "nullable_type",
    "pointer_type",
    "tuple_type",
    "ref_type",
    "function_pointer_type",
    "scoped_type",
)
_OPERATORS = (
    "assignment_expression",
    "binary_expression",
    "prefix_unary_expression",
    "postfix_unary_expression",
    "conditional_expression",
    "cast_expression",
    "is_expression",
    "as_expression",
    "is_pattern_expression",
    "element_access_expression",
)
_CALLS = (
    "invocation_expression",
    "object_creation_expression",
    "implicit_object_creation_expression",
    "anonymous_object_creation_expression",
    "constructor_initializer",
)

KINDS: dict[str, str] = cfamily.kind_table(
    {
        "TYPE_DECL": _TYPE_DECLS,
        "METHOD": _METHODS,
        "CONTROL_STRUCTURE": _CONTROL,
        "LITERAL": _LITERALS,
        "TYPE_REF": _TYPES,
        "OPERATOR": _OPERATORS,
        "CALL": _CALLS,
    },
    parameter="PARAM",
    implicit_parameter="PARAM",
    catch_declaration="LOCAL",  # declares the exception variable of a catch block
    block="BLOCK",
    local_declaration_statement="LOCAL",
    identifier="IDENTIFIER",
    member_access_expression="FIELD_ACCESS",
    member_binding_expression="FIELD_ACCESS",
    conditional_access_expression="FIELD_ACCESS",
    return_statement="RETURN",
    throw_statement="THROW",
    throw_expression="THROW",
    using_directive="IMPORT",
    namespace_declaration="IMPORT",
    file_scoped_namespace_declaration="IMPORT",
    extern_alias_directive="IMPORT",
    modifier="MODIFIER",
    attribute_list="ANNOTATION",
    attribute="ANNOTATION",
    comment="COMMENT",
)
"""tree-sitter-c-sharp node type -> CPG node kind; anything not listed is UNKNOWN (identifier,
generic_name and qualified_name in a type position: TYPE_REF; a variable_declaration that is
not inside a local_declaration_statement, as in ``for``/``using``/``fixed``: LOCAL)."""

# Parents whose children (of these fields) are types.
_TYPE_FIELDS = frozenset({"type", "returns"})
_TYPE_PARENTS = frozenset(
    {
        "type_argument_list",
        "base_list",
        "array_type",
        "nullable_type",
        "pointer_type",
        "ref_type",
        "scoped_type",
        "type_parameter_constraint",
        "type_constraint",
        "primary_constructor_base_type",
        "explicit_interface_specifier",
    }
)
_NAME_WRAPPERS = frozenset({"qualified_name", "generic_name", "alias_qualified_name"})
_NAMED = frozenset(
    _TYPE_DECLS
    + _METHODS
    + (
        "parameter",
        "catch_declaration",
        "implicit_parameter",
        "local_declaration_statement",
        "variable_declaration",
    )
)


def _in_type(n: SNode) -> bool:
    while n.parent is not None and n.parent.type in _NAME_WRAPPERS:
        n = n.parent
    if n.field in _TYPE_FIELDS:
        return True
    p = n.parent
    if p is None:
        return False
    if p.type in _TYPE_PARENTS:
        return True
    return n.field == "right" and p.type in ("as_expression", "is_expression")


def _is_statement(n: SNode) -> bool:
    return n.type.endswith("_statement") or n.type == "block"


class CSharpBuilder(cfamily.CFamilyBuilder):
    LANG = LANG
    FILE_LEVEL = frozenset(
        _TYPE_DECLS
        + (
            "using_directive",
            "namespace_declaration",
            "file_scoped_namespace_declaration",
            "extern_alias_directive",
            "comment",
            "delegate_declaration",
        )
    )
    DROP = frozenset(
        {
            "string_content",
            "string_literal_content",
            "escape_sequence",
            "character_literal_content",
            "raw_string_start",
            "raw_string_content",
            "raw_string_end",
            "interpolation_start",
            "interpolation_quote",
            "interpolation_brace",
            "string_literal_encoding",
        }
    )
    OPAQUE = frozenset(
        _TYPE_DECLS
        + _METHODS
        + _TYPES
        + (
            "attribute_list",
            "typeof_expression",
            "default_expression",
            "sizeof_expression",
            "type_argument_list",
            "generic_name",
            "qualified_name",
            "comment",
        )
    )
    TYPE_FIELDS = _TYPE_FIELDS
    # C# labels are goto targets only (no labelled break/continue): the default ``labeled``
    # keeps the statement and drops the label.
    BLOCKS = frozenset({"block", "checked_statement", "unsafe_statement", "global_statement"})
    COMMENTS = BLOCK_SKIP = frozenset({"comment"})
    DECL_STMTS = frozenset(_TYPE_DECLS + ("local_function_statement",))
    METHODS = frozenset(_METHODS)
    ANON_METHODS = frozenset(_ANON_METHODS)
    CATCH_ALL = frozenset({"Exception", "System.Exception"})
    LABELLED_JUMPS = False
    ACCESS, ACCESS_MEMBER, ACCESS_OBJECT = "member_access_expression", "name", "expression"
    RECEIVERS = ("identifier", "this", "base")
    ELEMENT, ELEMENT_OBJECT = "element_access_expression", "expression"
    UPDATES = frozenset({"prefix_unary_expression", "postfix_unary_expression"})
    SWITCH = "switch_statement"
    FOR_INIT = "initializer"
    FOREACH, FOREACH_ITER = "foreach_statement", "right"
    CATCH_DECL, CATCH_GUARD = "catch_declaration", "catch_filter_clause"
    MEMBER_INITS = frozenset({"initializer_expression", "with_initializer"})
    EXPR_BODY = "arrow_expression_clause"

    # -- kinds and names ------------------------------------------------------------------------
    def kind_of(self, n: SNode) -> str:
        """add_ast's kind callback; it also notes the methods and calls (one pass, not two)."""
        t = n.type
        kind = KINDS.get(t)
        if kind is not None and kind != "IDENTIFIER":
            if kind == "METHOD" or kind == "CALL":
                self.seen.append(n)
            return kind
        if t == "identifier" or t in _NAME_WRAPPERS:
            return (
                "TYPE_REF"
                if _in_type(n)
                else (
                    "IDENTIFIER"
                    if t != "qualified_name" and t != "alias_qualified_name"
                    else "UNKNOWN"
                )
            )
        if t == "variable_declaration":
            p = n.parent
            return (
                "UNKNOWN"
                if p is None
                or p.type
                in ("local_declaration_statement", "field_declaration", "event_field_declaration")
                else "LOCAL"
            )
        return KINDS.get(t, "UNKNOWN")

    def declared(self, decl: SNode) -> list[str]:
        """Names declared by a variable_declaration (``int a = 1, b;``, ``var (c, d) = t``)."""
        names: list[str] = []
        for d in decl.children:
            if d.type == "variable_declarator":
                name = d.child("name")
                if name is not None:
                    names.append(self.src(name))
                else:
                    for c in d.children:
                        if c.type in ("tuple_pattern", "parenthesized_variable_designation"):
                            self.designations(c, names)
        return names

    def designations(self, n: SNode, out: list[str]) -> None:
        stack = [n]
        while stack:
            c = stack.pop()
            if c.type == "identifier":
                out.append(self.src(c))
            elif c.type not in _TYPES and c.field not in _TYPE_FIELDS:
                stack.extend(reversed(c.named_children))

    def name_of(self, n: SNode) -> str | None:
        t = n.type
        if t not in _NAMED:
            return None
        if t in _TYPE_DECLS or t in _NAMED_METHODS or t in ("parameter", "catch_declaration"):
            if t == "accessor_declaration":
                return self.accessor_name(n)
            if t == "operator_declaration":
                op = n.child("operator")
                return "operator" + self.src(op) if op is not None else "operator"
            if t == "conversion_operator_declaration":
                return "operator " + self.src(n.child("type"))
            name = self.src(n.child("name"))
            return ("~" + name if t == "destructor_declaration" else name) or None
        if t in _ANON_METHODS:
            return "<lambda>"
        if t == "implicit_parameter":
            return self.src(n)
        if t == "local_declaration_statement":
            decl = next((c for c in n.children if c.type == "variable_declaration"), None)
            return ",".join(self.declared(decl)) or None if decl is not None else None
        if t == "variable_declaration" and self.kind_of(n) == "LOCAL":
            return ",".join(self.declared(n)) or None
        return None

    def accessor_name(self, n: SNode) -> str:
        kw = next(
            (
                c.type
                for c in n.children
                if not c.named and c.type in ("get", "set", "init", "add", "remove")
            ),
            "get",
        )
        prop = n.parent.parent if n.parent is not None else None
        pname = self.src(prop.child("name")) if prop is not None else ""
        if prop is not None and prop.type == "indexer_declaration":
            pname = "Item"
        return f"{kw}_{pname}"

    # -- variables read and written by an expression --------------------------------------------
    def reads(self, ident: SNode) -> bool:
        return not _in_type(ident)

    def other_target(
        self, n: SNode, defs: list[str], uses: list[str], compound: bool, stack: list[SNode]
    ) -> None:
        t = n.type
        if t == "tuple_expression":  # `(a, b) = ...` assigns each element
            for arg in n.named_children:
                inner = arg.named_children
                if arg.type == "argument" and inner:
                    self.target(inner[-1], defs, uses, compound, stack)
        elif t == "declaration_expression":  # `out var x`, `var (a, b) = ...`
            name = n.child("name")
            if name is not None:
                defs.append(self.src(name))
            else:
                self.designations(n, defs)
        else:
            stack.append(n)

    def visit(self, n: SNode, t: str, defs: list[str], uses: list[str], stack: list[SNode]) -> bool:
        if t == "invocation_expression":
            fn = n.child("function")
            args = n.child("arguments")
            if args is not None:
                stack.append(args)
            if fn is not None and fn.type == "member_access_expression":
                obj = fn.child("expression")  # the receiver is read, the method name is not
                if obj is not None:
                    stack.append(obj)
            elif fn is not None and fn.type not in ("identifier", "generic_name"):
                stack.append(fn)
        elif t == "member_binding_expression":
            pass  # `?.Name`: a member of the receiver, which the conditional access reads
        elif t == "argument":
            inner = [c for c in n.named_children if c.field != "name"]
            if inner and has_token(n, "out", "ref"):
                self.target(inner[-1], defs, uses, has_token(n, "ref"), stack)
            else:
                stack.extend(reversed(inner))
        elif t == "declaration_expression":
            self.target(n, defs, uses, False, stack)
        elif t == "variable_declaration":
            defs.extend(self.declared(n))
            for d in reversed(n.children):
                if d.type == "variable_declarator":
                    stack.extend(
                        reversed(
                            [
                                c
                                for c in d.named_children
                                if c.field != "name"
                                and c.type
                                not in ("tuple_pattern", "parenthesized_variable_designation")
                            ]
                        )
                    )
        elif t in ("declaration_pattern", "var_pattern", "recursive_pattern"):
            name = n.child("name")
            if name is not None:
                defs.append(self.src(name))
            elif t == "var_pattern":
                self.designations(n, defs)
            stack.extend(
                reversed(
                    [
                        c
                        for c in n.named_children
                        if c.field not in ("name", "type")
                        and c.type not in _TYPES
                        and c.type != "identifier"
                    ]
                )
            )
        elif t in ("as_expression", "is_expression", "cast_expression"):
            stack.extend(
                reversed([c for c in n.named_children if c.field not in ("right", "type")])
            )
        else:
            return False
        return True

    # -- statements -----------------------------------------------------------------------------
    def loop_vars(self, n: SNode) -> list[str]:
        left = n.child("left")
        names: list[str] = []
        if left is not None:
            if left.type == "identifier":
                names.append(self.src(left))
            else:
                self.designations(left, names)
        return names

    def special_stmt(self, n: SNode, t: str, out: list[ir.Stmt]) -> bool:
        if t in ("using_statement", "fixed_statement", "lock_statement"):
            body = n.child("body")
            if body is None:
                body = next((c for c in reversed(n.named_children) if _is_statement(c)), None)
            head = [c for c in n.named_children if c is not body and c.type != "comment"]
            defs: list[str] = []
            uses: list[str] = []
            for h in head:
                self.defuse(h, defs, uses)
            out.append(
                ir.With(node=n.cid, defs=dedupe(defs), uses=dedupe(uses), body=self.body(body))
            )
        elif t == "goto_statement":
            # goto is kept as a plain statement: its jump is not followed. `goto case x` reads x.
            uses = []
            if has_token(n, "case"):
                self.defuse(n, [], uses)
            out.append(ir.Simple(node=n.cid, uses=dedupe(uses)))
        elif t == "yield_statement":
            out.append(self.expr_stmt(n, ir.Return if has_token(n, "break") else ir.Simple))
        elif t != "empty_statement":
            return False
        return True

    def is_true(self, n: SNode) -> bool:
        return n.type == "boolean_literal" and self.src(n) == "true"

    def switch(self, n: SNode) -> ir.Switch:
        value = n.child("value")
        # C# sections never fall through (the compiler rejects it): each ends in a jump.
        sw = ir.Switch(node=n.cid, **self.header(value), fallthrough=False)
        block = n.child("body")
        case: ir.Case | None = None
        defs: list[str] = []
        uses: list[str] = []
        for sec in block.named_children if block is not None else []:
            if sec.type != "switch_section":
                continue
            # tree-sitter gives `case 1: case 2: body` as an empty section then a full one; in
            # C# that is one section with two labels, so empty sections join the next one.
            if case is None:
                case = ir.Case(node=sec.cid)
                defs, uses = [], []
            case.default = case.default or has_token(sec, "default")
            for c in sec.children:
                if not (c.named or c.is_error) or c.type == "comment":
                    continue
                if _is_statement(c) or (case.body and c.is_error):
                    self.stmts(c, case.body)
                else:
                    self.defuse(c, defs, uses)
            if case.body:
                case.defs, case.uses = dedupe(defs), dedupe(uses)
                sw.cases.append(case)
                case = None
        if case is not None:  # trailing labels without statements (broken code)
            case.defs, case.uses = dedupe(defs), dedupe(uses)
            sw.cases.append(case)
        return sw

    def catches_all(self, decl: SNode | None) -> bool:
        # `catch { }` and `catch (Exception)` catch everything (a `when` filter is checked by
        # the caller).
        return decl is None or self.src(decl.child("type")) in self.CATCH_ALL

    # -- methods and calls ----------------------------------------------------------------------
    def add_params(self, n: SNode, params: dict[int, str]) -> None:
        plist = n.child("parameters")
        if n.type == "accessor_declaration":
            # An indexer's accessors take the indexer's parameters (`this[int i]`).
            owner = n.parent.parent if n.parent is not None else None
            if owner is not None and owner.type == "indexer_declaration":
                plist = owner.child("parameters") or next(
                    (c for c in owner.children if c.type == "bracketed_parameter_list"), None
                )
        if plist is None:
            return
        for p in [plist] if plist.type == "implicit_parameter" else plist.named_children:
            if p.cid >= 0 and p.type in ("parameter", "implicit_parameter"):
                name = self.name_of(p)
                if name:
                    params[p.cid] = name

    def method_body(self, n: SNode) -> SNode | None:
        body = n.child("body")
        if body is None:
            body = next(
                (c for c in n.children if c.type in ("block", "arrow_expression_clause")), None
            )
        return body

    def simple_name(self, n: SNode | None) -> str | None:
        while n is not None and n.type in (
            "qualified_name",
            "generic_name",
            "alias_qualified_name",
            "member_access_expression",
            "member_binding_expression",
        ):
            if n.type == "generic_name":
                n = next((c for c in n.children if c.type == "identifier"), None)
            else:
                n = n.child("name")
        return self.src(n) if n is not None and n.type == "identifier" else None

    def callee(self, n: SNode) -> str | None:
        t = n.type
        if t == "invocation_expression":
            fn = n.child("function")
            if fn is not None and fn.type == "conditional_access_expression":
                fn = next(
                    (
                        c
                        for c in reversed(fn.named_children)
                        if c.type == "member_binding_expression"
                    ),
                    None,
                )
            return self.simple_name(fn)
        if t == "object_creation_expression":
            return self.simple_name(n.child("type"))
        if t == "constructor_initializer" and has_token(n, "this"):
            return self.enclosing_ctor(n)
        return None

    def top_level(self, root: SNode, res: FrontEndResult) -> None:
        top = [g for g in root.children if g.type == "global_statement"]
        if any(c.type != "local_function_statement" for g in top for c in g.named_children):
            m = ir.MethodIR(method=root.cid)
            for g in top:
                self.stmts(g, m.body)
            self.drain()
            res.methods.insert(0, m)


def build(source: bytes, cpg: CPG, config: CPGConfig) -> FrontEndResult:
    """Add the AST of C# ``source`` to ``cpg``; return its methods' IR, call sites and names."""
    return cfamily.build(CSharpBuilder, source, cpg, config)
