"""Candidate assertions for a Java or Python test, and what describes each one: what a model
chooses among when it reranks (``Task.rerank``, :mod:`ttune.tasks.ranker`).

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

A Python test (the builders' layout: the test function with the placeholder line, a blank line,
the focal function) gets the same kinds of values (the names it assigns, ``self.x`` included; its
literals, then ``0 1 True False None '' []``; calls of the focal function with none or one
required parameter, on the test's receivers or bare) in the plain ``assert`` forms pytest tests
use (``assert v``, ``assert not v``, ``assert v is None``, ``assert v is not None``,
``assert v == x``, ``assert len(v) == x``, ``assert x in v``) and, for a ``unittest`` test
(:func:`python_test_style`, the records' ``assert_style``), the ``unittest`` ones as well
(``self.assertTrue / assertFalse / assertIsNone / assertIsNotNone (v)``,
``self.assertEqual (v, x)``, ``self.assertIn (x, v)``), written as ``ttune data build assert``
writes references (``self.assertEqual(n, 3)``). Python assertions vary more than JUnit's (calls
and expressions the test never wrote), so the reference is among the candidates far less often
than on ATLAS (docs/decoding.md, "Python tests").
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ttune.cpg.base import iter_nodes
from ttune.cpg.languages import get_language
from ttune.cpg.ts import SNode
from ttune.data.decode import split_test_and_focal
from ttune.data.io import PLACEHOLDER
from ttune.data.syntax import parse_wrapped

__all__ = ["Candidate", "assert_candidates", "python_test_style"]

PREFIX = "org . junit . Assert . "
"""How ATLAS writes the assertion's class."""

UNARY = ("assertNotNull", "assertNull", "assertTrue", "assertFalse")

DEFAULT_LITERALS = (
    ("0", "number"),
    ("1", "number"),
    ("true", "boolean"),
    ("false", "boolean"),
    ("null", "null"),
)

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


@dataclass
class _Seen:
    """What a scan of a test has met before its placeholder, in source order: its locals and
    literals (each at its last writing), the receivers of its calls, how often each name is used
    and whether it calls the focal method."""

    focal_name: str | None
    names: dict[str, _Value] = field(default_factory=dict)
    literals: dict[str, _Value] = field(default_factory=dict)
    receivers: list[str] = field(default_factory=list)
    uses: dict[str, int] = field(default_factory=dict)
    order: int = 0
    focal_called: bool = False

    def from_focal(self, init: str) -> bool:
        """Whether an initialiser calls the focal method."""
        return bool(self.focal_name) and re.search(rf"\b{self.focal_name}\s*\(", init) is not None

    def local(
        self,
        name: str,
        kind: str,
        init: str,
        from_literal: bool,
        from_new: bool,
        result_words: tuple[str, ...],
    ) -> None:
        self.names.pop(name, None)
        self.names[name] = _Value(
            name,
            "local",
            kind,
            self.order,
            {
                "from_focal": float(self.from_focal(init)),
                "from_literal": float(from_literal),
                "from_new": float(from_new),
                "named_expected": float("expect" in name.lower()),
                "named_result": float(any(w in name.lower() for w in result_words)),
            },
        )

    def literal(self, text: str, kind: str, in_call: bool) -> None:
        self.literals.pop(text, None)
        self.literals[text] = _Value(
            text, "literal", kind, self.order, {"argument": float(in_call)}
        )

    def call(self, called: str | None, receiver: str | None) -> None:
        """A call of ``called`` on ``receiver`` (None: none worth checking)."""
        self.focal_called = self.focal_called or (called is not None and called == self.focal_name)
        if receiver is not None:
            if receiver in self.receivers:
                self.receivers.remove(receiver)
            self.receivers.append(receiver)

    def use(self, name: str) -> None:
        self.uses[name] = self.uses.get(name, 0) + 1


def _scan(test: str, lang: str) -> tuple[SNode, int, int, Callable[[SNode], str]]:
    """(tree, start and end byte of the test before its placeholder, a node's text) of a test."""
    root, data, start, end = parse_wrapped(test, lang)
    cut = data.find(PLACEHOLDER.encode(), start, end)
    return root, start, cut if cut >= 0 else end, lambda n: data[n.start_byte : n.end_byte].decode()


