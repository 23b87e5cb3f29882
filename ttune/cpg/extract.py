"""Source text -> CPG: input checks, the language front end, then CFG/CDG/DDG/CALL edges.

The front ends (python.py, java.py, csharp.py; the language table, languages.py, names each
language's) add the AST and return statement IR; everything after that is language-independent
(cfg.py, cdg.py, ddg.py).
"""

from __future__ import annotations

import gc
import importlib
import os
from pathlib import Path

from .base import CPGConfig, CPGError, FrontEndResult
from .cdg import build_cdg
from .cfg import build_cfg
from .ddg import build_ddg
from .graph import CPG, Edge
from .languages import describe_extensions, find_language, language_names, language_of_path

EXTRACTOR_VERSION = "1"
"""Bump whenever extraction output changes for the same input (caches key on it)."""

_BINARY_PROBE = 8192


def __getattr__(name: str):
    # SUPPORTED_LANGUAGES is read from the language table each time, so it includes languages
    # registered after this module was imported.
    if name == "SUPPORTED_LANGUAGES":
        return language_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def detect_language(path: str | os.PathLike[str]) -> str:
    """Language of a file from its extension (the language table's, e.g. .py, .java, .cs)."""
    lang = language_of_path(path)
    if lang is None:
        raise CPGError(
            f"cannot tell the language of {os.fspath(path)!r} from its extension; "
            f"supported: {describe_extensions()} (or pass the language)"
        )
    return lang.name


def _check_language(lang: str) -> str:
    """The table name of ``lang`` (an alias such as ``c#`` is accepted); CPGError if unknown."""
    found = find_language(lang)
    if found is None:
        raise CPGError(f"unknown language {lang!r}; supported: {', '.join(language_names())}")
    return found.name


def _front_end(lang: str):
    """The ``build`` function of a language's front end (imported on first use)."""
    module, _, function = find_language(lang).front_end.partition(":")  # type: ignore[union-attr]
    return getattr(importlib.import_module(module), function or "build")


def _as_bytes(source: str | bytes | bytearray | memoryview, config: CPGConfig) -> bytes:
    if isinstance(source, str):
        try:
            data = source.encode("utf-8")
        except UnicodeEncodeError as e:
            raise CPGError(f"not UTF-8 text (unencodable character at index {e.start})") from None
        checked = True
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        checked = False
    else:
        raise CPGError(f"source must be str or bytes, not {type(source).__name__}")
    if len(data) > config.max_bytes:
        raise CPGError(
            f"source is {len(data)} bytes, over the limit of max_bytes="
            f"{config.max_bytes}; raise it with --max-bytes (CPGConfig.max_bytes)"
        )
    if b"\x00" in data[:_BINARY_PROBE]:
        raise CPGError("binary input (NUL byte in the first 8 KiB); not UTF-8 text")
    if not checked:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise CPGError(f"not UTF-8 text (invalid byte at offset {e.start})") from None
    return data


def extract(source: str | bytes, lang: str, config: CPGConfig | None = None) -> CPG:
    """The CPG of ``source`` (text or UTF-8 bytes) in language ``lang``.

    Raises CPGError (one line) for unknown languages, binary or non-UTF-8 input, input over
    ``config.max_bytes``, or more than ``config.max_extract_nodes`` nodes. Syntax errors never
    raise: they become ERROR nodes (``cpg.syntax_errors`` counts them).
    """
    config = config if config is not None else CPGConfig()
    lang = _check_language(lang)
    data = _as_bytes(source, config)
    cpg = CPG(language=lang, source_bytes=len(data))
    if not data:
        cpg.add_node("FILE", "", 0, 0, 1)
        return cpg
    build = _front_end(lang)
    # Extraction allocates millions of small objects; the cyclic GC would rescan them over
    # and over (up to half the run time). Pause it for the duration. (Front ends cut the
    # parent links of their syntax tree with base.release_tree when done, so the tree is
    # freed by reference counting rather than left for a later collection.)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        result: FrontEndResult = build(data, cpg, config)
        _add_flows(cpg, result, config)
    except RecursionError:  # defensive: front ends are iterative, but never leak a traceback
        raise CPGError("source nested too deeply to analyse") from None
    finally:
        if gc_was_enabled:
            gc.enable()
    if cpg.nodes and cpg.nodes[0].ts_type == "ERROR":
        # tree-sitter gave up on the whole file (e.g. nesting past its stack): the root is an
        # ERROR node, which add_ast turned into the FILE node without counting it.
        cpg.syntax_errors += 1
    return cpg


