"""`ttune data ...` and `ttune eval` through the real command line app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ttune.cli.main import app
from ttune.data.io import make_record, read_jsonl, write_jsonl

runner = CliRunner()


def _w(path: Path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def test_convert_command(tmp_path):
    src = tmp_path / "avatar"
    src.mkdir()
    _w(src / "test.java-python.java", ["int f ( ) { return 1 ; }", ""])
    _w(
        src / "test.java-python.python",
        ["def f ( ) : NEW_LINE INDENT return 1 NEW_LINE DEDENT", "x"],
    )
    _w(src / "test.java-python.id", ["a", "b"])
    out = tmp_path / "o.jsonl"
    res = runner.invoke(
        app,
        [
            "data",
            "convert",
            "--format",
            "avatar",
            "--input",
            str(src),
            "--output",
            str(out),
            "--split",
            "test",
        ],
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["records"] == 1
    assert (
        "skipped 1 source line(s): test.java-python.java:2: empty Java or Python side" in res.stderr
    )
    recs, bad = read_jsonl(out)
    assert recs[0]["target"] == "def f ( ) :\n    return 1\n" and bad == []


def test_errors_are_one_line(tmp_path):
    res = runner.invoke(
        app,
        [
            "data",
            "convert",
            "--format",
            "nope",
            "--input",
            str(tmp_path),
            "--output",
            str(tmp_path / "o.jsonl"),
        ],
    )
    assert res.exit_code == 1
    assert res.stderr.strip().count("\n") == 0 and res.stderr.startswith(
        "error: unknown format 'nope'"
    )
    res = runner.invoke(
        app,
        [
            "data",
            "build",
            "assert",
            "--source",
            str(tmp_path / "none"),
            "--output",
            str(tmp_path / "o.jsonl"),
        ],
    )
    assert res.exit_code == 1 and res.stderr.startswith(
        "error: assert builder source must be a folder"
    )
    bad = tmp_path / "bad.jsonl"
    bad.write_text("nope\n", encoding="utf-8")
    res = runner.invoke(
        app, ["data", "clean", "--train", str(bad), "--output-dir", str(tmp_path / "o")]
    )
    assert res.exit_code == 1 and "all 1 lines are malformed" in res.stderr


def test_build_and_clean_commands(tmp_path):
    (tmp_path / "m.py").write_text(
        'def f(x):\n    """Return x plus one."""\n    return x + 1\n\n\n'
        'def g(x):\n    """Return x plus one."""\n    return x + 1\n',
        encoding="utf-8",
    )
    out = tmp_path / "s.jsonl"
    res = runner.invoke(
        app,
        [
            "data",
            "build",
            "summarize",
            "--source",
            str(tmp_path),
            "--lang",
            "python",
            "--output",
            str(out),
            "--limit",
            "0",
        ],
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["records"] == 2
    test = tmp_path / "t.jsonl"
    write_jsonl(
        test,
        [
            make_record(
                "t", "def h(x):\n    return x + 1\n", "Return x plus one.", "python", "en", "test"
            )
        ],
    )
    res = runner.invoke(
        app,
        [
            "data",
            "clean",
            "--train",
            str(out),
            "--test",
            str(test),
            "--output-dir",
            str(tmp_path / "clean"),
            "--exact-only",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "train" in res.stdout and "kept 2" in res.stdout and "kept 1" in res.stdout
    res = runner.invoke(
        app,
        [
            "data",
            "clean",
            "--train",
            str(out),
            "--test",
            str(test),
            "--output-dir",
            str(tmp_path / "clean2"),
        ],
    )
    # f and g differ only in their names: near-duplicates; h is a near copy of the train set.
    assert "near_duplicate 1" in res.stdout and "contaminated_near 1" in res.stdout
    with open(test, "a", encoding="utf-8") as f:
        f.write("{not json\n")
    res = runner.invoke(
        app,
        [
            "data",
            "clean",
            "--train",
            str(out),
            "--test",
            str(test),
            "--output-dir",
            str(tmp_path / "clean3"),
        ],
    )
    assert res.exit_code == 0 and "malformed 1" in res.stdout
    assert "skipped 1 malformed line(s): line 2: invalid JSON" in res.stderr


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """A trained-method folder: a random tiny T5 + the `none` method (no download)."""
    from ttune.backbone import build_tokenizer, save_backbone, tiny_backbone
    from ttune.methods import apply_method, make_config, save_method

    d = tmp_path_factory.mktemp("ckpt")
    recs = [
        make_record(
            f"r{i}", f"def f{i}(x):\n    return x + {i}\n", f"add {i} to x", "python", "en", "test"
        )
        for i in range(6)
    ]
    tok = build_tokenizer([r["source"] + " " + r["target"] for r in recs] * 5, vocab_size=300)
    backbone = tiny_backbone(tok)
    save_backbone(backbone, tok, d / "backbone")
    save_method(apply_method(backbone, make_config("none"), tok), d / "ckpt")
    (d / "ckpt" / "train_config.json").write_text(
        json.dumps({"model": str(d / "backbone"), "seed": 3})
    )
    write_jsonl(d / "test.jsonl", recs)
    return d


def test_eval_command_and_compare(tiny_checkpoint, tmp_path):
    d = tiny_checkpoint
    out = tmp_path / "results.json"
    res = runner.invoke(
        app,
        [
            "eval",
            "--checkpoint",
            str(d / "ckpt"),
            "--task",
            "summarize",
            "--test",
            str(d / "test.jsonl"),
            "--limit",
            "4",
            "--output",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    results = json.loads(out.read_text())
    h = results["header"]
    assert (h["n_records"], h["split"], h["seeds"], h["task"]) == (4, "test", [3], "summarize")
    assert h["command"].startswith("ttune eval --checkpoint")
    assert set(results["scores"]) == {"smooth_bleu4", "sacrebleu", "chrf", "exact_match"}
    assert set(h["metric_variants"]) == set(results["scores"])
    preds = [
        json.loads(line) for line in Path(results["predictions_file"]).read_text().splitlines()
    ]
    assert [p["id"] for p in preds] == ["r0", "r1", "r2", "r3"]
    assert all(isinstance(p["prediction"], str) for p in preds)
    # The mean of the per-example headline scores is the corpus smooth BLEU.
    assert sum(p["smooth_bleu4"] for p in preds) / 4 == pytest.approx(
        results["scores"]["smooth_bleu4"]
    )
    # Same system twice: no difference at all.
    res = runner.invoke(
        app,
        [
            "data",
            "significance",
            "--a",
            results["predictions_file"],
            "--b",
            results["predictions_file"],
            "--metric",
            "chrf",
        ],
    )
    assert res.exit_code == 0, res.output
    cmp = json.loads(res.stdout)
    assert (cmp["n_records"], cmp["n"], cmp["p_value"], cmp["method"]) == (4, 0, 1.0, "none")
    res = runner.invoke(
        app,
        [
            "eval",
            "--checkpoint",
            str(tmp_path / "missing"),
            "--task",
            "summarize",
            "--test",
            str(d / "test.jsonl"),
            "--output",
            str(out),
        ],
    )
    assert res.exit_code == 1 and res.stderr.startswith("error: checkpoint folder not found")
