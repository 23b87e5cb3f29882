"""C# front end: AST kinds and spans, statement IR, and exact CFG/CDG/DDG/CALL edge sets."""

from __future__ import annotations

from ttune.cpg import extract, ir
from ttune.cpg.base import FrontEndResult
from ttune.cpg.graph import CPG

from . import flowcheck
from .flowcheck import edges


def flows(src: str) -> tuple[CPG, dict[str, set[tuple]]]:
    return flowcheck.flows(src, "csharp")


def build(src: str) -> tuple[CPG, FrontEndResult]:
    return flowcheck.front_end(src, "csharp")


# -- AST, kinds, spans, snippets ----------------------------------------------------------------
def test_bare_method_kinds_names_spans():
    src = "public virtual int Add(int a, int b)\n{\n    var o = new Box();\n    return a + b;\n}"
    cpg, res = build(src)
    assert cpg.syntax_errors == 0
    flowcheck.check_spans(cpg, src)
    method = next(n for n in cpg.nodes if n.kind == "METHOD")
    assert (method.name, method.line, method.start_byte) == ("Add", 1, 0)
    assert [(n.name, n.label) for n in cpg.nodes if n.kind == "PARAM"] == [
        ("a", "int a"),
        ("b", "int b"),
    ]
    local = next(n for n in cpg.nodes if n.kind == "LOCAL")
    assert (local.name, local.line, local.label) == ("o", 3, "var o = new Box();")
    ret = next(n for n in cpg.nodes if n.kind == "RETURN")
    assert ret.line == 4
    assert [n.kind for n in cpg.nodes if n.ts_type == "identifier"] == [
        "IDENTIFIER",
        "IDENTIFIER",
        "IDENTIFIER",
        "IDENTIFIER",
        "TYPE_REF",
        "IDENTIFIER",
        "IDENTIFIER",
    ]  # Add, a, b, o, Box (a type), a, b
    # A bare method is one method; the top level runs nothing, so it gets no flow of its own.
    assert [cpg.nodes[m.method].name for m in res.methods] == ["Add"]
    assert list(res.method_names.values()) == ["Add"]
    body = res.methods[0].body
    assert [(type(s).__name__, s.defs, s.uses) for s in body] == [
        ("Simple", ["o"], []),
        ("Return", [], ["a", "b"]),
    ]
    assert res.calls == [(next(n.id for n in cpg.nodes if n.kind == "CALL"), "Box")]


def test_one_line_codexglue_style_method():
    src = (
        "public virtual ListTasksResponse ListTasks(ListTasksRequest request)"
        "{var options = new InvokeOptions();options.RequestMarshaller = "
        "ListTasksRequestMarshaller.Instance;"
        "return Invoke<ListTasksResponse>(request, options);}"
    )
    cpg = extract(src, "csharp")
    assert cpg.syntax_errors == 0 and len(cpg.methods) == 1
    assert edges(cpg, "DDG") == {
        (
            "ListTasksRequest request",
            "return Invoke<ListTasksResponse>(request, options);",
            "request",
        ),
        (
            "var options = new InvokeOptions();",
            "options.RequestMarshaller = ListTasksRequestMarshaller.Instance",
            "options",
        ),
        (
            "var options = new InvokeOptions();",
            "return Invoke<ListTasksResponse>(request, options);",
            "options",
        ),
    }


def test_wrapped_when_unwrapped_parse_is_worse():
    # A constructor alone does not parse at the top level; wrapped in a class it does.
    src = "public Box(int size) : base(size) {\n    this.size = size;\n}"
    cpg, res = build(src)
    assert cpg.syntax_errors == 0
    assert all(n.ts_type != "class_declaration" for n in cpg.nodes)  # wrapper has no node
    flowcheck.check_spans(cpg, src)
    assert [cpg.nodes[m.method].ts_type for m in res.methods] == ["constructor_declaration"]
    assert [(s.defs, s.uses) for s in res.methods[0].body] == [(["this.size"], ["size"])]


