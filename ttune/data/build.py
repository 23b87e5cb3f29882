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
test folder); records without one are kept with the test function alone.

Functions are found with :func:`ttune.cpg.ts.parse` (tree-sitter, the project's only entry point).
Records are taken deterministically: files in the order of sha256(relative path), at most
``per_file`` records per file (the first in the file), until ``limit``. Each record's split is
fixed by its id: ``sha256(id) mod 10`` = 0 -> test, 1 -> dev, else train.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import re
import textwrap
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path

from ttune.cpg.base import iter_nodes
from ttune.cpg.languages import find_language, language_names
from ttune.cpg.ts import SNode, parse
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


def build_summarize(
    source: str | Path, lang: str, limit: int | None = 200, per_file: int = 2
) -> list[dict]:
    """Summarisation records from the ``lang`` files under ``source`` (see module docstring)."""
    if lang not in SUMMARY_LANGUAGES:
        raise DataError(
            f"unsupported builder language {lang!r}; supported: {', '.join(SUMMARY_LANGUAGES)}"
        )
    out: list[dict] = []
    for rel, src in iter_source_files(source, lang):
        for i, rec in enumerate(summarize_from_file(rel, src, lang)):
            if i >= per_file:
                break
            out.append(rec)
            if limit is not None and len(out) >= limit:
                return out
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
    # Lib/test/test_foo.py (or Lib/test/test_foo/test_x.py) -> Lib/foo.py, Lib/foo/__init__.py
    parents = [q for q in p.parents if q.name == "test"]
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
        yield make_record(rid, source, target, "python", "python", hash_split(rid))


def build_assert(
    source: str | Path, limit: int | None = 200, per_file: int = 2, require_focal: bool = False
) -> list[dict]:
    """Assert-generation records from Python test files under ``source`` (see module docstring).
    ``source`` is a test folder (e.g. the stdlib's ``Lib/test``) or a tree containing ``test``
    folders; modules under test are looked up in the parent of the ``test`` folder."""
    path = Path(source)
    if not path.is_dir():
        raise DataError(f"assert builder source must be a folder: {path}")
    # Index the tree above the test folder so that modules under test can be found.
    top = path.parent if path.name == "test" else path
    files = {rel: data for rel, data in iter_source_files(top, "python")}
    prefix = path.relative_to(top).as_posix() + "/" if top != path else ""
    out: list[dict] = []
    for rel in sorted(
        (r for r in files if r.startswith(prefix) and Path(r).name.startswith("test")),
        key=_path_hash,
    ):
        module = _module_under_test(rel, files)
        n = 0
        for rec in assert_from_file(rel, files[rel], module):
            if require_focal and not split_test_and_focal(rec["source"], "python")[1]:
                continue
            out.append(rec)
            n += 1
            if limit is not None and len(out) >= limit:
                return out
            if n >= per_file:
                break
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
            bool(split_test_and_focal(r["source"], "python")[1]) for r in records
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
    with one assertion); :func:`write_built`'s summary. (``types``: ttune.data.types, which
    builds on this module.)"""
    if task == "summarize":
        records = build_summarize(source, lang, limit=limit, per_file=per_file)
    elif task == "assert":
        if lang != "python":
            raise DataError("the assert builder reads Python test files only (--lang python)")
        records = build_assert(source, limit=limit, per_file=per_file)
    else:
        raise DataError(f"no builder for task {task!r}; builders: summarize, assert, types")
    return write_built(task, records, output)
