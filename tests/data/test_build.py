"""Builders on made-up source trees, and a small run on the real standard library."""

from __future__ import annotations

import json
import sysconfig
import zipfile
from pathlib import Path

import pytest

from ttune.data.build import (
    PLACEHOLDER,
    build_assert,
    build_summarize,
    build_to_file,
    class_under_test_name,
    first_sentence,
    hash_split,
    javadoc_text,
    one_line,
)
from ttune.data.decode import split_test_and_focal
from ttune.data.io import DataError
from ttune.data.syntax import has_error_node

PY_MODULE = '''
import os


def area(w, h):
    """Compute the area of a rectangle. Extra words here.

    More text.
    """
    # a comment stays
    return w * h


def nodoc(x):
    return x


class Shape:
    def scale(self, k):
        """Scale every side by k and return self."""
        self.k = k
        return self

    def only_doc(self):
        """A docstring alone is skipped."""
'''

JAVA_FILE = """
package p;

/** Not a method comment. */
public class Box {
    /**
     * Returns the {@code width} of this box in <b>pixels</b>. More.
     * @return the width
     */
    public int width() {
        return w;
    }

    // plain comment
    public int height() { return h; }

    /** Abstract ones have no body. */
    abstract void paint();

    /** Creates an empty box for testing. */
    public Box() { super(); }
}
"""


def test_first_sentence_and_javadoc():
    assert first_sentence("Return x. Then y.") == "Return x."
    assert first_sentence("Return v1.2 of\n  the thing.\n\nMore.") == "Return v1.2 of the thing."
    assert (
        javadoc_text("/**\n * Returns the {@link Foo#bar baz} <i>x</i>.\n * @param a b\n */")
        == "Returns the bar x."
    )
    # Tags with nothing after the '#' (seen in the JDK sources) keep the class name.
    assert javadoc_text("/** Uses {@link Foo#} and {@link #m}. */") == "Uses Foo and m."


def test_build_summarize_python(tmp_path):
    (tmp_path / "geo.py").write_text(PY_MODULE, encoding="utf-8")
    recs = build_summarize(tmp_path, "python", limit=None, per_file=10)
    assert [r["target"] for r in recs] == [
        "Compute the area of a rectangle.",
        "Scale every side by k and return self.",
    ]
    area = recs[0]
    assert area["source"] == "def area(w, h):\n    # a comment stays\n    return w * h\n"
    assert area["id"] == "geo.py:5:area" and area["split"] == hash_split("geo.py:5:area")
    assert recs[1]["source"] == "def scale(self, k):\n    self.k = k\n    return self\n"
    assert all(not has_error_node(r["source"], "python") for r in recs)
    assert (area["source_lang"], area["target_lang"]) == ("python", "en")


def test_build_summarize_java_folder_and_zip(tmp_path):
    src = tmp_path / "src"
    (src / "p").mkdir(parents=True)
    (src / "p" / "Box.java").write_text(JAVA_FILE, encoding="utf-8")
    recs = build_summarize(src, "java", limit=None, per_file=10)
    assert [r["target"] for r in recs] == [
        "Returns the width of this box in pixels.",
        "Creates an empty box for testing.",
    ]
    assert recs[0]["source"] == "public int width() {\n    return w;\n}\n"
    z = tmp_path / "src.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(src / "p" / "Box.java", "mod/p/Box.java")
    assert [r["source"] for r in build_summarize(z, "java", limit=None, per_file=10)] == [
        r["source"] for r in recs
    ]
    with pytest.raises(DataError, match="unsupported builder language"):
        build_summarize(src, "cobol")


TEST_FILE = """
import unittest
from geo import area


class T(unittest.TestCase):
    def test_area(self):
        got = area(2, 3)
        self.assertEqual(
            got,
            6,
        )

    def test_two(self):
        assert area(1, 1) == 1
        assert area(0, 1) == 0

    def test_raises(self):
        with self.assertRaises(TypeError):
            area()

    def test_plain(self):
        x = helper()
        assert x
"""


