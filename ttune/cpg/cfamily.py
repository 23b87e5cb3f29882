"""What the C-family front ends (java.py, csharp.py) share: snippet parsing, AST hand-off and the
walk from syntax to statement IR (ir.py).

Java and C# statements have the same shapes (blocks, if/else-if chains, while/do/for/for-each,
switch, try/catch/finally, return/throw/break/continue) under different tree-sitter names, so
:class:`CFamilyBuilder` holds the walk once, reads the names from class attributes, and calls a
few small hooks where the languages really differ (patterns, ``using``/``lock``, labels, switch
sections). A front end subclasses it, fills the tables, and its ``build`` calls :func:`build`.

Everything here is iterative, as the front ends must be (base.py): nesting never recurses.
"""

from __future__ import annotations

from collections.abc import Iterable

from . import ir
from .base import CPGConfig, FrontEndResult, add_ast, count_errors, parse_snippet, release_tree
from .graph import CPG
from .languages import BRACE_WRAPPER
from .ts import SNode, parse

# A bare member (the data sets' one-method snippets) parses better inside a class; the wrapper
# (the language table's) is the same for both languages and gets no CPG node (see build's
# ``keep``).
PREFIX, SUFFIX = BRACE_WRAPPER


def kind_table(groups: dict[str, Iterable[str]], **single: str) -> dict[str, str]:
    """``{node type: kind}`` from ``{kind: node types}`` groups, then one-off ``type=kind``
    entries (later entries win, as in a dict literal)."""
    table = {t: kind for kind, types in groups.items() for t in types}
    table.update(single)
    return table


def dedupe(names: list[str]) -> list[str]:
    """``names`` without repeats, first occurrence kept (defs/uses keep source order)."""
    return list(dict.fromkeys(names))


def has_token(n: SNode, *types: str) -> bool:
    """Whether ``n`` has an anonymous child token of one of ``types`` (``out``, ``++``, ...)."""
    return any(not c.named and c.type in types for c in n.children)


