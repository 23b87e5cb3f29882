"""ttune.data.syntax.compact_tokens: space-separated tokens back to ordinary code spacing."""

from __future__ import annotations

import pytest

from ttune.data.syntax import compact_tokens, parses, parses_as_statement


@pytest.mark.parametrize(
    ("tokens", "code"),
    [
        (
            "org . junit . Assert . assertEquals ( 1 , result . size ( ) )",
            "org.junit.Assert.assertEquals(1, result.size())",
        ),
        ("assertThat ( x , is ( true ) )", "assertThat(x, is(true))"),
        # literals are kept as they are, dots and brackets inside them too
        (
            'assertEquals ( "a . b ( c )" , s . get ( 0 ) [ 1 ] )',
            'assertEquals("a . b ( c )", s.get(0)[1])',
        ),
        (
            "assertArrayEquals ( new byte [ ] { 0 , 't' } , r )",
            "assertArrayEquals(new byte[] { 0, 't' }, r)",
        ),
        # numbers keep their dots, operators their spaces
        ("assertEquals ( 1.5 , x * 2 , 0.01 )", "assertEquals(1.5, x * 2, 0.01)"),
        ("assertTrue ( ( a > b ) && c )", "assertTrue((a > b) && c)"),
        ("assertEquals(1, x)", "assertEquals(1, x)"),  # already compact: unchanged
    ],
)
def test_compact_tokens(tokens, code):
    assert compact_tokens(tokens) == code
    assert parses("void m() { " + code + "; }", "java")  # a statement Java parses


@pytest.mark.parametrize(
    ("code", "lang", "ok"),
    [
        ("org . junit . Assert . assertEquals ( 1 , x )", "java", True),
        ("// checks\nassertNull(x);", "java", True),  # a comment is not a statement
        ("assertNull(x); assertNull(y);", "java", False),
        ("public void f() {}", "java", False),  # a member, not a statement
        ("Assert.IsTrue(ok);", "csharp", True),
        ("assert len(v) == 2", "python", True),
        ("def f():\n    pass", "python", True),
        ("Return the value.", "python", False),
        ("   ", "python", False),
    ],
)
def test_parses_as_statement(code: str, lang: str, ok: bool):
    assert parses_as_statement(code, lang) is ok
