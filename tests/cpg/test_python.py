"""The Python front end and the extract() entry points: kinds, names, spans, variables,
input checks, syntax errors and deep nesting."""

from __future__ import annotations

import pytest

from ttune.cpg import (
    EDGE_TYPES,
    EXTRACTOR_VERSION,
    NODE_KINDS,
    CPGConfig,
    CPGError,
    detect_language,
    extract,
    extract_file,
    method_subgraph,
)

from .conftest import check_invariants, edges, py


def kinds_by_label(cpg, kind):
    return [n.label for n in cpg.nodes if n.kind == kind]


def test_node_kinds_and_names():
    src = (
        "import os.path as op\n"
        "@dec\n"
        "class A(Base):\n"
        "    def m(self, x: int = 1, *a, **k) -> str:\n"
        "        # note\n"
        "        return self.f(x) if not x else None\n"
    )
    cpg = extract(src, "python")
    by_kind = {}
    for n in cpg.nodes:
        by_kind.setdefault(n.kind, []).append(n.label)
    assert by_kind["FILE"] == [""]
    assert by_kind["IMPORT"] == ["import os.path as op"]
    assert by_kind["ANNOTATION"] == ["@dec"]
    assert by_kind["COMMENT"] == ["# note"]
    assert by_kind["RETURN"] == ["return self.f(x) if not x else None"]
    assert by_kind["CALL"] == ["self.f(x)"]
    assert by_kind["FIELD_ACCESS"] == ["self.f"]
    assert by_kind["TYPE_REF"] == ["int", "str"]
    assert by_kind["LITERAL"] == ["1", "None"]
    assert sorted(by_kind["OPERATOR"]) == ["not x", "self.f(x) if not x else None"]
    class_body, method_body = by_kind["BLOCK"]
    assert method_body == "return self.f(x) if not x else None"
    # labels: whitespace collapsed, at most 80 characters
    assert class_body == (
        "def m(self, x: int = 1, *a, **k) -> str: # note return self.f(x) if not x els..."
    )
    assert len(class_body) == 80
    decl = [(n.kind, n.name) for n in cpg.nodes if n.kind in ("TYPE_DECL", "METHOD", "PARAM")]
    assert decl == [
        ("TYPE_DECL", "A"),
        ("METHOD", "m"),
        ("PARAM", "self"),
        ("PARAM", "x"),
        ("PARAM", "a"),
        ("PARAM", "k"),
    ]
    assert set(n.kind for n in cpg.nodes) <= set(NODE_KINDS)
    assert cpg.syntax_errors == 0
    check_invariants(cpg, len(src.encode()))


def test_control_structure_kinds():
    cpg = py("""
    for i in x:
        while i:
            break
        continue
    try:
        pass
    except E:
        pass
    finally:
        pass
    with a:
        pass
    if a:
        pass
    elif b:
        pass
    else:
        pass
    raise X
    """)
    words = [n.label.split()[0].rstrip(":") for n in cpg.nodes if n.kind == "CONTROL_STRUCTURE"]
    assert words == [
        "for",
        "while",
        "break",
        "continue",
        "try",
        "except",
        "finally",
        "with",
        "if",
        "elif",
        "else",
    ]
    assert kinds_by_label(cpg, "THROW") == ["raise X"]


def test_spans_and_lines_are_byte_offsets_in_the_original():
    src = "s = 'héllo'\nt = s\n"
    data = src.encode()
    cpg = extract(src, "python")
    t = next(n for n in cpg.nodes if n.kind == "IDENTIFIER" and n.label == "t")
    assert (t.start_byte, t.end_byte, t.line) == (data.index(b"t ="), data.index(b"t =") + 1, 2)
    lit = next(n for n in cpg.nodes if n.kind == "LITERAL" and n.label == "'héllo'")
    assert data[lit.start_byte : lit.end_byte].decode() == "'héllo'"
    assert cpg.nodes[0].end_byte == len(data) and cpg.source_bytes == len(data)
    # str and bytes input give the same graph
    same = extract(data, "python")
    assert [(n.kind, n.start_byte, n.end_byte) for n in same.nodes] == [
        (n.kind, n.start_byte, n.end_byte) for n in cpg.nodes
    ]