class CFamilyBuilder:
    """Walks one parsed text; ``text`` is the parsed bytes (wrapper included).

    Subclasses set the tables below and implement ``kind_of``, ``name_of``, ``visit``,
    ``loop_vars``, ``is_true``, ``switch``, ``catches_all``, ``add_params`` and ``callee``; the
    other hooks (``reads``, ``compound``, ``other_target``, ``labeled``, ``special_stmt``,
    ``method_body``, ``top_level``, ``parse_source``) have defaults.
    """

    LANG: str
    FILE_LEVEL: frozenset[str]
    """Top-level node types of a whole compilation unit: a root holding only these is no snippet."""
    DROP: frozenset[str]
    """Node types that get no CPG node (string internals: the LITERAL's label holds them)."""
    OPAQUE: frozenset[str]
    """Subtrees whose identifiers are not variable reads of the enclosing statement."""
    TYPE_FIELDS: frozenset[str] = frozenset()
    """Fields that hold a type (never a variable read); empty where types have their own nodes."""
    BLOCKS: frozenset[str]
    """Statement lists flattened into the enclosing list."""
    COMMENTS: frozenset[str]
    BLOCK_SKIP: frozenset[str]
    """Children of a block that are no statements (comments, Java's switch labels)."""
    DECL_STMTS: frozenset[str]
    """Declarations in a statement list (local classes, ...): one plain statement, no flow."""
    METHODS: frozenset[str]
    ANON_METHODS: frozenset[str]
    """Lambdas: no name, and a METHOD with a flow of its own only with a block body."""
    CATCH_ALL: frozenset[str]
    """Exception type names a catch clause catches everything with."""
    LABELLED_JUMPS = True
    """Whether ``break``/``continue`` may name a label (Java; C# labels are goto targets only)."""

    # Grammar names of the shared constructs.
    ACCESS: str  # member access ``a.b`` (node type, member field, object field)
    ACCESS_MEMBER: str
    ACCESS_OBJECT: str
    RECEIVERS: tuple[str, ...]  # what a member-access chain may start at (a name, this, ...)
    ELEMENT: str  # element access ``a[i]`` (node type, collection field)
    ELEMENT_OBJECT: str
    UPDATES: frozenset[str]  # expression types that may be ``++``/``--``
    SWITCH: str
    FOR_INIT: str  # field of a classic for's initialisers
    FOREACH: str
    FOREACH_ITER: str  # field of the iterated expression of a for-each loop
    CATCH_DECL: str  # child of a catch clause declaring the exception variable
    CATCH_GUARD: str | None = None  # child of a catch clause filtering it (C# ``when``)
    MEMBER_INITS: frozenset[str] = frozenset()
    """Parents of ``P = v`` that set a member of a new object (C# ``new T { P = v }``)."""
    EXPR_BODY: str | None = None
    """A method body that is one expression (C# ``=> expr``), its value returned."""

    def __init__(self, text: bytes) -> None:
        self.text = text
        self.result = FrontEndResult()
        self.seen: list[SNode] = []  # METHOD and CALL syntax nodes, in CPG id order
        self.pending: list[tuple[SNode, list[ir.Stmt]]] = []  # statement lists to fill

    # -- parsing --------------------------------------------------------------------------------
    @classmethod
    def needs_wrap(cls, root: SNode) -> bool:
        if all(c.type in cls.FILE_LEVEL for c in root.children):
            return False
        return count_errors(root) > 0

    @classmethod
    def parse_source(cls, source: bytes, config: CPGConfig) -> tuple[SNode, int]:
        """Parse ``source``, wrapped in a class when that is better; returns (root, wrapper
        length)."""
        if not config.snippets:
            return parse(source, cls.LANG), 0
        return parse_snippet(source, cls.LANG, PREFIX, SUFFIX, cls.needs_wrap)

    def src(self, n: SNode | None) -> str:
        if n is None:
            return ""
        return self.text[n.start_byte : n.end_byte].decode("utf-8", "replace")

    # -- language hooks -------------------------------------------------------------------------
    def kind_of(self, n: SNode) -> str:
        """add_ast's kind callback; it must also note METHOD and CALL nodes in ``seen``."""
        raise NotImplementedError

    def name_of(self, n: SNode) -> str | None:
        raise NotImplementedError

    def reads(self, ident: SNode) -> bool:
        """Whether an identifier in an expression reads a variable (not so for type names)."""
        return True

    def visit(self, n: SNode, t: str, defs: list[str], uses: list[str], stack: list[SNode]) -> bool:
        """defuse for the language's own expression types; False: not one of them."""
        raise NotImplementedError

    def compound(self, op: SNode) -> bool:
        """Whether an assignment operator also reads its target (``+=``, not ``=``)."""
        return self.src(op) != "="

    def other_target(
        self, n: SNode, defs: list[str], uses: list[str], compound: bool, stack: list[SNode]
    ) -> None:
        """An assignment target that is no name, member or element: read it as an expression."""
        stack.append(n)

    def loop_vars(self, n: SNode) -> list[str]:
        """The variables a for-each loop defines at its header."""
        raise NotImplementedError

    def special_stmt(self, n: SNode, t: str, out: list[ir.Stmt]) -> bool:
        """Append the IR of a statement only this language has; False: not one of them."""
        return False

    def is_true(self, n: SNode) -> bool:
        """Whether ``n`` is the literal ``true``."""
        raise NotImplementedError

    def switch(self, n: SNode) -> ir.Switch:
        raise NotImplementedError

    def catches_all(self, decl: SNode | None) -> bool:
        """Whether a catch clause declaring ``decl`` (None: no declaration) catches anything."""
        raise NotImplementedError

    def add_params(self, n: SNode, params: dict[int, str]) -> None:
        """Fill ``params`` (PARAM node id -> name) for method ``n``."""
        raise NotImplementedError

    def method_body(self, n: SNode) -> SNode | None:
        return n.child("body")

    def callee(self, n: SNode) -> str | None:
        """The simple name a CALL node calls, if it can name one."""
        raise NotImplementedError

    def top_level(self, root: SNode, res: FrontEndResult) -> None:
        """Add a MethodIR for statements at the top level, where the language has them."""

    # -- variables read and written by an expression --------------------------------------------
    def access_name(self, n: SNode) -> str | None:
        """``a.b.c`` / ``this.x`` for a member access chain over names, else None."""
        parts = []
        cur: SNode | None = n
        access, member, obj = self.ACCESS, self.ACCESS_MEMBER, self.ACCESS_OBJECT
        while cur is not None and cur.type == access:
            parts.append(self.src(cur.child(member)))
            cur = cur.child(obj)
        if cur is None or cur.type not in self.RECEIVERS:
            return None
        parts.append(self.src(cur))
        return ".".join(reversed(parts))

    def target(
        self, n: SNode | None, defs: list[str], uses: list[str], compound: bool, stack: list[SNode]
    ) -> None:
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
        elif t == self.ACCESS:
            name = self.access_name(n)
            if name is None:
                stack.append(n)
                return
            defs.append(name)
            if compound:
                uses.append(name)
            obj = n.child(self.ACCESS_OBJECT)
            # An anonymous receiver (C#'s `this` keyword) holds no variable; skip it.
            if obj is not None and obj.named:
                stack.append(obj)
        elif t == self.ELEMENT:
            # An element store is a weak update of the collection: it reads and (re)defines it.
            arr = n.child(self.ELEMENT_OBJECT)
            base = None
            if arr is not None:
                base = (
                    self.src(arr)
                    if arr.type == "identifier"
                    else (self.access_name(arr) if arr.type == self.ACCESS else None)
                )
            if base is not None:
                defs.append(base)
            stack.append(n)
        else:
            self.other_target(n, defs, uses, compound, stack)

    def defuse(self, root: SNode | None, defs: list[str], uses: list[str]) -> None:
        """Append the variables ``root`` defines to ``defs`` and those it reads to ``uses``."""
        if root is None:
            return
        opaque, type_fields = self.OPAQUE, self.TYPE_FIELDS
        stack = [root]
        while stack:
            n = stack.pop()
            t = n.type
            if t == "identifier":
                if self.reads(n):
                    uses.append(self.src(n))
                continue
            if t in opaque or not (n.named or n.is_error) or n.field in type_fields:
                continue
            if t == "assignment_expression":
                op = n.child("operator")
                right = n.child("right")
                if right is not None:
                    stack.append(right)
                if n.parent is not None and n.parent.type in self.MEMBER_INITS:
                    continue  # `new T { P = v }`: P is a member of the new object
                self.target(
                    n.child("left"), defs, uses, op is not None and self.compound(op), stack
                )
            elif t in self.UPDATES:
                operand = n.named_children
                if operand and has_token(n, "++", "--"):
                    self.target(operand[0], defs, uses, True, stack)
                else:
                    stack.extend(reversed(operand))
            elif t == self.ACCESS:
                name = self.access_name(n)
                if name is not None:
                    uses.append(name)
                obj = n.child(self.ACCESS_OBJECT)
                if obj is not None:
                    stack.append(obj)
            elif not self.visit(n, t, defs, uses, stack):
                stack.extend(reversed(n.children))

    def expr_stmt(self, n: SNode, cls: type = ir.Simple) -> ir.Stmt:
        defs: list[str] = []
        uses: list[str] = []
        self.defuse(n, defs, uses)
        return cls(node=n.cid, defs=dedupe(defs), uses=dedupe(uses))

    def header(self, n: SNode | None) -> dict[str, list[str]]:
        """defs/uses keyword arguments for a compound statement's header expression."""
        defs: list[str] = []
        uses: list[str] = []
        self.defuse(n, defs, uses)
        return {"defs": dedupe(defs), "uses": dedupe(uses)}

    # -- statements -----------------------------------------------------------------------------
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
        blocks, skip = self.BLOCKS, self.BLOCK_SKIP
        stack = [n]
        while stack:
            c = stack.pop()
            t = c.type
            if t in blocks:
                stack.extend(
                    reversed(
                        [x for x in c.children if (x.named or x.is_error) and x.type not in skip]
                    )
                )
            elif t == "labeled_statement":
                self.labeled(c, out, stack)
            else:
                self.stmt(c, out)

    def labeled(self, n: SNode, out: list[ir.Stmt], stack: list[SNode]) -> None:
        """A labelled statement: by default the label (a goto target) is dropped and the
        statement kept, pushed on ``stack`` for ``stmts``."""
        stack.extend(
            reversed(
                [
                    x
                    for x in n.children
                    if (x.named or x.is_error)
                    and x.type not in self.BLOCK_SKIP
                    and x.type != "identifier"
                ]
            )
        )

    def stmt(self, n: SNode, out: list[ir.Stmt]) -> None:
        """Append the IR of the one statement ``n``; nested statement lists are queued."""
        t = n.type
        if t in self.BLOCKS or t == "labeled_statement":
            self.stmts(n, out)
        elif t == "expression_statement":
            inner = [c for c in n.named_children if c.type not in self.COMMENTS]
            if len(inner) == 1 and inner[0].type == self.SWITCH:
                self.stmt(inner[0], out)  # Java's switch is an expression, also as a statement
                return
            node = inner[0] if len(inner) == 1 and inner[0].cid >= 0 else n
            st = self.expr_stmt(n)
            st.node = node.cid
            out.append(st)
        elif t == "if_statement":
            out.append(self.if_chain(n))
        elif t in ("while_statement", "do_statement"):
            cond = n.child("condition")
            out.append(
                ir.Loop(
                    node=n.cid,
                    **self.header(cond),
                    kind="while" if t[0] == "w" else "do",
                    body=self.body(n.child("body")),
                    infinite=self.always_true(cond),
                )
            )
        elif t == "for_statement":
            init = [self.expr_stmt(c) for c in n.children_of(self.FOR_INIT)]
            update = [self.expr_stmt(c) for c in n.children_of("update")]
            cond = n.child("condition")
            out.append(
                ir.Loop(
                    node=n.cid,
                    **self.header(cond),
                    kind="for",
                    body=self.body(n.child("body")),
                    init=init,
                    update=update,
                    infinite=cond is None or self.always_true(cond),
                )
            )
        elif t == self.FOREACH:
            head = self.header(n.child(self.FOREACH_ITER))
            head["defs"] = dedupe(self.loop_vars(n) + head["defs"])
            out.append(ir.Loop(node=n.cid, **head, kind="foreach", body=self.body(n.child("body"))))
        elif t == self.SWITCH:
            out.append(self.switch(n))
        elif t == "try_statement":
            out.append(self.try_(n, self.body(n.child("body"))))
        elif t == "return_statement":
            out.append(self.expr_stmt(n, ir.Return))
        elif t == "throw_statement":
            out.append(self.expr_stmt(n, ir.Raise))
        elif t in ("break_statement", "continue_statement"):
            label = (
                next((c for c in n.children if c.type == "identifier"), None)
                if self.LABELLED_JUMPS
                else None
            )
            cls = ir.Break if t[0] == "b" else ir.Continue
            out.append(cls(node=n.cid, label=self.src(label) if label is not None else None))
        elif t in self.DECL_STMTS:
            out.append(ir.Simple(node=n.cid))
        elif not self.special_stmt(n, t, out) and n.cid >= 0:
            # local declarations, assert, ERROR, ...: one statement reading and writing names
            out.append(self.expr_stmt(n))

    def always_true(self, cond: SNode | None) -> bool:
        while cond is not None and cond.type == "parenthesized_expression":
            inner = cond.named_children
            cond = inner[0] if len(inner) == 1 else None
        return cond is not None and self.is_true(cond)

    def if_chain(self, n: SNode) -> ir.If:
        # else-if chains are walked in a loop: generated code can chain hundreds of them.
        top = cur = ir.If(
            node=n.cid, **self.header(n.child("condition")), then=self.body(n.child("consequence"))
        )
        alt = n.child("alternative")
        while alt is not None:
            if alt.type == "if_statement":
                nxt = ir.If(
                    node=alt.cid,
                    **self.header(alt.child("condition")),
                    then=self.body(alt.child("consequence")),
                )
                cur.orelse = [nxt]
                cur = nxt
                alt = alt.child("alternative")
            else:
                cur.orelse = self.body(alt)
                alt = None
        return top

    def try_(self, n: SNode, body: list[ir.Stmt]) -> ir.Try:
        """The try statement ``n`` with its (already queued) ``body``, handlers and finally."""
        tr = ir.Try(node=n.cid, body=body)
        for c in n.children:
            if c.type == "catch_clause":
                decl = next((p for p in c.children if p.type == self.CATCH_DECL), None)
                guard = next((p for p in c.children if p.type == self.CATCH_GUARD), None)
                defs: list[str] = []
                uses: list[str] = []
                if decl is not None:
                    name = decl.child("name")
                    if name is not None:
                        defs.append(self.src(name))
                if guard is not None:
                    self.defuse(guard, [], uses)
                tr.handlers.append(
                    ir.Handler(
                        node=c.cid,
                        body=self.body(c.child("body")),
                        defs=defs,
                        uses=dedupe(uses),
                        catch_all=guard is None and self.catches_all(decl),
                    )
                )
            elif c.type == "finally_clause":
                blk = next((b for b in c.children if b.type == "block"), None)
                tr.finalbody = self.body(blk)
        return tr

    # -- methods and calls ----------------------------------------------------------------------
    def method(self, n: SNode) -> ir.MethodIR | None:
        m = ir.MethodIR(method=n.cid)
        self.add_params(n, m.params)
        body = self.method_body(n)
        if n.type in self.ANON_METHODS:
            if body is None or body.type != "block":
                return None  # expression-bodied lambdas stay plain expressions
        if body is not None and body.type == self.EXPR_BODY:
            expr = next((c for c in body.named_children if c.type not in self.COMMENTS), None)
            if expr is not None and expr.cid >= 0:
                m.body = [self.expr_stmt(expr, ir.Return)]
            return m
        m.body = self.body(body)
        self.drain()
        return m

    def enclosing_ctor(self, n: SNode) -> str | None:
        p = n.parent
        while p is not None and p.type != "constructor_declaration":
            p = p.parent
        return self.src(p.child("name")) if p is not None else None

    def finish(self, root: SNode) -> FrontEndResult:
        """Method IR, names and call sites of the nodes ``kind_of`` noted (cids now set), and
        the top-level statements' IR."""
        res = self.result
        for n in self.seen:
            if n.cid < 0:
                continue
            t = n.type
            if t in self.METHODS:
                m = self.method(n)
                if m is not None:
                    res.methods.append(m)
                if t not in self.ANON_METHODS:
                    res.method_names[n.cid] = self.name_of(n) or ""
            else:
                name = self.callee(n)
                if name:
                    res.calls.append((n.cid, name))
        self.top_level(root, res)
        return res


def build(
    builder: type[CFamilyBuilder], source: bytes, cpg: CPG, config: CPGConfig
) -> FrontEndResult:
    """Add the AST of ``source`` to ``cpg`` with ``builder``'s language; return its methods' IR,
    call sites and names."""
    root, offset = builder.parse_source(source, config)
    text = PREFIX + source + SUFFIX if offset else source
    b = builder(text)
    end = offset + len(source)
    drop = builder.DROP

    def keep(n: SNode) -> bool:
        if n.type in drop:
            return False
        # The wrapper's class, name and body start in the prefix; its closing brace is unnamed.
        return (
            n.is_error
            or n.is_missing
            or offset <= n.start_byte <= end
            and (n.start_byte < end or n.end_byte == end)
        )

    def keep_unwrapped(n: SNode) -> bool:
        return n.type not in drop

    add_ast(
        cpg, root, source, b.kind_of, config, offset, keep if offset else keep_unwrapped, b.name_of
    )
    result = b.finish(root)
    release_tree(root)  # free the syntax tree now rather than at the next cyclic collection
    return result
