"""ttune.data.candidates: the assertion forms listed for a test, exactly."""

from __future__ import annotations

from ttune.data.candidates import PREFIX, assert_candidates

ATLAS = (
    'testAdd ( ) { Calc c = new Calc ( ) ; int sum = c . add ( 2 , 3 ) ; "<AssertPlaceHolder>" ; '
    "int later = 9 ; } add ( int a , int b ) { return a + b ; }"
)


def test_the_forms_over_variables_and_literals_before_the_placeholder():
    got = assert_candidates(ATLAS, "java")
    unary = ("assertNotNull", "assertNull", "assertTrue", "assertFalse")
    # The last declared variable first; `later` (after the placeholder) and the focal method's
    # parameters are not candidates; literals: the test's, the last first, then the defaults.
    want = [f"{PREFIX}{k} ( {v} )" for v in ("sum", "c") for k in unary]
    for v, w in (("sum", "c"), ("c", "sum")):
        want += [
            f"{PREFIX}assertEquals ( {x} , {v} )"
            for x in ("3", "2", "0", "1", "true", "false", "null")
        ]
        want += [f"{PREFIX}assertEquals ( {w} , {v} )"]
    assert got == want
    assert f"{PREFIX}assertEquals ( 5 , sum )" not in got  # a value the test never wrote


def test_raw_java_and_other_languages():
    raw = 'void testName() {\n    String name = user.getName();\n    "<AssertPlaceHolder>";\n}'
    got = assert_candidates(raw, "java")
    assert got[0] == f"{PREFIX}assertNotNull ( name )" and len(got) == 4 + 5
    assert assert_candidates("void testNothing() { run(); }", "java") == []  # no variable
    assert assert_candidates("def test_x():\n    x = 1\n", "python") == []
