from __future__ import annotations

import gzip
import json

import pytest

from ttune.data.io import DataError, data_dir, describe_bad_lines, read_jsonl, write_jsonl
from ttune.tasks import read_jsonl as tasks_read_jsonl


def test_read_jsonl_reports_bad_lines_with_numbers(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text(
        '{"source": "a", "target": "b"}\n'
        "not json\n"
        "\n"
        '{"source": "c"}\n'
        "[1, 2]\n"
        '{"source": "e", "target": 3}\n'
        '{"source": "  ", "target": "x"}\n'
        '{"id": 7, "source": "f", "target": "g", "source_lang": "java"}\n',
        encoding="utf-8",
    )
    records, bad = read_jsonl(p)
    assert [r["source"] for r in records] == ["a", "f"]
    assert [n for n, _ in bad] == [2, 4, 5, 6, 7]
    assert "invalid JSON" in bad[0][1]
    assert bad[1][1] == "missing key 'target'"
    assert bad[2][1] == "not a JSON object but list"
    assert "not a string" in bad[3][1]
    assert bad[4][1] == "empty source"
    msg = describe_bad_lines(p, bad, limit=2)
    assert "skipped 5 malformed line(s)" in msg and "line 2" in msg and "(+3 more)" in msg
    assert tasks_read_jsonl is read_jsonl


def test_read_jsonl_fatal_only_when_all_bad_or_empty(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text("x\ny\n", encoding="utf-8")
    with pytest.raises(DataError, match="all 2 lines are malformed"):
        read_jsonl(p)
    e = tmp_path / "empty.jsonl"
    e.write_text("\n", encoding="utf-8")
    with pytest.raises(DataError, match="no records"):
        read_jsonl(e)
    with pytest.raises(DataError, match="not found"):
        read_jsonl(tmp_path / "missing.jsonl")


def test_write_then_read_roundtrip_and_gzip(tmp_path):
    recs = [
        {
            "id": "1",
            "source": "é\nx",
            "target": "t",
            "source_lang": "python",
            "target_lang": "en",
            "split": "train",
        }
    ]
    assert write_jsonl(tmp_path / "o.jsonl", recs) == 1
    assert read_jsonl(tmp_path / "o.jsonl") == (recs, [])
    write_jsonl(tmp_path / "o.jsonl.gz", recs)
    with gzip.open(tmp_path / "o.jsonl.gz", "rt", encoding="utf-8") as f:
        assert json.loads(f.readline()) == recs[0]
    assert read_jsonl(tmp_path / "o.jsonl.gz")[0] == recs
    assert not list(tmp_path.glob(".*tmp*"))


def test_data_dir_env(monkeypatch, tmp_path):
    monkeypatch.setenv("TTUNE_DATA_DIR", str(tmp_path))
    assert data_dir() == tmp_path
    monkeypatch.delenv("TTUNE_DATA_DIR")
    assert data_dir().parts[-2:] == ("shared", "datasets")
