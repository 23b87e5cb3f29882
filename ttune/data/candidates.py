"""Candidate assertions for a Java test, and what describes each one: what a model chooses among
when it reranks (``Task.rerank``, :mod:`ttune.tasks.ranker`).

A small model that generates an assertion freely writes the most likely line of its training data
whatever the test (the built-in one: ``org . junit . Assert . assertEquals ( expected , actual )``
for 299 of 300 ATLAS tests). Most assertions, though, check a value the test has just computed or
the focal method's result, in one of a few forms. :func:`assert_candidates` lists

* ``assertNotNull / assertNull / assertTrue / assertFalse (v)`` and ``assertEquals (x , v)`` for
  each local variable ``v`` the test declares before the placeholder (the last 12), ``x`` one of
  the test's literals (the last 12, then ``0``, ``1``, ``true``, ``false``, ``null``) or another
  of those variables;
* the same five forms over a call of the focal method, ``r . focal ( )`` (no parameter: ``r`` one
  of the last 8 receivers of a call in the test, then the test's object-typed locals, or none) or
  ``r . focal ( a )`` (one parameter: the first 4 of those receivers, ``a`` one of the test's
  values): 76 % of the calls in the arguments of the first 3,000 ATLAS training assertions call
  the focal method (``assertEquals ( 0 , elements . size ( ) )``),

written in ATLAS's token layout (tokens separated by one space, ``org . junit . Assert .`` in
front), the layout the assert models are trained on. Each :class:`Candidate` carries named
features: its form crossed with where the checked value comes from (a local, a call) and its kind
(boolean, number, string, array, object: from the local's declared type, or the focal method's name
and return statements), how recently the test wrote it, whether the focal method computed it,
whether the test calls the focal method or keeps its result at all, and for ``assertEquals`` the
expected value's origin, kind and fit to the checked one. :class:`ttune.tasks.ranker.Ranker`
weighs them with the model's log-probability. On the first 6,000 cleaned ATLAS training records
the reference is among the candidates for 45.0 % (dev, first 700: 43.3 %; the locals alone:
25.6 % of the first 3,000), which bounds what reranking can reach; a test with no candidate is
generated as before.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from ttune.cpg.base import iter_nodes
from ttune.cpg.languages import get_language
from ttune.data.decode import split_test_and_focal
from ttune.data.io import PLACEHOLDER
from ttune.data.syntax import parse_wrapped

__all__ = ["Candidate", "assert_candidates"]

PREFIX = "org . junit . Assert . "
"""How ATLAS writes the assertion's class."""

UNARY = ("assertNotNull", "assertNull", "assertTrue", "assertFalse")

DEFAULT_LITERALS = ("0", "1", "true", "false", "null")

LITERAL_KINDS = {
    "decimal_integer_literal": "number",
    "hex_integer_literal": "number",
    "decimal_floating_point_literal": "number",
    "string_literal": "string",
    "character_literal": "string",
    "true": "boolean",
    "false": "boolean",
    "null_literal": "null",
}

MOST_VARIABLES = 12
"""Variables used (the last declared ones): candidates grow with the square of this."""

MOST_LITERALS = 12
"""Literals used (the last ones before the placeholder, then the defaults)."""

MOST_RECEIVERS = 8
"""Receivers of a call of a focal method without parameters (the last ones in the test)."""

MOST_ARGUMENTS = (4, 12)
"""(receivers, arguments) combined for a call of a focal method with one parameter."""

_NUMBER = {"int", "long", "short", "byte", "double", "float", "char"}
_BOXED = {"Integer", "Long", "Short", "Byte", "Double", "Float", "Character"}
_BOOLEAN_NAME = re.compile(
    r"^(is|has|can|should|contains|equals|exists|matches|starts|ends)[A-Z_]?"
)
_NUMBER_NAME = re.compile(r"^(size|count|length|hashCode|indexOf|get\w*(Count|Size|Length))$")
_RETURN = re.compile(r"\breturn\s+([^;]*);")
_COMPARISON = re.compile(r"==|!=|<=|>=|&&|\|\||^!|\binstanceof\b")  # not < >: generics
_FOCAL_HEAD = re.compile(r"(\w+)\s*\((.*)\)", re.S)


@dataclass(frozen=True)
class Candidate:
    """One assertion a test admits: its ``text`` (ATLAS layout) and ``features`` (name -> value,
    read by :class:`ttune.tasks.ranker.Ranker`)."""

    text: str
    features: dict[str, float] = field(default_factory=dict, compare=False)