def _rank(
    names: dict[str, _Value],
    literals: dict[str, _Value],
    uses: dict[str, int],
    defaults: Sequence[tuple[str, str]],
) -> tuple[list[_Value], list[_Value]]:
    """(locals, literals) to use, the last written first, their recency counted again among
    those kept; the literals end with the ``defaults`` ((text, kind)) the test did not write."""
    local = sorted(names.values(), key=lambda v: -v.recency)[:MOST_VARIABLES]
    for i, v in enumerate(local):
        v.recency = i
        v.facts["uses"] = math.log1p(max(uses.get(v.text, 1) - 1, 0))
    lits = sorted(literals.values(), key=lambda v: -v.recency)[:MOST_LITERALS]
    for i, v in enumerate(lits):
        v.recency = i
    lits += [_Value(d, "default", k, MOST_LITERALS) for d, k in defaults if d not in literals]
    return local, lits


def _in_context(local: list[_Value], calls: list[_Value], focal_called: bool) -> None:
    """What the test as a whole says (does it call the focal method, keep its result in a
    local?), per kind of value checked: a test that kept the result checks that local, one that
    did not checks a call."""
    context = {
        "focal_called": float(focal_called),
        "focal_kept": float(any(v.facts["from_focal"] for v in local)),
    }
    for v in local + calls:
        v.facts.update({f"{v.source}_when_{k}": x for k, x in context.items()})


def _values(test: str, focal: str) -> tuple[list[_Value], list[_Value], list[_Value]]:
    """(locals, comparison values, focal calls) of a test, the last written first."""
    root, start, end, text = _scan(test, "java")
    head = _focal_head(focal)
    seen = _Seen(head[0] if head else None)
    for n in iter_nodes(root):  # in source order
        if n.start_byte < start or n.end_byte > end:
            continue
        seen.order += 1
        if n.type == "variable_declarator" and n.parent is not None:
            name = n.child("name")
            if name is None or n.parent.type not in ("local_variable_declaration", "resource"):
                continue
            typ = n.parent.child("type")
            value = n.child("value")
            seen.local(
                text(name),
                _type_kind(text(typ)) if typ is not None else "object",
                text(value) if value is not None else "",
                from_literal=value is not None and value.type in LITERAL_KINDS,
                from_new=value is not None and value.type == "object_creation_expression",
                result_words=("result", "actual", "ret"),
            )
        elif n.type in LITERAL_KINDS:  # as written: a string literal keeps its inner spaces
            in_call = n.parent is not None and n.parent.type == "argument_list"
            seen.literal(text(n).strip(), LITERAL_KINDS[n.type], in_call)
        elif n.type == "method_invocation":
            called, obj = n.child("name"), n.child("object")
            seen.call(
                text(called) if called is not None else None,
                text(obj)
                if obj is not None and obj.type == "identifier" and text(obj) != "this"
                else None,
            )
        elif n.type == "identifier":
            seen.use(text(n))
    names, receivers = seen.names, seen.receivers
    local, lits = _rank(names, seen.literals, seen.uses, DEFAULT_LITERALS)
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
    _in_context(local, calls, seen.focal_called)
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


def assert_candidates(source: str, lang: str, style: str | None = None) -> list[Candidate]:
    """The candidate assertions of a test (``source``: the test method, with the placeholder,
    then the focal method, as ATLAS records and ``ttune assert`` hold them), distinct, in a fixed
    order, with their features; [] for a language other than Java and Python or a test that has
    neither a local variable before its placeholder nor a focal method to call. ``style``: a
    Python test's framework (:func:`python_test_style`; the records' ``assert_style``); None: a
    test that takes ``self`` is taken for a ``unittest`` one."""
    name = get_language(lang).name
    if name == "python":
        return _python_candidates(source, style)
    if name != "java":
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


# ----------------------------------------------------------------------------------------- Python
PY_UNITTEST_UNARY = ("assertTrue", "assertFalse", "assertIsNone", "assertIsNotNone")
"""``self.assertX (v)`` forms (a ``unittest`` test)."""

PY_PLAIN_UNARY = ("assert {v}", "assert not {v}", "assert {v} is None", "assert {v} is not None")
"""Plain ``assert`` forms over one value (pytest style)."""

PY_DEFAULT_LITERALS = (
    ("0", "number"),
    ("1", "number"),
    ("True", "boolean"),
    ("False", "boolean"),
    ("None", "null"),
    ("''", "string"),
    ("[]", "collection"),
)
"""(text, kind) of the literals every Python test can compare with."""

