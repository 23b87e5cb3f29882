"""The types task's records: annotations removed from the code and kept as labels."""

from __future__ import annotations

import ast
import json

import pytest
from typer.testing import CliRunner

from ttune.cli.main import app

CODE = """\
import typing


class C:
    def method(self, items: list[str], *rest: int, flag: "bool" = False, **kw: typing.Any) -> int:
        count: int = len(items)
        def inner(z: float) -> float:
            w: float = z * 2
            return w
        total: dict[str, int] = {}
        return count


def plain(a, b):
    return a + b


def bare(a: int):
    declared: str
    return a
"""


@pytest.fixture
def source(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "m.py").write_text(CODE, encoding="utf-8")
    return tmp_path / "src"


def test_records_keep_annotations_as_labels_and_remove_them_from_the_code(source):
    from ttune.data.types import build_types

    recs = build_types(source, limit=None, per_file=10)
    by_name = {r["id"].rsplit(":", 1)[1]: r for r in recs}
    assert sorted(by_name) == ["inner", "method"]  # plain: no labels; bare: bare declaration
    m = by_name["method"]
    assert m["identifiers"] == ["items", "rest", "flag", "kw", "count", "total"]
    assert m["target"] == (
        "items: list[str]; rest: int; flag: bool; kw: typing.Any; count: int; total: dict[str, int]"
    )
    assert (m["source_lang"], m["target_lang"], m["split"] in ("train", "dev", "test")) == (
        "python",
        "python",
        True,
    )
    tree = ast.parse(m["source"])
    fn = tree.body[0]
    assert all(a.annotation is None for a in ast.walk(fn) if isinstance(a, ast.arg))
    assert not any(isinstance(n, ast.AnnAssign) for n in ast.walk(fn))
    assert all(getattr(f, "returns", None) is None for f in ast.walk(fn))
    assert "count = len(items)" in m["source"] and "w = z * 2" in m["source"]
    assert by_name["inner"]["target"] == "z: float; w: float"


def test_labels_round_trip():
    from ttune.data.types import format_types, parse_types

    pairs = [("a", "dict[str, list[int]]"), ("b", "int | None"), ("c", "Callable[[int], str]")]
    text = format_types(pairs)
    assert text == "a: dict[str, list[int]]; b: int | None; c: Callable[[int], str]"
    assert list(parse_types(text).items()) == pairs
    assert parse_types("garbage; x: int; x: str; : y") == {"x": "int"}


def test_task_input_lists_identifiers_or_one_query():
    from ttune.tasks import get_task

    task = get_task("types")
    rec = {
        "source": "def f(a, b):\n    return a\n",
        "target": "a: int; b: str",
        "identifiers": ["a", "b"],
    }
    assert task.format_input(rec) == "def f(a, b):\n    return a\n# types of: a, b"
    assert task.format_input(dict(rec, query="b")) == (
        "def f(a, b):\n    return a\n# the type of `b` is <extra_id_0>"
    )
    code, lang, offset = task.graph_code(dict(rec, source_lang="python"))
    assert (code, lang, offset) == (rec["source"], "python", 0)
    assert task.metrics == ("type_exact", "type_outer")


def test_cli_builds_types_from_a_folder(source, tmp_path):
    out = tmp_path / "types.jsonl"
    res = CliRunner().invoke(
        app,
        [
            "data",
            "build",
            "types",
            "--source",
            str(source),
            "--output",
            str(out),
            "--per-file",
            "5",
        ],
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["records"] == 2
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [r["identifiers"] for r in lines] == [
        ["items", "rest", "flag", "kw", "count", "total"],
        ["z", "w"],
    ]
    empty = tmp_path / "empty"
    empty.mkdir()
    res = CliRunner().invoke(
        app,
        ["data", "build", "types", "--source", str(empty), "--output", str(tmp_path / "o.jsonl")],
    )
    assert res.exit_code == 1 and res.stderr.startswith("error: no annotated Python function found")
