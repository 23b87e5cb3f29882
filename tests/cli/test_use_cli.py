"""`ttune summarize|assert|translate` (issue 11, defects 2, 3, 4, 5, 10 and the folder/streaming
requirement). The model call is replaced by a recorder, so these run in seconds; tests/test_use.py
runs the real model."""

from __future__ import annotations

import json
import sys

import pytest
from typer.testing import CliRunner

import ttune.use
from ttune.cli.main import app
from ttune.use import NO_SUMMARY, NOT_A_STATEMENT, is_text, iter_summaries, summary_text

runner = CliRunner()


@pytest.fixture
def transducer(tmp_path):
    """A folder that passes for a trained method (the model call is faked)."""
    backbone = tmp_path / "backbone"
    backbone.mkdir()
    folder = tmp_path / "transducer"
    folder.mkdir()
    (folder / "method_config.json").write_text("{}")
    (folder / "train_config.json").write_text(json.dumps({"model": str(backbone)}))
    return folder


@pytest.fixture
def calls(monkeypatch):
    """Replace the model: each call records its records and the output printed before it."""
    seen: list[dict] = []

    def fake(resolved, records, task, gen, loaded=None):
        sys.stdout.flush()
        buffer = getattr(sys.stdout, "buffer", None)  # CliRunner's output so far
        printed = buffer.getvalue().decode() if hasattr(buffer, "getvalue") else None
        seen.append({"task": task, "ids": [r["id"] for r in records], "printed": printed})
        return [f"Summary {r['id']}." for r in records]

    monkeypatch.setattr(ttune.use, "_predict", fake)
    return seen


def functions(n: int) -> str:
    return "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(n))


def err_lines(r) -> list[str]:
    return [line for line in r.stderr.splitlines() if line.strip()]


def test_each_batch_is_printed_before_the_next_is_generated(tmp_path, transducer, calls):
    """Defect 3: a large file printed nothing until every function was done."""
    f = tmp_path / "many.py"
    f.write_text(functions(20))
    r = runner.invoke(
        app, ["summarize", str(f), "--transducer", str(transducer), "--batch-size", "8"]
    )
    assert r.exit_code == 0, r.output
    assert [len(c["ids"]) for c in calls] == [8, 8, 4]
    assert [c["printed"].count("\n") for c in calls] == [0, 8, 16]
    assert r.stdout.splitlines()[0] == "f0 (line 1): Summary f0:1."
    assert len(r.stdout.splitlines()) == 20


def test_library_yields_before_generating_the_rest(tmp_path, transducer, calls):
    f = tmp_path / "many.py"
    f.write_text(functions(5))
    it = iter_summaries(f, transducer=transducer, batch_size=2)
    first = next(it)
    assert first["name"] == "f0" and len(calls) == 1
    assert [r["name"] for r in it] == ["f1", "f2", "f3", "f4"] and len(calls) == 3


def test_max_bytes_exists_and_is_named(tmp_path, transducer, calls):
    """Defect 2: the error said "raise it with --max-bytes", which summarize lacked."""
    f = tmp_path / "big.py"
    f.write_text(functions(100))
    size = f.stat().st_size
    r = runner.invoke(
        app, ["summarize", str(f), "--transducer", str(transducer), "--max-bytes", "1000"]
    )
    assert r.exit_code == 1
    assert err_lines(r) == [
        f"error: {f} is {size} bytes, over the limit of 1000; raise it with --max-bytes"
    ]
    r = runner.invoke(
        app, ["summarize", str(f), "--transducer", str(transducer), "--max-bytes", str(size)]
    )
    assert r.exit_code == 0 and len(r.stdout.splitlines()) == 100, r.output
    for command in ("summarize", "assert", "translate"):
        assert "--max-bytes" in runner.invoke(app, [command, "--help"]).stdout


