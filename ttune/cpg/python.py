"""Python front end: tree-sitter-python syntax -> CPG nodes (AST) and statement IR.

The kind table is in docs/cpg-schema.md. Every walk here is iterative (explicit stacks), so a
3000-deep expression or a 1000-deep ``if`` nest never meets Python's recursion limit.

Variables for the DDG
- defs: assignment targets (names, tuple/list unpacking, starred, ``self.x``-style attributes),
  augmented assignment (use + def), walrus, for targets, ``with ... as``, ``except ... as``,
  import names, ``def``/``class`` names, match-pattern captures. ``global``/``nonlocal`` are
  ignored.
- uses: identifiers read. ``name.attr`` with a plain-name object reads the variable
  ``name.attr`` and ``name``. Attribute names, keyword-argument names and type annotations are
  not uses. Names bound by a comprehension's ``for`` are local to it. Lambda bodies and nested
  function bodies belong to their own method.
"""

from __future__ import annotations

from . import ir
from .base import CPGConfig, FrontEndResult, add_ast, release_tree
from .graph import CPG
from .ts import SNode, parse

KINDS: dict[str, str] = {
    "module": "FILE",
    "function_definition": "METHOD",
    "lambda": "METHOD",
    "class_definition": "TYPE_DECL",
    "typed_parameter": "PARAM",
    "default_parameter": "PARAM",
    "typed_default_parameter": "PARAM",
    "block": "BLOCK",
    "identifier": "IDENTIFIER",
    "string": "LITERAL",
    "concatenated_string": "LITERAL",
    "integer": "LITERAL",
    "float": "LITERAL",
    "true": "LITERAL",
    "false": "LITERAL",
    "none": "LITERAL",
    "ellipsis": "LITERAL",
    "call": "CALL",
    "assignment": "OPERATOR",
    "augmented_assignment": "OPERATOR",
    "binary_operator": "OPERATOR",
    "comparison_operator": "OPERATOR",
    "boolean_operator": "OPERATOR",
    "unary_operator": "OPERATOR",
    "not_operator": "OPERATOR",
    "named_expression": "OPERATOR",
    "conditional_expression": "OPERATOR",
    "attribute": "FIELD_ACCESS",
    "if_statement": "CONTROL_STRUCTURE",
    "elif_clause": "CONTROL_STRUCTURE",
    "else_clause": "CONTROL_STRUCTURE",
    "for_statement": "CONTROL_STRUCTURE",
    "while_statement": "CONTROL_STRUCTURE",
    "try_statement": "CONTROL_STRUCTURE",
    "except_clause": "CONTROL_STRUCTURE",
    "except_group_clause": "CONTROL_STRUCTURE",
    "finally_clause": "CONTROL_STRUCTURE",
    "with_statement": "CONTROL_STRUCTURE",
    "match_statement": "CONTROL_STRUCTURE",
    "case_clause": "CONTROL_STRUCTURE",
    "break_statement": "CONTROL_STRUCTURE",
    "continue_statement": "CONTROL_STRUCTURE",
    "return_statement": "RETURN",
    "raise_statement": "THROW",
    "import_statement": "IMPORT",
    "import_from_statement": "IMPORT",
    "future_import_statement": "IMPORT",
    "type": "TYPE_REF",
    "decorator": "ANNOTATION",
    "comment": "COMMENT",
}
_PARAM_LISTS = frozenset(("parameters", "lambda_parameters"))
_SPLAT_PARAMS = frozenset(("list_splat_pattern", "dictionary_splat_pattern"))
_DEFINITIONS = frozenset(("function_definition", "lambda", "class_definition"))
_COMPREHENSIONS = frozenset(
    ("list_comprehension", "set_comprehension", "dictionary_comprehension", "generator_expression")
)
_TARGET_SEQUENCES = frozenset(
    (
        "pattern_list",
        "tuple_pattern",
        "list_pattern",
        "tuple",
        "list",
        "expression_list",
        "parenthesized_expression",
        "list_splat_pattern",
        "list_splat",
        "as_pattern_target",
    )
)
_NOT_STATEMENTS = frozenset(("comment", "line_continuation"))
# String internals get no CPG node of their own (as in the Java and C# front ends): the
# LITERAL's label already holds the text. Interpolations (f-string ``{...}``) are kept.
_STRING_PARTS = frozenset(
    ("string_start", "string_content", "string_end", "escape_sequence", "escape_interpolation")
)
_SCAN_SKIP = frozenset(
    (
        "type",
        "comment",
        "string_start",
        "string_content",
        "string_end",
        "escape_sequence",
        "integer",
        "float",
        "true",
        "false",
        "none",
    )
)
_EMPTY: frozenset[str] = frozenset()