def test_kind_mapping():
    src = """using System;
namespace N {
  [Serializable]
  public struct P { }
  class K {
    // note
    int F(int x, params string[] rest) {
      long v = 0x1F; char c = 'c'; bool t = true; object o = null; var s = $"a{x}";
      o = new object();
      v += x > 0 ? 1 : -1;
      v++;
      int[] arr = new int[3];
      arr[0] = (int)v;
      foreach (var r in rest) { continue; }
      while (t) { break; }
      do { } while (false);
      switch (x) { case 1: break; default: break; }
      try { throw new Exception(); } catch (Exception e) { } finally { }
      using (var d = Open()) { }
      lock (this) { }
      Func<int, int> f = y => { return y; };
      int Local(int z) => z;
      return this.GetHashCode() + arr.Length;
    }
    int Prop { get { return 1; } }
  }
}"""
    cpg, res = build(src)
    by = flowcheck.check_kinds(
        cpg,
        {
            "compilation_unit": "FILE",
            "using_directive": "IMPORT",
            "namespace_declaration": "IMPORT",
            "attribute_list": "ANNOTATION",
            "attribute": "ANNOTATION",
            "struct_declaration": "TYPE_DECL",
            "class_declaration": "TYPE_DECL",
            "comment": "COMMENT",
            "method_declaration": "METHOD",
            "lambda_expression": "METHOD",
            "local_function_statement": "METHOD",
            "accessor_declaration": "METHOD",
            "parameter": "PARAM",
            "implicit_parameter": "PARAM",
            "block": "BLOCK",
            "local_declaration_statement": "LOCAL",
            "integer_literal": "LITERAL",
            "character_literal": "LITERAL",
            "boolean_literal": "LITERAL",
            "null_literal": "LITERAL",
            "interpolated_string_expression": "LITERAL",
            "object_creation_expression": "CALL",
            "invocation_expression": "CALL",
            "assignment_expression": "OPERATOR",
            "conditional_expression": "OPERATOR",
            "binary_expression": "OPERATOR",
            "postfix_unary_expression": "OPERATOR",
            "prefix_unary_expression": "OPERATOR",
            "cast_expression": "OPERATOR",
            "element_access_expression": "OPERATOR",
            "member_access_expression": "FIELD_ACCESS",
            "foreach_statement": "CONTROL_STRUCTURE",
            "continue_statement": "CONTROL_STRUCTURE",
            "while_statement": "CONTROL_STRUCTURE",
            "break_statement": "CONTROL_STRUCTURE",
            "do_statement": "CONTROL_STRUCTURE",
            "switch_statement": "CONTROL_STRUCTURE",
            "try_statement": "CONTROL_STRUCTURE",
            "catch_clause": "CONTROL_STRUCTURE",
            "finally_clause": "CONTROL_STRUCTURE",
            "using_statement": "CONTROL_STRUCTURE",
            "lock_statement": "CONTROL_STRUCTURE",
            "return_statement": "RETURN",
            "throw_statement": "THROW",
            "predefined_type": "TYPE_REF",
            "implicit_type": "TYPE_REF",
            "array_type": "TYPE_REF",
            "modifier": "MODIFIER",
            "catch_declaration": "LOCAL",
        },
    )
    assert by["generic_name"] == {"TYPE_REF"}  # Func<int, int> as a declared type
    assert by["variable_declaration"] == {"UNKNOWN", "LOCAL"}  # LOCAL inside `using (...)`
    assert "string_content" not in by and "string_literal_content" not in by
    names = {cpg.nodes[m].name for m in res.method_names}
    assert names == {"F", "Local", "get_Prop"}


# -- statement IR -------------------------------------------------------------------------------
def test_ir_defs_uses():
    shared = flowcheck.SHARED_DEFS_USES
    src = (
        "class D { int F(int a, int[] arr, Obj obj) {\n"
        + "".join(s + "\n" for s, _ in shared)
        + """  if (obj is Special s) { y = s.V; }
  Call(obj.M(), Obj.Const, z => z + y, out var parsed, ref a);
  (x, y) = (y, x);
  var p = new Point { X = x };
  return x + parsed;
} }"""
    )
    cpg, res = build(src)
    body = res.methods[0].body
    assert flowcheck.ir_rows(body) == [row for _, row in shared] + [
        ("If", ["s"], ["obj"]),
        ("Simple", ["parsed", "a"], ["obj", "Obj.Const", "Obj", "a"]),
        ("Simple", ["x", "y"], ["y", "x"]),
        ("Simple", ["p"], ["x"]),  # X in the initializer is a member, not a variable
        ("Return", [], ["x", "parsed"]),
    ]
    assert [(s.defs, s.uses) for s in body[5].then] == [(["y"], ["s.V", "s"])]


