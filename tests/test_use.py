"""End-user commands: `ttune summarize`, `ttune assert`, `ttune translate` (ttune.use).

Functions are found with the right qualified names and lines in Python, Java and C#; the commands
print one line per function with a tiny transducer built here (random T5, d_model 64, 2 layers);
bad input fails with one line and exit 1; no network is attempted; `--help` loads no torch.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ttune.builtin import NO_BUILTIN, ModelNotFoundError, resolve_model
from ttune.cli.main import app
from ttune.data.syntax import parses
from ttune.use import find_functions, render_translation, with_placeholder

PY = """import os


def top(a, b=1):
    f = lambda x: x + 1
    def inner(y):
        return y * 2
    return inner(a) + f(b)


class Shape:
    def area(self):
        return 0

    @staticmethod
    def unit():
        return Shape()

    class Meta:
        def tag(self):
            return "shape"
"""

JAVA = """package demo;

public class Calc {
    public Calc() { }

    @Override
    int add(int a, int b) {
        return a + b;
    }

    static class Inner {
        void run() {
            Runnable r = () -> { System.out.println(1); };
        }
    }
}
"""

CS = """using System;
namespace Demo {
    public class Calc {
        [Pure]
        public int Add(int a, int b) { return a + b; }
        int Twice(int x) => x * 2;
        void Outer() {
            int Helper(int z) { return z; }
            Func<int, int> f = q => q + 1;
        }
    }
}
"""

TEST_PY = """def test_double():
    r = double(3)
"""

FOCAL_PY = """def helper(x):
    return x


def double(x):
    return helper(x) * 2