def test_a_folder_is_read_like_cpg_reads_one(tmp_path, transducer, calls):
    """Defect 4: `ttune summarize somedir` said "unsupported file type '(no extension)'"."""
    d = tmp_path / "src"
    (d / "sub").mkdir(parents=True)
    (d / "a.py").write_text(functions(2))
    (d / "sub" / "b.py").write_text("def g():\n    return 1\n")
    (d / "binary.py").write_bytes(b"\x00\x01def")
    (d / "notes.txt").write_text("not code")
    r = runner.invoke(app, ["summarize", str(d), "--transducer", str(transducer)])
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines() == [
        f"{d / 'a.py'}: f0 (line 1): Summary f0:1.",
        f"{d / 'a.py'}: f1 (line 4): Summary f1:4.",
        f"{d / 'sub' / 'b.py'}: g (line 1): Summary g:1.",
    ]
    [skip] = err_lines(r)
    assert skip.startswith(f"skipped {d / 'binary.py'}: ") and "binary" in skip
    r = runner.invoke(app, ["summarize", str(d), "--transducer", str(transducer), "--json"])
    rows = json.loads(r.stdout)
    assert [(row["file"], row["name"]) for row in rows] == [
        (str(d / "a.py"), "f0"),
        (str(d / "a.py"), "f1"),
        (str(d / "sub" / "b.py"), "g"),
    ]


def test_assert_and_translate_take_folders(tmp_path, transducer, calls):
    d = tmp_path / "tests"
    d.mkdir()
    (d / "test_a.py").write_text(
        "def helper(x):\n    return x\n\n"
        "def test_one():\n    r = helper(1)\n\n"
        "def test_two():\n    pass\n"
    )
    r = runner.invoke(app, ["assert", str(d), "--transducer", str(transducer)])
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines() == [
        f"{d / 'test_a.py'}: test_one (line 4): Summary test_one.  ({NOT_A_STATEMENT})",
        f"{d / 'test_a.py'}: test_two (line 7): Summary test_two.  ({NOT_A_STATEMENT})",
    ]
    r = runner.invoke(app, ["translate", str(d), "--to", "java", "--transducer", str(transducer)])
    assert r.exit_code == 0, r.output
    first = (
        f"// {d / 'test_a.py'}: helper (line 1): it does not parse as Java\nSummary helper:1.\n\n"
    )
    assert r.stdout.startswith(first)  # the fake translation is not Java
    assert [c["task"] for c in calls] == ["assert", "translate"]


def test_syntax_errors_are_named(tmp_path, transducer, calls):
    """Defect 5: a syntax error that hid functions was never mentioned."""
    f = tmp_path / "Broken.java"
    f.write_text(
        "class A {\n  void broken() {\n    if (x {\n  }\n"
        "  int fine(int y) {\n    return y * 2;\n  }\n}\n"
    )
    r = runner.invoke(app, ["summarize", str(f), "--transducer", str(transducer)])
    assert r.exit_code == 0, r.output
    [warning] = err_lines(r)
    assert warning.startswith(f"warning: {f}: ") and "syntax error" in warning and "line" in warning
    g = tmp_path / "nothing.py"
    g.write_text("def (x):\n    return x\n")
    r = runner.invoke(app, ["summarize", str(g), "--transducer", str(transducer)])
    assert r.exit_code == 1
    assert err_lines(r) == [
        f"error: {g} holds no function or method it could parse: 1 syntax error (line 1)"
    ]


def test_a_summary_that_is_not_text_is_replaced(tmp_path, transducer, monkeypatch):
    """Defect 10: `'''', '', ' '',', ...` was printed as the summary of textwrap's nested
    indent.predicate."""
    garbage = "'''', '', ' '',', '', '', ''' ''"
    monkeypatch.setattr(
        ttune.use,
        "_predict",
        lambda resolved, records, task, gen, loaded=None: [garbage, "Return the sum of x and 1."][
            : len(records)
        ],
    )
    f = tmp_path / "two.py"
    f.write_text(functions(2))
    r = runner.invoke(app, ["summarize", str(f), "--transducer", str(transducer)])
    assert r.stdout.splitlines() == [
        f"f0 (line 1): {NO_SUMMARY}",
        "f1 (line 4): Return the sum of x and 1.",
    ]


@pytest.mark.parametrize(
    "text,ok",
    [
        ("Returns the sum.", True),
        ("Return a list of the given object", True),
        ("Add x2 to y.", True),
        ("'''', '', ' '',', ...", False),
        ("", False),
        ("   ", False),
        ("()", False),
        ("a, ', '', ''', '''", False),
        ("1 2 3", False),
        ("Return the \x07JJ value", False),  # a control character
        ("Return \ufffd\ufffd the value", False),  # a broken byte sequence, decoded
    ],
)
def test_is_text(text, ok):
    assert is_text(text) is ok


def test_summary_text_is_one_line_or_the_placeholder():
    assert summary_text("Return the\n  sum\x1c of x.") == "Return the sum of x."
    assert summary_text("'', ''") == NO_SUMMARY