def test_ir_switch_sections_try_using():
    src = """class S { IEnumerable<int> F(int k, List<string> xs) {
  switch (k) {
    case 1: case 2: A(); break; case int n when n > 9: B(n); break; default: C(); break; }
  try { A(); } catch (IOException e) when (e.HResult > 0) { } catch (Exception) { } finally { C(); }
  try { A(); } catch { }
  using (var r = Open(k)) { yield return r.Read(); }
  using var q = Open(k);
  lock (xs) { yield break; }
  foreach (var (a, b) in Pairs()) { }
  goto done;
  done: C();
} }"""
    cpg, res = build(src)
    body = res.methods[0].body
    sw = body[0]
    assert isinstance(sw, ir.Switch) and (sw.fallthrough, sw.uses) == (False, ["k"])
    # `case 1: case 2:` is one C# section (tree-sitter splits it; the front end joins it).
    assert [(c.default, c.defs, c.uses, len(c.body)) for c in sw.cases] == [
        (False, [], [], 2),
        (False, ["n"], ["n"], 2),
        (True, [], [], 2),
    ]
    tr = body[1]
    assert [(h.defs, h.uses, h.catch_all) for h in tr.handlers] == [
        (["e"], ["e.HResult", "e"], False),
        ([], [], True),
    ]
    assert tr.finalbody is not None and len(tr.finalbody) == 1
    assert [h.catch_all for h in body[2].handlers] == [True]
    using = body[3]
    assert isinstance(using, ir.With) and (using.defs, using.uses) == (["r"], ["k"])
    assert isinstance(using.body[0], ir.Simple)  # yield return continues
    assert (body[4].defs, body[4].uses) == (["q"], ["k"])
    lock = body[5]
    assert isinstance(lock, ir.With) and lock.uses == ["xs"]
    assert isinstance(lock.body[0], ir.Return)  # yield break leaves the method
    loop = body[6]
    assert isinstance(loop, ir.Loop) and (loop.kind, loop.defs) == ("foreach", ["a", "b"])
    assert isinstance(body[7], ir.Simple) and body[7].uses == []  # goto: a plain statement
    assert isinstance(body[8], ir.Simple) and cpg.nodes[body[8].node].label == "C()"


# -- exact flow edges ---------------------------------------------------------------------------
def test_if_else_if_chain():
    _, g = flows(
        "int F(int x) { int y = 0; if (x > 0) { y = x; } else if (x < -5) { y = 1; } "
        "else { y = -x; } return y; }"
    )
    assert g["CFG"] == {
        ("ENTRY F", "int y = 0;", None),
        ("int y = 0;", "if (x > 0)", None),
        ("if (x > 0)", "y = x", "true"),
        ("if (x > 0)", "if (x < -5)", "false"),
        ("if (x < -5)", "y = 1", "true"),
        ("if (x < -5)", "y = -x", "false"),
        ("y = x", "return y;", None),
        ("y = 1", "return y;", None),
        ("y = -x", "return y;", None),
        ("return y;", "EXIT F", None),
    }
    assert g["CDG"] == {
        ("if (x < -5)", "y = 1"),
        ("if (x < -5)", "y = -x"),
        ("if (x > 0)", "y = x"),
        ("if (x > 0)", "if (x < -5)"),
        ("ENTRY F", "int y = 0;"),
        ("ENTRY F", "if (x > 0)"),
        ("ENTRY F", "return y;"),
    }
    assert g["DDG"] == {
        ("y = -x", "return y;", "y"),
        ("y = 1", "return y;", "y"),
        ("y = x", "return y;", "y"),
        ("int x", "y = -x", "x"),
        ("int x", "if (x < -5)", "x"),
        ("int x", "y = x", "x"),
        ("int x", "if (x > 0)", "x"),
    }