def test_uses_skip_attribute_names_keywords_and_comprehension_variables():
    cpg = py("""
    def f(obj, items, k):
        y = obj.size
        z = g(key=k, obj=y)
        w = [k for k in items if k]
        return z, w
    """)
    assert edges(cpg, "DDG", "f") == {
        ("param obj", "2:y = obj.size", "obj"),
        ("param k", "3:z = g(key=k, obj=y)", "k"),
        ("2:y = obj.size", "3:z = g(key=k, obj=y)", "y"),
        ("param items", "4:w = [k for k in items if k]", "items"),
        ("3:z = g(key=k, obj=y)", "5:return", "z"),
        ("4:w = [k for k in items if k]", "5:return", "w"),
    }


def test_walrus_imports_global_and_except_as():
    cpg = py("""
    def f(data):
        global G
        import os, a.b as c
        from m import p as q, r
        if (n := len(data)) > 0:
            G = os.sep + c + q + r
        return n
    """)
    ddg = edges(cpg, "DDG", "f")
    stmt = "6:G = os.sep + c + q + r"
    assert ddg == {
        ("param data", "5:if", "data"),
        ("3:import os, a.b as c", stmt, "os"),
        ("3:import os, a.b as c", stmt, "c"),
        ("4:from m import p as q, r", stmt, "q"),
        ("4:from m import p as q, r", stmt, "r"),
        ("5:if", "7:return", "n"),
    }


def test_async_decorated_and_lambda_methods():
    cpg = py("""
    @wrap(level=2)
    async def fetch(u):
        async with s.get(u) as r:
            return await r.read()
    h = lambda v, w=3: v * w
    """)
    methods = sorted((cpg.nodes[m].kind, cpg.nodes[m].name) for m in cpg.methods)
    assert methods == [("FILE", None), ("METHOD", "<lambda>"), ("METHOD", "fetch")]
    assert edges(cpg, "CFG", "<lambda>") == {("ENTRY", "5:v * w", ""), ("5:v * w", "EXIT", "")}
    assert edges(cpg, "DDG", "<lambda>") == {
        ("param v", "5:v * w", "v"),
        ("param w", "5:v * w", "w"),
    }
    assert edges(cpg, "CFG", "fetch") == {
        ("ENTRY", "3:async", ""),
        ("3:async", "4:return", ""),
        ("4:return", "EXIT", ""),
    }
    assert edges(cpg, "CFG", "<module>") == {
        ("ENTRY", "2:def fetch", ""),
        ("2:def fetch", "5:h = lambda v, w=3: v * w", ""),
        ("5:h = lambda v, w=3: v * w", "EXIT", ""),
    }


def test_class_body_calls_get_call_edges():
    cpg = py("""
    def make():
        return 1
    class K:
        x = make()
    """)
    assert edges(cpg, "CALL") == {("4:make()", "1:def make")}


def test_syntax_error_gives_error_nodes_not_an_exception():
    src = "def f(:\n    x = = 1\n    return x\n"
    cpg = extract(src, "python")
    assert cpg.syntax_errors >= 1
    assert "ERROR" in {n.kind for n in cpg.nodes}
    check_invariants(cpg, len(src))


def test_empty_source_is_just_the_file_node():
    for src in ("", b""):
        cpg = extract(src, "python")
        assert [(n.kind, n.start_byte, n.end_byte) for n in cpg.nodes] == [("FILE", 0, 0)]
        assert cpg.edges == [] and cpg.methods == {} and cpg.syntax_errors == 0


def test_blank_source_has_an_empty_module_flow():
    cpg = extract("\n\n# only a comment\n", "python")
    assert edges(cpg, "CFG") == {("ENTRY", "EXIT", "")}


def test_deeply_nested_expression_does_not_recurse():
    src = "x = " + "(" * 3000 + "1" + ")" * 3000 + "\n"
    cpg = extract(src, "python")
    assert sum(n.ts_type == "parenthesized_expression" for n in cpg.nodes) == 3000
    src = "y = " + "1 + " * 3000 + "1\n"
    cpg = extract(src, "python")
    assert sum(n.kind == "OPERATOR" for n in cpg.nodes) == 3001  # 3000 '+' and the '='
    check_invariants(cpg, len(src))


def test_deeply_nested_ifs():
    # 400 levels parse cleanly: exact edge counts.
    depth = 400
    src = "".join(" " * i + f"if x{i}:\n" for i in range(depth)) + " " * depth + "pass\n"
    cpg = extract(src, "python")
    assert cpg.syntax_errors == 0
    cfg = cpg.edges_of("CFG")
    assert len(cfg) == 2 * depth + 2
    assert sum(e.label == "true" for e in cfg) == depth
    assert len(cpg.edges_of("CDG")) == depth + 1
    # 1000 levels: tree-sitter's own stack gives up (an ERROR tree); still no exception.
    depth = 1000
    src = "".join(" " * i + f"if x{i}:\n" for i in range(depth)) + " " * depth + "pass\n"
    cpg = extract(src, "python")
    assert cpg.syntax_errors >= 1
    check_invariants(cpg, len(src))


