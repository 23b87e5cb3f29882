"""Fixtures of the transducer tests: a small BPE, a hand-built CPG and real extracted ones."""

from __future__ import annotations

import pytest

SRC = "def f(x):\n    return x + 1\n"


@pytest.fixture(scope="session")
def tok():
    from ttune.backbone import build_tokenizer

    return build_tokenizer(
        [SRC, "def g(a, b):\n    return a * b\n", "x = [i for i in range(3)]\n"] * 4, vocab_size=400
    )


def hand_cpg(src: str = SRC, ddg: bool = True):
    """FILE -> METHOD -> (PARAM x, RETURN -> x) with a CFG edge and (optionally) a DDG edge."""
    from ttune.cpg.graph import CPG

    c = CPG("python")
    root = c.add_node("FILE", "", 0, len(src), 1)
    meth = c.add_node("METHOD", "def f(x)", 0, len(src) - 1, 1)
    par = c.add_node("PARAM", "x", 6, 7, 1)
    ret = c.add_node("RETURN", "return x + 1", 14, 26, 2)
    use = c.add_node("IDENTIFIER", "x", 21, 22, 2)
    for a, b in [(root, meth), (meth, par), (meth, ret), (ret, use)]:
        c.add_edge(a, b, "AST")
    c.add_edge(par, ret, "CFG")
    if ddg:
        c.add_edge(par, use, "DDG", variable="x")
    return c