PY_LITERAL_KINDS = {
    "integer": "number",
    "float": "number",
    "string": "string",
    "concatenated_string": "string",
    "true": "boolean",
    "false": "boolean",
    "none": "null",
}
_PY_VALUE_KINDS = {
    **PY_LITERAL_KINDS,
    "comparison_operator": "boolean",
    "not_operator": "boolean",
    "boolean_operator": "boolean",
    "list": "collection",
    "tuple": "collection",
    "dictionary": "collection",
    "set": "collection",
    "list_comprehension": "collection",
    "dictionary_comprehension": "collection",
    "set_comprehension": "collection",
}
_PY_BOOLEAN_NAME = re.compile(r"^_*(is|has|can|should|contains|exists|matches|startswith|endswith)")
_PY_NUMBER_NAME = re.compile(r"^_*(len|size|count|number|num|index|length)(_|$)")
_PY_DEF = re.compile(r"^\s*(?:async\s+)?def\s+(\w+)\s*\((.*?)\)\s*(?:->[^:]*)?:", re.S | re.M)


def _py_focal_head(focal: str) -> tuple[str, int] | None:
    """(name, required parameters without ``self``/``cls``) of a Python focal function, or None."""
    m = _PY_DEF.search(focal)
    if m is None:
        return None
    params, depth, cur = [], 0, ""
    for c in m.group(2):
        depth += 1 if c in "([{" else -1 if c in ")]}" else 0
        if c == "," and depth == 0:
            params.append(cur.strip())
            cur = ""
        else:
            cur += c
    params.append(cur.strip())
    required = [
        p
        for p in params
        if p and p not in ("self", "cls", "/", "*") and "=" not in p and not p.startswith("*")
    ]
    return m.group(1), len(required)


def _py_result_kind(name: str, focal: str) -> str:
    if _PY_BOOLEAN_NAME.match(name):
        return "boolean"
    if _PY_NUMBER_NAME.match(name):
        return "number"
    returns = re.findall(r"\breturn\s+(.+)$", focal, re.M)
    if returns and all(r.strip() in ("True", "False") or _COMPARISON.search(r) for r in returns):
        return "boolean"
    return "object"


def _py_values(test: str, focal: str) -> tuple[list[_Value], list[_Value], list[_Value]]:
    """(locals, comparison values, focal calls) of a Python test, the last written first."""
    root, start, end, text = _scan(test, "python")
    head = _py_focal_head(focal)
    seen = _Seen(head[0] if head else None)

    def bind(target: SNode, value: SNode | None) -> None:
        init = text(value) if value is not None else ""
        kind = _PY_VALUE_KINDS.get(value.type, "object") if value is not None else "object"
        if seen.from_focal(init) and kind == "object" and head is not None:
            kind = _py_result_kind(head[0], focal)
        seen.local(
            text(target),
            kind,
            init,
            from_literal=value is not None and value.type in PY_LITERAL_KINDS,
            from_new=value is not None and value.type == "call" and init[:1].isupper(),
            result_words=("result", "actual", "res"),
        )

    for n in iter_nodes(root):  # in source order
        if n.start_byte < start or n.end_byte > end:
            continue
        seen.order += 1
        if n.type == "assignment":
            left, right = n.child("left"), n.child("right")
            if left is None:
                continue
            if left.type == "identifier" or (
                left.type == "attribute"
                and text(left).startswith("self.")
                and text(left).count(".") == 1
            ):
                bind(left, right)
            elif left.type in ("pattern_list", "tuple_pattern"):
                for t in left.named_children:
                    if t.type == "identifier":
                        bind(t, None)
        elif n.type == "as_pattern_target" or (
            n.type == "for_statement" and n.child("left") is not None
        ):
            t = n if n.type == "as_pattern_target" else n.child("left")
            if t.type == "identifier" or (
                t.named_children
                and t.named_children[0].type == "identifier"
                and len(t.named_children) == 1
            ):
                bind(t if t.type == "identifier" else t.named_children[0], None)
        elif n.type in PY_LITERAL_KINDS:
            if n.type == "string" and (
                n.parent is not None and n.parent.type == "concatenated_string"
            ):
                continue
            lit = text(n)
            if (
                "\n" in lit
                or len(lit) > 80
                or lit.lstrip("rbuRBU")[:1] not in ("'", '"', *"0123456789TFN")
                or lit[:1] in "fF"
            ):
                continue
            in_call = n.parent is not None and n.parent.type == "argument_list"
            seen.literal(lit, PY_LITERAL_KINDS[n.type], in_call)
        elif n.type == "call":
            fn = n.child("function")
            if fn is None:
                continue
            called = fn.child("attribute") if fn.type == "attribute" else fn
            obj = fn.child("object") if fn.type == "attribute" else None
            seen.call(
                text(called) if called is not None else None,
                text(obj)
                if obj is not None
                and obj.type in ("identifier", "attribute")
                and text(obj) != "self"
                else None,
            )
        elif n.type == "identifier":
            seen.use(text(n))
    names, receivers = seen.names, seen.receivers
    local, lits = _rank(names, seen.literals, seen.uses, PY_DEFAULT_LITERALS)
    calls: list[_Value] = []
    if head is not None:
        name, params = head
        kind = _py_result_kind(name, focal)
        recv = receivers[::-1]
        recv += [v.text for v in local if v.kind == "object" and v.text not in recv]
        prefixes = [f"{r}." for r in recv[: MOST_RECEIVERS - 1]] + [""]
        if params == 0:
            calls = [_Value(f"{p}{name}()", "call", kind, i) for i, p in enumerate(prefixes)]
        elif params == 1:
            most_r, most_a = MOST_ARGUMENTS
            args = (local + lits)[:most_a]
            calls = [
                _Value(
                    f"{p}{name}({a.text})",
                    "call",
                    kind,
                    i,
                    {"argument_local": float(a.source == "local")},
                )
                for i, p in enumerate(prefixes[: most_r - 1] + [""])
                for a in args
            ]
        for c in calls:
            receiver = names.get(c.text.split(".", 1)[0]) if "." in c.text.split("(")[0] else None
            c.facts["receiver_local"] = float(receiver is not None)
            c.facts["receiver_from_new"] = receiver.facts["from_new"] if receiver else 0.0
    _in_context(local, calls, seen.focal_called)
    return local, lits + local, calls


