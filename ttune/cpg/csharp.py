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
"""

from __future__ import annotations

from . import ir
from .base import CPGConfig, FrontEndResult, add_ast, count_errors, parse_snippet
from .graph import CPG
from .ts import SNode, parse

EXTENSIONS: tuple[str, ...] = (".cs",)
LANG = "csharp"
PREFIX = b"class __W__ {\n"
SUFFIX = b"\n}"

_TYPE_DECLS = ("class_declaration", "interface_declaration", "enum_declaration",
               "record_declaration", "struct_declaration")
_NAMED_METHODS = ("method_declaration", "constructor_declaration", "destructor_declaration",
                  "local_function_statement", "operator_declaration",
                  "conversion_operator_declaration", "accessor_declaration")
_ANON_METHODS = ("lambda_expression", "anonymous_method_expression")
_METHODS = _NAMED_METHODS + _ANON_METHODS
_CONTROL = ("if_statement", "while_statement", "for_statement", "foreach_statement",
            "do_statement", "switch_statement", "try_statement", "catch_clause", "finally_clause",
            "using_statement", "lock_statement", "fixed_statement", "break_statement",
            "continue_statement", "yield_statement", "goto_statement")
_LITERALS = ("integer_literal", "real_literal", "boolean_literal", "character_literal",
             "string_literal", "verbatim_string_literal", "raw_string_literal", "null_literal",
             "interpolated_string_expression")
_TYPES = ("predefined_type", "implicit_type", "array_type", "nullable_type", "pointer_type",
          "tuple_type", "ref_type", "function_pointer_type", "scoped_type")
_OPERATORS = ("assignment_expression", "binary_expression", "prefix_unary_expression",
              "postfix_unary_expression", "conditional_expression", "cast_expression",
              "is_expression", "as_expression", "is_pattern_expression",
              "element_access_expression")
_CALLS = ("invocation_expression", "object_creation_expression",
          "implicit_object_creation_expression", "anonymous_object_creation_expression",
          "constructor_initializer")

KINDS: dict[str, str] = {
    **{t: "TYPE_DECL" for t in _TYPE_DECLS},
    **{t: "METHOD" for t in _METHODS},
    **{t: "CONTROL_STRUCTURE" for t in _CONTROL},
    **{t: "LITERAL" for t in _LITERALS},
    **{t: "TYPE_REF" for t in _TYPES},
    **{t: "OPERATOR" for t in _OPERATORS},
    **{t: "CALL" for t in _CALLS},
    "parameter": "PARAM", "implicit_parameter": "PARAM",
    "catch_declaration": "LOCAL",  # declares the exception variable of a catch block
    "block": "BLOCK",
    "local_declaration_statement": "LOCAL",
    "identifier": "IDENTIFIER",
    "member_access_expression": "FIELD_ACCESS", "member_binding_expression": "FIELD_ACCESS",
    "conditional_access_expression": "FIELD_ACCESS",
    "return_statement": "RETURN",
    "throw_statement": "THROW", "throw_expression": "THROW",
    "using_directive": "IMPORT", "namespace_declaration": "IMPORT",
    "file_scoped_namespace_declaration": "IMPORT", "extern_alias_directive": "IMPORT",
    "modifier": "MODIFIER",
    "attribute_list": "ANNOTATION", "attribute": "ANNOTATION",
    "comment": "COMMENT",
}
"""tree-sitter-c-sharp node type -> CPG node kind; anything not listed is UNKNOWN (identifier,
generic_name and qualified_name in a type position: TYPE_REF; a variable_declaration that is
not inside a local_declaration_statement, as in ``for``/``using``/``fixed``: LOCAL)."""

_DROP = frozenset({"string_content", "string_literal_content", "escape_sequence",
                   "character_literal_content", "raw_string_start", "raw_string_content",
                   "raw_string_end", "interpolation_start", "interpolation_quote",
                   "interpolation_brace", "string_literal_encoding"})
_FILE_LEVEL = frozenset(_TYPE_DECLS + ("using_directive", "namespace_declaration",
                                       "file_scoped_namespace_declaration",
                                       "extern_alias_directive", "comment", "delegate_declaration"))
# Parents whose children (of these fields) are types.
_TYPE_FIELDS = frozenset({"type", "returns"})
_TYPE_PARENTS = frozenset({"type_argument_list", "base_list", "array_type", "nullable_type",
                           "pointer_type", "ref_type", "scoped_type", "type_parameter_constraint",
                           "type_constraint", "primary_constructor_base_type",
                           "explicit_interface_specifier"})
_NAME_WRAPPERS = frozenset({"qualified_name", "generic_name", "alias_qualified_name"})
# Subtrees whose identifiers are not variable reads of the enclosing statement.
_OPAQUE = frozenset(_TYPE_DECLS + _METHODS + _TYPES + (
    "attribute_list", "typeof_expression", "default_expression", "sizeof_expression",
    "type_argument_list", "generic_name", "qualified_name", "comment"))
_CATCH_ALL = frozenset({"Exception", "System.Exception"})
_BLOCKS = frozenset({"block", "checked_statement", "unsafe_statement", "global_statement",
                     "labeled_statement"})
_NAMED = frozenset(_TYPE_DECLS + _METHODS + (
    "parameter", "catch_declaration", "implicit_parameter", "local_declaration_statement",
    "variable_declaration"))


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


def _needs_wrap(root: SNode) -> bool:
    if all(c.type in _FILE_LEVEL for c in root.children):
        return False
    return count_errors(root) > 0


def _dedupe(names: list[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _token(n: SNode, *types: str) -> bool:
    """Whether ``n`` has an anonymous child token of one of ``types`` (``out``, ``++``, ...)."""
    return any(not c.named and c.type in types for c in n.children)


class _Builder:
    """Walks one parsed text; ``text`` is the parsed bytes (wrapper included)."""

    def __init__(self, text: bytes) -> None:
        self.text = text
        self.result = FrontEndResult()
        self.seen: list[SNode] = []  # METHOD and CALL syntax nodes, in CPG id order
        self.pending: list[tuple[SNode, list[ir.Stmt]]] = []  # statement lists to fill

    def src(self, n: SNode | None) -> str:
        if n is None:
            return ""
        return self.text[n.start_byte:n.end_byte].decode("utf-8", "replace")

    # -- kinds and names --------------------------------------------------------------------
    def kind_of(self, n: SNode) -> str:
        """add_ast's kind callback; it also notes the methods and calls (one pass, not two)."""
        t = n.type
        kind = KINDS.get(t)
        if kind is not None and kind != "IDENTIFIER":
            if kind == "METHOD" or kind == "CALL":
                self.seen.append(n)
            return kind
        if t == "identifier" or t in _NAME_WRAPPERS:
            return "TYPE_REF" if _in_type(n) else ("IDENTIFIER" if t != "qualified_name"
                                                   and t != "alias_qualified_name" else "UNKNOWN")
        if t == "variable_declaration":
            p = n.parent
            return "UNKNOWN" if p is None or p.type in ("local_declaration_statement",
                                                          "field_declaration",
                                                          "event_field_declaration") else "LOCAL"
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
        kw = next((c.type for c in n.children if not c.named and c.type in
                   ("get", "set", "init", "add", "remove")), "get")
        prop = n.parent.parent if n.parent is not None else None
        pname = self.src(prop.child("name")) if prop is not None else ""
        if prop is not None and prop.type == "indexer_declaration":
            pname = "Item"
        return f"{kw}_{pname}"

    # -- variables read and written by an expression ----------------------------------------
    def access_name(self, n: SNode) -> str | None:
        """``a.b.c`` / ``this.x`` for a member access chain over names, else None."""
        parts = []
        cur: SNode | None = n
        while cur is not None and cur.type == "member_access_expression":
            parts.append(self.src(cur.child("name")))
            cur = cur.child("expression")
        if cur is None or cur.type not in ("identifier", "this", "base"):
            return None
        parts.append(self.src(cur))
        return ".".join(reversed(parts))

    def target(self, n: SNode | None, defs: list[str], uses: list[str], compound: bool,
               stack: list[SNode]) -> None:
        """An assignment target: defines it (and reads it when ``compound``)."""
        while n is not None and n.type == "parenthesized_expression":
            n = n.named_children[0] if n.named_children else None
        if n is None:
            return
        t = n.type
        if t == "identifier":
            defs.append(self.src(n))
            if compound:
                uses.append(self.src(n))
        elif t == "member_access_expression":
            name = self.access_name(n)
            if name is None:
                stack.append(n)
                return
            defs.append(name)
            if compound:
                uses.append(name)
            obj = n.child("expression")
            if obj is not None and obj.named:
                stack.append(obj)
        elif t == "element_access_expression":
            # An element store is a weak update of the collection: it reads and (re)defines it.
            arr = n.child("expression")
            base = None
            if arr is not None:
                base = self.src(arr) if arr.type == "identifier" else (
                    self.access_name(arr) if arr.type == "member_access_expression" else None)
            if base is not None:
                defs.append(base)
            stack.append(n)
        elif t == "tuple_expression":
            for arg in n.named_children:
                inner = arg.named_children
                if arg.type == "argument" and inner:
                    self.target(inner[-1], defs, uses, compound, stack)
        elif t == "declaration_expression":
            name = n.child("name")
            if name is not None:
                defs.append(self.src(name))
            else:
                self.designations(n, defs)
        else:
            stack.append(n)

    def defuse(self, root: SNode | None, defs: list[str], uses: list[str]) -> None:
        if root is None:
            return
        stack = [root]
        while stack:
            n = stack.pop()
            t = n.type
            if t == "identifier":
                if not _in_type(n):
                    uses.append(self.src(n))
                continue
            if t in _OPAQUE or not (n.named or n.is_error) or n.field in _TYPE_FIELDS:
                continue
            if t == "assignment_expression":
                op = n.child("operator")
                right = n.child("right")
                if right is not None:
                    stack.append(right)
                left = n.child("left")
                if n.parent is not None and n.parent.type in ("initializer_expression",
                                                              "with_initializer"):
                    continue  # `new T { P = v }`: P is a member of the new object
                self.target(left, defs, uses, op is not None and self.src(op) != "=", stack)
            elif t in ("prefix_unary_expression", "postfix_unary_expression"):
                operand = n.named_children
                if operand and _token(n, "++", "--"):
                    self.target(operand[0], defs, uses, True, stack)
                else:
                    stack.extend(reversed(operand))
            elif t == "member_access_expression":
                name = self.access_name(n)
                if name is not None:
                    uses.append(name)
                obj = n.child("expression")
                if obj is not None:
                    stack.append(obj)
            elif t == "invocation_expression":
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
                continue
            elif t == "argument":
                inner = [c for c in n.named_children if c.field != "name"]
                if inner and _token(n, "out", "ref"):
                    self.target(inner[-1], defs, uses, _token(n, "ref"), stack)
                else:
                    stack.extend(reversed(inner))
            elif t == "declaration_expression":
                self.target(n, defs, uses, False, stack)
            elif t == "variable_declaration":
                defs.extend(self.declared(n))
                for d in reversed(n.children):
                    if d.type == "variable_declarator":
                        stack.extend(reversed([c for c in d.named_children if c.field != "name"
                                               and c.type not in ("tuple_pattern",
                                               "parenthesized_variable_designation")]))
            elif t in ("declaration_pattern", "var_pattern", "recursive_pattern"):
                name = n.child("name")
                if name is not None:
                    defs.append(self.src(name))
                elif t == "var_pattern":
                    self.designations(n, defs)
                stack.extend(reversed([c for c in n.named_children
                                       if c.field not in ("name", "type")
                                       and c.type not in _TYPES and c.type != "identifier"]))
            elif t in ("as_expression", "is_expression", "cast_expression"):
                stack.extend(reversed([c for c in n.named_children
                                       if c.field not in ("right", "type")]))
            else:
                stack.extend(reversed(n.children))

    def expr_stmt(self, n: SNode, cls: type = ir.Simple) -> ir.Stmt:
        defs: list[str] = []
        uses: list[str] = []
        self.defuse(n, defs, uses)
        return cls(node=n.cid, defs=_dedupe(defs), uses=_dedupe(uses))

    def header(self, n: SNode | None) -> dict[str, list[str]]:
        """defs/uses keyword arguments for a compound statement's header expression."""
        defs: list[str] = []
        uses: list[str] = []
        self.defuse(n, defs, uses)
        return {"defs": _dedupe(defs), "uses": _dedupe(uses)}

    # -- statements -------------------------------------------------------------------------
    # Nesting never recurses: ``body`` returns an empty list and queues the syntax that fills
    # it; ``drain`` fills the queued lists (each statement appends its own IR at once, so list
    # order is source order), and ``stmts`` flattens nested blocks with a stack.
    def body(self, n: SNode | None) -> list[ir.Stmt]:
        out: list[ir.Stmt] = []
        if n is not None:
            self.pending.append((n, out))
        return out

    def drain(self) -> None:
        pending = self.pending
        while pending:
            n, out = pending.pop()
            self.stmts(n, out)

    def stmts(self, n: SNode, out: list[ir.Stmt]) -> None:
        """Append the IR of statement ``n`` (of each statement in it, for a block) to ``out``."""
        stack = [n]
        while stack:
            c = stack.pop()
            if c.type in _BLOCKS:
                # C# labels are goto targets only (no labelled break/continue): keep the body.
                label = c.type == "labeled_statement"
                stack.extend(reversed([x for x in c.children if (x.named or x.is_error)
                                       and x.type != "comment"
                                       and not (label and x.type == "identifier")]))
            else:
                self.stmt(c, out)

    def stmt(self, n: SNode, out: list[ir.Stmt]) -> None:
        """Append the IR of the one statement ``n``; nested statement lists are queued."""
        t = n.type
        if t in _BLOCKS:
            self.stmts(n, out)
        elif t == "expression_statement":
            inner = [c for c in n.named_children if c.type != "comment"]
            node = inner[0] if len(inner) == 1 and inner[0].cid >= 0 else n
            st = self.expr_stmt(n)
            st.node = node.cid
            out.append(st)
        elif t == "if_statement":
            out.append(self.if_chain(n))
        elif t in ("while_statement", "do_statement"):
            cond = n.child("condition")
            out.append(ir.Loop(node=n.cid, **self.header(cond), kind="while" if t[0] == "w"
                               else "do", body=self.body(n.child("body")),
                               infinite=self.always_true(cond)))
        elif t == "for_statement":
            init = [self.expr_stmt(c) for c in n.children_of("initializer")]
            update = [self.expr_stmt(c) for c in n.children_of("update")]
            cond = n.child("condition")
            out.append(ir.Loop(node=n.cid, **self.header(cond), kind="for",
                               body=self.body(n.child("body")), init=init, update=update,
                               infinite=cond is None or self.always_true(cond)))
        elif t == "foreach_statement":
            head = self.header(n.child("right"))
            left = n.child("left")
            names: list[str] = []
            if left is not None:
                if left.type == "identifier":
                    names.append(self.src(left))
                else:
                    self.designations(left, names)
            head["defs"] = _dedupe(names + head["defs"])
            out.append(ir.Loop(node=n.cid, **head, kind="foreach",
                               body=self.body(n.child("body"))))
        elif t == "switch_statement":
            out.append(self.switch(n))
        elif t == "try_statement":
            out.append(self.try_(n))
        elif t in ("using_statement", "fixed_statement", "lock_statement"):
            body = n.child("body")
            if body is None:
                body = next((c for c in reversed(n.named_children) if _is_statement(c)), None)
            head = [c for c in n.named_children if c is not body and c.type != "comment"]
            defs: list[str] = []
            uses: list[str] = []
            for h in head:
                self.defuse(h, defs, uses)
            out.append(ir.With(node=n.cid, defs=_dedupe(defs), uses=_dedupe(uses),
                               body=self.body(body)))
        elif t == "return_statement":
            out.append(self.expr_stmt(n, ir.Return))
        elif t == "throw_statement":
            out.append(self.expr_stmt(n, ir.Raise))
        elif t == "break_statement":
            out.append(ir.Break(node=n.cid))
        elif t == "continue_statement":
            out.append(ir.Continue(node=n.cid))
        elif t == "goto_statement":
            # goto is kept as a plain statement: its jump is not followed. `goto case x` reads x.
            uses: list[str] = []
            if _token(n, "case"):
                self.defuse(n, [], uses)
            out.append(ir.Simple(node=n.cid, uses=_dedupe(uses)))
        elif t == "yield_statement":
            out.append(self.expr_stmt(n, ir.Return if _token(n, "break") else ir.Simple))
        elif t == "local_function_statement" or t in _TYPE_DECLS:
            out.append(ir.Simple(node=n.cid))
        elif t == "empty_statement":
            return
        elif n.cid >= 0:
            # local declarations, goto, ERROR, ...
            out.append(self.expr_stmt(n))

    def always_true(self, cond: SNode | None) -> bool:
        while cond is not None and cond.type == "parenthesized_expression":
            inner = cond.named_children
            cond = inner[0] if len(inner) == 1 else None
        return cond is not None and cond.type == "boolean_literal" and self.src(cond) == "true"

    def if_chain(self, n: SNode) -> ir.If:
        # else-if chains are walked in a loop: generated code can chain hundreds of them.
        top = cur = ir.If(node=n.cid, **self.header(n.child("condition")),
                          then=self.body(n.child("consequence")))
        alt = n.child("alternative")
        while alt is not None:
            if alt.type == "if_statement":
                nxt = ir.If(node=alt.cid, **self.header(alt.child("condition")),
                            then=self.body(alt.child("consequence")))
                cur.orelse = [nxt]
                cur = nxt
                alt = alt.child("alternative")
            else:
                cur.orelse = self.body(alt)
                alt = None
        return top

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
            case.default = case.default or _token(sec, "default")
            for c in sec.children:
                if not (c.named or c.is_error) or c.type == "comment":
                    continue
                if _is_statement(c) or (case.body and c.is_error):
                    self.stmts(c, case.body)
                else:
                    self.defuse(c, defs, uses)
            if case.body:
                case.defs, case.uses = _dedupe(defs), _dedupe(uses)
                sw.cases.append(case)
                case = None
        if case is not None:  # trailing labels without statements (broken code)
            case.defs, case.uses = _dedupe(defs), _dedupe(uses)
            sw.cases.append(case)
        return sw

    def try_(self, n: SNode) -> ir.Try:
        tr = ir.Try(node=n.cid, body=self.body(n.child("body")))
        for c in n.children:
            if c.type == "catch_clause":
                decl = next((p for p in c.children if p.type == "catch_declaration"), None)
                filt = next((p for p in c.children if p.type == "catch_filter_clause"), None)
                defs: list[str] = []
                uses: list[str] = []
                catch_all = filt is None
                if decl is not None:
                    name = decl.child("name")
                    if name is not None:
                        defs.append(self.src(name))
                    catch_all = catch_all and self.src(decl.child("type")) in _CATCH_ALL
                if filt is not None:
                    self.defuse(filt, [], uses)
                tr.handlers.append(ir.Handler(node=c.cid, body=self.body(c.child("body")),
                                              defs=defs, uses=_dedupe(uses),
                                              catch_all=catch_all))
            elif c.type == "finally_clause":
                blk = next((b for b in c.children if b.type == "block"), None)
                tr.finalbody = self.body(blk)
        return tr

    # -- methods and calls ------------------------------------------------------------------
    def method(self, n: SNode) -> ir.MethodIR | None:
        m = ir.MethodIR(method=n.cid)
        params = n.child("parameters")
        if n.type == "accessor_declaration":
            # An indexer's accessors take the indexer's parameters (`this[int i]`).
            owner = n.parent.parent if n.parent is not None else None
            if owner is not None and owner.type == "indexer_declaration":
                params = owner.child("parameters") or next(
                    (c for c in owner.children if c.type == "bracketed_parameter_list"), None)
        if params is not None:
            plist = [params] if params.type == "implicit_parameter" else params.named_children
            for p in plist:
                if p.cid >= 0 and p.type in ("parameter", "implicit_parameter"):
                    name = self.name_of(p)
                    if name:
                        m.params[p.cid] = name
        body = n.child("body")
        if body is None:
            body = next((c for c in n.children if c.type in ("block", "arrow_expression_clause")),
                        None)
        if n.type in _ANON_METHODS:
            if body is None or body.type != "block":
                return None  # expression-bodied lambdas stay plain expressions
        if body is not None and body.type == "arrow_expression_clause":
            expr = next((c for c in body.named_children if c.type != "comment"), None)
            if expr is not None and expr.cid >= 0:
                st = self.expr_stmt(expr, ir.Return)
                m.body = [st]
            return m
        m.body = self.body(body)
        self.drain()
        return m

    def enclosing_ctor(self, n: SNode) -> str | None:
        p = n.parent
        while p is not None and p.type != "constructor_declaration":
            p = p.parent
        return self.src(p.child("name")) if p is not None else None

    def simple_name(self, n: SNode | None) -> str | None:
        while n is not None and n.type in ("qualified_name", "generic_name", "alias_qualified_name",
                                           "member_access_expression",
                                           "member_binding_expression"):
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
                fn = next((c for c in reversed(fn.named_children)
                           if c.type == "member_binding_expression"), None)
            return self.simple_name(fn)
        if t == "object_creation_expression":
            return self.simple_name(n.child("type"))
        if t == "constructor_initializer" and _token(n, "this"):
            return self.enclosing_ctor(n)
        return None

    def finish(self, root: SNode) -> FrontEndResult:
        """Method IR, names and call sites of the nodes ``kind_of`` noted (cids now set), and
        the top-level statements' IR."""
        res = self.result
        for n in self.seen:
            if n.cid < 0:
                continue
            t = n.type
            if t in _METHODS:
                m = self.method(n)
                if m is not None:
                    res.methods.append(m)
                if t in _NAMED_METHODS:
                    res.method_names[n.cid] = self.name_of(n) or ""
            else:
                name = self.callee(n)
                if name:
                    res.calls.append((n.cid, name))
        top = [g for g in root.children if g.type == "global_statement"]
        if any(c.type != "local_function_statement" for g in top for c in g.named_children):
            m = ir.MethodIR(method=root.cid)
            for g in top:
                self.stmts(g, m.body)
            self.drain()
            res.methods.insert(0, m)
        return res


def build(source: bytes, cpg: CPG, config: CPGConfig) -> FrontEndResult:
    """Add the AST of C# ``source`` to ``cpg``; return its methods' IR, call sites and names."""
    if config.snippets:
        root, offset = parse_snippet(source, LANG, PREFIX, SUFFIX, _needs_wrap)
    else:
        root, offset = parse(source, LANG), 0
    text = PREFIX + source + SUFFIX if offset else source
    b = _Builder(text)
    end = offset + len(source)

    def keep(n: SNode) -> bool:
        if n.type in _DROP:
            return False
        # The wrapper's class, name and body start in the prefix; its closing brace is unnamed.
        return n.is_error or n.is_missing or offset <= n.start_byte <= end and (
            n.start_byte < end or n.end_byte == end)

    def keep_unwrapped(n: SNode) -> bool:
        return n.type not in _DROP

    add_ast(cpg, root, source, b.kind_of, config, offset, keep if offset else keep_unwrapped,
            b.name_of)
    return b.finish(root)
