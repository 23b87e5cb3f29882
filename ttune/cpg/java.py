"""Java front end: tree-sitter-java syntax -> CPG nodes (AST) + one ir.MethodIR per method.

Data sets hold bare methods (CodeXGLUE's one-line methods, TL-CodeSum's space-tokenised methods,
ATLAS test methods). tree-sitter-java accepts a bare method at the top level, but not a bare
constructor or a method with no return type; ``build`` wraps the text in ``class __W__ {`` ... ``}``
only when that parses with fewer syntax errors (or, on broken input, when only the wrapped parse
finds a method at all: see ``_parse``), and maps every span back to the original text. The
wrapper's own nodes get no CPG node.

Kinds (shared vocabulary, graph.NODE_KINDS) are in ``KINDS``; identifiers are IDENTIFIER except the
bare parameters of a lambda (``x -> ...``, ``(a, b) -> ...``), which are PARAM. String internals
(fragments, escapes) get no node of their own: the LITERAL's label already holds them.
"""

from __future__ import annotations

from . import ir
from .base import CPGConfig, FrontEndResult, add_ast, count_errors, iter_nodes, parse_snippet
from .graph import CPG
from .ts import SNode, parse

EXTENSIONS: tuple[str, ...] = (".java",)
LANG = "java"
PREFIX = b"class __W__ {\n"
SUFFIX = b"\n}"

_TYPE_DECLS = ("class_declaration", "interface_declaration", "enum_declaration",
               "record_declaration", "annotation_type_declaration")
_METHODS = ("method_declaration", "constructor_declaration", "compact_constructor_declaration",
            "lambda_expression")
_CONTROL = ("if_statement", "while_statement", "for_statement", "enhanced_for_statement",
            "do_statement", "switch_expression", "try_statement", "try_with_resources_statement",
            "catch_clause", "finally_clause", "synchronized_statement", "break_statement",
            "continue_statement", "yield_statement")
_LITERALS = ("decimal_integer_literal", "hex_integer_literal", "octal_integer_literal",
             "binary_integer_literal", "decimal_floating_point_literal",
             "hex_floating_point_literal", "true", "false", "character_literal", "string_literal",
             "null_literal", "class_literal")
_TYPES = ("type_identifier", "integral_type", "floating_point_type", "boolean_type", "void_type",
          "generic_type", "array_type", "scoped_type_identifier", "annotated_type")
_OPERATORS = ("assignment_expression", "binary_expression", "unary_expression",
              "update_expression", "ternary_expression", "instanceof_expression",
              "cast_expression", "array_access")

KINDS: dict[str, str] = {
    **{t: "TYPE_DECL" for t in _TYPE_DECLS},
    **{t: "METHOD" for t in _METHODS},
    **{t: "CONTROL_STRUCTURE" for t in _CONTROL},
    **{t: "LITERAL" for t in _LITERALS},
    **{t: "TYPE_REF" for t in _TYPES},
    **{t: "OPERATOR" for t in _OPERATORS},
    "formal_parameter": "PARAM", "spread_parameter": "PARAM",
    "catch_formal_parameter": "LOCAL",  # declares the exception variable of a catch block
    "block": "BLOCK", "constructor_body": "BLOCK",
    "local_variable_declaration": "LOCAL",
    "identifier": "IDENTIFIER", "this": "IDENTIFIER", "super": "IDENTIFIER",
    "method_invocation": "CALL", "object_creation_expression": "CALL",
    "explicit_constructor_invocation": "CALL",
    "field_access": "FIELD_ACCESS",
    "return_statement": "RETURN",
    "throw_statement": "THROW",
    "import_declaration": "IMPORT", "package_declaration": "IMPORT", "module_declaration": "IMPORT",
    "modifiers": "MODIFIER",
    "annotation": "ANNOTATION", "marker_annotation": "ANNOTATION",
    "line_comment": "COMMENT", "block_comment": "COMMENT",
}
"""tree-sitter-java node type -> CPG node kind; anything not listed is UNKNOWN."""