_UNITTEST_CALL = re.compile(r"\bself\.assert[A-Z]")
_TAKES_SELF = re.compile(r"\s*(?:async\s+)?def\s+\w+\s*\(\s*self\b")


def python_test_style(file_text: str, test_source: str) -> str:
    """``unittest`` for a test method (it takes ``self``) of a file that uses ``unittest`` (it
    names a ``TestCase`` or calls ``self.assertEqual``, ``self.assertTrue``, ...), else
    ``pytest``: which assertion forms a Python test's candidates take. A pytest test class's
    methods take ``self`` too, so the method alone does not tell (networkx's tests are such
    classes)."""
    uses_unittest = "TestCase" in file_text or _UNITTEST_CALL.search(file_text) is not None
    return "unittest" if uses_unittest and _TAKES_SELF.match(test_source) else "pytest"


def _python_candidates(source: str, style: str | None) -> list[Candidate]:
    test, focal = split_test_and_focal(source, "python")
    local, values, calls = _py_values(test, focal)
    unittest = style == "unittest" if style else bool(_TAKES_SELF.match(test))
    out: dict[str, Candidate] = {}

    def add(text: str, form: str, actual: _Value, expected: _Value | None = None) -> None:
        if text not in out:
            f = _features(form, actual, expected)
            f["unittest_test"] = float(unittest)
            f[f"{form}:unittest_test"] = float(unittest)
            out[text] = Candidate(text, f)

    sized = [
        _Value(f"len({v.text})", "len", "number", v.recency, dict(v.facts))
        for v in local[:6]
        if v.kind in ("collection", "object")
    ]
    for v in local + calls:
        if unittest:
            for form in PY_UNITTEST_UNARY:
                add(f"self.{form}({v.text})", form, v)
        for form in PY_PLAIN_UNARY:
            add(form.format(v=v.text), form.replace("{v}", "v"), v)
    for v in local + calls + sized:
        for x in values:
            if x.text == v.text:
                continue
            if unittest:
                add(f"self.assertEqual({v.text}, {x.text})", "assertEqual", v, x)
            add(f"assert {v.text} == {x.text}", "assert ==", v, x)
    for v in local:
        if v.kind not in ("collection", "string", "object"):
            continue
        for x in values:
            if x.text == v.text or x.source == "default":
                continue
            if unittest:
                add(f"self.assertIn({x.text}, {v.text})", "assertIn", v, x)
            add(f"assert {x.text} in {v.text}", "assert in", v, x)
    return list(out.values())