def test_while_break_continue():
    flowcheck.check_while_break_continue("csharp", "F", "G", "H")


def test_for_foreach_do_while_and_reassignment():
    _, g = flows(
        "int F(int[] xs) { int s = 0; for (int i = 0; i < xs.Length; i++) { s += xs[i]; } "
        "foreach (var x in xs) { s -= x; } do { s--; } while (s > 100); return s; }"
    )
    head, each = "for (int i = 0; i < xs.Length; i++)", "foreach (var x in xs)"
    assert g["CFG"] == {
        ("ENTRY F", "int s = 0;", None),
        ("int s = 0;", "int i = 0", None),
        ("int i = 0", head, None),
        (head, "s += xs[i]", "true"),
        (head, each, "false"),
        ("s += xs[i]", "i++", None),
        ("i++", head, None),
        (each, "s -= x", "true"),
        (each, "s--", "false"),
        ("s -= x", each, None),
        ("s--", "do", None),
        ("do", "s--", "true"),
        ("do", "return s;", "false"),
        ("return s;", "EXIT F", None),
    }
    assert g["CDG"] == {
        ("do", "s--"),
        ("do", "do"),
        (each, "s -= x"),
        (each, each),
        (head, "s += xs[i]"),
        (head, "i++"),
        (head, head),
        ("ENTRY F", "int s = 0;"),
        ("ENTRY F", "int i = 0"),
        ("ENTRY F", head),
        ("ENTRY F", each),
        ("ENTRY F", "s--"),
        ("ENTRY F", "do"),
        ("ENTRY F", "return s;"),
    }
    # Reaching definitions to a fixed point across three loops.
    assert g["DDG"] == {
        ("s--", "return s;", "s"),
        ("s--", "s--", "s"),
        ("s -= x", "s--", "s"),
        ("s += xs[i]", "s--", "s"),
        ("int s = 0;", "s--", "s"),
        ("s--", "do", "s"),
        ("s -= x", "s -= x", "s"),
        ("s += xs[i]", "s -= x", "s"),
        ("int s = 0;", "s -= x", "s"),
        (each, "s -= x", "x"),
        ("int[] xs", each, "xs"),
        ("i++", "i++", "i"),
        ("int i = 0", "i++", "i"),
        ("s += xs[i]", "s += xs[i]", "s"),
        ("int s = 0;", "s += xs[i]", "s"),
        ("int[] xs", "s += xs[i]", "xs"),
        ("i++", "s += xs[i]", "i"),
        ("int i = 0", "s += xs[i]", "i"),
        ("i++", head, "i"),
        ("int i = 0", head, "i"),
        ("int[] xs", head, "xs"),
    }


def test_switch_sections():
    _, g = flows(
        "string F(int k) { string r = null; switch (k) { "
        'case 1: case 2: r = "low"; break; case 3: return "three"; '
        'default: r = "other"; goto end; } end: return r; }'
    )
    low, three, other = "case 1:", 'case 3: return "three";', 'default: r = "other"; goto end;'
    assert g["CFG"] == {
        ("ENTRY F", "string r = null;", None),
        ("string r = null;", "switch (k)", None),
        ("switch (k)", low, None),
        (low, 'r = "low"', "true"),
        (low, three, "false"),
        (three, 'return "three";', "true"),
        (three, other, "false"),
        (other, 'r = "other"', None),
        ('r = "low"', "break;", None),
        ("break;", "return r;", None),
        ('return "three";', "EXIT F", None),
        ('r = "other"', "goto end;", None),
        ("goto end;", "return r;", None),
        ("return r;", "EXIT F", None),
    }
    assert g["CDG"] == {
        (three, 'return "three";'),
        (three, other),
        (three, 'r = "other"'),
        (three, "goto end;"),
        (three, "return r;"),
        (low, 'r = "low"'),
        (low, "break;"),
        (low, "return r;"),
        (low, three),
        ("ENTRY F", "string r = null;"),
        ("ENTRY F", "switch (k)"),
        ("ENTRY F", low),
    }
    assert g["DDG"] == {
        ('r = "other"', "return r;", "r"),
        ('r = "low"', "return r;", "r"),
        ("int k", "switch (k)", "k"),
    }


