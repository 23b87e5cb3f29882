"""Data dependence (reaching definitions) over the CFG of one method.

Classic iterative data-flow analysis: each definition (a node that defines a variable name) gets
a bit; ``gen``/``kill`` per node; IN(n) = union of OUT(p) over CFG predecessors p, OUT(n) = gen(n)
| (IN(n) & ~kill(n)), iterated with a worklist to a fixed point. Bit sets are Python ints.

A DDG edge goes from each definition node to each node that uses the variable and is reached by
that definition; ``variable`` names it. Parameters are defined at METHOD_ENTRY, and their edges
start at the PARAM node. Attribute variables are plain strings (``self.x``): a use of ``self.x``
is reached by definitions of ``self.x`` only.
"""

from __future__ import annotations

from collections import deque

from .cfg import Flow


def build_ddg(flow: Flow) -> list[tuple[int, int, str]]:
    """(definition node, use node, variable) triples, deduplicated, in a deterministic order."""
    entry, exit = flow.entry, flow.exit
    nodes = [entry, *flow.nodes, exit]
    index = {n: i for i, n in enumerate(nodes)}
    count = len(nodes)
    preds: list[list[int]] = [[] for _ in range(count)]
    succs: list[list[int]] = [[] for _ in range(count)]
    seen: set[tuple[int, int]] = set()
    for a, b, _label in flow.edges:
        ia = index.get(a)
        ib = index.get(b)
        if ia is None or ib is None or (ia, ib) in seen:
            continue
        seen.add((ia, ib))
        preds[ib].append(ia)
        succs[ia].append(ib)

    def_node: list[int] = []  # bit -> CPG node id of the definition
    var_mask: dict[str, int] = {}  # variable -> bits of all its definitions
    gen = [0] * count
    def_vars: list[tuple[str, ...]] = [()] * count

    if flow.params:
        names = []
        for pnode, var in flow.params.items():
            bit = 1 << len(def_node)
            def_node.append(pnode)
            gen[0] |= bit
            var_mask[var] = var_mask.get(var, 0) | bit
            names.append(var)
        def_vars[0] = tuple(dict.fromkeys(names))
    defs = flow.defs
    for i in range(1, count - 1):
        dv = defs.get(nodes[i])
        if not dv:
            continue
        unique = tuple(dict.fromkeys(dv))
        def_vars[i] = unique
        g = 0
        for var in unique:
            bit = 1 << len(def_node)
            def_node.append(nodes[i])
            g |= bit
            var_mask[var] = var_mask.get(var, 0) | bit
        gen[i] = g
    if not def_node:
        return []

    keep = [-1] * count  # ~kill as a mask over all bits
    full = (1 << len(def_node)) - 1
    for i in range(count):
        if def_vars[i]:
            k = 0
            for var in def_vars[i]:
                k |= var_mask[var]
            keep[i] = full & ~k

    # Worklist in depth-first order from the entry so most facts settle in one pass.
    order = _forward_order(succs, count)
    out = [0] * count
    inn = [0] * count
    queued = [True] * count
    work = deque(order)
    while work:
        i = work.popleft()
        queued[i] = False
        x = 0
        for p in preds[i]:
            x |= out[p]
        inn[i] = x
        o = gen[i] | (x & keep[i])
        if o != out[i]:
            out[i] = o
            for s in succs[i]:
                if not queued[s]:
                    queued[s] = True
                    work.append(s)

    result: list[tuple[int, int, str]] = []
    uses = flow.uses
    for i in range(1, count - 1):
        uv = uses.get(nodes[i])
        if not uv or not inn[i]:
            continue
        node = nodes[i]
        reach = inn[i]
        for var in dict.fromkeys(uv):
            m = reach & var_mask.get(var, 0)
            while m:
                low = m & -m
                result.append((def_node[low.bit_length() - 1], node, var))
                m ^= low
    return result


def _forward_order(succs: list[list[int]], count: int) -> list[int]:
    order: list[int] = []
    visited = [False] * count
    visited[0] = True
    stack = [0]
    while stack:
        n = stack.pop()
        order.append(n)
        for s in reversed(succs[n]):
            if not visited[s]:
                visited[s] = True
                stack.append(s)
    order.extend(i for i in range(count) if not visited[i])
    return order
