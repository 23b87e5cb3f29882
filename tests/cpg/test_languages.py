"""The language table: one record per language, read by every consumer (a new language is one
front end plus one record)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ttune.cpg import languages as table
from ttune.cpg.languages import Language, get_language, register_language, unregister_language

ROOT = Path(__file__).resolve().parents[2]

# A fake language: Python's grammar and front end under another name, extension, comment syntax
# and aliases, so that every consumer can be seen to take it from the record alone.
TOY = Language(
    name="toy",
    display_name="Toy",
    extensions=(".toy",),
    grammar="tree_sitter_python",
    front_end="ttune.cpg.python",
    line_comment=";;",
    blocks="indentation",
    codebleu="python",
    aliases=("toylang",),
)
TOY_REGISTER = (
    "from ttune.cpg.languages import Language, register_language; "
    "register_language(Language(name='toy', display_name='Toy', extensions=('.toy',), "
    "grammar='tree_sitter_python', front_end='ttune.cpg.python', line_comment=';;'))"
)


@pytest.fixture
def toy():
    register_language(TOY)
    yield TOY
    unregister_language("toy")


def test_builtin_records():
    assert table.language_names() == ("python", "java", "csharp")
    cs = get_language("C#")
    assert (cs.name, cs.display_name, cs.extensions, cs.codebleu, cs.line_comment) == (
        "csharp",
        "C#",
        (".cs",),
        "c_sharp",
        "//",
    )
    java, python = get_language("java"), get_language("python")
    assert java.wrapper == table.BRACE_WRAPPER and python.wrapper is None
    assert python.blocks == "indentation" and java.blocks == "braces"
    assert table.describe() == "python, java or csharp"
    assert table.describe(display=True) == "Python, Java or C#"
    assert table.describe_extensions() == ".cs, .java, .py, .pyi"
    with pytest.raises(
        table.UnknownLanguageError,
        match="unknown language 'cobol'; supported: python, java, csharp",
    ):
        get_language("cobol")


def test_records_are_checked_and_names_extensions_aliases_stay_unique(toy):
    with pytest.raises(ValueError, match="lower-case identifier"):
        Language(
            name="Toy",
            display_name="T",
            extensions=(".t",),
            grammar="g",
            front_end="f",
            line_comment="#",
        )
    with pytest.raises(ValueError, match="start with a dot"):
        Language(
            name="t",
            display_name="T",
            extensions=("t",),
            grammar="g",
            front_end="f",
            line_comment="#",
        )
    with pytest.raises(ValueError, match="blocks must be"):
        Language(
            name="t",
            display_name="T",
            extensions=(".t",),
            grammar="g",
            front_end="f",
            line_comment="#",
            blocks="tabs",
        )  # type: ignore[arg-type]
    register_language(TOY)  # the same record again: harmless
    with pytest.raises(ValueError, match="'toy' is already registered"):
        register_language(
            Language(
                name="toy",
                display_name="T",
                extensions=(".toy2",),
                grammar="g",
                front_end="f",
                line_comment="#",
            )
        )
    with pytest.raises(ValueError, match=r"extension \.java is already java's"):
        register_language(
            Language(
                name="other",
                display_name="O",
                extensions=(".java",),
                grammar="g",
                front_end="f",
                line_comment="#",
            )
        )
    with pytest.raises(ValueError, match="alias 'c#' is taken"):
        register_language(
            Language(
                name="other",
                display_name="O",
                extensions=(".o",),
                grammar="g",
                front_end="f",
                line_comment="#",
                aliases=("c#",),
            )
        )
    assert "other" not in table.language_names()


def test_a_registered_record_reaches_every_consumer(toy, tmp_path):
    import ttune.cpg
    import ttune.data.io
    from ttune.cpg import detect_language, extract, extract_file
    from ttune.cpg.batch import supported_files
    from ttune.data.decode import split_test_and_focal
    from ttune.data.syntax import has_error_node
    from ttune.metrics.code_bleu import _lang
    from ttune.pretrain.corpus import _code_sides
    from ttune.use import UseError, functions_of_file, render_translations, translate_file

    code = "def f(x):\n    return x\n\ndef g():\n    return f(1)\n"
    path = tmp_path / "m.toy"
    path.write_text(code)
    # cpg: extensions, front end, grammar, aliases
    assert detect_language(path) == "toy" and detect_language("M.TOY") == "toy"
    cpg = extract(code, "toylang")
    assert cpg.language == "toy"
    assert sorted(n.name for n in cpg.nodes if n.kind == "METHOD") == ["f", "g"]
    assert extract_file(path).edge_counts() == extract(code, "python").edge_counts()
    assert "toy" in ttune.cpg.SUPPORTED_LANGUAGES
    assert supported_files(tmp_path) == [path]
    # data: record languages, parsing, splitting by the record's block style
    assert ttune.data.io.LANGS == ("python", "java", "csharp", "toy", "en")
    assert not has_error_node(code, "toy")
    assert split_test_and_focal(code, "toy") == (
        "def f(x):\n    return x",
        "def g():\n    return f(1)",
    )
    # metrics, pretraining corpus
    assert _lang("toy") == "python" and _lang("TOYLANG") == "python"
    assert _code_sides("x", {"source": "a", "target": "b", "target_lang": "toy"}) == [
        ("source", "a"),
        ("target", "b"),
    ]
    # use: file types, translation targets, comment syntax
    lang, functions = functions_of_file(path)
    assert lang == "toy" and [f.name for f in functions] == ["f", "g"]
    with pytest.raises(UseError, match="targets: python, java, csharp, toy"):
        translate_file(path, "cobol")
    with pytest.raises(UseError, match=r"supported: \.cs, \.java, \.py, \.pyi, \.toy"):
        functions_of_file(tmp_path / "m.txt")
    assert (
        render_translations([{"name": "f", "line": 1, "translation": "def f(): pass"}], "toy")
        == ";; f (line 1)\ndef f(): pass\n"
    )


def test_the_cli_help_comes_from_the_table():
    """A language registered before the CLI loads shows in its help (extensions, --lang, --to)."""
    script = (
        TOY_REGISTER + "\nfrom typer.testing import CliRunner\n"
        "from ttune.cli.main import app\n"
        "import json\n"
        "r = CliRunner()\n"
        "print(json.dumps([r.invoke(app, [c, '--help'], env={'COLUMNS': '400'}).output"
        " for c in ('cpg', 'translate')]))\n"
    )
    env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb"}
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    helps = json.loads(out.stdout.splitlines()[-1])
    cpg_help, translate_help = (" ".join(h.split()) for h in helps)
    assert "A source file (.cs, .java, .py, .pyi, .toy) or a directory of them." in cpg_help
    assert "python, java, csharp or toy (default: from the file extension)" in cpg_help
    assert "Target language: python, java, csharp or toy." in translate_help
    assert "A Python, Java, C# or Toy source file, or a folder of them." in translate_help


def test_languages_from_the_entry_point_group(monkeypatch):
    class EP:
        def load(self):
            return lambda: TOY

    monkeypatch.setattr(table, "_loaded", {"entry_points": False})
    monkeypatch.setattr(
        table, "entry_points", lambda group: [EP()] if group == "ttune.languages" else []
    )
    try:
        assert table.language_of_path("a.toy") is TOY
        assert table.language_names() == ("python", "java", "csharp", "toy")
    finally:
        unregister_language("toy")


# Literals that name languages or their files: only the table may hold them.
_TABLE_FACTS = {
    ".py",
    ".pyi",
    ".java",
    ".cs",
    "c_sharp",
    "tree_sitter_python",
    "tree_sitter_java",
    "tree_sitter_c_sharp",
    "ttune.cpg.python",
    "ttune.cpg.java",
    "ttune.cpg.csharp",
}


def test_no_other_module_states_what_the_table_states():
    offenders = []
    for path in sorted((ROOT / "ttune").rglob("*.py")):
        if path.name == "languages.py" and path.parent.name == "cpg":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # Parts of f-strings are file names built from a stem (the assert builder's "foo.py").
        in_fstrings = {
            id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and node.value in _TABLE_FACTS
                and id(node) not in in_fstrings
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
            if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
                names = {e.value for e in node.elts if isinstance(e, ast.Constant)}
                if {"python", "java", "csharp"} <= names:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: a list of languages")
            if isinstance(node, ast.Dict):
                keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
                if len(keys & {"python", "java", "csharp"}) >= 2:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: a table by language")
    assert offenders == []
