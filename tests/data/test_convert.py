"""Converters: inline fixtures (made up here) and the real data sets (first few hundred records)."""

from __future__ import annotations

import gzip
import json

import pytest

from ttune.data.convert import carve_split, convert, format_names
from ttune.data.decode import split_first_method
from ttune.data.io import SCHEMA_KEYS, DataError
from ttune.data.syntax import parse_ok_rate

from .conftest import need

N_REAL = 300


def _w(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def test_formats_listed():
    assert format_names() == ["atlas", "avatar", "code-docstring", "codexglue-trans", "tl-codesum"]


def test_codexglue_trans_fixture(tmp_path):
    _w(tmp_path / "train.java-cs.txt.java", ["public int f() {return 1;}", "", "void g() {}"])
    _w(tmp_path / "train.java-cs.txt.cs", ["public int F(){return 1;}", "void G(){}", "void G(){}"])
    _w(tmp_path / "test.java-cs.txt.java", ["int h() {return 2;}"])
    _w(tmp_path / "test.java-cs.txt.cs", ["int H(){return 2;}"])
    res = convert("codexglue-trans", tmp_path)
    assert [r["id"] for r in res.records] == [
        "codexglue-java-cs/train/1",
        "codexglue-java-cs/train/3",
        "codexglue-java-cs/test/1",
    ]
    assert res.skipped == [("train.java-cs.txt.java:2", "empty Java or C# side")]
    r = res.records[0]
    assert list(r) == list(SCHEMA_KEYS)
    assert (r["source"], r["target"], r["source_lang"], r["target_lang"], r["split"]) == (
        "public int f() {return 1;}",
        "public int F(){return 1;}",
        "java",
        "csharp",
        "train",
    )
    rev = convert("codexglue-trans", tmp_path, split="test", reverse=True).records
    assert rev == [
        {
            "id": "codexglue-java-cs/test/1",
            "source": "int H(){return 2;}",
            "target": "int h() {return 2;}",
            "source_lang": "csharp",
            "target_lang": "java",
            "split": "test",
        }
    ]


def test_codexglue_misaligned_is_an_error(tmp_path):
    _w(tmp_path / "valid.java-cs.txt.java", ["a", "b"])
    _w(tmp_path / "valid.java-cs.txt.cs", ["a"])
    with pytest.raises(DataError, match="differ in length"):
        convert("codexglue-trans", tmp_path)


def test_tl_codesum_fixture_and_carve(tmp_path):
    _w(
        tmp_path / "valid.token.code",
        [f"{i}\tpublic int f{i} ( ) {{ return _NUM ; }}" for i in range(40)]
        + ["garbage-without-tab", "99\tint g ( ) { }"],
    )
    _w(
        tmp_path / "valid.token.nl",
        [f"{i}\treturns number {i} ." for i in range(40)] + ["x\ty", "98\tmismatch"],
    )
    _w(tmp_path / "test.token.code", ["7\tvoid t ( ) { }"])
    _w(tmp_path / "test.token.nl", ["7\tdoes t ."])
    res = convert("tl-codesum", tmp_path)
    assert len(res.records) == 41
    assert res.skipped == [
        ("valid.token.code:41", "line is not id<TAB>text"),
        ("valid.token.code:42", "id 99 != 98 in valid.token.nl"),
    ]
    splits = {r["id"]: r["split"] for r in res.records}
    assert splits["tl-codesum/test/7"] == "test"
    for i in range(40):
        rid = f"tl-codesum/valid/{i}"
        assert splits[rid] == carve_split(rid) and splits[rid] in ("train", "dev")
    r = next(r for r in res.records if r["id"] == "tl-codesum/valid/3")
    assert (r["source"], r["target"]) == (
        "public int f3 ( ) { return _NUM ; }",
        "returns number 3 .",
    )


def test_carve_split_is_deterministic_and_about_ten_percent():
    ids = [f"x/{i}" for i in range(5000)]
    dev = sum(carve_split(i) == "dev" for i in ids)
    assert 400 < dev < 600
    assert [carve_split(i) for i in ids[:50]] == [carve_split(i) for i in ids[:50]]


def test_code_docstring_fixture(tmp_path):
    root = tmp_path / "parallel-corpus"
    root.mkdir()
    _w(
        root / "data_ps.declbodies.valid",
        [
            "def f(x): DCNL  DCSP if x: DCNL DCSP  DCSP return ' DCSP ' DCNL DCSP return x",
            "def g(): DCNL  DCSP pass",
        ],
    )
    _w(root / "data_ps.descriptions.valid", ["'Return a space DCNL or x.'", "''"])
    _w(root / "data_ps.declbodies.test", ["def h(): DCNL  DCSP return 1"])
    _w(root / "data_ps.descriptions.test", ["'One.'"])
    res = convert("code-docstring", tmp_path)
    assert res.skipped == [("data_ps.descriptions.valid:2", "description decodes to nothing")]
    first, test = res.records
    assert first["source"] == "def f(x):\n    if x:\n        return ' '\n    return x\n"
    assert first["target"] == "Return a space\nor x."
    assert first["id"] == "code-docstring/canonical/valid/1"
    assert first["split"] == carve_split("code-docstring/canonical/valid/1")
    assert (test["split"], test["source_lang"], test["target_lang"]) == ("test", "python", "en")


def test_atlas_fixture(tmp_path):
    rows = [
        {
            "id": 1,
            "split": "eval",
            "test_method": 'testA ( ) { int x = f ( ) ; "<AssertPlaceHolder>" ; } '
            "f ( ) { return 1 ; }",
            "assertion": "org . junit . Assert . assertEquals ( 1 , x )",
            "deabstraction_complete": True,
        },
        {
            "id": 2,
            "split": "eval",
            "test_method": 'testB ( ) { "<AssertPlaceHolder>" ; }',
            "assertion": "assertTrue ( true )",
            "deabstraction_complete": False,
        },
        {
            "id": 3,
            "split": "eval",
            "test_method": "testC ( ) { }",
            "assertion": "x",
            "deabstraction_complete": True,
        },
    ]
    with gzip.open(tmp_path / "atlas_eval.jsonl.gz", "wt", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
        f.write("{broken\n")
    with gzip.open(tmp_path / "atlas_testing.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write(
            json.dumps(
                {
                    "id": 9,
                    "split": "testing",
                    "test_method": 'testT ( ) { "<AssertPlaceHolder>" ; }',
                    "assertion": "assertNull ( y )",
                    "deabstraction_complete": True,
                }
            )
            + "\n"
        )
    res = convert("atlas", tmp_path)
    assert [w for w, _ in res.skipped] == [
        "atlas_eval.jsonl.gz:2",
        "atlas_eval.jsonl.gz:3",
        "atlas_eval.jsonl.gz:4",
    ]
    a, t = res.records
    assert (
        a["source"] == 'testA ( ) { int x = f ( ) ; "<AssertPlaceHolder>" ; }\nf ( ) { return 1 ; }'
    )
    assert a["target"] == "org . junit . Assert . assertEquals ( 1 , x )"
    assert a["split"] == carve_split("atlas/eval/1")
    assert (t["id"], t["split"], t["source_lang"], t["target_lang"]) == (
        "atlas/testing/9",
        "test",
        "java",
        "java",
    )


def test_avatar_fixture(tmp_path):
    _w(
        tmp_path / "valid.java-python.java",
        ['static int f ( ) { return " a ▁ b " . length ( ) ; }'],
    )
    _w(
        tmp_path / "valid.java-python.python",
        ['def f ( ) : NEW_LINE INDENT return len ( " a ▁ b " ) NEW_LINE DEDENT'],
    )
    _w(tmp_path / "valid.java-python.id", ["geeksforgeeks_1_A"])
    r = convert("avatar", tmp_path).records[0]
    assert r == {
        "id": "avatar/valid/geeksforgeeks_1_A",
        "source": 'static int f ( ) { return "a b" . length ( ) ; }',
        "target": 'def f ( ) :\n    return len ( "a b" )\n',
        "source_lang": "java",
        "target_lang": "python",
        "split": "dev",
    }
    rev = convert("avatar", tmp_path, reverse=True).records[0]
    assert (rev["source_lang"], rev["target_lang"]) == ("python", "java")


def test_convert_errors(tmp_path):
    with pytest.raises(DataError, match="unknown format"):
        convert("nope", tmp_path)
    with pytest.raises(DataError, match="unknown split"):
        convert("avatar", tmp_path, split="valid")
    with pytest.raises(DataError, match="input not found"):
        convert("avatar", tmp_path / "missing")
    with pytest.raises(DataError, match="no .* files"):
        convert("avatar", tmp_path)


# ------------------------------------------------------------------ real data (first records)
def _head(records, n=N_REAL):
    by_split: dict[str, list] = {}
    for r in records:
        by_split.setdefault(r["split"], []).append(r)
    return [r for rs in by_split.values() for r in rs[:n]]


def test_real_codexglue(shared_data):
    res = convert("codexglue-trans", need(shared_data, "codexglue-java-cs"))
    assert res.counts() == {"train": 10295, "dev": 499, "test": 1000}
    head = _head(res.records)
    assert parse_ok_rate([r["source"] for r in head], "java") >= 0.95
    assert parse_ok_rate([r["target"] for r in head], "csharp") >= 0.95


def test_real_tl_codesum(shared_data):
    res = convert("tl-codesum", need(shared_data, "tl-codesum"))
    c = res.counts()
    assert c["test"] == 8714 and c["train"] + c["dev"] == 8714 and 700 < c["dev"] < 1000
    assert parse_ok_rate([r["source"] for r in _head(res.records)], "java") >= 0.95


def test_real_code_docstring(shared_data):
    res = convert("code-docstring", need(shared_data, "code-docstring-corpus"))
    c = res.counts()
    assert c["train"] + c["dev"] + c["test"] + len(res.skipped) == 4000
    head = _head(res.records)
    assert parse_ok_rate([r["source"] for r in head], "python") >= 0.95
    assert all("DCNL" not in r["source"] and "DCSP" not in r["target"] for r in head)


def test_real_atlas(shared_data):
    res = convert("atlas", need(shared_data, "atlas"))
    c = res.counts()
    assert c["test"] > 15000 and c["train"] + c["dev"] > 15000
    assert all(why.startswith("deabstraction_complete") for _, why in res.skipped)
    head = _head(res.records)
    assert all('"<AssertPlaceHolder>"' in r["source"] for r in head)
    # The CPG reads the test method (ATLAS's focal signatures carry types without names).
    assert parse_ok_rate([split_first_method(r["source"])[0] for r in head], "java") >= 0.95


def test_real_avatar(shared_data):
    res = convert("avatar", need(shared_data, "avatar-java-python"))
    assert res.counts() == {"train": 2388, "dev": 341, "test": 682}
    head = _head(res.records)
    assert parse_ok_rate([r["source"] for r in head], "java") >= 0.95
    assert parse_ok_rate([r["target"] for r in head], "python") >= 0.95
    assert all("NEW_LINE" not in r["target"] and "▁" not in r["target"] for r in head)
