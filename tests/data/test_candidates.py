"""ttune.data.candidates: the assertion forms listed for a test, exactly, and their features."""

from __future__ import annotations

from ttune.data.candidates import PREFIX, assert_candidates

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
    assert assert_candidates("def test_x():\n    x = 1\n", "python") == []