def test_try_catch_when_bare_catch_finally():
    _, g = flows(
        "int F(string s) { int v = 0; try { v = Parse(s); } "
        "catch (FormatException e) when (e.Message != null) { Log(e); } "
        "catch { v = -1; } finally { Close(); } return v; }"
    )
    fmt = "catch (FormatException e) when (e.Message != null)"
    assert g["CFG"] == {
        ("ENTRY F", "int v = 0;", None),
        ("int v = 0;", "try", None),
        ("try", "v = Parse(s)", None),
        ("v = Parse(s)", fmt, "exception"),
        ("v = Parse(s)", "catch", "exception"),  # the bare catch catches everything else
        ("v = Parse(s)", "Close()", None),
        (fmt, "Log(e)", None),
        ("catch", "v = -1", None),
        ("Log(e)", "Close()", None),
        ("v = -1", "Close()", None),
        ("Close()", "return v;", None),
        ("return v;", "EXIT F", None),
    }
    assert g["CDG"] == {
        ("v = Parse(s)", fmt),
        ("v = Parse(s)", "Log(e)"),
        ("v = Parse(s)", "catch"),
        ("v = Parse(s)", "v = -1"),
        ("ENTRY F", "int v = 0;"),
        ("ENTRY F", "try"),
        ("ENTRY F", "v = Parse(s)"),
        ("ENTRY F", "Close()"),
        ("ENTRY F", "return v;"),
    }
    assert g["DDG"] == {
        ("v = -1", "return v;", "v"),
        ("v = Parse(s)", "return v;", "v"),
        (fmt, "Log(e)", "e"),
        ("string s", "v = Parse(s)", "s"),
    }


def test_using_and_lock_and_early_return():
    _, g = flows(
        "string F(string p) { if (p == null) return null; "
        "using (var r = Open(p)) { lock (r) { return r.ReadToEnd(); } } }"
    )
    cond, using = "if (p == null) return null;", "using (var r = Open(p))"
    assert g["CFG"] == {
        ("ENTRY F", cond, None),
        (cond, "return null;", "true"),
        (cond, using, "false"),
        ("return null;", "EXIT F", None),
        (using, "lock (r)", None),
        ("lock (r)", "return r.ReadToEnd();", None),
        ("return r.ReadToEnd();", "EXIT F", None),
    }
    assert g["CDG"] == {
        (cond, "return null;"),
        (cond, using),
        (cond, "lock (r)"),
        (cond, "return r.ReadToEnd();"),
        ("ENTRY F", cond),
    }
    assert g["DDG"] == {
        (using, "return r.ReadToEnd();", "r"),
        (using, "lock (r)", "r"),
        ("string p", using, "p"),
        ("string p", cond, "p"),
    }


def test_yield_and_infinite_for():
    _, g = flows(
        "IEnumerable<int> F(int n) { for (int i = 0; ; i++) { if (i >= n) yield break; "
        "yield return i * 2; } }"
    )
    head, cond = "for (int i = 0; ; i++)", "if (i >= n) yield break;"
    assert g["CFG"] == {
        ("ENTRY F", "int i = 0", None),
        ("int i = 0", head, None),
        (head, cond, "true"),
        (cond, "yield break;", "true"),
        (cond, "yield return i * 2;", "false"),
        ("yield break;", "EXIT F", None),
        ("yield return i * 2;", "i++", None),
        ("i++", head, None),
    }  # no "false" edge: the loop has no test


