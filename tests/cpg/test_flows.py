"""Exact CFG / CDG / DDG / CALL edge sets of small Python programs."""

from __future__ import annotations

from ttune.cpg import ir
from ttune.cpg.cdg import build_cdg
from ttune.cpg.cfg import build_cfg
from ttune.cpg.ddg import build_ddg

from .conftest import edges, py

IF_ELSE = """
def f(a):
    if a:
        b = 1
    else:
        b = 2
    return b
"""


def test_if_else_cfg_cdg_ddg():
    cpg = py(IF_ELSE)
    assert edges(cpg, "CFG", "f") == {
        ("ENTRY", "2:if", ""),
        ("2:if", "3:b = 1", "true"),
        ("2:if", "5:b = 2", "false"),
        ("3:b = 1", "6:return", ""),
        ("5:b = 2", "6:return", ""),
        ("6:return", "EXIT", ""),
    }
    assert edges(cpg, "CDG", "f") == {
        ("ENTRY", "2:if"),
        ("ENTRY", "6:return"),
        ("2:if", "3:b = 1"),
        ("2:if", "5:b = 2"),
    }
    assert edges(cpg, "DDG", "f") == {
        ("param a", "2:if", "a"),
        ("3:b = 1", "6:return", "b"),
        ("5:b = 2", "6:return", "b"),
    }


def test_module_level_code_is_a_method():
    cpg = py(IF_ELSE)
    assert edges(cpg, "CFG", "<module>") == {("ENTRY", "1:def f", ""), ("1:def f", "EXIT", "")}
    assert edges(cpg, "CDG", "<module>") == {("ENTRY", "1:def f")}
    assert cpg.nodes[cpg.methods[0][0]].label == "ENTRY <module>"


def test_elif_chain():
    cpg = py("""
    def f(x):
        if x > 0:
            s = 1
        elif x < 0:
            s = -1
        else:
            s = 0
        return s
    """)
    assert edges(cpg, "CFG", "f") == {
        ("ENTRY", "2:if", ""),
        ("2:if", "3:s = 1", "true"),
        ("2:if", "4:elif", "false"),
        ("4:elif", "5:s = -1", "true"),
        ("4:elif", "7:s = 0", "false"),
        ("3:s = 1", "8:return", ""),
        ("5:s = -1", "8:return", ""),
        ("7:s = 0", "8:return", ""),
        ("8:return", "EXIT", ""),
    }
    assert edges(cpg, "CDG", "f") == {
        ("ENTRY", "2:if"),
        ("ENTRY", "8:return"),
        ("2:if", "3:s = 1"),
        ("2:if", "4:elif"),
        ("4:elif", "5:s = -1"),
        ("4:elif", "7:s = 0"),
    }


WHILE = """
def f(n):
    i = 0
    while i < n:
        i += 1
        if i == 2:
            continue
        if i == 5:
            break
        print(i)
    return i
"""


def test_while_break_continue():
    cpg = py(WHILE)
    assert edges(cpg, "CFG", "f") == {
        ("ENTRY", "2:i = 0", ""),
        ("2:i = 0", "3:while", ""),
        ("3:while", "4:i += 1", "true"),
        ("3:while", "10:return", "false"),
        ("4:i += 1", "5:if", ""),
        ("5:if", "6:continue", "true"),
        ("5:if", "7:if", "false"),
        ("6:continue", "3:while", ""),
        ("7:if", "8:break", "true"),
        ("7:if", "9:print(i)", "false"),
        ("8:break", "10:return", ""),
        ("9:print(i)", "3:while", ""),
        ("10:return", "EXIT", ""),
    }
    # Standard control dependence: the header depends on the ifs whose jumps decide whether
    # it runs again; it is not self-dependent because break leaves the loop elsewhere.
    assert edges(cpg, "CDG", "f") == {
        ("ENTRY", "2:i = 0"),
        ("ENTRY", "3:while"),
        ("ENTRY", "10:return"),
        ("3:while", "4:i += 1"),
        ("3:while", "5:if"),
        ("5:if", "6:continue"),
        ("5:if", "7:if"),
        ("5:if", "3:while"),
        ("7:if", "8:break"),
        ("7:if", "9:print(i)"),
        ("7:if", "3:while"),
    }
    assert edges(cpg, "DDG", "f") == {
        ("param n", "3:while", "n"),
        ("2:i = 0", "3:while", "i"),
        ("4:i += 1", "3:while", "i"),
        ("2:i = 0", "4:i += 1", "i"),
        ("4:i += 1", "4:i += 1", "i"),
        ("4:i += 1", "5:if", "i"),
        ("4:i += 1", "7:if", "i"),
        ("4:i += 1", "9:print(i)", "i"),
        ("2:i = 0", "10:return", "i"),
        ("4:i += 1", "10:return", "i"),
    }