@dataclass
class _Value:
    """A value an assertion can check or compare with: a local, a literal or a focal call."""

    text: str
    source: str  # "local", "literal", "default" or "call"
    kind: str  # "boolean", "number", "string", "array", "null" or "object"
    recency: int  # 0: the last written
    facts: dict[str, float] = field(default_factory=dict)


def _type_kind(type_text: str) -> str:
    t = type_text.replace(" ", "")
    last = t.rsplit(".", 1)[-1]
    if t.endswith("]") or t.endswith("..."):
        return "array"
    if last in ("boolean", "Boolean"):
        return "boolean"
    if last in _NUMBER or last in _BOXED or last in ("BigInteger", "BigDecimal"):
        return "number"
    if last == "String":
        return "string"
    return "object"


def _result_kind(name: str, focal: str) -> str:
    """What the focal method returns, read from its name (``isEmpty``, ``size``) or else from its
    return statements (``return true``, ``return a == b``, ``return "x"``, ``return 0``)."""
    if _BOOLEAN_NAME.match(name):
        return "boolean"
    if _NUMBER_NAME.match(name):
        return "number"
    returns = _RETURN.findall(focal)
    if returns and all(r in ("true", "false") or _COMPARISON.search(r) for r in returns):
        return "boolean"
    if returns and all(r.startswith('"') for r in returns):
        return "string"
    if returns and all(r[:1].isdigit() or r[:1] == "-" for r in returns):
        return "number"
    return "object"


def _focal_head(focal: str) -> tuple[str, int] | None:
    """(name, number of parameters) of the focal method, as ATLAS writes it (``name ( types ) {``)
    or as source (``public int name(int a) {``), or None."""
    head = re.sub(r"@\w+(\s*\([^)]*\))?", "", focal.split("{", 1)[0])
    m = _FOCAL_HEAD.search(head)
    if m is None:
        return None
    inner, depth, params = m.group(2).strip(), 0, 1
    if not inner:
        return m.group(1), 0
    for c in inner:
        depth += 1 if c in "<([" else -1 if c in ">)]" else 0
        params += c == "," and depth == 0
    return m.group(1), params


def _values(test: str, focal: str) -> tuple[list[_Value], list[_Value], list[_Value]]:
    """(locals, comparison values, focal calls) of a test, the last written first."""
    root, data, start, end = parse_wrapped(test, "java")
    cut = data.find(PLACEHOLDER.encode(), start, end)
    end = cut if cut >= 0 else end
    text = lambda n: data[n.start_byte : n.end_byte].decode()  # noqa: E731
    head = _focal_head(focal)
    focal_name = head[0] if head else None
    names: dict[str, _Value] = {}
    literals: dict[str, _Value] = {}
    receivers: list[str] = []
    uses: dict[str, int] = {}
    order, focal_called = 0, False
    for n in iter_nodes(root):  # in source order
        if n.start_byte < start or n.end_byte > end:
            continue
        order += 1
        if n.type == "variable_declarator" and n.parent is not None:
            name = n.child("name")
            if name is None or n.parent.type not in ("local_variable_declaration", "resource"):
                continue
            typ = n.parent.child("type")
            value = n.child("value")
            init = text(value) if value is not None else ""
            v = _Value(
                text(name),
                "local",
                _type_kind(text(typ)) if typ is not None else "object",
                order,
                {
                    "from_focal": float(
                        bool(focal_name) and re.search(rf"\b{focal_name}\s*\(", init) is not None
                    ),
                    "from_literal": float(value is not None and value.type in LITERAL_KINDS),
                    "from_new": float(
                        value is not None and value.type == "object_creation_expression"
                    ),
                    "named_expected": float("expect" in text(name).lower()),
                    "named_result": float(
                        any(w in text(name).lower() for w in ("result", "actual", "ret"))
                    ),
                },
            )
            names.pop(v.text, None)
            names[v.text] = v
        elif n.type in LITERAL_KINDS:  # as written: a string literal keeps its inner spaces
            lit = text(n).strip()
            literals.pop(lit, None)
            in_call = n.parent is not None and n.parent.type == "argument_list"
            literals[lit] = _Value(
                lit, "literal", LITERAL_KINDS[n.type], order, {"argument": float(in_call)}
            )
        elif n.type == "method_invocation":
            called = n.child("name")
            focal_called = focal_called or (called is not None and text(called) == focal_name)
            obj = n.child("object")
            if obj is not None and obj.type == "identifier" and text(obj) != "this":
                if text(obj) in receivers:
                    receivers.remove(text(obj))
                receivers.append(text(obj))
        elif n.type == "identifier":
            uses[text(n)] = uses.get(text(n), 0) + 1
    local = sorted(names.values(), key=lambda v: -v.recency)[:MOST_VARIABLES]
    for i, v in enumerate(local):
        v.recency = i
        v.facts["uses"] = math.log1p(max(uses.get(v.text, 1) - 1, 0))
    lits = sorted(literals.values(), key=lambda v: -v.recency)[:MOST_LITERALS]
    for i, v in enumerate(lits):
        v.recency = i
    for d in DEFAULT_LITERALS:
        if d not in literals:
            kind = "number" if d[0].isdigit() else ("null" if d == "null" else "boolean")
            lits.append(_Value(d, "default", kind, MOST_LITERALS))
    calls: list[_Value] = []
    if head is not None:
        name, params = head
        kind = _result_kind(name, focal)
        recv = receivers[::-1]
        recv += [v.text for v in local if v.kind == "object" and v.text not in recv]
        if params == 0:
            calls = [
                _Value(f"{r} . {name} ( )", "call", kind, i)
                for i, r in enumerate(recv[:MOST_RECEIVERS])
            ]
            calls.append(_Value(f"{name} ( )", "call", kind, MOST_RECEIVERS))
        elif params == 1:
            most_r, most_a = MOST_ARGUMENTS
            args = (local + lits)[:most_a]
            calls = [
                _Value(
                    f"{r} . {name} ( {a.text} )",
                    "call",
                    kind,
                    i,
                    {"argument_local": float(a.source == "local")},
                )
                for i, r in enumerate(recv[:most_r])
                for a in args
            ]
        for c in calls:
            receiver = names.get(c.text.split(" ", 1)[0])
            c.facts["receiver_local"] = float(receiver is not None)
            c.facts["receiver_from_new"] = receiver.facts["from_new"] if receiver else 0.0
    # What the test as a whole says (does it call the focal method, keep its result in a local?),
    # per kind of value checked: a test that kept the result checks that local, one that did not
    # checks a call.
    context = {
        "focal_called": float(focal_called),
        "focal_kept": float(any(v.facts["from_focal"] for v in local)),
    }
    for v in local + calls:
        v.facts.update({f"{v.source}_when_{k}": x for k, x in context.items()})
    return local, lits + local, calls


