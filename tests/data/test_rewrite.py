"""ttune.data.rewrite: the Java -> C# rules, one exact output per rule, and what they leave be."""

from __future__ import annotations

import pytest

from ttune.data.rewrite import java_to_csharp, rewrite_source
from ttune.data.syntax import parses

CASES = [
    # types, the virtual modifier, PascalCase names
    (
        "public boolean contains(Object o) {return indexOf(o) != -1;}",
        "public virtual bool Contains(object o) {return IndexOf(o) != -1;}",
    ),
    # @Override, final, throws, the .NET names of Object's methods
    (
        "@Override public final String toString() throws IOException {return name;}",
        "public override string ToString() {return name;}",
    ),
    (
        "public int hashCode() {return getClass().hashCode();}",
        "public virtual int GetHashCode() {return GetType().GetHashCode();}",
    ),
    # static, private and abstract methods are not virtual; a final method is not either
    (
        "private static int twice(int x) {return 2 * x;}",
        "private static int Twice(int x) {return 2 * x;}",
    ),
    ("protected abstract void run();", "protected abstract void Run();"),
    ("public final void stop() {}", "public void Stop() {}"),
    # collections, boxed type arguments, wildcards
    (
        "public List<Integer> ids(Map<String, ? extends Number> m) {return new ArrayList<>();}",
        "public virtual IList<int> Ids(IDictionary<string, Number> m) {return new List<>();}",
    ),
    # a constructor's super(...) becomes its initializer; exceptions; the C# keyword escape
    (
        "public Reader(InputStream in, int size) {super(in);if (size <= 0) "
        '{throw new IllegalArgumentException("size");}}',
        "public Reader(InputStream @in, int size) : base(@in) {if (size <= 0) "
        '{throw new ArgumentException("size");}}',
    ),
    # foreach, instanceof, .length, size(), charAt, assert, class literals, varargs, C arrays
    (
        "int count(String s, char c[], Object... xs) {int n = 0;for (Object x : xs) "
        "{if (x instanceof String && s.charAt(0) == c[0]) n += c.length + s.length() + "
        'list.size();}assert n >= 0 : "negative";return n + Foo.class.hashCode();}',
        "int Count(string s, char[] c, params object[] xs) {int n = 0;foreach (object x in xs) "
        "{if (x is string && s[0] == c[0]) n += c.Length + s.Length + "
        'list.Count;}Debug.Assert(n >= 0, "negative");return n + typeof(Foo).GetHashCode();}',
    ),
    # generic methods: type parameters after the name, bounds as constraints; lambdas
    (
        "public <T extends Comparable<T> & Serializable, U> T max(List<T> xs) throws E "
        "{return xs.stream().reduce((a, b) -> a.compareTo(b) > 0 ? a : b).get();}",
        "public virtual T Max<T, U>(IList<T> xs) where T : Comparable<T>, Serializable "
        "{return xs.Stream().Reduce((a, b) => a.CompareTo(b) > 0 ? a : b).Get();}",
    ),
    # the standard streams print through the console
    (
        'void log(int x) {System.out.println(x);System.err.print("!");}',
        'void Log(int x) {Console.WriteLine(x);Console.Error.Write("!");}',
    ),
    # an interface's default method loses the modifier
    ("default int size() {return 0;}", "int Size() {return 0;}"),
    # synchronized block -> lock; a final field -> readonly
    (
        "void put(K k) {synchronized (lock) {map.put(k, 1);}}",
        "void Put(K k) {lock (@lock) {map.Put(k, 1);}}",
    ),
]


@pytest.mark.parametrize(("java", "csharp"), CASES)
def test_each_rule_gives_its_csharp(java, csharp):
    assert java_to_csharp(java) == csharp


def test_the_rewrites_parse_as_csharp_where_the_java_did_not():
    for java, _ in CASES:
        assert parses(java_to_csharp(java), "csharp"), java
    # Before the rules, most of these are not C#: throws, @Override, final, foreach, instanceof.
    assert sum(not parses(java, "csharp") for java, _ in CASES) >= 5


def test_untouched_bytes_are_kept():
    # Comments, strings, spacing and unknown library calls stay as they were.
    java = 'void f() {\n    // keep this: String.valueOf\n    log("boolean String");   x.y = 1;\n}'
    assert java_to_csharp(java) == (
        'void F() {\n    // keep this: String.valueOf\n    Log("boolean String");   x.y = 1;\n}'
    )


def test_a_field_declaration_loses_final_for_readonly():
    java = "class A { private final int n = 1; final String s; }"
    assert java_to_csharp(java) == "class A { private readonly int n = 1; readonly string s; }"


def test_rewrite_source_knows_only_its_pairs():
    java = "public boolean f() {return true;}"
    assert rewrite_source(java, "java", "c#") == java_to_csharp(java)  # aliases are accepted
    assert rewrite_source(java, "java", "python") is None
    assert rewrite_source(java, "klingon", "csharp") is None
    assert rewrite_source(java, None, "csharp") is None
