"""The ``types`` task's data: records from annotated Python code, their label format and input.

A record asks for the type annotation of every parameter and annotated local variable of one
Python function. :func:`build_types` reads annotated code on this machine (the standard library,
site-packages), removes every annotation from the function (parameters, return, ``x: T = v`` ->
``x = v``) and keeps the removed annotations as labels::

    {"id": "pkg/mod.py:12:f", "source": "def f(a, b=1):\\n    n = len(a)\\n    ...",
     "target": "a: list[str]; b: int; n: int", "identifiers": ["a", "b", "n"],
     "source_lang": "python", "target_lang": "python", "split": "train"}

``identifiers`` is what the model is asked about (parameters in signature order, then locals in
order of their first annotated assignment); it is part of the input (:func:`types_input` appends
it), never a label. ``target`` lists ``name: type`` pairs joined by ``"; "``
(:func:`format_types` / :func:`parse_types`). A record with a ``query`` key asks for one identifier
only (ToPro's decomposition): its input ends with the template ``the type of `x` is <extra_id_0>``
and its target is the type alone.

Functions are skipped when they have no labelled identifier, a bare ``x: T`` declaration (its
removal would change the code), or an annotation longer than ``MAX_TYPE_CHARS``. ``self`` and
``cls`` are never asked. Annotations are written as :func:`ast.unparse` prints them (string
annotations unquoted). The function's source is :func:`ast.unparse` of the stripped tree, so
comments and original formatting are not kept. Splits as in :mod:`ttune.data.build` (by id hash).
"""

from __future__ import annotations

import ast
import copy
import warnings
from pathlib import Path

from ttune.data.build import hash_split, iter_source_files
from ttune.data.io import DataError, make_record

MAX_TYPE_CHARS = 60
SEPARATOR = "; "
QUERY_TEMPLATE = "# the type of `{name}` is <extra_id_0>"


# ---------------------------------------------------------------------------- label format
def format_types(pairs: list[tuple[str, str]]) -> str:
    """``[("a", "int"), ("b", "str")]`` -> ``"a: int; b: str"``."""
    return SEPARATOR.join(f"{name}: {typ}" for name, typ in pairs)


def parse_types(text: str) -> dict[str, str]:
    """``"a: int; b: str"`` -> ``{"a": "int", "b": "str"}``; malformed parts are skipped, the first
    of repeated names wins (model output may be anything)."""
    out: dict[str, str] = {}
    for part in text.split(";"):
        name, sep, typ = part.partition(":")
        name, typ = name.strip(), typ.strip()
        if sep and name and name not in out:
            out[name] = typ
    return out


def identifiers_of(record: dict) -> list[str]:
    """The identifiers a record asks about: its ``identifiers`` list, else its target's names."""
    ids = record.get("identifiers")
    if isinstance(ids, list) and all(isinstance(x, str) for x in ids):
        return list(ids)
    target = record.get("target")
    if isinstance(target, str):
        return list(parse_types(target))
    raise DataError(f"record {record.get('id', '?')} has no 'identifiers' list and no target")


def types_input(record: dict) -> str:
    """The model input: the code, then the identifiers asked about (or the one-query template)."""
    source = record.get("source")
    if not isinstance(source, str):
        raise DataError(f"record {record.get('id', '?')} has no string 'source'")
    query = record.get("query")
    if isinstance(query, str):
        return f"{source.rstrip()}\n{QUERY_TEMPLATE.format(name=query)}"
    return f"{source.rstrip()}\n# types of: {', '.join(identifiers_of(record))}"


# ---------------------------------------------------------------------------- building
def _annotation_text(node: ast.expr) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.strip()
    return ast.unparse(node)


def _own_statements(fn: ast.AST):
    """Nodes of ``fn``'s body outside nested functions, lambdas and classes."""
    stack = list(reversed(fn.body))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        stack.extend(reversed(list(ast.iter_child_nodes(node))))


class _Strip(ast.NodeTransformer):
    """Removes every annotation in a subtree; refuses bare declarations."""

    bare = False

    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.annotation = None
        return node

    def _fn(self, node):
        node.returns = None
        self.generic_visit(node)
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = _fn

    def visit_AnnAssign(self, node: ast.AnnAssign):
        if node.value is None:
            self.bare = True
            return node
        self.generic_visit(node)
        return ast.copy_location(ast.Assign(targets=[node.target], value=node.value), node)


def labelled_identifiers(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[tuple[str, str]]:
    """(name, type) of the annotated parameters (not self/cls) and annotated locals of ``fn``."""
    a = fn.args
    params = (
        a.posonlyargs
        + a.args
        + ([a.vararg] if a.vararg else [])
        + a.kwonlyargs
        + ([a.kwarg] if a.kwarg else [])
    )
    out: dict[str, str] = {}
    for i, p in enumerate(params):
        if p.annotation is None or (i == 0 and p.arg in ("self", "cls")):
            continue
        out.setdefault(p.arg, _annotation_text(p.annotation))
    for node in _own_statements(fn):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.value is not None
        ):
            out.setdefault(node.target.id, _annotation_text(node.annotation))
    return list(out.items())


def types_from_file(rel: str, src: bytes) -> list[dict]:
    """Records of the annotated functions of one Python file (see module docstring)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(src)
    except (SyntaxError, ValueError):
        return []
    out = []
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        pairs = labelled_identifiers(fn)
        if not pairs or any(len(t) > MAX_TYPE_CHARS or not t for _, t in pairs):
            continue
        strip = _Strip()
        stripped = strip.visit(copy.deepcopy(fn))
        if strip.bare:
            continue
        code = ast.unparse(ast.fix_missing_locations(stripped)) + "\n"
        rid = f"{rel}:{fn.lineno}:{fn.name}"
        rec = make_record(rid, code, format_types(pairs), "python", "python", hash_split(rid))
        rec["identifiers"] = [name for name, _ in pairs]
        out.append(rec)
    return out


def build_types(source: str | Path, limit: int | None = 200, per_file: int = 2) -> list[dict]:
    """``types`` records from the annotated Python functions under ``source`` (folder or .zip):
    files in the order of sha256(relative path), at most ``per_file`` per file, until ``limit``."""
    out: list[dict] = []
    for rel, src in iter_source_files(source, "python"):
        out.extend(types_from_file(rel, src)[:per_file])
        if limit is not None and len(out) >= limit:
            return out[:limit]
    if not out:
        raise DataError(f"no annotated Python function found under {source}")
    return out