def test_loop_cdg_header_depends_on_itself():
    cpg = py("""
    def f(n):
        while n:
            n -= 1
        return n
    """)
    assert edges(cpg, "CDG", "f") == {
        ("ENTRY", "2:while"),
        ("ENTRY", "4:return"),
        ("2:while", "3:n -= 1"),
        ("2:while", "2:while"),
    }


def test_for_else():
    cpg = py("""
    def f(xs):
        for x in xs:
            if x:
                break
        else:
            x = None
        return x
    """)
    assert edges(cpg, "CFG", "f") == {
        ("ENTRY", "2:for", ""),
        ("2:for", "3:if", "true"),
        ("2:for", "6:x = None", "false"),
        ("3:if", "4:break", "true"),
        ("3:if", "2:for", "false"),
        ("4:break", "7:return", ""),
        ("6:x = None", "7:return", ""),
        ("7:return", "EXIT", ""),
    }
    assert edges(cpg, "DDG", "f") == {
        ("param xs", "2:for", "xs"),
        ("2:for", "3:if", "x"),
        ("2:for", "7:return", "x"),
        ("6:x = None", "7:return", "x"),
    }


def test_infinite_loop_has_no_false_edge_and_cdg_copes():
    cpg = py("""
    def f():
        while True:
            tick()
    """)
    assert edges(cpg, "CFG", "f") == {
        ("ENTRY", "2:while", ""),
        ("2:while", "3:tick()", "true"),
        ("3:tick()", "2:while", ""),
    }
    # The loop never reaches EXIT; the header is linked to it for post-dominance.
    assert edges(cpg, "CDG", "f") == {
        ("ENTRY", "2:while"),
        ("2:while", "3:tick()"),
        ("2:while", "2:while"),
    }


def test_try_except_finally():
    cpg = py("""
    def f():
        try:
            a = g()
            b = h(a)
        except ValueError:
            b = 0
        except Exception as e:
            log(e)
            raise
        finally:
            close()
        return b
    """)
    assert edges(cpg, "CFG", "f") == {
        ("ENTRY", "2:try", ""),
        ("2:try", "3:a = g()", ""),
        ("3:a = g()", "4:b = h(a)", ""),
        ("3:a = g()", "5:except", "exception"),
        ("3:a = g()", "7:except", "exception"),
        ("3:a = g()", "11:close()", "exception"),  # no catch-all: may escape, via finally
        ("4:b = h(a)", "5:except", "exception"),
        ("4:b = h(a)", "7:except", "exception"),
        ("4:b = h(a)", "11:close()", "exception"),
        ("4:b = h(a)", "11:close()", ""),  # normal end of the body
        ("5:except", "6:b = 0", ""),
        ("6:b = 0", "11:close()", ""),
        ("7:except", "8:log(e)", ""),
        ("8:log(e)", "9:raise", ""),
        ("9:raise", "11:close()", "exception"),
        ("11:close()", "12:return", ""),  # after normal completion
        ("11:close()", "EXIT", ""),  # re-raise after finally
        ("12:return", "EXIT", ""),
    }
    assert edges(cpg, "DDG", "f") == {
        ("3:a = g()", "4:b = h(a)", "a"),
        ("7:except", "8:log(e)", "e"),
        ("4:b = h(a)", "12:return", "b"),
        ("6:b = 0", "12:return", "b"),
    }


def test_try_finally_with_return_inside():
    cpg = py("""
    def f(x):
        try:
            if x:
                return 1
            y = 2
        finally:
            cleanup()
        return y
    """)
    assert edges(cpg, "CFG", "f") == {
        ("ENTRY", "2:try", ""),
        ("2:try", "3:if", ""),
        ("3:if", "4:return", "true"),
        ("3:if", "5:y = 2", "false"),
        ("3:if", "7:cleanup()", "exception"),
        ("4:return", "7:cleanup()", ""),
        ("4:return", "7:cleanup()", "exception"),
        ("5:y = 2", "7:cleanup()", ""),
        ("5:y = 2", "7:cleanup()", "exception"),
        ("7:cleanup()", "8:return", ""),
        ("7:cleanup()", "EXIT", ""),
    } | {("8:return", "EXIT", "")}