def _kind_of(n: SNode) -> str:
    t = n.type
    if t == "identifier":  # the most common node: check it first
        parent = n.parent
        return "PARAM" if parent is not None and parent.type in _PARAM_LISTS else "IDENTIFIER"
    kind = KINDS.get(t)
    if kind is not None:
        return kind
    if t in _SPLAT_PARAMS and n.parent is not None and n.parent.type in _PARAM_LISTS:
        return "PARAM"
    return "UNKNOWN"


def _keep(n: SNode) -> bool:
    return n.type not in _STRING_PARTS


class _Front:
    """Per-file state: the source bytes and a cache of identifier texts."""

    def __init__(self, source: bytes) -> None:
        self.source = source
        self.calls: list[tuple[int, str]] = []
        self.method_names: dict[int, str] = {}
        self.definitions: list[SNode] = []

    def text(self, n: SNode) -> str:
        return self.source[n.start_byte : n.end_byte].decode("utf-8", "replace")

    # -- AST naming --------------------------------------------------------------------------
    def name_of(self, n: SNode) -> str | None:
        t = n.type
        if t == "identifier":
            parent = n.parent
            if parent is not None and parent.type in _PARAM_LISTS:
                return self.text(n)
            return None
        if t in _DEFINITIONS:
            self.definitions.append(n)  # collected here to save a walk over the tree
            if t == "lambda":
                return "<lambda>"
            name = n.child("name")
            return self.text(name) if name is not None else None
        if t in _PARAM_NODE_TYPES:
            p = n.parent
            if p is None or p.type not in _PARAM_LISTS:
                return None
            return self.param_name(n)
        return None

    def param_name(self, n: SNode) -> str | None:
        if n.type == "identifier":
            return self.text(n)
        name = n.child("name")
        if name is not None:
            return self.text(name)
        for c in n.children:
            if c.type == "identifier":
                return self.text(c)
        return None

    # -- defs / uses ---------------------------------------------------------------------------
    def scan(
        self,
        root: SNode | None,
        defs: list[str],
        uses: list[str],
        exclude: frozenset[str] = frozenset(),
    ) -> None:
        """Add the variables ``root`` (an expression) reads to ``uses`` (walrus targets to
        ``defs``), and record the call sites in it.

        Names bound by an enclosing comprehension are excluded: ``scope`` maps a pending node
        to the names excluded below it (only inside comprehensions, so it is usually empty).
        """
        if root is None:
            return
        stack = [root]
        scope: dict[SNode, frozenset[str]] = {root: exclude} if exclude else {}
        text = self.text
        pop = stack.pop
        push = stack.append
        skip = _SCAN_SKIP
        while stack:
            n = pop()
            ex = scope.pop(n, _EMPTY) if scope else _EMPTY
            t = n.type
            if t == "identifier":
                name = text(n)
                if name not in ex:
                    uses.append(name)
                continue
            if t in skip:
                continue
            if t == "attribute":
                obj = n.child("object")
                if obj is None:
                    continue
                if obj.type == "identifier":
                    base = text(obj)
                    if base not in ex:
                        attr = n.child("attribute")
                        if attr is not None:
                            uses.append(f"{base}.{text(attr)}")
                        uses.append(base)
                    continue
                kids = [obj]
            elif t == "call":
                fn = n.child("function")
                if fn is not None and n.cid >= 0:
                    callee = fn
                    if fn.type == "attribute":
                        callee = fn.child("attribute") or fn
                    if callee.type == "identifier":
                        self.calls.append((n.cid, text(callee)))
                kids = n.children
            elif t == "keyword_argument":
                value = n.child("value")
                if value is None:
                    continue
                kids = [value]
            elif t == "named_expression":
                name_node = n.child("name")
                if name_node is not None:
                    defs.append(text(name_node))
                value = n.child("value")
                if value is None:
                    continue
                kids = [value]
            elif t in _COMPREHENSIONS:
                bound: list[str] = []
                for c in n.children:
                    if c.type == "for_in_clause":
                        self.targets(c.child("left"), bound, [])
                ex = ex | frozenset(bound)
                kids = n.children
            elif t == "lambda":
                params = n.child("parameters")
                if params is None:
                    continue
                # default values are evaluated where the lambda is; the body is its own method
                kids = [v for v in (p.child("value") for p in params.children) if v is not None]
            else:
                kids = n.children
            for c in kids:
                if c.named:
                    push(c)
                    if ex:
                        scope[c] = ex

    def targets(self, root: SNode | None, defs: list[str], uses: list[str]) -> None:
        """Assignment target ``root``: names it defines to ``defs``; what it reads (subscript
        bases, attribute objects) to ``uses``."""
        if root is None:
            return
        stack = [root]
        text = self.text
        while stack:
            n = stack.pop()
            t = n.type
            if t == "identifier":
                defs.append(text(n))
            elif t == "attribute":
                obj = n.child("object")
                attr = n.child("attribute")
                if obj is not None and obj.type == "identifier" and attr is not None:
                    base = text(obj)
                    defs.append(f"{base}.{text(attr)}")
                    uses.append(base)
                else:
                    self.scan(obj, defs, uses)
            elif t in _TARGET_SEQUENCES:
                for c in n.children:
                    if c.named:
                        stack.append(c)
            elif t == "comment":
                continue
            else:  # subscript, call (broken code), ...: reads, defines nothing
                self.scan(n, defs, uses)

    # -- statements ----------------------------------------------------------------------------
    def block_stmts(self, block: SNode | None) -> list[SNode]:
        if block is None:
            return []
        return [c for c in block.children if c.named and c.type not in _NOT_STATEMENTS]

    def body(self, stmts: list[SNode]) -> list[ir.Stmt]:
        """IR of a statement list, built iteratively: nested lists are filled from a work
        stack, so nesting depth costs no recursion."""
        out: list[ir.Stmt] = []
        work: list[tuple[list[SNode], list[ir.Stmt]]] = [(stmts, out)]
        while work:
            nodes, target = work.pop()
            for n in nodes:
                target.append(self.stmt(n, work))
        return out

    def _cid(self, n: SNode) -> int:
        while n.cid < 0 and n.parent is not None:
            n = n.parent
        return n.cid

    def stmt(self, n: SNode, work: list) -> ir.Stmt:
        t = n.type
        defs: list[str] = []
        uses: list[str] = []
        if t == "expression_statement":
            named = [c for c in n.children if c.named and c.type != "comment"]
            node = named[0] if len(named) == 1 and named[0].cid >= 0 else n
            for c in named:
                self.expression(c, defs, uses)
            return ir.Simple(self._cid(node), defs, uses)
        if t == "if_statement" or t == "elif_clause":
            self.scan(n.child("condition"), defs, uses)
            s = ir.If(self._cid(n), defs, uses)
            work.append((self.block_stmts(n.child("consequence")), s.then))
            alts = n.children_of("alternative")
            if alts:
                s.orelse = self._chain(alts, work)
            return s
        if t == "for_statement":
            self.targets(n.child("left"), defs, uses)
            self.scan(n.child("right"), defs, uses)
            s = ir.Loop(self._cid(n), defs, uses, kind="foreach")
            self._loop_parts(n, s, work)
            return s
        if t == "while_statement":
            cond = n.child("condition")
            self.scan(cond, defs, uses)
            s = ir.Loop(
                self._cid(n),
                defs,
                uses,
                kind="while",
                infinite=cond is not None and self._always_true(cond),
            )
            self._loop_parts(n, s, work)
            return s
        if t == "return_statement":
            self.scan_children(n, defs, uses)
            return ir.Return(self._cid(n), defs, uses)
        if t == "raise_statement":
            self.scan_children(n, defs, uses)
            return ir.Raise(self._cid(n), defs, uses)
        if t == "break_statement":
            return ir.Break(self._cid(n))
        if t == "continue_statement":
            return ir.Continue(self._cid(n))
        if t == "try_statement":
            s = ir.Try(self._cid(n))
            work.append((self.block_stmts(n.child("body")), s.body))
            for c in n.children:
                ct = c.type
                if ct == "except_clause" or ct == "except_group_clause":
                    s.handlers.append(self._handler(c, work))
                elif ct == "else_clause":
                    s.orelse = []
                    work.append((self.block_stmts(c.child("body")), s.orelse))
                elif ct == "finally_clause":
                    s.finalbody = []
                    work.append((self.block_stmts(self._block_of(c)), s.finalbody))
            return s
        if t == "with_statement":
            for c in n.children:
                if c.type == "with_clause":
                    for item in c.children:
                        if item.type == "with_item":
                            self._with_item(item.child("value"), defs, uses)
                        elif item.named:
                            self._with_item(item, defs, uses)
            s = ir.With(self._cid(n), defs, uses)
            work.append((self.block_stmts(n.child("body")), s.body))
            return s
        if t == "match_statement":
            for subject in n.children_of("subject"):
                self.scan(subject, defs, uses)
            s = ir.Switch(self._cid(n), defs, uses, fallthrough=False, breakable=False)
            body = n.child("body")
            clauses = body.children if body is not None else n.children
            for c in clauses:
                if c.type == "case_clause":
                    s.cases.append(self._case(c, work))
            return s
        if t == "decorated_definition":
            for c in n.children:
                if c.type == "decorator":
                    self.scan_children(c, defs, uses)
            d = n.child("definition")
            if d is not None:
                self._definition(d, defs, uses)
                return ir.Simple(self._cid(d), defs, uses)
            return ir.Simple(self._cid(n), defs, uses)
        if t in _DEFINITIONS:
            self._definition(n, defs, uses)
            return ir.Simple(self._cid(n), defs, uses)
        if (
            t == "import_statement"
            or t == "import_from_statement"
            or t == "future_import_statement"
        ):
            self._imports(n, defs)
            return ir.Simple(self._cid(n), defs, uses)
        if t in ("global_statement", "nonlocal_statement", "pass_statement"):
            return ir.Simple(self._cid(n))
        if t == "type_alias_statement":
            left = n.child("left")
            if left is not None:
                for c in left.children:
                    if c.type == "identifier":
                        defs.append(self.text(c))
                        break
            return ir.Simple(self._cid(n), defs, uses)
        # assert, del, print, exec, ERROR, expressions standing where statements go, ...
        self.scan(n, defs, uses)
        return ir.Simple(self._cid(n), defs, uses)

    def scan_children(self, n: SNode, defs: list[str], uses: list[str]) -> None:
        for c in n.children:
            if c.named:
                self.scan(c, defs, uses)

    def expression(self, n: SNode, defs: list[str], uses: list[str]) -> None:
        """An expression statement's expression: assignments define their targets."""
        # ``a = b = f()`` nests assignments in ``right``: follow the chain without recursion.
        while True:
            t = n.type
            if t == "assignment":
                right = n.child("right")
                left = n.child("left")
                if right is None:  # annotation only (``x: int``): declares, defines nothing
                    return
                self.targets(left, defs, uses)
                n = right
                continue
            if t == "augmented_assignment":
                left = n.child("left")
                before = len(defs)
                self.targets(left, defs, uses)
                uses.extend(defs[before:])  # x += 1 reads x first
                self.scan(n.child("right"), defs, uses)
                return
            self.scan(n, defs, uses)
            return

    def _chain(self, clauses: list[SNode], work: list) -> list[ir.Stmt]:
        """The ``orelse`` of an if: each elif clause is an If whose orelse holds the rest of
        the chain. Built front to back with a loop, so long elif chains cost no recursion."""
        head: list[ir.Stmt] = []
        target = head
        for i, c in enumerate(clauses):
            if c.type == "elif_clause":
                defs: list[str] = []
                uses: list[str] = []
                self.scan(c.child("condition"), defs, uses)
                s = ir.If(self._cid(c), defs, uses)
                work.append((self.block_stmts(c.child("consequence")), s.then))
                target.append(s)
                if i + 1 < len(clauses):
                    s.orelse = []
                    target = s.orelse
            else:
                work.append((self.block_stmts(c.child("body")), target))
                break
        return head

    def _loop_parts(self, n: SNode, s: ir.Loop, work: list) -> None:
        work.append((self.block_stmts(n.child("body")), s.body))
        alt = n.child("alternative")
        if alt is not None:
            s.orelse = []
            work.append((self.block_stmts(alt.child("body")), s.orelse))

    def _always_true(self, cond: SNode) -> bool:
        if cond.type == "true":
            return True
        if cond.type == "integer":
            return self.text(cond).strip("0_") not in ("", "x", "X", "o", "O", "b", "B")
        return False

    @staticmethod
    def _block_of(n: SNode) -> SNode | None:
        b = n.child("body")
        if b is not None:
            return b
        for c in n.children:
            if c.type == "block":
                return c
        return None

    def _handler(self, c: SNode, work: list) -> ir.Handler:
        defs: list[str] = []
        uses: list[str] = []
        value = c.child("value")
        named = [x for x in c.children if x.named and x.type not in ("block", "comment")]
        if value is None and named:
            value = named[0]
        if value is not None and value.type == "as_pattern":
            alias = value.child("alias")
            for x in value.children:
                if x.named and x is not alias:
                    self.scan(x, defs, uses)
                    break
            if alias is not None:
                self.targets(alias, defs, uses)
        elif value is not None:
            self.scan(value, defs, uses)
            alias = c.child("alias")  # newer grammars put the alias on the clause
            if alias is not None:
                self.targets(alias, defs, uses)
        h = ir.Handler(self._cid(c), defs=defs, uses=uses, catch_all=not named)
        work.append((self.block_stmts(self._block_of(c)), h.body))
        return h

    def _with_item(self, value: SNode | None, defs: list[str], uses: list[str]) -> None:
        if value is None:
            return
        if value.type == "as_pattern":
            alias = value.child("alias")
            for x in value.children:
                if x.named and x is not alias:
                    self.scan(x, defs, uses)
                    break
            self.targets(alias, defs, uses)
        else:
            self.scan(value, defs, uses)

    def _case(self, c: SNode, work: list) -> ir.Case:
        defs: list[str] = []
        uses: list[str] = []
        patterns = [x for x in c.children if x.type == "case_pattern"]
        for p in patterns:
            self._pattern(p, defs, uses)
        guard = c.child("guard")
        if guard is not None:
            self.scan_children(guard, defs, uses)
        default = guard is None and len(patterns) == 1 and self._irrefutable(patterns[0])
        case = ir.Case(self._cid(c), defs=defs, uses=uses, default=default)
        work.append((self.block_stmts(c.child("consequence") or self._block_of(c)), case.body))
        return case

    def _irrefutable(self, p: SNode) -> bool:
        """``case _:`` and ``case name:`` match anything."""
        kids = [x for x in p.children if x.type != "comment"]
        if len(kids) != 1:
            return False
        k = kids[0]
        if k.type == "_":
            return True
        return k.type == "dotted_name" and len(k.named_children) == 1

    def _pattern(self, root: SNode, defs: list[str], uses: list[str]) -> None:
        """Names a match pattern binds (captures, ``as``, ``*rest``) and reads (class names,
        dotted constants)."""
        stack = [root]
        text = self.text
        while stack:
            n = stack.pop()
            t = n.type
            if t == "dotted_name":
                ids = [text(x) for x in n.children if x.type == "identifier"]
                p = n.parent
                capture = (
                    len(ids) == 1
                    and p is not None
                    and p.type in ("case_pattern", "keyword_pattern", "splat_pattern")
                    and not (p.type == "keyword_pattern" and n is p.named_children[0])
                )
                if capture:
                    defs.append(ids[0])
                elif ids:
                    uses.append(ids[0])
                    if len(ids) > 1:
                        uses.append(f"{ids[0]}.{ids[1]}")
            elif t == "identifier":
                p = n.parent
                if p is not None and p.type == "keyword_pattern" and n is p.named_children[0]:
                    continue  # the keyword of ``Point(x=...)``
                defs.append(text(n))  # ``as name``, ``*rest``, ``**rest``
            elif t == "class_pattern":
                for c in n.children:
                    if c.type == "dotted_name":
                        ids = [text(x) for x in c.children if x.type == "identifier"]
                        if ids:
                            uses.append(ids[0])
                    elif c.named:
                        stack.append(c)
            elif t in ("string", "integer", "float", "true", "false", "none", "comment"):
                continue
            elif t == "dict_pattern":
                for c in n.children:
                    if c.named and c.field != "key":
                        stack.append(c)
            else:
                for c in n.children:
                    if c.named:
                        stack.append(c)

    def _definition(self, d: SNode, defs: list[str], uses: list[str]) -> None:
        """A nested def/class as a statement: defines its name; reads decorators, default
        values and base classes (evaluated where the statement runs)."""
        name = d.child("name")
        if name is not None:
            defs.append(self.text(name))
        if d.type == "class_definition":
            sup = d.child("superclasses")
            if sup is not None:
                self.scan(sup, defs, uses)
            return
        params = d.child("parameters")
        if params is not None:
            for p in params.children:
                v = p.child("value")
                if v is not None:
                    self.scan(v, defs, uses)

    def _imports(self, n: SNode, defs: list[str]) -> None:
        text = self.text
        for c in n.children_of("name"):
            if c.type == "aliased_import":
                alias = c.child("alias")
                if alias is not None:
                    defs.append(text(alias))
            elif c.type == "dotted_name":
                ids = [x for x in c.children if x.type == "identifier"]
                if ids:
                    # ``import a.b`` binds ``a``; ``from m import a`` binds ``a``.
                    defs.append(text(ids[0] if n.type == "import_statement" else ids[-1]))

    # -- methods -------------------------------------------------------------------------------
    def method_ir(self, d: SNode) -> ir.MethodIR:
        m = ir.MethodIR(d.cid)
        params = d.child("parameters")
        if params is not None:
            for p in params.children:
                if p.cid >= 0 and (p.type == "identifier" or p.type in _PARAM_NODE_TYPES):
                    name = self.param_name(p)
                    if name:
                        m.params[p.cid] = name
        body = d.child("body")
        if d.type == "lambda":
            if body is not None:
                defs: list[str] = []
                uses: list[str] = []
                self.scan(body, defs, uses)
                m.body = [ir.Return(self._cid(body), defs, uses)]
        else:
            m.body = self.body(self.block_stmts(body))
        return m


