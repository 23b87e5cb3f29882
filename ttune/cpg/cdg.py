"""Control dependence from the CFG of one method (Ferrante, Ottenstein & Warren).

1. Post-dominators: the Cooper-Harvey-Kennedy iterative algorithm ("A Simple, Fast Dominance
   Algorithm") on the reverse CFG rooted at METHOD_EXIT, with the usual augmenting edge
   METHOD_ENTRY -> METHOD_EXIT. Nodes that cannot reach the exit (an infinite loop, a dead end
   in broken code) would have no post-dominator; for each such region the first node met from
   the entry (the loop header, for an infinite loop) gets an extra edge to the exit, so the loop
   body ends up control dependent on its header.
2. For each CFG edge a -> b where b does not post-dominate a, every node on the post-dominator
   tree path from b up to, but excluding, ipdom(a) is control dependent on a.
3. Statements that depend on nothing (dead code) depend on METHOD_ENTRY.

Everything is iterative; nothing here looks at syntax.
"""

from __future__ import annotations

from .cfg import Flow


def _reach_backwards(start: int, pred: dict[int, list[int]], reach: set[int]) -> None:
    """Add ``start`` and every node with a path to it (not yet in ``reach``) to ``reach``."""
    reach.add(start)
    stack = [start]
    while stack:
        for p in pred[stack.pop()]:
            if p not in reach:
                reach.add(p)
                stack.append(p)


def build_cdg(flow: Flow) -> list[tuple[int, int]]:
    """Control-dependence edges (controller, dependent) of ``flow``, deduplicated, in a
    deterministic order."""
    entry, exit = flow.entry, flow.exit
    nodes = [entry, *flow.nodes]
    if exit not in flow.defs:
        nodes.append(exit)
    succ: dict[int, list[int]] = {n: [] for n in nodes}
    pred: dict[int, list[int]] = {n: [] for n in nodes}
    edge_list: list[tuple[int, int]] = []
    seen: set[tuple[int, int]] = set()

    def add_edge(a: int, b: int) -> None:
        if (a, b) in seen:
            return
        seen.add((a, b))
        edge_list.append((a, b))
        succ[a].append(b)
        pred[b].append(a)

    for a, b, _label in flow.edges:
        if a in succ and b in succ:
            add_edge(a, b)
    add_edge(entry, exit)

    # Which nodes reach the exit (backwards search from it)?
    reach: set[int] = set()
    _reach_backwards(exit, pred, reach)
    if len(reach) < len(nodes):
        for u in _forward_order(entry, nodes, succ):
            if u in reach:
                continue
            add_edge(u, exit)  # connect the region (its first node from the entry) to the exit
            _reach_backwards(u, pred, reach)

    ipdom = _post_dominators(exit, nodes, succ, pred)

    result: list[tuple[int, int]] = []
    found: set[tuple[int, int]] = set()
    dependent: set[int] = set()
    for a, b in edge_list:
        stop = ipdom.get(a)
        if stop is None or stop == b or b == exit:
            continue
        r = b
        while r != stop and r != exit:
            if (a, r) not in found:
                found.add((a, r))
                result.append((a, r))
                dependent.add(r)
            nxt = ipdom.get(r)
            if nxt is None or nxt == r:
                break
            r = nxt
    for n in flow.nodes:
        if n not in dependent and n != exit and n != entry:
            result.append((entry, n))
    return result


def _forward_order(entry: int, nodes: list[int], succ: dict[int, list[int]]) -> list[int]:
    """Depth-first pre-order from the entry, then any node not reachable from it."""
    order: list[int] = []
    visited = {entry}
    stack = [entry]
    while stack:
        n = stack.pop()
        order.append(n)
        for s in reversed(succ[n]):
            if s not in visited:
                visited.add(s)
                stack.append(s)
    order.extend(n for n in nodes if n not in visited)
    return order


def _post_dominators(
    exit: int, nodes: list[int], succ: dict[int, list[int]], pred: dict[int, list[int]]
) -> dict[int, int]:
    """Immediate post-dominator of every node (exit maps to itself): Cooper-Harvey-Kennedy on
    the reverse graph. Iterative post-order, no recursion."""
    # Post-order of the reverse graph (edges b -> a for each CFG edge a -> b) from the exit.
    po: dict[int, int] = {}
    order: list[int] = []
    visited = {exit}
    stack: list[tuple[int, int]] = [(exit, 0)]
    while stack:
        n, i = stack[-1]
        ps = pred[n]
        if i < len(ps):
            stack[-1] = (n, i + 1)
            p = ps[i]
            if p not in visited:
                visited.add(p)
                stack.append((p, 0))
        else:
            stack.pop()
            po[n] = len(order)
            order.append(n)
    ipdom: dict[int, int] = {exit: exit}
    rpo = order[::-1]
    changed = True
    while changed:
        changed = False
        for b in rpo:
            if b == exit:
                continue
            new = -1
            for s in succ[b]:  # predecessors in the reverse graph
                if s not in ipdom:
                    continue
                if new == -1:
                    new = s
                    continue
                f1, f2 = s, new
                while f1 != f2:
                    while po[f1] < po[f2]:
                        f1 = ipdom[f1]
                    while po[f2] < po[f1]:
                        f2 = ipdom[f2]
                new = f1
            if new != -1 and ipdom.get(b) != new:
                ipdom[b] = new
                changed = True
    return ipdom