_DROP = frozenset({"string_fragment", "escape_sequence", "multiline_string_fragment"})
# Top-level nodes of a whole compilation unit: a root holding only these is no bare snippet.
_FILE_LEVEL = frozenset(_TYPE_DECLS + ("package_declaration", "import_declaration",
                                       "module_declaration", "line_comment", "block_comment"))
_MEMBERS = frozenset({"method_declaration", "constructor_declaration"})
_NAMED = frozenset(_TYPE_DECLS + _METHODS + (
    "formal_parameter", "catch_formal_parameter", "spread_parameter",
    "local_variable_declaration", "identifier"))
_BLOCKS = frozenset({"block", "constructor_body", "switch_block_statement_group"})
_COMMENTS = frozenset({"line_comment", "block_comment"})
# Subtrees whose identifiers are not variable reads of the enclosing statement.
_OPAQUE = frozenset(_TYPE_DECLS + _METHODS + ("class_body", "modifiers", "annotation",
                                              "marker_annotation") + _TYPES)
_CATCH_ALL = frozenset({"Exception", "Throwable", "java.lang.Exception", "java.lang.Throwable"})


def _is_lambda_param(n: SNode) -> bool:
    p = n.parent
    return p is not None and (p.type == "inferred_parameters"
                              or (p.type == "lambda_expression" and n.field == "parameters"))


def _needs_wrap(root: SNode) -> bool:
    if all(c.type in _FILE_LEVEL for c in root.children):
        return False
    return count_errors(root) > 0


def _count_members(root: SNode) -> int:
    return sum(1 for n in iter_nodes(root) if n.type in _MEMBERS)


def _parse(source: bytes, config: CPGConfig) -> tuple[SNode, int]:
    """Parse ``source``, wrapped in a class when that is better; returns (root, wrapper length)."""
    if not config.snippets:
        return parse(source, LANG), 0
    root, offset = parse_snippet(source, LANG, PREFIX, SUFFIX, _needs_wrap)
    if offset == 0 and not any(c.type in _MEMBERS for c in root.children) and _needs_wrap(root):
        # ATLAS test methods have no return type and their focal methods' parameters have no
        # names: both parses have errors, often as many, but unwrapped the test method is a
        # call statement followed by a loose block, while wrapped it is a constructor with its
        # body. A parse that finds no method at all is worse than any that finds one.
        wrapped = parse(PREFIX + source + SUFFIX, LANG)
        if _count_members(wrapped) > _count_members(root):
            return wrapped, len(PREFIX)
    return root, offset


