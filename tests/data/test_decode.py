from __future__ import annotations

from ttune.data.decode import (
    decode_avatar_python,
    decode_avatar_strings,
    decode_dcnl,
    decode_dcnl_text,
    split_first_method,
    split_test_and_focal,
)
from ttune.data.syntax import has_error_node


def test_decode_dcnl_indentation_and_inline_spaces():
    line = (
        "def f(a, sep=' DCSP '): DCNL  DCSP if a: DCNL DCSP  DCSP return ('x DCSP  DCSP y' + sep) "
        "DCNL DCSP return None"
    )
    code = decode_dcnl(line)
    assert code == (
        "def f(a, sep=' '):\n    if a:\n        return ('x  y' + sep)\n    return None\n"
    )
    assert not has_error_node(code, "python")


def test_decode_dcnl_text_literal():
    assert (
        decode_dcnl_text("'Return the DCNL value DCSP of x\\'s field.'")
        == "Return the\nvalue of x's field."
    )
    assert decode_dcnl_text("''") == ""
    assert decode_dcnl_text("'unterminated") == "'unterminated"


def test_decode_avatar_python_layout_and_strings():
    line = (
        'def f ( n ) : NEW_LINE INDENT if ( n == 0 ) : NEW_LINE INDENT print ( "a ▁ b" , end = " ▁ '
        '" ) '
        'NEW_LINE return \' x \' NEW_LINE DEDENT s = " YES " + " - 1" + " " NEW_LINE return s '
        "NEW_LINE DEDENT"
    )
    code = decode_avatar_python(line)
    assert code == (
        "def f ( n ) :\n"
        "    if ( n == 0 ) :\n"
        '        print ( "a b" , end = " " )\n'
        "        return 'x'\n"
        '    s = "YES" + "-1" + ""\n'
        "    return s\n"
    )
    assert not has_error_node(code, "python")


def test_decode_avatar_continuation_and_java_strings():
    assert decode_avatar_python("x = ( 1 + \\ 2 ) NEW_LINE") == "x = ( 1 + 2 )\n"
    assert (
        decode_avatar_strings("System . out . print ( \" Sum ▁ = ▁ \" + ' ▁ ' ) ;")
        == "System . out . print ( \"Sum = \" + ' ' ) ;"
    )


def test_split_first_method_respects_literals():
    code = (
        'test ( ) { String s = "}" ; char c = \'{\' ; "<AssertPlaceHolder>" ; } '
        "focal ( int ) { return 1 ; }"
    )
    test, focal = split_first_method(code)
    assert test.endswith('"<AssertPlaceHolder>" ; }')
    assert focal == "focal ( int ) { return 1 ; }"
    assert split_first_method("no braces here") == ("no braces here", "")
    assert split_test_and_focal(code, "java") == (test, focal)


def test_split_test_and_focal_python():
    src = (
        'def test_a(self):\n    x = f(1)\n\n    "<AssertPlaceHolder>"\n\n'
        "@cache\ndef f(x):\n    return x\n"
    )
    test, focal = split_test_and_focal(src, "python")
    assert test == 'def test_a(self):\n    x = f(1)\n\n    "<AssertPlaceHolder>"'
    assert focal == "@cache\ndef f(x):\n    return x"
    assert split_test_and_focal("@d\ndef test_b():\n    pass\n", "python") == (
        "@d\ndef test_b():\n    pass",
        "",
    )