def test_build_assert(tmp_path):
    (tmp_path / "geo.py").write_text(PY_MODULE, encoding="utf-8")
    tests = tmp_path / "test"
    tests.mkdir()
    (tests / "test_geo.py").write_text(TEST_FILE, encoding="utf-8")
    recs = build_assert(tests, limit=None, per_file=10)
    assert [r["target"] for r in recs] == ["self.assertEqual(got, 6)", "assert x"]
    first = recs[0]
    test, focal = split_test_and_focal(first["source"], "python")
    assert test == f"def test_area(self):\n    got = area(2, 3)\n    {PLACEHOLDER}"
    assert focal.startswith("def area(w, h):") and "return w * h" in focal
    assert not has_error_node(first["source"], "python")
    assert split_test_and_focal(recs[1]["source"], "python")[1] == ""  # helper() is not in geo.py
    assert (first["source_lang"], first["target_lang"], first["id"]) == (
        "python",
        "python",
        "test/test_geo.py:7:test_area",
    )
    assert len(build_assert(tests, limit=None, per_file=10, require_focal=True)) == 1
    assert {r["assert_style"] for r in recs} == {"unittest"}  # the file uses unittest


def test_build_assert_finds_the_module_of_a_tests_folder(tmp_path):
    """pkg/sub/tests/test_geo.py tests pkg/sub/geo.py (numpy's, sympy's, networkx's layout); a
    pytest class's method takes self but is not a unittest test."""
    sub = tmp_path / "pkg" / "sub"
    (sub / "tests").mkdir(parents=True)
    (sub / "geo.py").write_text(PY_MODULE, encoding="utf-8")
    (sub / "tests" / "test_geo.py").write_text(
        "from pkg.sub.geo import area\n\n\nclass TestArea:\n    def test_area(self):\n"
        "        got = area(2, 3)\n        assert got == 6\n",
        encoding="utf-8",
    )
    [rec] = build_assert(tmp_path / "pkg", limit=None, per_file=10)
    assert rec["target"] == "assert got == 6" and rec["assert_style"] == "pytest"
    assert split_test_and_focal(rec["source"], "python")[1].startswith("def area(w, h):")


def test_one_line():
    assert one_line("self.assertEqual(\n    a,\n    [1, 2],\n)") == "self.assertEqual(a, [1, 2])"
    assert one_line("assert x == 1") == "assert x == 1"


STDLIB = Path(sysconfig.get_paths()["stdlib"])


def test_stdlib_builders_small():
    recs = build_summarize(STDLIB, "python", limit=20)
    assert len(recs) == 20
    assert all("site-packages" not in r["id"] for r in recs)
    assert sum(not has_error_node(r["source"], "python") for r in recs) == 20
    tests = build_assert(STDLIB / "test", limit=10)
    assert len(tests) == 10
    assert all(
        PLACEHOLDER in r["source"] and not has_error_node(r["source"], "python") for r in tests
    )
    assert build_summarize(STDLIB, "python", limit=20) == recs  # deterministic


JUNIT_MAIN = """
package p;

import java.util.List;

/** The class under test. */
public class Foo {
    private int n;

    /** Adds. */
    public int add(int a, int b) {
        // the sum
        return a + b;
    }

    public static <T> String join(final List<T> parts, String... more)
            throws IllegalStateException {
        return String.join(",", parts) + more.length;
    }

    public boolean isEmpty() { return n == 0; }

    static class Inner {
        boolean check() { return true; }
    }
}
"""

JUNIT_TEST = """
package p;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.Assert;
import org.junit.jupiter.api.Test;

class FooTest {
    @Test
    public void addsTwo() throws Exception {
        Foo foo = new Foo(); // made here
        int got = foo.add(2, 3);
        assertEquals(5, got, "sum is \\"5\\"");
    }

    @Test
    void none() {
        new Foo().add(1, 1);
    }

    @Test
    void two() {
        Foo foo = new Foo();
        assertEquals(2, foo.add(1, 1));
        assertEquals(0, foo.add(0, 0));
    }

    @Test
    void inLambda() {
        Runnable r = () -> assertEquals(1, new Foo().add(0, 1));
    }

    @Test
    void withHelper() {
        Foo foo = new Foo();
        Assert.assertTrue(foo.isEmpty());
        assertAdds(foo);
    }

    @Test
    void empty() {
        Foo foo = new Foo();
        Assert.assertTrue(foo.isEmpty());
    }

    @Test
    void noFocal() {
        String s = " x ";
        new Foo.Inner().check();
        assertEquals("x", s.trim());
    }

    public void testJoin() {
        String s = Foo.join(java.util.Arrays.asList("a", "b"), "c");
        org.junit.Assert.assertEquals("a,b1", s);
    }

    private void assertAdds(Foo foo) {
        assertEquals(2, foo.add(1, 1));
    }
}
"""