"""

SUMMARY_LINE = re.compile(r"^(\S+) \(line (\d+)\): .*$")


def names_lines(source: str, lang: str) -> list[tuple[str, int]]:
    return [(f.name, f.line) for f in find_functions(source, lang)]


def test_python_functions_names_and_lines():
    assert names_lines(PY, "python") == [
        ("top", 4),
        ("top.inner", 6),
        ("Shape.area", 12),
        ("Shape.unit", 16),
        ("Shape.Meta.tag", 20),
    ]
    fns = find_functions(PY, "python")
    # Methods are dedented so that they parse on their own; nested functions are marked.
    assert fns[2].source == "def area(self):\n    return 0\n"
    assert [f.nested for f in fns] == [False, True, False, False, False]


def test_java_functions_names_and_lines():
    # A method's line is the line of its name, below its annotations.
    assert names_lines(JAVA, "java") == [("Calc.Calc", 4), ("Calc.add", 7), ("Calc.Inner.run", 12)]
    add = find_functions(JAVA, "java")[1]
    assert add.source == "@Override\nint add(int a, int b) {\n    return a + b;\n}\n"


def test_csharp_functions_names_and_lines():
    assert names_lines(CS, "csharp") == [
        ("Calc.Add", 5),
        ("Calc.Twice", 6),
        ("Calc.Outer", 7),
        ("Calc.Outer.Helper", 8),
    ]


# ------------------------------------------------------------------------------ fixtures
@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """CPGs go to a temporary cache, and the built-in models folder is an empty one."""
    monkeypatch.setenv("TTUNE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TTUNE_MODELS_DIR", str(tmp_path / "no-models"))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, Path]:
    """A tiny random T5 on disk and a transducer saved onto it (gate and weights perturbed, so
    the graph path is exercised)."""
    import torch

    from ttune.backbone import build_tokenizer, load_backbone, save_backbone, tiny_backbone
    from ttune.methods import apply_method, make_config, save_method

    root = tmp_path_factory.mktemp("tiny")
    tok = build_tokenizer([PY, JAVA, CS, TEST_PY, FOCAL_PY] * 4, vocab_size=400)
    bdir = save_backbone(
        tiny_backbone(tok, d_model=64, d_ff=128, num_layers=2, num_heads=4), tok, root / "backbone"
    )
    backbone, tok = load_backbone(str(bdir))
    adapted = apply_method(backbone, make_config("transducer"), tok)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for _, p in adapted.trainable_parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.05)
    tdir = save_method(adapted, root / "transducer", meta={"task": "summarize"})
    return {"backbone": bdir, "transducer": tdir, "root": root}


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


def run(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


def assert_one_line_error(result, pattern: str) -> None:
    assert result.exit_code == 1, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert re.search(pattern, lines[0]), lines[0]
    assert "Traceback" not in result.output


# ------------------------------------------------------------------------------ summarize
def test_summarize_prints_one_line_per_function(tiny, tmp_path):
    f = write(tmp_path, "shapes.py", PY)
    r = run("summarize", f, "--transducer", tiny["transducer"], "--num-beams", "1")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert len(lines) == 5
    parsed = [SUMMARY_LINE.match(line) for line in lines]
    assert all(parsed), lines
    assert [(m.group(1), int(m.group(2))) for m in parsed] == names_lines(PY, "python")


def test_summarize_json_and_function(tiny, tmp_path):
    f = write(tmp_path, "Calc.java", JAVA)
    r = run("summarize", f, "--transducer", tiny["transducer"], "--json", "--num-beams", "1")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert [(d["name"], d["line"]) for d in rows] == names_lines(JAVA, "java")
    assert all(
        isinstance(d["summary"], str) and set(d) == {"name", "line", "summary"} for d in rows
    )

    r = run(
        "summarize", f, "--transducer", tiny["transducer"], "--function", "add", "--num-beams", "1"
    )
    assert r.exit_code == 0, r.output
    assert len(r.stdout.splitlines()) == 1 and r.stdout.startswith("Calc.add (line 7): ")
    # The same function by its qualified name and line gives the same (deterministic) summary.
    again = run(
        "summarize", f, "--transducer", tiny["transducer"], "-f", "Calc.add:7", "--num-beams", "1"
    )
    assert again.stdout == r.stdout


def test_summarize_without_network(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def refuse(self, *a, **k):
        raise OSError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    f = write(tmp_path, "Calc.cs", CS)
    r = run("summarize", f, "--transducer", tiny["transducer"], "--num-beams", "1")
    assert r.exit_code == 0, r.output
    assert [SUMMARY_LINE.match(x).group(1) for x in r.stdout.splitlines()] == [
        "Calc.Add",
        "Calc.Twice",
        "Calc.Outer",
        "Calc.Outer.Helper",
    ]


def test_bad_input_one_line_errors(tiny, tmp_path):
    t = tiny["transducer"]
    r = run("summarize", write(tmp_path, "a.py", PY), "--transducer", t, "--function", "nope")
    assert_one_line_error(r, r"no function named 'nope'; available: top, top.inner, Shape.area")
    r = run("summarize", write(tmp_path, "notes.txt", "hello\n"), "--transducer", t)
    assert_one_line_error(r, r"unsupported file type '.txt'")
    r = run(
        "summarize", write(tmp_path, "blob.py", b"\x00\x01\x02def f(): pass\n"), "--transducer", t
    )
    assert_one_line_error(r, r"binary file")
    r = run(
        "summarize",
        write(tmp_path, "consts.py", "X = 1\nY = [i for i in range(3)]\n"),
        "--transducer",
        t,
    )
    assert_one_line_error(r, r"holds no function")
    r = run("summarize", tmp_path / "missing.py", "--transducer", t)
    assert_one_line_error(r, r"no such file")
    r = run("summarize", write(tmp_path, "b.py", PY), "--transducer", tmp_path)
    assert_one_line_error(r, r"not a trained method folder")


def test_no_builtin_model_message(tmp_path, monkeypatch):
    monkeypatch.setenv(
        "TTUNE_MODELS_DIR", str(tmp_path / "no-models")
    )  # whatever the package ships
    r = run("summarize", write(tmp_path, "a.py", PY))
    assert_one_line_error(r, "^error: " + re.escape(NO_BUILTIN) + "$")
    r = run("summarize", write(tmp_path, "b.py", PY), "--model", "ttune-tiny")
    assert_one_line_error(r, re.escape(NO_BUILTIN))


def test_builtin_models_folder_is_used(tiny, tmp_path, monkeypatch):
    models = tmp_path / "models"
    shutil.copytree(tiny["backbone"], models / "ttune-tiny")
    shutil.copytree(tiny["transducer"], models / "summarize-python")
    monkeypatch.setenv("TTUNE_MODELS_DIR", str(models))
    resolved = resolve_model("summarize", "python")
    assert resolved.transducer == models / "summarize-python"
    assert resolved.backbone == str(models / "ttune-tiny") and resolved.builtin
    with pytest.raises(
        ModelNotFoundError, match="no built-in model for summarize-java; built-in: summarize-python"
    ):
        resolve_model("summarize", "java")
    # --model ttune-tiny names the built-in backbone, also under a transducer of one's own.
    assert resolve_model("summarize", "python", "ttune-tiny", tiny["transducer"]).backbone == str(
        models / "ttune-tiny"
    )
    r = run("summarize", write(tmp_path, "a.py", PY), "--function", "area", "--num-beams", "1")
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("Shape.area (line 12): ") and len(r.stdout.splitlines()) == 1
    # A transducer of one's own trained with --model ttune-tiny runs on the built-in backbone.
    own = tmp_path / "own"
    shutil.copytree(tiny["transducer"], own)
    (own / "train_config.json").write_text(json.dumps({"model": "ttune-tiny"}))
    assert resolve_model("summarize", "python", None, own).backbone == str(models / "ttune-tiny")
    monkeypatch.setenv("TTUNE_MODELS_DIR", str(tmp_path / "none"))
    with pytest.raises(ModelNotFoundError, match="no built-in model is installed"):
        resolve_model("summarize", "python", None, own)


def test_moved_backbone_needs_model(tiny, tmp_path):
    moved = tmp_path / "t"
    shutil.copytree(tiny["transducer"], moved)
    doc = json.loads((moved / "method_config.json").read_text())
    assert doc["backbone"]["name_or_path"] == str(tiny["backbone"])
    resolved = resolve_model("summarize", "python", transducer=moved)
    assert resolved.backbone == str(tiny["backbone"]) and not resolved.builtin
    doc["backbone"]["name_or_path"] = str(tmp_path / "gone")
    (moved / "method_config.json").write_text(json.dumps(doc))
    with pytest.raises(ModelNotFoundError, match="not at .*gone any more; pass --model PATH"):
        resolve_model("summarize", "python", transducer=moved)
    assert resolve_model("summarize", "python", str(tiny["backbone"]), moved).backbone == str(
        tiny["backbone"]
    )


def test_summarize_help_does_not_import_torch():
    code = (
        "import sys\nfrom typer.testing import CliRunner\nfrom ttune.cli.main import app\n"
        "r = CliRunner().invoke(app, ['summarize', '--help'])\n"
        "assert r.exit_code == 0 and '--transducer' in r.output, r.output\n"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------------------------ assert, translate
def capture_records(monkeypatch) -> list:
    """Replace the model call with one that records what it was given."""
    import ttune.use

    seen: list = []

    def fake(resolved, records, task, gen, loaded=None):
        seen.append((task, records))
        return [f"out{i}" for i in range(len(records))]

    monkeypatch.setattr(ttune.use, "_predict", fake)
    return seen


def test_assert_input_has_placeholder_and_focal(tiny, tmp_path, monkeypatch):
    seen = capture_records(monkeypatch)
    test, focal = write(tmp_path, "test_m.py", TEST_PY), write(tmp_path, "m.py", FOCAL_PY)
    r = run(
        "assert",
        test,
        "--function",
        "test_double",
        "--focal",
        focal,
        "--transducer",
        tiny["transducer"],
        "--json",
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == {
        "name": "test_double",
        "line": 1,
        "focal": "double",
        "assertion": "out0",
        "statement": True,  # a name is an expression statement
    }
    [(task, [record])] = seen
    assert task == "assert" and record["source_lang"] == "python"
    assert record["assert_style"] == "pytest"  # a test function: plain assert statements
    assert record["source"] == (
        'def test_double():\n    r = double(3)\n    "<AssertPlaceHolder>"\n\n'
        "def double(x):\n    return helper(x) * 2\n"
    )
    r = run("assert", test, "--function", "test_nope", "--transducer", tiny["transducer"])
    assert_one_line_error(r, "no function named 'test_nope'; available: test_double")


def test_assert_says_when_the_output_is_not_a_statement(tiny, tmp_path, monkeypatch):
    import ttune.use

    monkeypatch.setattr(
        ttune.use,
        "_predict",
        lambda resolved, records, *a, **k: ["Return the value."] * len(records),
    )
    test = write(tmp_path, "test_m.py", TEST_PY + "\n\n" + FOCAL_PY)
    r = run("assert", test, "--transducer", tiny["transducer"])
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines() == [
        f"test_double (line 1): Return the value.  ({ttune.use.NOT_A_STATEMENT})"
    ]
    r = run("assert", test, "-f", "test_double", "--transducer", tiny["transducer"])
    assert r.stdout == "Return the value.\n" and r.stderr == f"note: {ttune.use.NOT_A_STATEMENT}\n"
    r = run("assert", test, "-f", "test_double", "--transducer", tiny["transducer"], "--json")
    assert json.loads(r.stdout)["statement"] is False and r.stderr == ""


def test_placeholder_in_java_and_one_line_python():
    [java] = find_functions("class T { void testX() { int r = f.bar(1); } }", "java")
    assert (
        with_placeholder(java, "java")
        == 'void testX() { int r = f.bar(1); "<AssertPlaceHolder>" ; }\n'
    )
    [py] = find_functions("def test_a(x: int): r = g(x)\n", "python")
    assert (
        with_placeholder(py, "python")
        == 'def test_a(x: int):\n    r = g(x)\n    "<AssertPlaceHolder>"\n'
    )


def test_assert_runs_the_model(tiny, tmp_path):
    test = write(tmp_path, "test_m.py", TEST_PY + "\n\n" + FOCAL_PY)
    r = run(
        "assert", test, "-f", "test_double", "--transducer", tiny["transducer"], "--num-beams", "1"
    )
    assert r.exit_code == 0, r.output
    assert (
        len(r.stdout.splitlines()) <= 1
    )  # the assertion alone (possibly empty from a random model)


def test_the_builtin_java_assert_model_chooses_a_candidate_in_ordinary_spacing(
    tmp_path, monkeypatch
):
    """The built-in Java assert model reranks (its decoding.json): the assertion is one of the
    forms over the test's variables, written as code rather than ATLAS's spaced tokens."""
    from ttune import api
    from ttune.data.candidates import assert_candidates
    from ttune.data.syntax import compact_tokens

    monkeypatch.delenv("TTUNE_MODELS_DIR")  # the models the package ships
    test = write(
        tmp_path,
        "StackTest.java",
        "public class StackTest {\n    @Test\n    public void testPush() {\n"
        "        Stack stack = new Stack();\n        int top = stack.peek();\n    }\n}\n",
    )
    r = api.generate_assert(test, "StackTest.testPush")
    source = (
        "public void testPush() {\n    Stack stack = new Stack();\n    int top = stack.peek();\n"
    )
    source += '    "<AssertPlaceHolder>";\n}'
    forms = {compact_tokens(c.text) for c in assert_candidates(source, "java")}
    assert "org.junit.Assert.assertNotNull(top)" in forms
    assert r["assertion"] in forms


def test_the_builtin_python_assert_model_answers_in_the_tests_framework(tmp_path, monkeypatch):
    """The built-in Python assert model reranks too: a pytest test gets a plain assert statement
    over its values, a unittest one a self.assert... call."""
    from ttune import api
    from ttune.data.syntax import parses_as_statement

    monkeypatch.delenv("TTUNE_MODELS_DIR")  # the models the package ships
    body = "        stack = Stack()\n        stack.push(7)\n        top = stack.peek()\n"
    pytest_file = write(
        tmp_path, "test_p.py", "class TestStack:\n    def test_push(self):\n" + body
    )
    unit_file = write(
        tmp_path,
        "test_u.py",
        "import unittest\n\n\nclass T(unittest.TestCase):\n    def test_push(self):\n" + body,
    )
    plain = api.generate_assert(pytest_file, "test_push")["assertion"]
    unit = api.generate_assert(unit_file, "test_push")["assertion"]
    assert plain.startswith("assert ") and parses_as_statement(plain, "python"), plain
    assert unit.startswith("self.assert") and parses_as_statement(unit, "python"), unit


def test_translate_outermost_functions(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv(
        "TTUNE_MODELS_DIR", str(tmp_path / "no-models")
    )  # whatever the package ships
    seen = capture_records(monkeypatch)
    f = write(tmp_path, "Calc.java", JAVA)
    r = run("translate", f, "--to", "csharp", "--transducer", tiny["transducer"])
    assert r.exit_code == 0, r.output
    bad = ": it does not parse as C#"  # the fake outputs are not C#
    assert r.stdout == (
        f"// Calc.Calc (line 4){bad}\nout0\n\n// Calc.add (line 7){bad}\nout1\n\n"
        f"// Calc.Inner.run (line 12){bad}\nout2\n"
    )
    [(task, records)] = seen
    assert task == "translate"
    assert {(x["source_lang"], x["target_lang"]) for x in records} == {("java", "csharp")}
    r = run(
        "translate",
        write(tmp_path, "a.py", PY),
        "--to",
        "java",
        "--transducer",
        tiny["transducer"],
        "--json",
    )
    # Python's nested function travels with its parent: 4 outermost functions.
    assert [d["name"] for d in json.loads(r.stdout)] == [
        "top",
        "Shape.area",
        "Shape.unit",
        "Shape.Meta.tag",
    ]
    assert_one_line_error(
        run("translate", f, "--to", "go", "--transducer", tiny["transducer"]),
        "cannot translate to 'go'",
    )
    assert_one_line_error(
        run("translate", f, "--to", "java", "--transducer", tiny["transducer"]), "already java"
    )
    assert_one_line_error(run("translate", f, "--to", "csharp"), re.escape(NO_BUILTIN))


def test_the_builtin_translator_says_when_it_returned_the_source(tmp_path, monkeypatch):
    """The built-in translator decodes as a copy of the source as the Java-to-C# rules rewrite
    it (its decoding.json: docs/decoding.md); results and the rendered text say when a
    translation is the source unchanged or only that rewrite."""
    from ttune import api

    monkeypatch.delenv("TTUNE_MODELS_DIR")  # the models the package ships

    f = write(tmp_path, "Calc.java", JAVA)
    copied = api.translate_file(f, "csharp")
    assert [r["name"] for r in copied] == ["Calc.Calc", "Calc.add", "Calc.Inner.run"]
    # No rule applies to the empty constructor; the others are the rules' rewrite.
    assert [(r["unchanged"], r["mechanical"]) for r in copied] == [
        (True, False),
        (False, True),
        (False, True),
    ]
    assert (
        copied[2]["translation"]
        == ("void Run() {\n            Runnable r = () => { Console.WriteLine(1); };\n        }")
        or "Console.WriteLine(1)" in copied[2]["translation"]
    )
    r = run("translate", f, "--to", "csharp")
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("// Calc.Calc (line 4): not translated, the source unchanged\n")
    assert "// Calc.add (line 7): rule-based rewrite of the source, no edit by the model\n" in (
        r.stdout
    )
    plain = api.translate_file(f, "csharp", copy_rewrite=False)
    assert all(x["unchanged"] for x in plain)  # without the rules: the copy of the source
    raw = api.translate_file(  # what the model itself writes
        f, "csharp", follow_bias=0.0, copy_rewrite=False, syntax_fallback=False, max_new_tokens=24
    )
    assert not any(x["unchanged"] or x["mechanical"] for x in raw)
    assert "unchanged" not in render_translation({**raw[0], "unchanged": False}, "csharp")
    # Each result says whether it parses as C#, and the rendered text warns when it does not.
    assert all(x["parses"] == parses(x["translation"], "csharp") for x in copied + raw)
    broken = {"name": "A.f", "line": 3, "translation": "int f( {", "parses": False}
    assert render_translation(broken, "csharp").startswith(
        "// A.f (line 3): it does not parse as C#\n"
    )
    both = render_translation({**broken, "unchanged": True}, "csharp")
    assert both.startswith(
        "// A.f (line 3): not translated, the source unchanged; it does not parse as C#\n"
    )