def test_this_fields_out_var_params_lambda_local_function_calls():
    src = """class Counter {
    private int count;
    public Counter(int start) { this.count = start; }
    public Counter() : this(0) { }
    public void Inc() { this.count = this.count + 1; Check(); }
    void Check() { if (this.count > 9) Reset(); }
    void Reset() { this.count = 0; }
    static Counter Make() => new Counter();
    Action Task() { return () => { var c = this.count; Inc(); }; }
    int Twice(int a) { int Sq(int b) { return b * a; } return Sq(a) + Sq(2); }
    bool TryGet(string s) { if (int.TryParse(s, out var n)) { this.count = n; } return n > 0; }
    void Fields() { this.count = 1; var t = this.count; this.count += t; }
}"""
    cpg = extract(src, "csharp")
    assert cpg.syntax_errors == 0
    assert edges(cpg, "DDG") == {
        ("int start", "this.count = start", "start"),
        ("int a", "return Sq(a) + Sq(2);", "a"),
        ("int b", "return b * a;", "b"),
        ("if (int.TryParse(s, out var n))", "return n > 0;", "n"),
        ("if (int.TryParse(s, out var n))", "this.count = n", "n"),
        ("string s", "if (int.TryParse(s, out var n))", "s"),
        ("this.count = 1", "var t = this.count;", "this.count"),
        ("this.count = 1", "this.count += t", "this.count"),
        ("var t = this.count;", "this.count += t", "t"),
    }
    assert edges(cpg, "CALL") == {
        (": this(0)", "public Counter() : this(0)"),
        (": this(0)", "public Counter(int start)"),
        ("Check()", "void Check()"),
        ("Reset()", "void Reset()"),
        ("new Counter()", "public Counter() : this(0)"),
        ("new Counter()", "public Counter(int start)"),
        ("Inc()", "public void Inc()"),
        ("Sq(a)", "int Sq(int b)"),
        ("Sq(2)", "int Sq(int b)"),
    }
    lam = [m for m, (entry, _) in cpg.methods.items() if cpg.nodes[m].name == "<lambda>"]
    assert len(lam) == 1
    entry, exit_ = cpg.methods[lam[0]]
    cfg = {(e.source, e.target) for e in cpg.edges if e.type == "CFG"}
    local_c = next(n.id for n in cpg.nodes if n.label == "var c = this.count;")
    inc = next(n.id for n in cpg.nodes if n.label == "Inc()")
    assert {(entry, local_c), (local_c, inc), (inc, exit_)} <= cfg
    # The expression-bodied method returns its expression.
    make = next(m for m in cpg.methods if cpg.nodes[m].name == "Make")
    new = next(n.id for n in cpg.nodes if n.label == "new Counter()")
    assert {(cpg.methods[make][0], new), (new, cpg.methods[make][1])} <= cfg


def test_top_level_statements_are_the_file_method():
    _, g = flows(
        "using System;\nvar total = 0;\nforeach (var a in args) { total += a.Length; }\n"
        "Console.WriteLine(total);\nint Helper(int q) { return q; }\n"
    )
    each = "foreach (var a in args)"
    assert g["CFG"] == {
        ("ENTRY <module>", "var total = 0;", None),
        ("var total = 0;", each, None),
        (each, "total += a.Length", "true"),
        (each, "Console.WriteLine(total)", "false"),
        ("total += a.Length", each, None),
        ("Console.WriteLine(total)", "int Helper(int q)", None),
        ("int Helper(int q)", "EXIT <module>", None),
        ("ENTRY Helper", "return q;", None),
        ("return q;", "EXIT Helper", None),
    }
    assert g["DDG"] == {
        ("total += a.Length", "Console.WriteLine(total)", "total"),
        ("var total = 0;", "Console.WriteLine(total)", "total"),
        ("total += a.Length", "total += a.Length", "total"),
        ("var total = 0;", "total += a.Length", "total"),
        (each, "total += a.Length", "a"),
        ("int q", "return q;", "q"),
    }


# -- real data ----------------------------------------------------------------------------------
def test_codexglue_cs_first_300_lines():
    flowcheck.check_codexglue_lines("csharp", "cs")


def test_deep_nesting_does_not_recurse():
    depth = 2000
    counts = flowcheck.edge_counts(
        "void F(int x) {" + "while (x > 0) { {" * depth + "x--;" + "} }" * depth + "}", "csharp"
    )
    assert counts["CFG"] == 2 * depth + 2 and counts["CDG"] == 2 * depth + 1
    assert counts["DDG"] == 2 * depth + 2


def test_non_ascii_method():
    src = 'public string Grüß(string ä) { var ö = ä + "☃"; return ö; }'
    _, g = flows(src)
    assert g["DDG"] == {
        ("string ä", 'var ö = ä + "☃";', "ä"),
        ('var ö = ä + "☃";', "return ö;", "ö"),
    }