def test_break_through_finally_and_catch_all():
    cpg = py("""
    def f(xs):
        for x in xs:
            try:
                break
            except:
                pass
            finally:
                done()
        return 0
    """)
    assert edges(cpg, "CFG", "f") == {
        ("ENTRY", "2:for", ""),
        ("2:for", "3:try", "true"),
        ("2:for", "9:return", "false"),
        ("3:try", "4:break", ""),
        ("4:break", "5:except", "exception"),  # bare except catches all: nothing escapes
        ("4:break", "8:done()", ""),  # break leaves through finally
        ("5:except", "6:pass", ""),
        ("6:pass", "8:done()", ""),
        ("8:done()", "2:for", ""),  # normal completion: next iteration
        ("8:done()", "9:return", ""),  # the break route continues after the loop
        ("9:return", "EXIT", ""),
    }


def test_early_return():
    cpg = py("""
    def f(x):
        if x is None:
            return 0
        y = x * 2
        return y
    """)
    assert edges(cpg, "CFG", "f") == {
        ("ENTRY", "2:if", ""),
        ("2:if", "3:return", "true"),
        ("2:if", "4:y = x * 2", "false"),
        ("3:return", "EXIT", ""),
        ("4:y = x * 2", "5:return", ""),
        ("5:return", "EXIT", ""),
    }
    assert edges(cpg, "CDG", "f") == {
        ("ENTRY", "2:if"),
        ("2:if", "3:return"),
        ("2:if", "4:y = x * 2"),
        ("2:if", "5:return"),
    }
    assert edges(cpg, "DDG", "f") == {
        ("param x", "2:if", "x"),
        ("param x", "4:y = x * 2", "x"),
        ("4:y = x * 2", "5:return", "y"),
    }


def test_nested_functions_have_separate_cfgs():
    cpg = py("""
    def outer(a):
        def inner(b):
            return b + a
        c = inner(a)
        return c
    """)
    assert edges(cpg, "CFG", "outer") == {
        ("ENTRY", "2:def inner", ""),
        ("2:def inner", "4:c = inner(a)", ""),
        ("4:c = inner(a)", "5:return", ""),
        ("5:return", "EXIT", ""),
    }
    assert edges(cpg, "CFG", "inner") == {("ENTRY", "3:return", ""), ("3:return", "EXIT", "")}
    assert edges(cpg, "DDG", "outer") == {
        ("param a", "4:c = inner(a)", "a"),
        ("2:def inner", "4:c = inner(a)", "inner"),
        ("4:c = inner(a)", "5:return", "c"),
    }
    # ``a`` in inner has no definition inside inner: no DDG edge crosses methods.
    assert edges(cpg, "DDG", "inner") == {("param b", "3:return", "b")}
    assert edges(cpg, "CALL") == {("4:inner(a)", "2:def inner")}
    names = {cpg.nodes[m].name for m in cpg.methods if cpg.nodes[m].kind == "METHOD"}
    assert names == {"outer", "inner"}
    assert len(cpg.methods) == 3  # outer, inner and the module


def test_reassignment_in_loop_reaches_fixed_point():
    cpg = py("""
    def f(n):
        x = 0
        while x < n:
            x = x + 1
        return x
    """)
    assert edges(cpg, "DDG", "f") == {
        ("param n", "3:while", "n"),
        ("2:x = 0", "3:while", "x"),
        ("4:x = x + 1", "3:while", "x"),
        ("2:x = 0", "4:x = x + 1", "x"),
        ("4:x = x + 1", "4:x = x + 1", "x"),
        ("2:x = 0", "5:return", "x"),
        ("4:x = x + 1", "5:return", "x"),
    }


def test_augmented_assignment_uses_and_defines():
    cpg = py("""
    def f(a):
        a += 1
        a *= 2
        return a
    """)
    assert edges(cpg, "DDG", "f") == {
        ("param a", "2:a += 1", "a"),
        ("2:a += 1", "3:a *= 2", "a"),
        ("3:a *= 2", "4:return", "a"),
    }