def _add_flows(cpg: CPG, result: FrontEndResult, config: CPGConfig) -> None:
    nodes = cpg.nodes
    edges = cpg.edges
    for m in result.methods:
        mnode = nodes[m.method]
        name = mnode.name or ("<module>" if mnode.kind == "FILE" else "<anonymous>")
        if len(nodes) + 2 > config.max_extract_nodes:
            raise CPGError(
                f"more than max_extract_nodes={config.max_extract_nodes} CPG nodes; "
                "raise the limit (CPGConfig.max_extract_nodes / --max-extract-nodes) "
                "or split the file"
            )
        entry = cpg.add_node(
            "METHOD_ENTRY", f"ENTRY {name}", mnode.start_byte, mnode.end_byte, mnode.line, "", None
        )
        exit = cpg.add_node(
            "METHOD_EXIT", f"EXIT {name}", mnode.start_byte, mnode.end_byte, mnode.line, "", None
        )
        cpg.methods[m.method] = (entry, exit)
        flow = build_cfg(m, entry, exit)
        # Edge objects are built directly (not via add_edge) to keep this hot loop lean.
        # The CFG is built back to front; reversed, its edges read roughly in source order.
        edges.extend([Edge(a, b, "CFG", None, label) for (a, b, label) in reversed(flow.edges)])
        edges.extend([Edge(a, b, "CDG") for (a, b) in build_cdg(flow)])
        edges.extend([Edge(a, b, "DDG", var) for (a, b, var) in build_ddg(flow)])
    if result.calls and result.method_names:
        by_name: dict[str, list[int]] = {}
        for mid, mname in result.method_names.items():
            by_name.setdefault(mname, []).append(mid)
        seen: set[tuple[int, int]] = set()
        for site, callee in result.calls:
            for target in by_name.get(callee, ()):
                if (site, target) not in seen:
                    seen.add((site, target))
                    edges.append(Edge(site, target, "CALL"))


def extract_file(
    path: str | os.PathLike[str], lang: str | None = None, config: CPGConfig | None = None
) -> CPG:
    """Read ``path`` and extract its CPG; the language comes from ``lang`` or the extension."""
    config = config if config is not None else CPGConfig()
    lang = _check_language(lang) if lang is not None else detect_language(path)
    p = Path(path)
    if not p.is_file():
        raise CPGError(f"no such file: {os.fspath(path)}")
    try:
        size = p.stat().st_size
        if size > config.max_bytes:
            raise CPGError(
                f"{os.fspath(path)} is {size} bytes, over the limit of max_bytes="
                f"{config.max_bytes}; raise it with --max-bytes (CPGConfig.max_bytes)"
            )
        data = p.read_bytes()
    except OSError as e:
        raise CPGError(f"cannot read {os.fspath(path)}: {e.strerror or e}") from None
    return extract(data, lang, config)


def method_subgraph(cpg: CPG, name: str, *, start_byte: int | None = None) -> CPG:
    """The METHOD node(s) called ``name`` (only the one starting at ``start_byte`` when given)
    with everything under them in the AST plus their entry/exit nodes, and the edges among those
    nodes; ids renumbered 0.. in the old order."""
    roots = [
        n.id
        for n in cpg.nodes
        if n.kind == "METHOD"
        and n.name == name
        and (start_byte is None or n.start_byte == start_byte)
    ]
    if not roots:
        names = sorted({n.name for n in cpg.nodes if n.kind == "METHOD" and n.name})
        shown = ", ".join(names[:30]) + (", ..." if len(names) > 30 else "")
        raise CPGError(f"no function named {name!r}; available: {shown or '(none)'}")
    children: dict[int, list[int]] = {}
    for e in cpg.edges:
        if e.type == "AST":
            children.setdefault(e.source, []).append(e.target)
    keep: set[int] = set()
    stack = list(roots)
    while stack:
        n = stack.pop()
        if n in keep:
            continue
        keep.add(n)
        stack.extend(children.get(n, ()))
    for mid, (entry, exit) in cpg.methods.items():
        if mid in keep:
            keep.add(entry)
            keep.add(exit)
    old_ids = sorted(keep)
    new_id = {old: i for i, old in enumerate(old_ids)}
    sub = CPG(language=cpg.language, source_bytes=cpg.source_bytes)
    for old in old_ids:
        n = cpg.nodes[old]
        sub.add_node(n.kind, n.label, n.start_byte, n.end_byte, n.line, n.ts_type, n.name)
    sub.syntax_errors = sum(1 for old in old_ids if cpg.nodes[old].kind == "ERROR")
    for e in cpg.edges:
        if e.source in new_id and e.target in new_id:
            sub.edges.append(Edge(new_id[e.source], new_id[e.target], e.type, e.variable, e.label))
    for mid, (entry, exit) in cpg.methods.items():
        if mid in new_id:
            sub.methods[new_id[mid]] = (new_id[entry], new_id[exit])
    return sub
