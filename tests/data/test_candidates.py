"""ttune.data.candidates: the assertion forms listed for a test, exactly, and their features."""

from __future__ import annotations

import pytest

from ttune.data.candidates import PREFIX, assert_candidates, python_test_style

ATLAS = (
    'testAdd ( ) { Calc c = new Calc ( ) ; int sum = c . add ( 2 , 3 ) ; "<AssertPlaceHolder>" ; '
    "int later = 9 ; } add ( int a , int b ) { return a + b ; }"
)
UNARY = ("assertNotNull", "assertNull", "assertTrue", "assertFalse")


def texts(source: str) -> list[str]:
    return [c.text for c in assert_candidates(source, "java")]


def test_the_forms_over_variables_and_literals_before_the_placeholder():
    got = texts(ATLAS)
    # The last declared variable first; `later` (after the placeholder) and the focal method's
    # parameters are not candidates; literals: the test's, the last first, then the defaults.
    # The focal method takes two parameters: no call of it is listed.
    want = [f"{PREFIX}{k} ( {v} )" for v in ("sum", "c") for k in UNARY]
    for v, w in (("sum", "c"), ("c", "sum")):
        want += [
            f"{PREFIX}assertEquals ( {x} , {v} )"
            for x in ("3", "2", "0", "1", "true", "false", "null")
        ]
        want += [f"{PREFIX}assertEquals ( {w} , {v} )"]
    assert got == want
    assert f"{PREFIX}assertEquals ( 5 , sum )" not in got  # a value the test never wrote


def test_calls_of_a_focal_method_without_parameters_on_the_tests_receivers():
    source = (
        "testSize ( ) { Bag bag = new Bag ( ) ; boolean ok = bag . add ( 7 ) ; "
        '"<AssertPlaceHolder>" ; } size ( ) { return n ; }'
    )
    got = assert_candidates(source, "java")
    calls = [c.text for c in got if "size" in c.text]
    assert calls[:8] == [
        f"{PREFIX}{k} ( {r} )" for r in ("bag . size ( )", "size ( )") for k in UNARY
    ]
    assert f"{PREFIX}assertEquals ( 7 , bag . size ( ) )" in calls
    assert len(got) == 46  # 2 locals and 2 calls x 4 unary; 2 x 7 + 2 x 8 assertEquals
    by_text = {c.text: c.features for c in got}
    ok = by_text[f"{PREFIX}assertTrue ( ok )"]
    assert ok["assertTrue:local:boolean"] == 1.0 and ok["actual_last"] == 1.0
    size = by_text[f"{PREFIX}assertEquals ( 7 , bag . size ( ) )"]
    # size() reads as a number; 7 is a number literal of the test: the types match.
    assert size["assertEquals:call:number"] == 1.0 and size["expected_match"] == 1.0
    assert size["actual_receiver_local"] == 1.0
    bag = by_text[f"{PREFIX}assertEquals ( true , bag )"]
    assert bag["expected:default:boolean"] == 1.0 and bag["expected_match"] == 0.0


def test_a_local_computed_by_the_focal_method_and_one_named_expected():
    source = (
        "testParse ( ) { int expected = 4 ; int got = parser . parse ( text ) ; "
        '"<AssertPlaceHolder>" ; } parse ( java . lang . String , int ) { return 4 ; }'
    )
    f = {c.text: c.features for c in assert_candidates(source, "java")}
    eq = f[f"{PREFIX}assertEquals ( expected , got )"]
    assert eq["actual_from_focal"] == 1.0 and eq["expected_named_expected"] == 1.0
    assert eq["expected_from_literal"] == 1.0 and eq["expected:local:number"] == 1.0
    assert f[f"{PREFIX}assertEquals ( got , expected )"]["actual_from_focal"] == 0.0


def test_raw_java_and_other_languages():
    raw = 'void testName() {\n    String name = user.getName();\n    "<AssertPlaceHolder>";\n}'
    got = texts(raw)
    assert got[0] == f"{PREFIX}assertNotNull ( name )" and len(got) == 4 + 5
    assert texts("void testNothing() { run(); }") == []  # no variable, no focal method
    assert assert_candidates("void TestX() { var x = 1; }", "csharp") == []


# ------------------------------------------------------------------------------------- Python
PYTEST = """def test_total():
    items = [1, 2]
    total = sum(items)
    "<AssertPlaceHolder>"
    after = 3
"""


def test_python_forms_over_locals_literals_and_lengths_before_the_placeholder():
    got = [c.text for c in assert_candidates(PYTEST, "python")]
    # Locals: the last assigned first; literals: the test's, the last first, then the defaults
    # it lacks; then the locals. No `self`: plain asserts only; no focal function: no call.
    values = ["2", "1", "0", "True", "False", "None", "''", "[]"]
    unary = ["assert {}", "assert not {}", "assert {} is None", "assert {} is not None"]
    want = [u.format(v) for v in ("total", "items") for u in unary]
    for v, other in (("total", "items"), ("items", "total")):
        want += [f"assert {v} == {x}" for x in values] + [f"assert {v} == {other}"]
    for v in ("len(total)", "len(items)"):
        want += [f"assert {v} == {x}" for x in values + ["total", "items"]]
    want += ["assert 2 in total", "assert 1 in total", "assert items in total"]
    want += ["assert 2 in items", "assert 1 in items", "assert total in items"]
    assert got == want
    assert not any("after" in t or "3" in t for t in got)  # written after the placeholder


def test_python_unittest_forms_and_calls_of_the_focal_function():
    source = """def test_top(self):
    stack = Stack()
    stack.push(7)
    "<AssertPlaceHolder>"

def top(self):
    return self.items[-1]"""
    got = {c.text: c for c in assert_candidates(source, "python")}
    # A test that takes `self` gets the unittest forms beside the plain ones; the focal method
    # (no parameter besides self) is called on the test's receiver, or bare.
    for text in (
        "self.assertEqual(stack.top(), 7)",
        "assert stack.top() == 7",
        "self.assertIsNotNone(stack)",
        "self.assertIn(7, stack)",
        "assert top() == 7",
    ):
        assert text in got, text
    assert got["self.assertEqual(stack.top(), 7)"].features["unittest_test"] == 1.0
    assert got["assert stack.top() == 7"].features["assert ==:call"] == 1.0
    plain = assert_candidates(PYTEST, "python")[0]
    assert plain.features["unittest_test"] == 0.0
    # The record's style decides: a method of a pytest test class takes self too.
    pytest_style = {c.text for c in assert_candidates(source, "python", style="pytest")}
    assert "assert stack.top() == 7" in pytest_style
    assert not any(t.startswith("self.") for t in pytest_style)


@pytest.mark.parametrize(
    ("file_text", "test", "style"),
    [
        (
            "class T(unittest.TestCase):\n    def test_a(self): ...",
            "def test_a(self): ...",
            "unittest",
        ),
        (
            "class T:\n    def test_b(self):\n        self.assertEqual(1, 1)",
            "def test_b(self): ...",
            "unittest",
        ),
        # a pytest class whose helper is named assert_...: not unittest
        (
            "class TestG:\n    def test_c(self):\n        self.assert_equal(G, H)",
            "def test_c(self): ...",
            "pytest",
        ),
        (
            "import unittest  # TestCase\ndef test_d(): ...",
            "def test_d(): ...",
            "pytest",
        ),  # no self
    ],
)
def test_python_test_style(file_text, test, style):
    assert python_test_style(file_text, test) == style


def test_python_test_without_values_or_focal_has_no_candidate():
    assert assert_candidates('def test_nothing():\n    "<AssertPlaceHolder>"\n', "python") == []