def test_tuple_unpacking_defines_each_name():
    cpg = py("""
    def f(p):
        x, (y, *z) = p
        return x + y + len(z)
    """)
    assert edges(cpg, "DDG", "f") == {
        ("param p", "2:x, (y, *z) = p", "p"),
        ("2:x, (y, *z) = p", "3:return", "x"),
        ("2:x, (y, *z) = p", "3:return", "y"),
        ("2:x, (y, *z) = p", "3:return", "z"),
    }


def test_self_attribute_is_its_own_variable():
    cpg = py("""
    class C:
        def m(self, v):
            self.x = v
            self.y = self.x + 1
            return self.y
    """)
    assert edges(cpg, "DDG", "m") == {
        ("param self", "3:self.x = v", "self"),
        ("param v", "3:self.x = v", "v"),
        ("param self", "4:self.y = self.x + 1", "self"),
        ("3:self.x = v", "4:self.y = self.x + 1", "self.x"),
        ("param self", "5:return", "self"),
        ("4:self.y = self.x + 1", "5:return", "self.y"),
    }


def test_all_parameter_forms_define_at_entry():
    cpg = py("""
    def f(a, b=1, *args, c: int = 2, **kw):
        return a + b + c + len(args) + len(kw)
    """)
    assert edges(cpg, "DDG", "f") == {
        ("param a", "2:return", "a"),
        ("param b", "2:return", "b"),
        ("param c", "2:return", "c"),
        ("param args", "2:return", "args"),
        ("param kw", "2:return", "kw"),
    }


def test_call_edges_resolve_by_simple_name():
    cpg = py("""
    def a():
        return b() + c.b()

    def b():
        return a()

    def b():
        return 2
    """)
    assert edges(cpg, "CALL") == {
        ("2:b()", "4:def b"),
        ("2:b()", "7:def b"),  # redefinition: all candidates
        ("2:c.b()", "4:def b"),
        ("2:c.b()", "7:def b"),
        ("5:a()", "1:def a"),
    }


def test_with_statement():
    cpg = py("""
    def f(p):
        with open(p) as fh, lock:
            data = fh.read()
        return data
    """)
    assert edges(cpg, "CFG", "f") == {
        ("ENTRY", "2:with", ""),
        ("2:with", "3:data = fh.read()", ""),
        ("3:data = fh.read()", "4:return", ""),
        ("4:return", "EXIT", ""),
    }
    assert edges(cpg, "DDG", "f") == {
        ("param p", "2:with", "p"),
        ("2:with", "3:data = fh.read()", "fh"),
        ("3:data = fh.read()", "4:return", "data"),
    }


def test_match_case():
    cpg = py("""
    def f(cmd):
        match cmd:
            case ["go", d]:
                r = d
            case Stop() if cmd:
                r = None
            case _:
                r = 0
        return r
    """)
    assert edges(cpg, "CFG", "f") == {
        ("ENTRY", "2:match", ""),
        ("2:match", "3:case", ""),
        ("3:case", "4:r = d", "true"),
        ("3:case", "5:case", "false"),
        ("5:case", "6:r = None", "true"),
        ("5:case", "7:case", "false"),
        ("7:case", "8:r = 0", ""),  # the wildcard always matches
        ("4:r = d", "9:return", ""),
        ("6:r = None", "9:return", ""),
        ("8:r = 0", "9:return", ""),
        ("9:return", "EXIT", ""),
    }
    assert edges(cpg, "DDG", "f") == {
        ("param cmd", "2:match", "cmd"),
        ("3:case", "4:r = d", "d"),
        ("param cmd", "5:case", "cmd"),
        ("4:r = d", "9:return", "r"),
        ("6:r = None", "9:return", "r"),
        ("8:r = 0", "9:return", "r"),
    }


def test_break_inside_match_leaves_the_loop():
    cpg = py("""
    def f(xs):
        for x in xs:
            match x:
                case 0:
                    break
        return 1
    """)
    assert edges(cpg, "CFG", "f") == {
        ("ENTRY", "2:for", ""),
        ("2:for", "3:match", "true"),
        ("2:for", "6:return", "false"),
        ("3:match", "4:case", ""),
        ("4:case", "5:break", "true"),
        ("4:case", "2:for", "false"),
        ("5:break", "6:return", ""),
        ("6:return", "EXIT", ""),
    }