_PARAM_NODE_TYPES = frozenset(
    (
        "typed_parameter",
        "default_parameter",
        "typed_default_parameter",
        "list_splat_pattern",
        "dictionary_splat_pattern",
    )
)


def build(source: bytes, cpg: CPG, config: CPGConfig) -> FrontEndResult:
    """Parse Python ``source``, add its AST to ``cpg`` and return the methods' IR."""
    root = parse(source, "python")
    front = _Front(source)
    add_ast(cpg, root, source, _kind_of, config, keep=_keep, name_of=front.name_of)
    result = FrontEndResult()
    # Module code: the FILE node stands as the method.
    module = ir.MethodIR(root.cid)
    module.body = front.body(
        [c for c in root.children if c.named and c.type not in _NOT_STATEMENTS]
    )
    result.methods.append(module)
    for d in front.definitions:
        if d.cid < 0:
            continue
        if d.type == "class_definition":
            # A class body runs once, at definition time; it has no CFG of its own here, but
            # the calls in it still get CALL edges.
            front.body(front.block_stmts(d.child("body")))
            continue
        result.methods.append(front.method_ir(d))
        name = cpg.nodes[d.cid].name
        if d.type == "function_definition" and name:
            result.method_names[d.cid] = name
    result.calls = front.calls
    release_tree(root)  # the tree is not needed any more
    return result
