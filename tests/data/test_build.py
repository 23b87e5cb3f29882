"""Builders on made-up source trees, and a small run on the real standard library."""

from __future__ import annotations

import sysconfig
import zipfile
from pathlib import Path

import pytest

from ttune.data.build import (
    PLACEHOLDER,
    build_assert,
    build_summarize,
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
