"""Statement-level control-flow graph of one method, built from the statement IR (ir.py).

Language-independent: this module reads only ``ir.*`` objects and CPG node ids.

Construction runs backwards over each statement list: a statement is built knowing the node
control goes to after it (its *successor*), and returns the node where it starts. Nested
statement lists are built by generators driven from an explicit stack (``_drive``), so the
nesting depth of the code is bounded by memory, never by Python's recursion limit.

Jumps (return, raise, break, continue) walk the chain of enclosing contexts (loops, switches,
try bodies, try-with-finally). A ``finally`` block exists once in the graph: every route that
passes through it (normal completion, return, raise, break, continue) enters at its first
statement, and its last statements get an edge to the continuation of every such route. Edges to
a ``finally`` that is not built yet point at a negative placeholder id and are resolved when the
enclosing try statement is finished.

Edge labels: ``"true"``/``"false"`` leave a condition (if, loop header, case test),
``"exception"`` goes to a handler, a finally block or the exit because something was raised.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable

from . import ir

_LOOP, _SWITCH, _TRY, _FINALLY = 0, 1, 2, 3

EdgeKey = tuple[int, int, "str | None"]


class _Ctx:
    """One enclosing construct; ``parent`` links to the next one out (None: the method body)."""

    __slots__ = (
        "kind",
        "parent",
        "in_try",
        "label",
        "brk",
        "cont",
        "handlers",
        "catch_all",
        "fin_entry",
        "targets",
        "exc",
    )

    def __init__(
        self,
        kind: int,
        parent: _Ctx | None,
        label: str | None = None,
        brk: int = 0,
        cont: int = 0,
        handlers: Iterable[int] = (),
        catch_all: bool = False,
        fin_entry: int = 0,
    ) -> None:
        self.kind = kind
        self.parent = parent
        self.in_try = kind == _TRY or (parent is not None and parent.in_try)
        self.label = label
        self.brk = brk
        self.cont = cont
        self.handlers = tuple(handlers)
        self.catch_all = catch_all
        self.fin_entry = fin_entry
        self.targets: set[int] = set()  # _FINALLY: where the end of the finally block goes
        self.exc: tuple[int, ...] | None = None  # cached raise targets from inside this context


class Flow:
    """The CFG of one method plus what the CDG and DDG builders need.

    ``edges`` keeps insertion order (dict used as an ordered set) of (source, target, label).
    ``nodes`` lists the statement nodes in the order they were built (entry and exit excluded).
    ``defs``/``uses`` give the variables each statement node defines and reads.
    """

    __slots__ = ("entry", "exit", "edges", "nodes", "defs", "uses", "params")

    def __init__(self, entry: int, exit: int) -> None:
        self.entry = entry
        self.exit = exit
        self.edges: dict[EdgeKey, None] = {}
        self.nodes: list[int] = []
        self.defs: dict[int, list[str]] = {}
        self.uses: dict[int, list[str]] = {}
        self.params: dict[int, str] = {}


class _Builder:
    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.exit = flow.exit
        self.pending: dict[int, list[tuple[int, str | None]]] = {}
        self.next_placeholder = -1

    # -- edges -----------------------------------------------------------------------------
    def add(self, src: int, dst: int, label: str | None = None) -> None:
        if dst < 0:  # a finally block not built yet: resolved by the try statement
            self.pending.setdefault(dst, []).append((src, label))
        else:
            self.flow.edges[(src, dst, label)] = None

    def placeholder(self) -> int:
        p = self.next_placeholder
        self.next_placeholder -= 1
        return p

    def emit(self, node: int, ctx: _Ctx | None, defs: list[str], uses: list[str]) -> None:
        """Register statement ``node``; inside a try body it may raise: exception edges."""
        flow = self.flow
        if node in flow.defs:  # the same syntax node used twice (recovered syntax errors)
            flow.defs[node].extend(defs)
            flow.uses[node].extend(uses)
        else:
            flow.nodes.append(node)
            flow.defs[node] = list(defs)
            flow.uses[node] = list(uses)
        if ctx is not None and ctx.in_try:
            if ctx.exc is None:
                ctx.exc = tuple(self.jump(ctx, "raise", None))
            for t in ctx.exc:
                self.add(node, t, "exception")

    # -- jumps -----------------------------------------------------------------------------
    def jump(self, ctx: _Ctx | None, kind: str, label: str | None) -> set[int]:
        """Targets of a return / raise / break / continue executed in ``ctx``.

        Passing a finally block registers the rest of the route on it (its ``targets``)."""
        if label is not None:  # an unknown label (broken code): behave as an unlabelled jump
            c = ctx
            while c is not None and not (c.kind in (_LOOP, _SWITCH) and c.label == label):
                c = c.parent
            if c is None:
                label = None
        result: set[int] = set()
        sink = result
        c = ctx
        while c is not None:
            k = c.kind
            if k == _FINALLY:
                sink.add(c.fin_entry)
                sink = c.targets
            elif k == _TRY:
                if kind == "raise":
                    sink.update(c.handlers)
                    if c.catch_all:
                        return result
            elif k == _LOOP:
                if kind in ("break", "continue") and (label is None or c.label == label):
                    sink.add(c.brk if kind == "break" else c.cont)
                    return result
            elif k == _SWITCH:
                if kind == "break" and (label is None or c.label == label):
                    sink.add(c.brk)
                    return result
            c = c.parent
        sink.add(self.exit)
        return result

    # -- statements --------------------------------------------------------------------------
    def seq(
        self, stmts: list[ir.Stmt], succ: int, ctx: _Ctx | None
    ) -> Generator[tuple[list[ir.Stmt], int, _Ctx | None], int, int]:
        """Build ``stmts`` (which continue to ``succ``); returns the entry node.

        Yields (statements, successor, context) to have a nested list built; receives its entry.
        """
        add = self.add
        emit = self.emit
        for s in reversed(stmts):
            t = type(s)
            node = s.node
            if t is ir.Simple:
                emit(node, ctx, s.defs, s.uses)
                add(node, succ)
            elif t is ir.If:
                else_entry = (yield (s.orelse, succ, ctx)) if s.orelse else succ
                then_entry = (yield (s.then, succ, ctx)) if s.then else succ
                emit(node, ctx, s.defs, s.uses)
                add(node, then_entry, "true")
                add(node, else_entry, "false")
            elif t is ir.Loop:
                succ = yield from self._loop(s, succ, ctx)
                continue
            elif t is ir.Return:
                emit(node, ctx, s.defs, s.uses)
                for target in self.jump(ctx, "return", None):
                    add(node, target)
            elif t is ir.Raise:
                emit(node, ctx, s.defs, s.uses)
                for target in self.jump(ctx, "raise", None):
                    add(node, target, "exception")
            elif t is ir.Break or t is ir.Continue:
                emit(node, ctx, s.defs, s.uses)
                kind = "break" if t is ir.Break else "continue"
                for target in self.jump(ctx, kind, s.label):
                    add(node, target)
            elif t is ir.Try:
                succ = yield from self._try(s, succ, ctx)
                continue
            elif t is ir.With:
                body_entry = (yield (s.body, succ, ctx)) if s.body else succ
                emit(node, ctx, s.defs, s.uses)
                add(node, body_entry)
            elif t is ir.Switch:
                succ = yield from self._switch(s, succ, ctx)
                continue
            else:  # any other Stmt subclass falls through like a simple statement
                emit(node, ctx, s.defs, s.uses)
                add(node, succ)
            succ = node
        return succ

    # The three helpers below are generators used with ``yield from`` by ``seq`` only: they
    # add one level of delegation, not one per nesting level, so depth stays constant.
    def _loop(self, s: ir.Loop, succ: int, ctx: _Ctx | None):
        head = s.node
        after = (yield (s.orelse, succ, ctx)) if s.orelse else succ  # loop-else: on normal end
        cont = head
        if s.update:
            cont = yield (s.update, head, ctx)
        lctx = _Ctx(_LOOP, ctx, label=s.label, brk=succ, cont=cont)
        body_entry = (yield (s.body, cont, lctx)) if s.body else cont
        self.emit(head, ctx, s.defs, s.uses)
        self.add(head, body_entry, "true")
        if not s.infinite:
            self.add(head, after, "false")
        entry = body_entry if s.kind == "do" else head
        if s.init:
            entry = yield (s.init, entry, ctx)
        return entry

    def _try(self, s: ir.Try, succ: int, ctx: _Ctx | None):
        fctx = ctx
        normal = succ
        fin_end = fin_entry = 0
        if s.finalbody is not None:
            fin_end = self.placeholder()  # the end of the finally block
            fin_entry = (yield (s.finalbody, fin_end, ctx)) if s.finalbody else fin_end
            normal = self.placeholder()  # normal completion entering the finally block
            fctx = _Ctx(_FINALLY, ctx, fin_entry=fin_entry)
        else_entry = (yield (s.orelse, normal, fctx)) if s.orelse else normal
        handler_nodes = []
        catch_all = False
        for h in s.handlers:
            h_entry = (yield (h.body, normal, fctx)) if h.body else normal
            self.emit(h.node, fctx, h.defs, h.uses)
            self.add(h.node, h_entry)
            handler_nodes.append(h.node)
            if h.catch_all:
                catch_all = True
                break  # later handlers are unreachable from the body
        for h in s.handlers[len(handler_nodes) :]:  # still build them (dead code)
            h_entry = (yield (h.body, normal, fctx)) if h.body else normal
            self.emit(h.node, fctx, h.defs, h.uses)
            self.add(h.node, h_entry)
        bctx = _Ctx(_TRY, fctx, handlers=handler_nodes, catch_all=catch_all)
        body_entry = (yield (s.body, else_entry, bctx)) if s.body else else_entry
        if s.finalbody is not None:
            assert fctx is not None
            ins = self.pending.pop(normal, None)
            if ins:
                fctx.targets.add(succ)
                for src, label in ins:
                    self.add(src, fin_entry, label)
            outs = self.pending.pop(fin_end, None)
            if outs:
                # Deterministic edge order: sort targets (placeholders last).
                for target in sorted(fctx.targets, key=lambda x: (x < 0, abs(x))):
                    for src, label in outs:
                        self.add(src, target, label)
        self.emit(s.node, ctx, s.defs, s.uses)
        self.add(s.node, body_entry)
        return s.node

    def _switch(self, s: ir.Switch, succ: int, ctx: _Ctx | None):
        breakable = getattr(s, "breakable", True)
        sctx = _Ctx(_SWITCH, ctx, label=s.label, brk=succ) if breakable else ctx
        n = len(s.cases)
        entries = [succ] * n
        nxt = succ
        for i in range(n - 1, -1, -1):
            c = s.cases[i]
            after = nxt if s.fallthrough else succ
            entries[i] = (yield (c.body, after, sctx)) if c.body else after
            nxt = entries[i]
        default = next((i for i, c in enumerate(s.cases) if c.default), None)
        test = succ
        if default is not None:
            d = s.cases[default]
            self.emit(d.node, ctx, d.defs, d.uses)
            self.add(d.node, entries[default])
            test = d.node
        for i in range(n - 1, -1, -1):
            if i == default:
                continue
            c = s.cases[i]
            self.emit(c.node, ctx, c.defs, c.uses)
            self.add(c.node, entries[i], "true")
            self.add(c.node, test, "false")
            test = c.node
        self.emit(s.node, ctx, s.defs, s.uses)
        self.add(s.node, test)
        return s.node


def _drive(builder: _Builder, stmts: list[ir.Stmt], succ: int) -> int:
    """Run ``builder.seq`` with an explicit stack of generators instead of recursion."""
    stack = [builder.seq(stmts, succ, None)]
    value: int | None = None
    while True:
        gen = stack[-1]
        try:
            request = gen.send(value)
        except StopIteration as stop:
            stack.pop()
            value = stop.value
            if not stack:
                return value  # type: ignore[return-value]
            continue
        stack.append(builder.seq(*request))
        value = None


def build_cfg(method: ir.MethodIR, entry: int, exit: int) -> Flow:
    """The CFG of ``method`` between its METHOD_ENTRY ``entry`` and METHOD_EXIT ``exit`` nodes."""
    flow = Flow(entry, exit)
    flow.params = method.params
    builder = _Builder(flow)
    first = _drive(builder, method.body, exit)
    builder.add(entry, first)
    return flow