def test_long_elif_chain():
    n = 2000
    src = "if a:\n pass\n" + "".join(f"elif x{i}:\n pass\n" for i in range(n)) + "else:\n y = 1\n"
    cpg = extract(src, "python")
    cfg = cpg.edges_of("CFG")
    assert sum(e.label == "false" for e in cfg) == n + 1
    assert len(cpg.edges_of("CDG")) == 2 * (n + 1) + 1


def test_binary_input_refused():
    for data in (b"x = 1\x00\x01", b"\xff\xfe\x00a", "x = '\x00'"):
        with pytest.raises(CPGError, match="not UTF-8 text"):
            extract(data, "python")
    with pytest.raises(CPGError, match=r"not UTF-8 text \(invalid byte at offset 4\)"):
        extract(b"x = \xff\n", "python")
    with pytest.raises(CPGError, match="not UTF-8"):
        extract("x = '\udcff'", "python")


def test_oversize_input_refused_with_the_limit_named():
    config = CPGConfig(max_bytes=10)
    with pytest.raises(CPGError) as info:
        extract("x = 1234567890\n", "python", config)
    message = str(info.value)
    assert "max_bytes=10" in message and "--max-bytes" in message and "15 bytes" in message
    assert "\n" not in message


def test_node_limit():
    with pytest.raises(CPGError, match="max_extract_nodes=5"):
        extract("x = [1, 2, 3, 4, 5]\n", "python", CPGConfig(max_extract_nodes=5))


def test_unknown_language_lists_supported():
    with pytest.raises(CPGError, match="unknown language 'cobol'; supported: python, java, csharp"):
        extract("x", "cobol")


def test_detect_language_and_extract_file(tmp_path):
    assert detect_language("a/b.py") == "python"
    assert detect_language("B.java") == "java"
    assert detect_language("c.CS") == "csharp"
    with pytest.raises(CPGError, match=r"\.cs, \.java, \.py"):
        detect_language("notes.txt")
    p = tmp_path / "m.py"
    p.write_text("def f():\n    return 1\n")
    cpg = extract_file(p)
    assert cpg.language == "python" and len(cpg.methods) == 2
    assert extract_file(str(p), lang="python").edge_counts() == cpg.edge_counts()
    missing = tmp_path / "nope.py"
    with pytest.raises(CPGError, match=f"no such file: {missing}"):
        extract_file(missing)
    with pytest.raises(CPGError, match="max_bytes=3"):
        extract_file(p, config=CPGConfig(max_bytes=3))


def test_method_subgraph():
    src = "def f(a):\n    return g(a)\n\ndef g(b):\n    return b\n"
    cpg = extract(src, "python")
    sub = method_subgraph(cpg, "g")
    assert [n.id for n in sub.nodes] == list(range(len(sub.nodes)))
    assert sub.nodes[0].kind == "METHOD" and sub.nodes[0].name == "g"
    assert [n.kind for n in sub.nodes].count("METHOD_ENTRY") == 1
    assert edges(sub, "CFG") == {("ENTRY", "5:return", ""), ("5:return", "EXIT", "")}
    assert edges(sub, "DDG") == {("param b", "5:return", "b")}
    assert list(sub.methods) == [0]
    assert not sub.edges_of("CALL")  # the call site lives in f
    with pytest.raises(CPGError, match="no function named 'h'; available: f, g"):
        method_subgraph(cpg, "h")


def test_public_constants():
    assert EDGE_TYPES == ("AST", "CFG", "CDG", "DDG", "CALL")
    assert isinstance(EXTRACTOR_VERSION, str) and EXTRACTOR_VERSION


def test_string_internals_get_no_node_but_interpolations_do():
    cpg = extract('s = f"a{x!r}b\\n" "c"\n', "python")
    assert [n.label for n in cpg.nodes if n.kind == "LITERAL"] == [
        'f"a{x!r}b\\n" "c"',
        'f"a{x!r}b\\n"',
        '"c"',
    ]
    assert {n.ts_type for n in cpg.nodes} >= {"interpolation", "concatenated_string"}
    assert not {"string_start", "string_content", "string_end", "escape_sequence"} & {
        n.ts_type for n in cpg.nodes
    }
    assert [n.label for n in cpg.nodes if n.kind == "IDENTIFIER"] == ["s", "x"]