def _dedupe(names: list[str]) -> list[str]:
    return list(dict.fromkeys(names))


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

    # -- names ------------------------------------------------------------------------------
    def name_of(self, n: SNode) -> str | None:
        t = n.type
        if t not in _NAMED:
            return None
        if t in _TYPE_DECLS or t in ("method_declaration", "constructor_declaration",
                                     "compact_constructor_declaration", "formal_parameter",
                                     "catch_formal_parameter"):
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

    # -- variables read and written by an expression ----------------------------------------
    def access_name(self, n: SNode) -> str | None:
        """``a.b.c`` / ``this.x`` for a field_access chain over names, else None."""
        parts = []
        cur: SNode | None = n
        while cur is not None and cur.type == "field_access":
            parts.append(self.src(cur.child("field")))
            cur = cur.child("object")
        if cur is None or cur.type not in ("identifier", "this", "super"):
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
        if n.type == "identifier":
            defs.append(self.src(n))
            if compound:
                uses.append(self.src(n))
        elif n.type == "field_access":
            name = self.access_name(n)
            if name is None:
                stack.append(n)
                return
            defs.append(name)
            if compound:
                uses.append(name)
            obj = n.child("object")
            if obj is not None:
                stack.append(obj)
        elif n.type == "array_access":
            # An element store is a weak update of the array: it reads and (re)defines it.
            arr = n.child("array")
            base = self.src(arr) if arr is not None and arr.type == "identifier" else (
                self.access_name(arr) if arr is not None and arr.type == "field_access" else None)
            if base is not None:
                defs.append(base)
            stack.append(n)
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
                uses.append(self.src(n))
                continue
            if t in _OPAQUE or not (n.named or n.is_error):
                continue
            if t == "assignment_expression":
                op = n.child("operator")
                right = n.child("right")
                if right is not None:
                    stack.append(right)
                self.target(n.child("left"), defs, uses, op is not None and op.type != "=", stack)
            elif t == "update_expression":
                operand = n.named_children
                if operand:
                    self.target(operand[0], defs, uses, True, stack)
            elif t == "field_access":
                name = self.access_name(n)
                if name is not None:
                    uses.append(name)
                obj = n.child("object")
                if obj is not None:
                    stack.append(obj)
            elif t == "method_invocation":
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
            t = c.type
            if t in _BLOCKS:
                stack.extend(reversed([x for x in c.children if (x.named or x.is_error)
                                       and x.type not in _COMMENTS and x.type != "switch_label"]))
            elif t == "labeled_statement":
                label = next((x for x in c.children if x.type == "identifier"), None)
                inner = [x for x in c.named_children if x is not label and x.type not in _COMMENTS]
                if len(inner) == 1 and inner[0].type not in _BLOCKS:
                    start = len(out)
                    self.stmt(inner[0], out)
                    if len(out) > start and isinstance(out[start], (ir.Loop, ir.Switch)):
                        out[start].label = self.src(label)  # type: ignore[union-attr]
                else:  # a labelled block: `break label` inside it cannot be resolved
                    stack.extend(reversed(inner))
            else:
                self.stmt(c, out)

    def stmt(self, n: SNode, out: list[ir.Stmt]) -> None:
        """Append the IR of the one statement ``n``; nested statement lists are queued."""
        t = n.type
        if t in _BLOCKS or t == "labeled_statement":
            self.stmts(n, out)
        elif t == "expression_statement":
            inner = [c for c in n.named_children if c.type not in _COMMENTS]
            if len(inner) == 1 and inner[0].type == "switch_expression":
                self.stmt(inner[0], out)
                return
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
            init: list[ir.Stmt] = []
            for c in n.children_of("init"):
                init.append(self.expr_stmt(c))
            update = [self.expr_stmt(c) for c in n.children_of("update")]
            cond = n.child("condition")
            out.append(ir.Loop(node=n.cid, **self.header(cond), kind="for",
                               body=self.body(n.child("body")), init=init, update=update,
                               infinite=cond is None or self.always_true(cond)))
        elif t == "enhanced_for_statement":
            head = self.header(n.child("value"))
            name = n.child("name")
            if name is not None:
                head["defs"] = _dedupe([self.src(name)] + head["defs"])
            out.append(ir.Loop(node=n.cid, **head, kind="foreach", body=self.body(n.child("body"))))
        elif t == "switch_expression":
            out.append(self.switch(n))
        elif t == "try_statement":
            out.append(self.try_(n, self.body(n.child("body"))))
        elif t == "try_with_resources_statement":
            res = n.child("resources")
            defs, uses = [], []
            self.defuse(res, defs, uses)
            has_handlers = any(c.type in ("catch_clause", "finally_clause") for c in n.children)
            with_node = res if has_handlers and res is not None else n
            w = ir.With(node=with_node.cid, defs=_dedupe(defs), uses=_dedupe(uses),
                        body=self.body(n.child("body")))
            out.append(self.try_(n, [w]) if has_handlers else w)
        elif t == "synchronized_statement":
            lock = next((c for c in n.named_children if c.field != "body"), None)
            out.append(ir.With(node=n.cid, **self.header(lock), body=self.body(n.child("body"))))
        elif t == "return_statement":
            out.append(self.expr_stmt(n, ir.Return))
        elif t == "throw_statement":
            out.append(self.expr_stmt(n, ir.Raise))
        elif t in ("break_statement", "continue_statement"):
            label = next((c for c in n.children if c.type == "identifier"), None)
            cls = ir.Break if t[0] == "b" else ir.Continue
            out.append(cls(node=n.cid, label=self.src(label) if label is not None else None))
        elif t in _TYPE_DECLS:
            out.append(ir.Simple(node=n.cid))
        elif n.cid >= 0:
            # local variable declarations, explicit this(...)/super(...), assert, yield, ERROR, ...
            out.append(self.expr_stmt(n))

    def always_true(self, cond: SNode | None) -> bool:
        while cond is not None and cond.type == "parenthesized_expression":
            inner = cond.named_children
            cond = inner[0] if len(inner) == 1 else None
        return cond is not None and cond.type == "true"

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
            case = ir.Case(node=labels[0].cid,
                           default=any(self.src(lab).startswith("default") for lab in labels),
                           defs=_dedupe(defs), uses=_dedupe(uses))
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

    def try_(self, n: SNode, body: list[ir.Stmt]) -> ir.Try:
        tr = ir.Try(node=n.cid, body=body)
        for c in n.children:
            if c.type == "catch_clause":
                param = next((p for p in c.children if p.type == "catch_formal_parameter"), None)
                defs: list[str] = []
                catch_all = False
                if param is not None:
                    name = param.child("name")
                    if name is not None:
                        defs.append(self.src(name))
                    ctype = next((p for p in param.children if p.type == "catch_type"), None)
                    types = [self.src(x) for x in ctype.named_children] if ctype else []
                    catch_all = len(types) == 1 and types[0] in _CATCH_ALL
                tr.handlers.append(ir.Handler(node=c.cid, body=self.body(c.child("body")),
                                              defs=defs, catch_all=catch_all))
            elif c.type == "finally_clause":
                blk = next((b for b in c.children if b.type == "block"), None)
                tr.finalbody = self.body(blk)
        return tr

    # -- methods and calls ------------------------------------------------------------------
    def method(self, n: SNode) -> ir.MethodIR | None:
        m = ir.MethodIR(method=n.cid)
        params = n.child("parameters")
        if n.type == "compact_constructor_declaration":
            # A record's compact constructor takes the record header's parameters implicitly.
            rec = n.parent.parent if n.parent is not None else None
            params = rec.child("parameters") if rec is not None else None
        if params is not None:
            if params.type == "identifier":
                m.params[params.cid] = self.src(params)
            for p in params.named_children:
                if p.type in ("formal_parameter", "spread_parameter") or p.type == "identifier":
                    name = self.name_of(p) if p.type != "identifier" else self.src(p)
                    if name and p.cid >= 0:
                        m.params[p.cid] = name
        body = n.child("body")
        if n.type == "lambda_expression":
            if body is None or body.type != "block":
                return None  # expression-bodied lambdas stay plain expressions
        m.body = self.body(body)
        self.drain()
        return m

    def enclosing_ctor(self, n: SNode) -> str | None:
        p = n.parent
        while p is not None and p.type != "constructor_declaration":
            p = p.parent
        return self.src(p.child("name")) if p is not None else None

    def callee(self, n: SNode) -> str | None:
        t = n.type
        if t == "method_invocation":
            return self.src(n.child("name")) or None
        if t == "object_creation_expression":
            ty = n.child("type")
            while ty is not None and ty.type in ("generic_type", "scoped_type_identifier",
                                                 "annotated_type"):
                names = [c for c in ty.named_children if c.type in _TYPES]
                ty = names[-1] if ty.type != "generic_type" else (names[0] if names else None)
            return self.src(ty) if ty is not None else None
        if t == "explicit_constructor_invocation":
            ctor = n.child("constructor")
            if ctor is not None and ctor.type == "this":
                return self.enclosing_ctor(n)
        return None

    def finish(self) -> FrontEndResult:
        """Method IR, names and call sites of the nodes ``kind_of`` noted (cids now set)."""
        res = self.result
        for n in self.seen:
            if n.cid < 0:
                continue
            t = n.type
            if t in _METHODS:
                m = self.method(n)
                if m is not None:
                    res.methods.append(m)
                if t != "lambda_expression":
                    res.method_names[n.cid] = self.src(n.child("name"))
            else:
                name = self.callee(n)
                if name:
                    res.calls.append((n.cid, name))
        return res


def build(source: bytes, cpg: CPG, config: CPGConfig) -> FrontEndResult:
    """Add the AST of Java ``source`` to ``cpg``; return its methods' IR, call sites and names."""
    root, offset = _parse(source, config)
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
    return b.finish()