def _features(form: str, actual: _Value, expected: _Value | None) -> dict[str, float]:
    f: dict[str, float] = {
        f"{form}": 1.0,
        f"{form}:{actual.source}": 1.0,
        f"{form}:{actual.source}:{actual.kind}": 1.0,
        "actual_recent": 1.0 / (1 + actual.recency),
        "actual_last": float(actual.recency == 0),
        f"{actual.source}_recent": 1.0 / (1 + actual.recency),
    }
    for k, v in actual.facts.items():
        f[f"actual_{k}"] = v
        f[f"{form}:actual_{k}"] = v
    if expected is not None:
        match = expected.kind == actual.kind or (
            expected.kind == "null" and actual.kind != "number"
        )
        f.update(
            {
                f"expected:{expected.source}": 1.0,
                f"expected:{expected.source}:{expected.kind}": 1.0,
                f"expected:{expected.kind}:{actual.kind}": 1.0,
                "expected_match": float(match),
                "expected_recent": 1.0 / (1 + expected.recency),
            }
        )
        for k, v in expected.facts.items():
            f[f"expected_{k}"] = v
    return f


def assert_candidates(source: str, lang: str) -> list[Candidate]:
    """The candidate assertions of a test (``source``: the test method, with the placeholder,
    then the focal method, as ATLAS records and ``ttune assert`` hold them), distinct, in a fixed
    order, with their features; [] for a language other than Java or a test that has neither a
    local variable before its placeholder nor a focal method to call."""
    if get_language(lang).name != "java":
        return []
    test, focal = split_test_and_focal(source, lang)
    local, values, calls = _values(test, focal)
    out: dict[str, Candidate] = {}

    def add(form: str, actual: _Value, expected: _Value | None = None) -> None:
        args = actual.text if expected is None else f"{expected.text} , {actual.text}"
        text = f"{PREFIX}{form} ( {args} )"
        if text not in out:
            out[text] = Candidate(text, _features(form, actual, expected))

    for v in local + calls:
        for form in UNARY:
            add(form, v)
    for v in local:
        for x in values:
            if x.text != v.text:
                add("assertEquals", v, x)
    for c in calls:
        for x in values:
            add("assertEquals", c, x)
    return list(out.values())