def test_dead_code_after_return_depends_on_entry():
    cpg = py("""
    def f():
        return 1
        x = 2
    """)
    assert edges(cpg, "CFG", "f") == {
        ("ENTRY", "2:return", ""),
        ("2:return", "EXIT", ""),
        ("3:x = 2", "EXIT", ""),
    }
    assert edges(cpg, "CDG", "f") == {("ENTRY", "2:return"), ("ENTRY", "3:x = 2")}


# ---- the language-independent builders on hand-made IR (Java/C#-only constructs) ----------


def _flow(body, params=None):
    m = ir.MethodIR(method=0, body=body, params=params or {})
    return build_cfg(m, 100, 101)


def test_switch_with_fallthrough_default_and_labelled_break():
    # outer: while (c) { switch (x) { case 1: a; case 2: b; break outer; default: d; } }
    body = [
        ir.Loop(
            1,
            kind="while",
            label="outer",
            body=[
                ir.Switch(
                    2,
                    fallthrough=True,
                    cases=[
                        ir.Case(3, body=[ir.Simple(4)]),
                        ir.Case(5, body=[ir.Simple(6), ir.Break(7, label="outer")]),
                        ir.Case(8, default=True, body=[ir.Simple(9)]),
                    ],
                )
            ],
        )
    ]
    flow = _flow(body)
    assert set(flow.edges) == {
        (100, 1, None),
        (1, 2, "true"),
        (1, 101, "false"),
        (2, 3, None),
        (3, 4, "true"),
        (3, 5, "false"),
        (5, 6, "true"),
        (5, 8, "false"),
        (8, 9, None),
        (4, 6, None),  # fall-through from case 1 into case 2
        (6, 7, None),
        (7, 101, None),  # break outer: leaves the loop
        (9, 1, None),  # end of switch: back to the loop header
    }


def test_do_while_with_init_update_and_continue():
    # for (i = 0; i < n; i++) { if (p) continue; s; }   then   do { t; } while (q);
    body = [
        ir.Loop(
            1,
            kind="for",
            init=[ir.Simple(2, defs=["i"])],
            update=[ir.Simple(3, defs=["i"], uses=["i"])],
            body=[ir.If(4, then=[ir.Continue(5)]), ir.Simple(6, uses=["i"])],
        ),
        ir.Loop(7, kind="do", body=[ir.Simple(8)]),
    ]
    flow = _flow(body)
    assert set(flow.edges) == {
        (100, 2, None),
        (2, 1, None),
        (1, 4, "true"),
        (1, 8, "false"),
        (4, 5, "true"),
        (4, 6, "false"),
        (5, 3, None),
        (6, 3, None),
        (3, 1, None),
        (8, 7, None),
        (7, 8, "true"),
        (7, 101, "false"),
    }
    assert set(build_ddg(flow)) == {(2, 6, "i"), (3, 6, "i"), (2, 3, "i"), (3, 3, "i")}


def test_nested_try_raise_propagates_through_finally_to_outer_handler():
    # try { try { throw } finally { f } } catch (E e) { h }
    body = [
        ir.Try(
            1,
            body=[ir.Try(2, body=[ir.Raise(3)], finalbody=[ir.Simple(4)])],
            handlers=[ir.Handler(5, body=[ir.Simple(6)])],
        )
    ]
    flow = _flow(body)
    assert set(flow.edges) == {
        (100, 1, None),
        (1, 2, None),
        (2, 3, None),
        (2, 5, "exception"),
        (2, 101, "exception"),  # the inner try statement may raise
        (3, 4, "exception"),  # throw -> inner finally
        (4, 5, None),
        (4, 101, None),  # finally -> outer handler / escapes
        (4, 5, "exception"),
        (4, 101, "exception"),  # finally's own code may raise
        (5, 6, None),
        (6, 101, None),
    }


def test_deep_ir_needs_no_recursion():
    depth = 5000
    body: list[ir.Stmt] = [ir.Simple(depth + 1, defs=["x"])]
    for i in range(depth, 0, -1):
        body = [ir.If(i, uses=["x"], then=body)]
    m = ir.MethodIR(method=0, body=body)
    flow = build_cfg(m, 10**6, 10**6 + 1)
    assert len(flow.edges) == 2 * depth + 2
    assert len(build_cdg(flow)) == depth + 1
    assert build_ddg(flow) == []
