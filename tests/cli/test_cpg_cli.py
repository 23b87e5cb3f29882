"""`ttune cpg` end to end through the real console entry point (typer's CliRunner)."""

import json
import re

import pytest
from typer.testing import CliRunner

from ttune.cli.main import app

runner = CliRunner()
EXAMPLES = __import__("pathlib").Path(__file__).resolve().parents[2] / "examples"


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.mark.parametrize(
    "name,methods",
    [
        ("inventory.py", ["add", "remove", "total_value", "cheapest", "read_prices", "<module>"]),
        ("Stack.java", ["Stack", "push", "pop", "sum"]),
        ("Counter.cs", ["Add", "MostCommon"]),
    ],
)
def test_summary_lists_every_method(name, methods):
    r = run("cpg", EXAMPLES / name)
    assert r.exit_code == 0, r.output
    for m in methods:
        assert re.search(rf"^{re.escape(m)}\s+\d+\s+\d+", r.stdout, re.M), (m, r.stdout)


def test_json_output_follows_schema_and_edge_filter(tmp_path):
    out = tmp_path / "g.json"
    r = run("cpg", EXAMPLES / "Stack.java", "--format", "json", "--edges", "CFG,DDG", "-o", out)
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    assert set(doc) >= {"version", "language", "nodes", "edges"}
    assert doc["language"] == "java"
    assert {e["type"] for e in doc["edges"]} == {"CFG", "DDG"}
    assert all("variable" in e for e in doc["edges"] if e["type"] == "DDG")


def test_function_filter(tmp_path):
    r = run("cpg", EXAMPLES / "inventory.py", "--function", "cheapest")
    assert r.exit_code == 0, r.output
    assert re.search(r"^cheapest\s", r.stdout, re.M)
    assert not re.search(r"^read_prices\s", r.stdout, re.M)
    r = run("cpg", EXAMPLES / "inventory.py", "--function", "nope")
    assert r.exit_code == 1 and "nope" in r.stderr and "cheapest" in r.stderr


def test_bad_inputs_give_one_line_and_exit_1(tmp_path):
    binary = tmp_path / "blob.py"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    latin = tmp_path / "latin.py"
    latin.write_bytes("x = 'caf\xe9'\n".encode("latin-1"))
    big = tmp_path / "big.py"
    big.write_text("x = 1\n" * 1000)
    cases = [
        (["cpg", tmp_path / "missing.py"], "no such file"),
        (["cpg", binary], "binary"),
        (["cpg", latin], "UTF-8"),
        (["cpg", tmp_path / "notes.txt"], ".py"),
        (["cpg", big, "--max-bytes", "100"], "max-bytes"),
        (["cpg", EXAMPLES / "inventory.py", "--format", "yaml"], "format"),
        (["cpg", EXAMPLES / "inventory.py", "--edges", "XYZ"], "XYZ"),
    ]
    (tmp_path / "notes.txt").write_text("hello")
    for args, needle in cases:
        r = run(*args)
        assert r.exit_code == 1, (args, r.output)
        assert "Traceback" not in r.output
        err = r.stderr.strip().splitlines()
        assert len(err) == 1 and needle in err[0], (args, r.stderr)


def test_syntax_error_warns_and_still_prints_graph(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("def f(x):\n    if x > :\n        return 1\n    return 2\n")
    r = run("cpg", broken)
    assert r.exit_code == 0
    assert "syntax error" in r.stderr
    assert re.search(r"^f\s", r.stdout, re.M)


def test_empty_file(tmp_path):
    empty = tmp_path / "empty.py"
    empty.write_text("")
    r = run("cpg", empty, "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert [n["kind"] for n in doc["nodes"]] == ["FILE"] or all(
        n["kind"] in ("FILE", "METHOD_ENTRY", "METHOD_EXIT") for n in doc["nodes"]
    )


def test_directory_reports_totals_and_skips_bad_files(tmp_path):
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    (src / "a.py").write_text("def f(x):\n    return x + 1\n")
    (src / "pkg" / "B.java").write_text("class B { int g(int y) { return y * 2; } }\n")
    (src / "pkg" / "c.cs").write_text("class C { int H(int z) { return z; } }\n")
    (src / "pkg" / "bad.py").write_bytes(b"\x00binary")
    (src / "broken.py").write_text("def f(:\n")
    (src / "README.txt").write_text("not code")
    r = run("cpg", src, "--workers", "1")
    assert r.exit_code == 0, r.output
    assert "files: 4" in r.stdout and "files skipped: 1" in r.stdout
    assert "files with syntax errors: 1" in r.stdout
    assert "bad.py" in r.stderr
    out = tmp_path / "out"
    r = run("cpg", src, "--format", "json", "-o", out, "--workers", "1")
    assert r.exit_code == 0, r.output
    assert json.loads((out / "pkg" / "B.java.cpg.json").read_text())["language"] == "java"