def _junit_project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    for sub, name, text in (
        ("main", "Foo.java", JUNIT_MAIN),
        ("test", "FooTest.java", JUNIT_TEST),
    ):
        folder = root / "src" / sub / "java" / "p"
        folder.mkdir(parents=True)
        (folder / name).write_text(text, encoding="utf-8")
    # A test helper of the same name elsewhere: the class under test is the one in src/main.
    (root / "src" / "test" / "java" / "q").mkdir(parents=True)
    (root / "src" / "test" / "java" / "q" / "Foo.java").write_text(
        "package q; class Foo { int add(int a, int b) { return 0; } }", encoding="utf-8"
    )
    return root


def test_build_assert_java_atlas_layout(tmp_path):
    root = _junit_project(tmp_path)
    recs = build_assert(root, limit=None, per_file=10, lang="java")
    # none (0 assertions), two (2), inLambda (nested in a lambda), withHelper (a second, own
    # assert* call) and noFocal (no method of Foo called) are skipped.
    assert [r["id"] for r in recs] == [
        "src/test/java/p/FooTest.java:10:addsTwo",
        "src/test/java/p/FooTest.java:41:empty",
        "src/test/java/p/FooTest.java:54:testJoin",
    ]
    assert recs[0]["source"] == (
        "addsTwo ( ) { Foo foo = new Foo ( ) ; int got = foo . add ( 2 , 3 ) ; "
        '"<AssertPlaceHolder>" ; }\nadd ( int , int ) { return a + b ; }'
    )
    assert recs[0]["target"] == 'org . junit . Assert . assertEquals ( 5 , got , "sum is \\"5\\"" )'
    assert recs[1]["source"] == (
        'empty ( ) { Foo foo = new Foo ( ) ; "<AssertPlaceHolder>" ; }\n'
        "isEmpty ( ) { return n == 0 ; }"
    )
    assert recs[1]["target"] == "org . junit . Assert . assertTrue ( foo . isEmpty ( ) )"
    assert recs[2]["source"] == (
        'testJoin ( ) { String s = Foo . join ( java . util . Arrays . asList ( "a" , "b" ) , "c" )'
        ' ; "<AssertPlaceHolder>" ; }\n'
        'join ( List , String [ ] ) { return String . join ( "," , parts ) + more . length ; }'
    )
    assert recs[2]["target"] == 'org . junit . Assert . assertEquals ( "a,b1" , s )'
    assert PLACEHOLDER == '"<AssertPlaceHolder>"'
    for r in recs:
        test, focal = split_test_and_focal(r["source"], "java")
        assert PLACEHOLDER in test and focal and "\n" not in test + focal
        assert (r["source_lang"], r["target_lang"], r["split"]) == (
            "java",
            "java",
            hash_split(r["id"]),
        )
    assert len(build_assert(root, limit=None, per_file=1, lang="java")) == 1
    assert len(build_assert(root, limit=2, per_file=10, lang="java")) == 2


def test_build_assert_java_to_file_and_errors(tmp_path):
    root = _junit_project(tmp_path)
    res = build_to_file("assert", root, tmp_path / "out.jsonl", lang="java", limit=None)
    assert res["records"] == 2 and res["with_focal"] == 2  # per_file=2
    assert [json.loads(line)["id"] for line in (tmp_path / "out.jsonl").open()] == [
        "src/test/java/p/FooTest.java:10:addsTwo",
        "src/test/java/p/FooTest.java:41:empty",
    ]
    with pytest.raises(DataError, match="no assert builder for language 'cobol'"):
        build_to_file("assert", root, tmp_path / "x.jsonl", lang="cobol")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no JUnit test method"):
        build_assert(empty, lang="java")


def test_class_under_test_name():
    assert [
        class_under_test_name(n) for n in ("FooTest", "FooTests", "TestFoo", "Testing", "Foo")
    ] == ["Foo", "Foo", "Foo", None, None]
