"""Builders: make task records from real code on the machine (no downloads).

``build_summarize(source, lang)``: every function / method that has a docstring (Python) or a
Javadoc comment (Java) becomes ``{source: the function without its docstring, target: the first
sentence of the docstring}``. ``source`` is a folder of ``.py`` / ``.java`` files or a ``.zip`` of
them (Debian's ``/usr/lib/jvm/openjdk-17/lib/src.zip``).

``build_assert(source)``: every Python test function (name ``test*``) with exactly one assertion
(an ``assert`` statement or a ``self.assert*(...)`` call) becomes ``{source: the test function with
that statement replaced by the placeholder statement "<AssertPlaceHolder>", then, after a blank
line, the function under test where it can be resolved; target: the assertion}``. The function
under test (focal function) is the last function called in the test before the assertion that is
defined in the module under test (``test_foo.py`` -> ``foo.py`` or ``foo/__init__.py`` beside the
``test`` or ``tests`` folder); records without one are kept with the test function alone. Each
record's ``assert_style`` names its test's framework (``unittest`` or ``pytest``:
:func:`ttune.data.candidates.python_test_style`).

``build_assert(source, lang="java")``: JUnit test methods (annotated ``@Test``, or a ``test*``
method without parameters) with exactly one assertion, written in ATLAS's layout (Watson et al.
2020), which the Java assert model and its candidates read: space-separated tokens, the test method
as ``name ( ) { ... "<AssertPlaceHolder>" ; }``, a newline, the focal method as
``name ( ParamType , ... ) { ... }``; target: the assertion call with its class written
``org . junit . Assert .``. See :func:`java_assert_from_file`.

Functions are found with :func:`ttune.cpg.ts.parse` (tree-sitter, the project's only entry point).
Records are taken deterministically: files in the order of sha256(relative path), at most
``per_file`` records per file (the first in the file), until ``limit``. Each record's split is
fixed by its id: ``sha256(id) mod 10`` = 0 -> test, 1 -> dev, else train.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import itertools
import re
import textwrap
import warnings
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from ttune.cpg.base import iter_nodes
from ttune.cpg.languages import find_language, language_names
from ttune.cpg.ts import SNode, parse
from ttune.data.candidates import python_test_style
from ttune.data.decode import split_test_and_focal
from ttune.data.io import PLACEHOLDER, DataError, make_record, write_jsonl
from ttune.data.syntax import parse_code

SUMMARY_LANGUAGES = ("python", "java")
"""Languages whose doc comments the summarize builder reads (Python docstrings, Javadoc)."""


def hash_split(record_id: str) -> str:
    h = int.from_bytes(hashlib.sha256(record_id.encode("utf-8")).digest()[:8], "big") % 10
    return "test" if h == 0 else "dev" if h == 1 else "train"


# ---------------------------------------------------------------------------- files
def iter_source_files(source: str | Path, lang: str) -> Iterator[tuple[str, bytes]]:
    """(relative path, bytes) of the ``lang`` files (the usual extension of the language table's
    record) under a folder or inside a zip, in the order of sha256(relative path) (deterministic
    and spread over the whole tree)."""
    found = find_language(lang)
    if found is None:
        raise DataError(f"unsupported language {lang!r}; supported: {', '.join(language_names())}")
    ext = found.extensions[0]
    path = Path(source)
    if path.is_file() and path.suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.endswith(ext)]
            for name in sorted(names, key=_path_hash):
                yield name, zf.read(name)
        return
    if not path.is_dir():
        raise DataError(f"source must be a folder or a .zip: {path}")
    # Installed third-party packages live under the stdlib folder too: never mix their code (and
    # licences) into a stdlib sample unless the source folder itself is inside one.
    skip = {"__pycache__"} | ({"site-packages", "dist-packages"} - set(path.resolve().parts))
    files = [
        p
        for p in path.rglob(f"*{ext}")
        if p.is_file() and not skip.intersection(p.relative_to(path).parts)
    ]
    rels = {p.relative_to(path).as_posix(): p for p in files}
    for rel in sorted(rels, key=_path_hash):
        try:
            yield rel, rels[rel].read_bytes()
        except OSError:
            continue


def _path_hash(rel: str) -> bytes:
    return hashlib.sha256(rel.encode("utf-8")).digest()


def _has_error(root: SNode) -> bool:
    return any(n.is_error or n.is_missing for n in iter_nodes(root))


def _text(src: bytes, n: SNode) -> str:
    return src[n.start_byte : n.end_byte].decode("utf-8", errors="replace")


def _line_no(src: bytes, n: SNode) -> int:
    """1-based line of ``n`` (counted from the bytes: SNode rows are not filled in)."""
    return src.count(b"\n", 0, n.start_byte) + 1


def _line_start(src: bytes, byte: int) -> int:
    return src.rfind(b"\n", 0, byte) + 1


def _dedented_def(
    src: bytes, node: SNode, cut: tuple[int, int] | None = None, replacement: bytes = b""
) -> str:
    """The text of ``node`` from the start of its first line, with ``src[cut]`` replaced,
    dedented."""
    start = _line_start(src, node.start_byte)
    end = node.end_byte
    if cut is None:
        chunk = src[start:end]
    else:
        chunk = src[start : cut[0]] + replacement + src[cut[1] : end]
    return textwrap.dedent(chunk.decode("utf-8", errors="replace")).rstrip() + "\n"


# ---------------------------------------------------------------------------- summaries
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'`])|(?<=[.!?])$")


def first_sentence(text: str) -> str:
    """First sentence of the first paragraph, on one line."""
    para = text.strip().split("\n\n", 1)[0]
    para = " ".join(para.split())
    m = _SENTENCE_END.search(para)
    return para[: m.start()].strip() if m else para


def _python_docstring(src: bytes, fn: SNode) -> tuple[str, tuple[int, int]] | None:
    body = fn.child("body")
    if body is None:
        return None
    stmts = body.named_children
    stmts = [s for s in stmts if s.type != "comment"]
    if len(stmts) < 2:  # a docstring alone: nothing left to summarise
        return None
    first = stmts[0]
    if first.type != "expression_statement" or len(first.named_children) != 1:
        return None
    string = first.named_children[0]
    if string.type not in ("string", "concatenated_string"):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", (DeprecationWarning, SyntaxWarning))
            value = ast.literal_eval(_text(src, string))
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    if not isinstance(value, str):
        return None
    # Remove the docstring's whole lines (from its line start up to the next statement's line).
    cut_start = _line_start(src, first.start_byte)
    following = [c for c in body.named_children if c.start_byte >= first.end_byte]
    cut_end = _line_start(src, following[0].start_byte)
    if cut_end <= cut_start:  # something shares the docstring's line: cut to the line's end
        cut_end = src.find(b"\n", first.end_byte) + 1 or first.end_byte
    return inspect.cleandoc(value), (cut_start, cut_end)


_JAVADOC_TAG = re.compile(r"\{@(?:code|link|linkplain|literal|value)\s+([^}]*)\}")


def _tag_word(m: re.Match) -> str:
    """``{@link Foo#bar(int) label}`` -> ``bar(int)``; ``{@link Foo#}`` -> ``Foo``; ``{@code}`` ->
    ""."""
    member = m.group(1).split("#")[-1].split()
    return member[0] if member else " ".join(m.group(1).replace("#", " ").split()[:1])


def javadoc_text(comment: str) -> str:
    """The description of a Javadoc comment: markers, block tags and HTML removed."""
    body = comment.strip()
    body = body[3:] if body.startswith("/**") else body
    body = body[:-2] if body.endswith("*/") else body
    lines = []
    for line in body.split("\n"):
        line = re.sub(r"^\s*\*\s?", "", line)
        if line.lstrip().startswith("@"):
            break
        lines.append(line)
    text = "\n".join(lines)
    text = _JAVADOC_TAG.sub(_tag_word, text)
    text = re.sub(r"<[^>]+>", "", text)
    text = (
        text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").replace("&nbsp;", " ")
    )
    return text.strip()


def _java_methods(root: SNode) -> Iterator[tuple[SNode, SNode | None]]:
    """(method, the comment just before it) for methods/constructors that have a body."""
    for n in iter_nodes(root):
        if n.type not in ("class_body", "enum_body", "interface_body", "enum_body_declarations"):
            continue
        prev = None
        for c in n.children:
            if (
                c.type in ("method_declaration", "constructor_declaration")
                and c.child("body") is not None
            ):
                yield c, prev if prev is not None and prev.type == "block_comment" else None
            if c.named:
                prev = c


def _good_summary(target: str) -> bool:
    """A usable summary: 3-60 words, starts with a letter, no doctest or inherited text."""
    return (
        3 <= len(target.split()) <= 60
        and target[:1].isalpha()
        and ">>>" not in target
        and "inheritDoc" not in target
    )


def summarize_from_file(rel: str, src: bytes, lang: str) -> Iterator[dict]:
    root = parse(src, lang)
    if lang == "python":
        for fn in iter_nodes(root):
            if fn.type != "function_definition":
                continue
            doc = _python_docstring(src, fn)
            if doc is None:
                continue
            target = first_sentence(doc[0])
            if not _good_summary(target):
                continue
            code = _dedented_def(src, fn, doc[1])
            if _has_error(parse(code.encode("utf-8"), "python")):
                continue
            name = _text(src, fn.child("name")) if fn.child("name") else "?"
            rid = f"{rel}:{_line_no(src, fn)}:{name}"
            yield make_record(rid, code, target, "python", "en", hash_split(rid))
    else:
        for method, comment in _java_methods(root):
            if comment is None or not _text(src, comment).startswith("/**"):
                continue
            target = first_sentence(javadoc_text(_text(src, comment)))
            if not _good_summary(target):
                continue
            code = _dedented_def(src, method)
            if _has_error(parse_code(code, "java")):
                continue
            name = _text(src, method.child("name")) if method.child("name") else "?"
            rid = f"{rel}:{_line_no(src, method)}:{name}"
            yield make_record(rid, code, target, "java", "en", hash_split(rid))


def _take(
    per_file_records: Iterable[Iterable[dict]], limit: int | None, per_file: int
) -> list[dict]:
    """The first ``per_file`` records of each file's, in file order, until ``limit`` in all."""
    out: list[dict] = []
    for records in per_file_records:
        for rec in itertools.islice(records, per_file):
            out.append(rec)
            if limit is not None and len(out) >= limit:
                return out
    return out


def build_summarize(
    source: str | Path, lang: str, limit: int | None = 200, per_file: int = 2
) -> list[dict]:
    """Summarisation records from the ``lang`` files under ``source`` (see module docstring)."""
    if lang not in SUMMARY_LANGUAGES:
        raise DataError(
            f"unsupported builder language {lang!r}; supported: {', '.join(SUMMARY_LANGUAGES)}"
        )
    out = _take(
        (summarize_from_file(rel, src, lang) for rel, src in iter_source_files(source, lang)),
        limit,
        per_file,
    )
    if not out:
        raise DataError(f"no {lang} function with a docstring found under {source}")
    return out


# ---------------------------------------------------------------------------- asserts
def _is_assert_call(src: bytes, n: SNode) -> bool:
    """``n`` is a call ``self.assert*(...)``."""
    if n.type != "call":
        return False
    fn = n.child("function")
    if fn is None or fn.type != "attribute":
        return False
    obj, attr = fn.child("object"), fn.child("attribute")
    return (
        obj is not None
        and _text(src, obj) == "self"
        and attr is not None
        and _text(src, attr).startswith("assert")
    )


def _assertions(src: bytes, fn: SNode) -> list[SNode]:
    """Every assertion in ``fn``: assert statements and self.assert*(...) calls (also in
    ``with``)."""
    return [n for n in iter_nodes(fn) if n.type == "assert_statement" or _is_assert_call(src, n)]


def _statement_of(n: SNode) -> SNode | None:
    """The statement to replace: the assert statement, or the expression statement that is only
    this call (None when the call sits inside something else, e.g. ``with self.assertRaises``)."""
    if n.type == "assert_statement":
        return n
    parent = n.parent
    if (
        parent is not None
        and parent.type == "expression_statement"
        and len(parent.named_children) == 1
    ):
        return parent
    return None


def one_line(code: str) -> str:
    """A multi-line statement on one line: continuation lines joined, bracket padding removed and
    a "magic" trailing comma (one followed by a line break and a closing bracket) dropped."""
    if "\n" not in code:
        return code.strip()
    code = re.sub(r",[ \t]*\n\s*([)\]}])", r"\1", code)
    text = " ".join(line.strip() for line in code.splitlines() if line.strip())
    text = re.sub(r"([(\[{]) ", r"\1", text)
    return re.sub(r" ([)\]}])", r"\1", text)


def _called_names(src: bytes, fn: SNode, before: int) -> list[str]:
    names = []
    for n in iter_nodes(fn):
        if n.type == "call" and n.start_byte < before:
            f = n.child("function")
            if f is None:
                continue
            if f.type == "identifier":
                names.append((n.start_byte, _text(src, f)))
            elif f.type == "attribute" and f.child("attribute") is not None:
                names.append((n.start_byte, _text(src, f.child("attribute"))))
    return [name for _, name in sorted(names)]


def _module_under_test(test_rel: str, files: dict[str, bytes]) -> bytes | None:
    p = Path(test_rel)
    stem = p.stem[len("test_") :] if p.stem.startswith("test_") else None
    if not stem:
        return None
    # Lib/test/test_foo.py (or Lib/test/test_foo/test_x.py) -> Lib/foo.py, Lib/foo/__init__.py;
    # pkg/sub/tests/test_foo.py (numpy, sympy, networkx, dask) -> pkg/sub/foo.py
    parents = [q for q in p.parents if q.name in ("test", "tests")]
    base = parents[-1].parent if parents else p.parent
    pkg_stem = p.parent.name[len("test_") :] if p.parent.name.startswith("test_") else stem
    for cand in (f"{stem}.py", f"{stem}/__init__.py", f"{pkg_stem}.py", f"{pkg_stem}/__init__.py"):
        key = (base / cand).as_posix().lstrip("./") if str(base) != "." else cand
        if key in files:
            return files[key]
    return None


def _function_index(src: bytes) -> dict[str, SNode]:
    root = parse(src, "python")
    index: dict[str, SNode] = {}
    for n in iter_nodes(root):
        if n.type == "function_definition" and n.child("name") is not None:
            index.setdefault(_text(src, n.child("name")), n)
    return index


def assert_from_file(rel: str, src: bytes, module_src: bytes | None) -> Iterator[dict]:
    root = parse(src, "python")
    file_text = src.decode("utf-8", "replace")
    focal_index = _function_index(module_src) if module_src is not None else {}
    for fn in iter_nodes(root):
        if fn.type != "function_definition" or fn.child("name") is None:
            continue
        name = _text(src, fn.child("name"))
        if not name.startswith("test"):
            continue
        asserts = _assertions(src, fn)
        if len(asserts) != 1:
            continue
        stmt = _statement_of(asserts[0])
        if stmt is None:
            continue
        target = one_line(_text(src, stmt))
        test_code = _dedented_def(src, fn, (stmt.start_byte, stmt.end_byte), PLACEHOLDER.encode())
        if _has_error(parse(test_code.encode("utf-8"), "python")):
            continue
        focal = ""
        # Calls up to the end of the assertion (the focal call often sits inside it), last first.
        for called in reversed(
            [c for c in _called_names(src, fn, stmt.end_byte) if not c.startswith("assert")]
        ):
            node = focal_index.get(called)
            if node is not None and module_src is not None:
                focal = _dedented_def(module_src, node)
                break
        source = test_code + ("\n" + focal if focal else "")
        rid = f"{rel}:{_line_no(src, fn)}:{name}"
        record = make_record(rid, source, target, "python", "python", hash_split(rid))
        record["assert_style"] = python_test_style(file_text, test_code)
        yield record


# ---------------------------------------------------------------------------- asserts (Java)
JAVA_ASSERTIONS = frozenset(
    {
        "assertEquals",
        "assertNotEquals",
        "assertTrue",
        "assertFalse",
        "assertNull",
        "assertNotNull",
        "assertSame",
        "assertNotSame",
        "assertArrayEquals",
        "assertIterableEquals",
        "assertLinesMatch",
        "assertThat",
        "assertThrows",
        "assertDoesNotThrow",
        "assertInstanceOf",
        "assertTimeout",
        "assertTimeoutPreemptively",
        "assertAll",
    }
)
"""JUnit 4/5 (and hamcrest ``MatcherAssert.assertThat``) assertion methods the Java builder takes
as the record's assertion."""

_JUNIT_CLASSES = frozenset(
    {
        "Assert",
        "Assertions",
        "TestCase",
        "MatcherAssert",
        "org.junit.Assert",
        "org.junit.jupiter.api.Assertions",
        "junit.framework.Assert",
        "junit.framework.TestCase",
        "org.hamcrest.MatcherAssert",
    }
)
"""Qualifiers of a JUnit assertion call (besides none: a static import or JUnit 3's TestCase)."""

JAVA_ASSERT_PREFIX = "org . junit . Assert . "
"""How ATLAS writes the class of every assertion (targets are normalised to it)."""

_JAVA_ONE_TOKEN = frozenset({"string_literal", "character_literal", "text_block"})
_JAVA_COMMENTS = frozenset({"line_comment", "block_comment", "comment"})
_JAVA_TYPE_DECLS = frozenset(
    {"class_declaration", "interface_declaration", "enum_declaration", "record_declaration"}
)


def _java_tokens(src: bytes, node: SNode, subst: dict[int, list[str]] | None = None) -> list[str]:
    """The tokens of ``node``: its tree-sitter leaves in order, each literal (string, char) one
    token as written, comments dropped; a node whose ``id()`` is in ``subst`` is written as the
    tokens given there instead."""
    subst = subst or {}
    out: list[str] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if id(n) in subst:
            out.extend(subst[id(n)])
        elif n.type in _JAVA_COMMENTS:
            continue
        elif not n.children or n.type in _JAVA_ONE_TOKEN:
            text = _text(src, n)
            if text:  # MISSING nodes have no text
                out.append(text)
        else:
            stack.extend(reversed(n.children))
    return out


def _java_param_type(src: bytes, param: SNode) -> list[str]:
    """The type of a formal (or varargs) parameter as ATLAS writes it: erased (no type arguments),
    without modifiers or annotations; ``T...`` and ``T x[]`` as arrays."""
    kids = [c for c in param.named_children if c.type not in ("modifiers", *_JAVA_COMMENTS)]
    typ = param.child("type") or (kids[0] if kids else None)
    if typ is None:
        return []
    erase = {id(n): [] for n in iter_nodes(typ) if n.type in ("type_arguments", "annotation")}
    erase.update({id(n): [] for n in iter_nodes(typ) if n.type == "marker_annotation"})
    toks = _java_tokens(src, typ, erase)
    dims = param.child("dimensions")
    if dims is not None:
        toks += _java_tokens(src, dims)
    if param.type == "spread_parameter":
        toks += ["[", "]"]
    return toks


def _java_method_tokens(src: bytes, method: SNode, subst: dict[int, list[str]] | None = None):
    """``name ( ParamType , ... ) { body }``: no annotations, modifiers, type parameters, return
    type or throws clause (ATLAS's layout)."""
    params = method.child("parameters")
    types = [
        _java_param_type(src, p)
        for p in (params.named_children if params is not None else [])
        if p.type in ("formal_parameter", "spread_parameter")
    ]
    head = [_text(src, method.child("name")), "("]
    for i, t in enumerate(types):
        head += ([","] if i else []) + t
    return head + [")"] + _java_tokens(src, method.child("body"), subst)


def _java_layout(tokens: list[str]) -> str | None:
    """Tokens joined by one space; None when a token holds a line break (a text block), which the
    one-line-per-method layout cannot carry."""
    if any("\n" in t or "\r" in t for t in tokens):
        return None
    return " ".join(tokens)


def _java_assert_kind(src: bytes, n: SNode) -> str | None:
    """``"junit"`` for a JUnit assertion call (bare, or qualified by Assert / Assertions / ...),
    ``"other"`` for another bare ``assert*`` call (a test's own helper) or an ``assert``
    statement, None for anything else."""
    if n.type == "assert_statement":
        return "other"
    if n.type != "method_invocation" or n.child("name") is None:
        return None
    name = _text(src, n.child("name"))
    obj = n.child("object")
    qualifier = None if obj is None else "".join(_text(src, obj).split())
    if name in JAVA_ASSERTIONS and (qualifier is None or qualifier in _JUNIT_CLASSES):
        return "junit"
    if name.startswith("assert") and (qualifier is None or qualifier in _JUNIT_CLASSES):
        return "other"
    return None


def _is_java_test(src: bytes, method: SNode) -> bool:
    """Annotated ``@Test`` (any package), or JUnit 3 style: ``test*`` without parameters."""
    if method.type != "method_declaration" or method.child("body") is None:
        return False
    if method.child("name") is None:
        return False
    for mods in (c for c in method.children if c.type == "modifiers"):
        for a in mods.children:
            if a.type in ("marker_annotation", "annotation") and a.child("name") is not None:
                if "".join(_text(src, a.child("name")).split()).split(".")[-1] == "Test":
                    return True
    params = method.child("parameters")
    no_params = params is None or not [
        p for p in params.named_children if p.type not in _JAVA_COMMENTS
    ]
    return _text(src, method.child("name")).startswith("test") and no_params


def _java_assertion_statement(src: bytes, method: SNode) -> SNode | None:
    """The expression statement that is the method's only assertion, or None (no assertion, more
    than one, or one nested in another expression, a lambda or a local / anonymous class)."""
    found = [n for n in iter_nodes(method.child("body")) if _java_assert_kind(src, n)]
    if len(found) != 1 or _java_assert_kind(src, found[0]) != "junit":
        return None
    stmt = found[0].parent
    if stmt is None or stmt.type != "expression_statement":
        return None
    up = stmt.parent
    while up is not None and up is not method:
        if up.type in ("lambda_expression", "class_body"):
            return None
        up = up.parent
    return stmt


def _java_target(src: bytes, call: SNode) -> str | None:
    """The assertion call as ATLAS writes it: ``org . junit . Assert . assertX ( args )``."""
    args = call.child("arguments")
    if args is None:
        return None
    return _java_layout(
        [*JAVA_ASSERT_PREFIX.split(), _text(src, call.child("name")), *_java_tokens(src, args)]
    )


def class_under_test_name(test_class: str) -> str | None:
    """``FooTest`` / ``FooTests`` / ``FooTestCase`` / ``TestFoo`` -> ``Foo``; None otherwise."""
    for suffix in ("Tests", "TestCase", "Test"):
        if test_class.endswith(suffix) and len(test_class) > len(suffix):
            return test_class[: -len(suffix)]
    if test_class.startswith("Test") and len(test_class) > 4 and test_class[4].isupper():
        return test_class[4:]
    return None


def is_java_test_file(rel: str) -> bool:
    """Under a ``src/test`` folder, or a class name that marks a test (see
    :func:`class_under_test_name`)."""
    parts = Path(rel).parts
    in_src_test = any(a == "src" and b == "test" for a, b in zip(parts, parts[1:]))
    return in_src_test or class_under_test_name(Path(rel).stem) is not None


def _find_class_under_test(test_rel: str, by_stem: dict[str, list[str]]) -> str | None:
    """The file of the test's class under test, by file name anywhere in the tree: the
    ``src/main`` mirror of the test's path first, then any under ``src/main``, then the one closest
    to the test (longest common folder), then the first by path."""
    test = Path(test_rel)
    name = class_under_test_name(test.stem)
    if name is None:
        return None
    found = [r for r in by_stem.get(name, []) if r != test_rel]
    if not found:
        return None
    mirror = (test.parent / f"{name}.java").as_posix().replace("src/test/", "src/main/", 1)

    def key(rel: str) -> tuple:
        parts = Path(rel).parts
        common = 0
        for a, b in zip(parts, test.parts):
            if a != b:
                break
            common += 1
        in_main = any(a == "src" and b == "main" for a, b in zip(parts, parts[1:]))
        return (rel != mirror, not in_main, -common, rel)

    return min(found, key=key)


def _java_method_index(src: bytes, class_name: str) -> dict[str, list[SNode]]:
    """Methods with a body declared in class ``class_name`` (not in its nested or anonymous
    classes), by name, in declaration order."""
    index: dict[str, list[SNode]] = {}
    for n in iter_nodes(parse(src, "java")):
        if n.type != "method_declaration" or n.child("body") is None or n.child("name") is None:
            continue
        if _has_error(n):
            continue
        up = n.parent
        while up is not None and up.type not in _JAVA_TYPE_DECLS | {"object_creation_expression"}:
            up = up.parent
        if up is None or up.type == "object_creation_expression" or up.child("name") is None:
            continue
        if _text(src, up.child("name")) == class_name:
            index.setdefault(_text(src, n.child("name")), []).append(n)
    return index


def _arity_match(src: bytes, method: SNode, n_args: int) -> bool:
    params = method.child("parameters")
    ps = [
        p
        for p in (params.named_children if params is not None else [])
        if p.type in ("formal_parameter", "spread_parameter")
    ]
    if ps and ps[-1].type == "spread_parameter":
        return n_args >= len(ps) - 1
    return n_args == len(ps)


def _java_focal(
    src: bytes, method: SNode, stmt: SNode, index: dict[str, list[SNode]]
) -> SNode | None:
    """ATLAS's focal method: of the calls in the test up to the end of the assertion (assertions
    themselves aside), in the order they complete (``a.f(b.g())``: ``g`` then ``f``), the last
    whose name the class under test declares; an overload with as many parameters as the call has
    arguments first."""
    calls = [
        n
        for n in iter_nodes(method.child("body"))
        if n.type == "method_invocation"
        and n.end_byte <= stmt.end_byte
        and n.child("name") is not None
        and not _java_assert_kind(src, n)
    ]
    for call in sorted(calls, key=lambda n: (n.end_byte, -n.start_byte), reverse=True):
        cands = index.get(_text(src, call.child("name")))
        if not cands:
            continue
        args = call.child("arguments")
        n_args = len(
            [a for a in (args.named_children if args else []) if a.type not in _JAVA_COMMENTS]
        )
        return next((m for m in cands if _arity_match(src, m, n_args)), cands[0])
    return None


def java_assert_from_file(
    rel: str, src: bytes, cut_src: bytes | None, cut_name: str | None
) -> Iterator[dict]:
    """ATLAS-layout records of the JUnit test methods of one file (``cut_src``: the source of the
    class under test ``cut_name``); tests without one assertion statement or without a focal
    method are skipped."""
    if cut_src is None or cut_name is None:
        return
    index = _java_method_index(cut_src, cut_name)
    if not index:
        return
    root = parse(src, "java")
    for method in iter_nodes(root):
        if not _is_java_test(src, method) or _has_error(method):
            continue
        stmt = _java_assertion_statement(src, method)
        if stmt is None:
            continue
        call = stmt.named_children[0]
        target = _java_target(src, call)
        focal = _java_focal(src, method, stmt, index)
        if target is None or focal is None:
            continue
        test_code = _java_layout(_java_method_tokens(src, method, {id(stmt): [PLACEHOLDER, ";"]}))
        focal_code = _java_layout(_java_method_tokens(cut_src, focal))
        if test_code is None or focal_code is None:
            continue
        name = _text(src, method.child("name"))
        rid = f"{rel}:{_line_no(src, method)}:{name}"
        yield make_record(
            rid, f"{test_code}\n{focal_code}", target, "java", "java", hash_split(rid)
        )


def build_assert_java(source: str | Path, limit: int | None = 200, per_file: int = 2) -> list[dict]:
    """ATLAS-layout assert records from the JUnit test files under ``source`` (a folder or .zip,
    e.g. a project with ``src/main`` and ``src/test``); see :func:`java_assert_from_file`."""
    files = dict(iter_source_files(source, "java"))  # in the order of sha256(relative path)
    by_stem: dict[str, list[str]] = {}
    for rel in files:
        by_stem.setdefault(Path(rel).stem, []).append(rel)

    def records(rel: str) -> Iterator[dict]:
        cut = _find_class_under_test(rel, by_stem)
        cut_src = files[cut] if cut is not None else None
        yield from java_assert_from_file(
            rel, files[rel], cut_src, class_under_test_name(Path(rel).stem)
        )

    out = _take((records(rel) for rel in files if is_java_test_file(rel)), limit, per_file)
    if not out:
        raise DataError(
            f"no JUnit test method with exactly one assertion and a focal method found under "
            f"{source}"
        )
    return out


ASSERT_LANGUAGES = ("python", "java")
"""Languages whose test files the assert builder reads (Python unittest/pytest, Java JUnit)."""


def build_assert(
    source: str | Path,
    limit: int | None = 200,
    per_file: int = 2,
    require_focal: bool = False,
    lang: str = "python",
) -> list[dict]:
    """Assert-generation records from the ``lang`` test files under ``source`` (see module
    docstring). Python: ``source`` is a test folder (e.g. the stdlib's ``Lib/test``) or a tree
    containing ``test`` or ``tests`` folders; modules under test are looked up in the parent of
    that folder. Java: :func:`build_assert_java` (every record has a focal method)."""
    if lang == "java":
        return build_assert_java(source, limit=limit, per_file=per_file)
    if lang != "python":
        raise DataError(
            f"no assert builder for language {lang!r}; supported: {', '.join(ASSERT_LANGUAGES)}"
        )
    path = Path(source)
    if not path.is_dir():
        raise DataError(f"assert builder source must be a folder: {path}")
    # Index the tree above the test folder so that modules under test can be found.
    top = path.parent if path.name == "test" else path
    files = {rel: data for rel, data in iter_source_files(top, "python")}
    prefix = path.relative_to(top).as_posix() + "/" if top != path else ""
    tests = sorted(
        (r for r in files if r.startswith(prefix) and Path(r).name.startswith("test")),
        key=_path_hash,
    )
    out = _take(
        (
            (
                rec
                for rec in assert_from_file(rel, files[rel], _module_under_test(rel, files))
                if not require_focal or split_test_and_focal(rec["source"], "python")[1]
            )
            for rel in tests
        ),
        limit,
        per_file,
    )
    if not out:
        raise DataError(f"no test function with exactly one assertion found under {source}")
    return out


def write_built(task: str, records: list[dict], output: str | Path) -> dict:
    """Write built ``task`` records to ``output``. Returns {"output", "records", "splits",
    "with_focal"?} (assert: how many records hold a focal method)."""
    n = write_jsonl(output, records)
    splits: dict[str, int] = {}
    for r in records:
        splits[r["split"]] = splits.get(r["split"], 0) + 1
    out = {"output": str(output), "records": n, "splits": splits}
    if task == "assert":
        out["with_focal"] = sum(
            bool(split_test_and_focal(r["source"], r.get("source_lang") or "python")[1])
            for r in records
        )
    return out


def build_to_file(
    task: str,
    source: str | Path,
    output: str | Path,
    lang: str = "python",
    limit: int | None = 200,
    per_file: int = 2,
) -> dict:
    """Build task records from real code under ``source`` (folder or .zip) into ``output``:
    ``summarize`` (python|java functions with docstrings) or ``assert`` (Python test functions
    or JUnit test methods with one assertion); :func:`write_built`'s summary. (``types``:
    ttune.data.types, which builds on this module.)"""
    if task == "summarize":
        records = build_summarize(source, lang, limit=limit, per_file=per_file)
    elif task == "assert":
        records = build_assert(source, limit=limit, per_file=per_file, lang=lang)
    else:
        raise DataError(f"no builder for task {task!r}; builders: summarize, assert, types")
    return write_built(task, records, output)
