"""Candidate assertions for a Java test: what a model chooses among when it reranks
(``Task.rerank``).

A small model that generates an assertion freely writes the most likely line of its training data
whatever the test (the built-in one: ``org . junit . Assert . assertEquals ( expected , actual )``
for 299 of 300 ATLAS tests). Most assertions, though, check a value the test has just computed,
in one of a few forms: ``assertEquals(<literal or variable>, <variable>)``, ``assertTrue(v)``,
``assertFalse(v)``, ``assertNotNull(v)``, ``assertNull(v)`` (the four unary forms and
``assertEquals`` are 80 % of ATLAS's training assertions). :func:`assert_candidates` lists those
forms over the local variables the test declares before the placeholder and the literals it uses
(plus ``0``, ``1``, ``true``, ``false``, ``null``), written in ATLAS's token layout (tokens
separated by one space, ``org . junit . Assert .`` in front), which is the layout the assert
models are trained on. The model's log-likelihood picks one (docs/decoding.md, "Choosing among
candidate assertions"); a test with no local variable has no candidates and is generated as before.

The reference assertion is among the candidates for about a quarter of ATLAS tests (25.9 % of the
first 3,000 cleaned training records, 24.5 % of the first 200 dev records), which bounds what
reranking can reach.
"""

from __future__ import annotations

from ttune.cpg.base import iter_nodes
from ttune.cpg.languages import get_language
from ttune.data.build import PLACEHOLDER
from ttune.data.decode import split_test_and_focal
from ttune.data.syntax import parse_wrapped

__all__ = ["assert_candidates"]

PREFIX = "org . junit . Assert . "
"""How ATLAS writes the assertion's class."""

UNARY = ("assertNotNull", "assertNull", "assertTrue", "assertFalse")

DEFAULT_LITERALS = ("0", "1", "true", "false", "null")

LITERALS = frozenset(
    {
        "decimal_integer_literal",
        "hex_integer_literal",
        "decimal_floating_point_literal",
        "string_literal",
        "character_literal",
        "true",
        "false",
        "null_literal",
    }
)

MOST_VARIABLES = 12
"""Variables used (the last declared ones): candidates grow with the square of this."""

MOST_LITERALS = 12
"""Literals used (the last ones before the placeholder, then the defaults)."""


def assert_candidates(source: str, lang: str) -> list[str]:
    """The candidate assertions of a test (``source``: the test method, with the placeholder,
    then the focal method, as ATLAS records and ``ttune assert`` hold them), distinct, in a fixed
    order; [] for a language other than Java or a test that declares no local variable before its
    placeholder."""
    if get_language(lang).name != "java":
        return []
    test, _focal = split_test_and_focal(source, lang)
    root, data, start, end = parse_wrapped(test, lang)
    cut = data.find(PLACEHOLDER.encode(), start, end)
    end = cut if cut >= 0 else end
    names: list[str] = []
    literals: list[str] = []
    for n in iter_nodes(root):  # in source order
        if n.start_byte < start or n.end_byte > end:
            continue
        if n.type == "variable_declarator" and n.parent is not None:
            name = n.child("name")
            if name is not None and n.parent.type in ("local_variable_declaration", "resource"):
                found, seen = data[name.start_byte : name.end_byte].decode(), names
            else:
                continue
        elif n.type in LITERALS:  # as written: a string literal keeps its inner spaces
            found, seen = data[n.start_byte : n.end_byte].decode().strip(), literals
        else:
            continue
        if found in seen:  # the last occurrence counts
            seen.remove(found)
        seen.append(found)
    if not names:
        return []
    variables = names[-MOST_VARIABLES:][::-1]  # the last declared first
    values = literals[-MOST_LITERALS:][::-1] + [d for d in DEFAULT_LITERALS if d not in literals]
    out: list[str] = []
    for v in variables:
        out += [f"{PREFIX}{k} ( {v} )" for k in UNARY]
    for v in variables:
        out += [f"{PREFIX}assertEquals ( {x} , {v} )" for x in values]
        out += [f"{PREFIX}assertEquals ( {w} , {v} )" for w in variables if w != v]
    return list(dict.fromkeys(out))
