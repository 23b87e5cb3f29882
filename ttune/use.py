"""End-user commands as library functions: summarize, assert and translate the functions of a file.

A file's functions come from its CPG (:mod:`ttune.cpg`): every METHOD node except lambdas, with
nested functions and class methods included and qualified by their enclosing classes and
functions (``Foo.bar``, ``outer.inner``). Each function's text is sliced from the file by the node's
byte span (from the start of its first line, then dedented), made into a task record, and given
to the prediction of :func:`ttune.lite.predict.predictor` (batching, CPGs, generation from the
source only; plain torch where it applies, else the engine's :mod:`ttune.train.predict`). Which
model runs: :func:`ttune.builtin.resolve_model`.

Nothing here imports torch or transformers until a prediction actually runs, so bad input (an
unknown function, a binary file) fails fast.
"""

from __future__ import annotations

import ast
import contextlib
import gc
import os
import re
import textwrap
import unicodedata
import warnings
from collections.abc import Sequence
from dataclasses import asdict, astuple, dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from ttune.builtin import ResolvedModel, resolve_model
from ttune.cpg import CPGConfig, extract
from ttune.cpg.batch import supported_files
from ttune.cpg.languages import (
    describe_extensions,
    find_language,
    language_names,
    language_of_path,
)
from ttune.data.candidates import python_test_style
from ttune.data.io import PLACEHOLDER
from ttune.data.rewrite import rewrite_source
from ttune.data.syntax import compact_tokens, parses, parses_as_statement
from ttune.options import GenerationOptions, generation_options, resolve_device

"""The statement that marks where the assertion goes (ATLAS layout, also used by ttune.data)."""

MAX_BYTES = 2_000_000
"""Largest source file the end-user commands read (``--max-bytes``), as ``ttune cpg``."""

_LAMBDA_TYPES = {"lambda", "lambda_expression", "anonymous_method_expression"}


class UseError(ValueError):
    """Bad input to an end-user command (unknown function, no functions, no model). One line."""


@dataclass(frozen=True)
class Function:
    """One function or method of a source file."""

    name: str
    """Qualified name: enclosing classes and functions joined by dots (``Foo.bar``)."""
    simple_name: str
    """The declared name alone (``bar``)."""
    line: int
    """1-based line of the declared name (decorators, annotations and attributes above it not
    counted)."""
    start_byte: int
    """Byte span of the declaration in the file (UTF-8)."""
    end_byte: int
    source: str
    """The function's text from the start of its first line, dedented, ending with a newline."""
    nested: bool
    """True when the function sits inside another function (a local or nested function)."""


# ------------------------------------------------------------------------------ reading files
def read_source(
    path: str | os.PathLike[str], lang: str | None = None, max_bytes: int = MAX_BYTES
) -> tuple[bytes, str]:
    """(bytes, language) of a source file; UseError/CPGError (one line) for a missing, binary,
    non-UTF-8, unsupported or oversize (``max_bytes``) file."""
    p = Path(path)
    if p.is_dir():
        raise UseError(
            f"{os.fspath(path)} is a folder; the library call takes one file "
            "(the commands take folders)"
        )
    if lang is None:
        found = language_of_path(p)
        if found is None:
            raise UseError(
                f"unsupported file type {p.suffix or '(no extension)'!r} ({os.fspath(path)}); "
                f"supported: {describe_extensions()}"
            )
        lang = found.name
    else:
        found = find_language(lang)
        if found is None:
            raise UseError(f"unknown language {lang!r}; supported: {', '.join(language_names())}")
        lang = found.name
    if not p.is_file():
        raise UseError(f"no such file: {os.fspath(path)}")
    try:
        size = p.stat().st_size
        if size > max_bytes:
            raise UseError(
                f"{os.fspath(path)} is {size} bytes, over the limit of {max_bytes}; "
                "raise it with --max-bytes"
            )
        data = p.read_bytes()
    except OSError as e:
        raise UseError(f"cannot read {os.fspath(path)}: {e.strerror or e}") from None
    if b"\x00" in data[:8192]:
        raise UseError(f"{os.fspath(path)} is a binary file (NUL byte), not source code")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UseError(
            f"{os.fspath(path)} is not UTF-8 text (invalid byte at offset {e.start})"
        ) from None
    return data, lang


def _slice(data: bytes, start: int, end: int) -> str:
    """``data[start:end]`` from the start of its first line, dedented (so that a method of a class
    parses on its own), with one trailing newline."""
    line_start = data.rfind(b"\n", 0, start) + 1
    lead = data[line_start:start]
    first = line_start if not lead.strip() else start
    text = data[first:end].decode("utf-8", errors="replace")
    return textwrap.dedent(text).rstrip() + "\n"


def find_functions(source: str | bytes, lang: str, max_bytes: int = MAX_BYTES) -> list[Function]:
    """The functions and methods of ``source`` in file order (lambdas left out)."""
    return _functions_and_errors(source, lang, max_bytes)[0]


def _functions_and_errors(
    source: str | bytes, lang: str, max_bytes: int = MAX_BYTES
) -> tuple[list[Function], list[int]]:
    """(functions, lines of the syntax errors) of ``source``."""
    data = source.encode("utf-8") if isinstance(source, str) else bytes(source)
    cpg = extract(data, lang, CPGConfig(max_bytes=max_bytes))
    error_lines = (
        sorted({n.line for n in cpg.nodes if n.kind == "ERROR"}) if cpg.syntax_errors else []
    )
    parent: dict[int, int] = {}
    name_line: dict[int, int] = {}
    for e in cpg.edges:
        if e.type == "AST":
            parent[e.target] = e.source
            # The line of a method is the line of its name, not of its annotations ([Fact], @Test).
            src, child = cpg.nodes[e.source], cpg.nodes[e.target]
            if src.kind == "METHOD" and child.kind == "IDENTIFIER" and child.label == src.name:
                name_line.setdefault(src.id, child.line)
    out: list[Function] = []
    for n in cpg.nodes:
        if n.kind != "METHOD" or n.ts_type in _LAMBDA_TYPES or not n.name or n.name.startswith("<"):
            continue
        chain: list[str] = []
        nested = False
        p = parent.get(n.id)
        while p is not None:
            anc = cpg.nodes[p]
            if anc.kind == "METHOD":
                nested = True
            if anc.kind in ("METHOD", "TYPE_DECL") and anc.name and not anc.name.startswith("<"):
                chain.append(anc.name)
            p = parent.get(p)
        qualified = ".".join([*reversed(chain), n.name])
        out.append(
            Function(
                qualified,
                n.name,
                name_line.get(n.id, n.line),
                n.start_byte,
                n.end_byte,
                _slice(data, n.start_byte, n.end_byte),
                nested,
            )
        )
    out.sort(key=lambda f: (f.start_byte, f.end_byte))
    return out, error_lines


class SourceWarning(UserWarning):
    """A source file the commands can read only in part (syntax errors). One line."""


def _syntax_note(error_lines: Sequence[int]) -> str:
    n = len(error_lines)
    return (
        f"{n} syntax error{'s' if n > 1 else ''} (line{'s' if n > 1 else ''} "
        f"{', '.join(map(str, error_lines[:5]))}{', ...' if n > 5 else ''})"
    )


def functions_of_file(
    path: str | os.PathLike[str], lang: str | None = None, max_bytes: int = MAX_BYTES
) -> tuple[str, list[Function]]:
    """(language, functions) of a file; UseError when it holds no function. Syntax errors are
    named: in the error when no function is left, else in a :class:`SourceWarning` (functions
    around them may be missing or cut)."""
    data, lang = read_source(path, lang, max_bytes)
    functions, error_lines = _functions_and_errors(data, lang, max_bytes)
    if not functions:
        why = f" it could parse: {_syntax_note(error_lines)}" if error_lines else ""
        raise UseError(f"{os.fspath(path)} holds no function or method{why}")
    if error_lines:
        warnings.warn(
            SourceWarning(
                f"{os.fspath(path)}: {_syntax_note(error_lines)}; functions "
                "near them may be missing or cut"
            ),
            stacklevel=2,
        )
    return lang, functions


def _names(functions: Sequence[Function]) -> str:
    names = list(dict.fromkeys(f.name for f in functions))
    return ", ".join(names[:30]) + (", ..." if len(names) > 30 else "")


def select_functions(functions: Sequence[Function], name: str) -> list[Function]:
    """The functions called ``name``: a qualified name (``Foo.bar``), a simple name (``bar``, every
    method of that name) or either with ``:LINE`` (``bar:12``, the one declared on line 12)."""
    line = None
    m = re.fullmatch(r"(.+):(\d+)", name.strip())
    if m:
        name, line = m.group(1), int(m.group(2))
    found = [f for f in functions if f.name == name]
    if not found:
        found = [f for f in functions if f.simple_name == name or f.name.endswith("." + name)]
    if line is not None:
        found = [f for f in found if f.line == line]
    if not found:
        raise UseError(
            f"no function named {name!r}{f' on line {line}' if line else ''}; "
            f"available: {_names(functions)}"
        )
    return found


def threads_for(backbone: str) -> int | None:
    """Intra-op threads for a backbone: 1 for a small local one (under 100 MB of weights), else
    torch's default. Why: a tiny model's matrices gain nothing from more threads, and OpenMP's
    spin-waiting threads slow generation down on a busy machine (figures: docs/results/README.md,
    "Design measurements")."""
    p = Path(backbone)
    if not p.is_dir():
        return None
    size = sum(f.stat().st_size for f in p.glob("*.safetensors"))
    return 1 if 0 < size < 100_000_000 else None


@contextlib.contextmanager
def _collector_paused():
    """The cyclic garbage collector off inside the block. For imports of torch: they create over
    a hundred thousand tracked objects and little garbage, and each collection they trigger walks
    the objects made so far again."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _predict(
    resolved: ResolvedModel,
    records: list[dict],
    task: str,
    gen: GenerationOptions,
    loaded: dict | None = None,
) -> list[str]:
    """Texts generated for ``records`` with ``resolved`` as ``gen`` says; ``loaded`` keeps the
    model loaded between calls of one command (a folder of files, a file read a batch at a
    time)."""
    with _collector_paused():
        import torch  # lazy: a prediction loads torch; --help and bad input fail fast without it

        from ttune.lite.predict import predictor  # lazy: loads torch

    loaded = {} if loaded is None else loaded
    key = (resolved, task, astuple(gen))
    before = torch.get_num_threads()
    threads = threads_for(resolved.backbone) if resolve_device(gen.device) == "cpu" else None
    if threads:  # before loading too: its ops would otherwise start torch's full thread pool
        torch.set_num_threads(threads)
    try:
        if key not in loaded:
            with warnings.catch_warnings():
                if resolved.builtin:
                    # The built-in transducers were trained on the backbone at another path; same
                    # weights.
                    warnings.filterwarnings("ignore", message="method was trained on")
                loaded[key] = predictor(
                    resolved.transducer, model=resolved.backbone, task=task, **asdict(gen)
                )
        return loaded[key](records)
    finally:
        torch.set_num_threads(before)


def source_files(path: str | os.PathLike[str]) -> list[Path]:
    """``[path]`` for a file; every source file of a known language under a folder (sorted,
    hidden folders skipped), as ``ttune cpg`` reads one."""
    p = Path(path)
    if p.is_dir():
        return supported_files(p)
    return [p]


@dataclass(frozen=True)
class Job:
    """One function of one file to generate for."""

    file: Path
    function: Function
    record: dict[str, Any]
    resolved: ResolvedModel


def _run(
    task: str,
    path: str | os.PathLike[str],
    plan: Any,
    *,
    max_bytes: int = MAX_BYTES,
    on_skip: Any = None,
    progress: bool = False,
    **options: Any,
) -> Any:
    """Generate for the functions that ``plan(file, lang, functions, data)`` picks (a list of Jobs)
    in every file of ``path``; yields (Job, text) a batch at a time, in file order. A folder's
    unreadable files go to ``on_skip(path, reason)`` and are skipped; one named file fails.
    ``options``: the fields of :class:`ttune.options.GenerationOptions` (``num_beams``,
    ``batch_size``, ``copy_bias``, ...)."""
    gen = generation_options(options)  # bad settings fail before any file is read
    folder = Path(path).is_dir()
    files = source_files(path)
    if not files:
        raise UseError(f"{os.fspath(path)} holds no source file ({describe_extensions()})")
    bar = None
    if progress:
        # Shown only when the run takes longer than 2 s.
        bar = tqdm(total=0, desc=f"{task} functions", unit="fn", delay=2, leave=False)
    loaded: dict = {}
    try:
        for file in files:
            try:
                lang, functions = functions_of_file(file, max_bytes=max_bytes)
                jobs = plan(file, lang, functions)
            except (UseError, ValueError) as e:
                if not folder:
                    raise
                if on_skip is not None:
                    on_skip(file, str(e).splitlines()[0])
                continue
            if bar is not None:
                bar.total += len(jobs)
                bar.refresh()
            for i in range(0, len(jobs), gen.batch_size):
                chunk = jobs[i : i + gen.batch_size]
                texts = _predict(chunk[0].resolved, [j.record for j in chunk], task, gen, loaded)
                if bar is not None:
                    bar.update(len(chunk))
                yield from zip(chunk, texts)
    finally:
        if bar is not None:
            bar.close()


# ------------------------------------------------------------------------------ summarize
NO_SUMMARY = "(no summary: the model's output was not text)"
"""What a summary that is not text (punctuation and quotes only) is replaced with."""


def is_text(summary: str) -> bool:
    """Whether a generated summary reads as text: it holds a word of two or more letters, at
    least half of its non-space characters are letters or digits, and none is a control
    character or U+FFFD (a byte-level tokenizer decoding a broken byte sequence)."""
    chars = [c for c in summary if not c.isspace()]
    if not chars or not re.search(r"[^\W\d_]{2,}", summary):
        return False
    if any(c == "\ufffd" or unicodedata.category(c) == "Cc" for c in chars):
        return False
    return sum(c.isalnum() for c in chars) >= len(chars) / 2


def summary_text(generated: str) -> str:
    """What a summary command shows for a generated summary: its words on one line, or
    :data:`NO_SUMMARY` when it does not read as text (:func:`is_text`)."""
    return " ".join(generated.split()) if is_text(generated) else NO_SUMMARY


def iter_summaries(
    path: str | os.PathLike[str],
    function: str | None = None,
    model: str | None = None,
    transducer: str | os.PathLike | None = None,
    **kw: Any,
) -> Any:
    """Summaries of the functions of a file or of every source file under a folder, yielded as
    they are generated: ``{"file", "name", "line", "summary"}`` (a summary that is not text is
    :data:`NO_SUMMARY`). ``kw``: :func:`_run`'s."""

    def plan(file: Path, lang: str, functions: list[Function]) -> list[Job]:
        if function is not None:
            functions = select_functions(functions, function)
        resolved = resolve_model("summarize", lang, model, transducer)
        return [
            Job(
                file,
                f,
                function_record(f, lang, "en"),
                resolved,
            )
            for f in functions
        ]

    for job, text in _run("summarize", path, plan, **kw):
        yield {
            "file": str(job.file),
            "name": job.function.name,
            "line": job.function.line,
            "summary": summary_text(text),
        }


def summarize_file(
    path: str | os.PathLike[str],
    function: str | None = None,
    model: str | None = None,
    transducer: str | os.PathLike | None = None,
    **kw: Any,
) -> list[dict[str, Any]]:
    """One summary per function of the file ``path`` (only those matching ``function`` when
    given): ``[{"name", "line", "summary"}]`` in file order."""
    return [
        {k: v for k, v in r.items() if k != "file"}
        for r in iter_summaries(path, function, model, transducer, **kw)
    ]


# ------------------------------------------------------------------------------ assert
def _called_names(data: bytes, lang: str, fn: Function) -> list[str]:
    """Simple names of the calls inside ``fn``, in source order (``f.bar(1)`` -> ``bar``,
    ``new Foo()`` -> ``Foo``)."""
    cpg = extract(data, lang)
    names = []
    for n in cpg.nodes:
        if n.kind != "CALL" or not (fn.start_byte <= n.start_byte < fn.end_byte):
            continue
        head = data[n.start_byte : n.end_byte].split(b"(", 1)[0].decode("utf-8", "replace")
        head = re.sub(r"<[^<>]*>", "", head)  # generic arguments: this.<String>baz
        m = re.search(r"([A-Za-z_]\w*)\s*$", head)
        if m:
            names.append((n.start_byte, m.group(1)))
    return [name for _, name in sorted(names)]


def with_placeholder(test: Function, lang: str) -> str:
    """The test's text with the placeholder statement where the assertion goes: kept where the
    test already holds one, else appended as the last statement of its body."""
    src = test.source
    if "<AssertPlaceHolder>" in src:
        return src
    if lang == "python":
        indent = "    "
        try:
            fn = ast.parse(src).body[0]
            body = fn.body[0]  # type: ignore[attr-defined]
        except (SyntaxError, IndexError, AttributeError):
            body = None
        if body is not None and body.lineno > fn.lineno:
            indent = " " * body.col_offset
        elif body is not None:
            # One-line def (def test(): x = f()): move the body onto its own line first.
            lines = src.splitlines()
            row = lines[body.lineno - 1].encode("utf-8")
            head, rest = row[: body.col_offset].decode().rstrip(), row[body.col_offset :].decode()
            src = (
                "\n".join(lines[: body.lineno - 1] + [head, indent + rest] + lines[body.lineno :])
                + "\n"
            )
        return src.rstrip("\n") + f"\n{indent}{PLACEHOLDER}\n"
    close = src.rstrip().rfind("}")
    if close < 0:
        raise UseError(f"{test.name} (line {test.line}) has no body to put an assertion in")
    return src[:close].rstrip() + f" {PLACEHOLDER} ; }}\n"


def function_record(fn: Function, lang: str, target_lang: str) -> dict:
    """The task record of one function of ``lang`` code (summarize: ``target_lang`` "en")."""
    return {
        "id": f"{fn.name}:{fn.line}",
        "source": fn.source,
        "source_lang": lang,
        "target_lang": target_lang,
    }


def assert_record(
    data: bytes,
    lang: str,
    functions: Sequence[Function],
    test: Function,
    focal_candidates: Sequence[Function] | None = None,
) -> tuple[dict, Function | None]:
    """(task record, focal function or None) for test ``test`` of the source ``data`` whose
    functions are ``functions``. The focal method is the last function the test calls among
    ``focal_candidates`` (default: the other functions of ``data``); its text follows the test's.
    A Python record says its test's framework (``assert_style``:
    :func:`ttune.data.candidates.python_test_style`)."""
    if focal_candidates is None:
        focal_candidates = [f for f in functions if f.start_byte != test.start_byte]
    by_name: dict[str, Function] = {}
    for f in focal_candidates:
        by_name.setdefault(f.simple_name, f)
    focal_fn = None
    for called in reversed(_called_names(data, lang, test)):
        if not called.startswith("assert") and called in by_name and called != test.simple_name:
            focal_fn = by_name[called]
            break
    source = with_placeholder(test, lang) + ("\n" + focal_fn.source if focal_fn else "")
    record = {"id": test.name, "source": source, "source_lang": lang, "target_lang": lang}
    if lang == "python":  # which assertion forms the test's framework writes
        record["assert_style"] = python_test_style(data.decode("utf-8", "replace"), test.source)
    return record, focal_fn


def iter_asserts(
    test_path: str | os.PathLike[str],
    function: str | None = None,
    focal: str | os.PathLike | None = None,
    model: str | None = None,
    transducer: str | os.PathLike | None = None,
    **kw: Any,
) -> Any:
    """Assertions for the test functions of a file or of every source file under a folder, yielded
    as they are generated: ``{"file", "name", "line", "focal", "assertion", "statement"}``
    (:func:`checked_assertion`). The tests are those
    ``function`` names, else every function whose name starts with ``test``. The assertion goes
    at the test's ``"<AssertPlaceHolder>"`` statement, else at the end of its body. The focal
    method (the method under test, given to the model after the test as in ATLAS) is the last
    function the test calls that ``focal`` (a file) defines, else that the test's own file
    defines."""
    focal_functions = None
    if focal is not None:
        focal_lang, focal_functions = functions_of_file(
            focal, max_bytes=kw.get("max_bytes", MAX_BYTES)
        )

    def plan(file: Path, lang: str, functions: list[Function]) -> list[Job]:
        if function is not None:
            tests = select_functions(functions, function)
        else:
            tests = [f for f in functions if f.simple_name.lower().startswith("test")]
            if not tests:
                raise UseError(
                    f"{os.fspath(file)} holds no test function (named test...); "
                    "pass --function NAME"
                )
        if focal_functions is not None and focal_lang != lang:
            raise UseError(f"the focal file is {focal_lang} but the test is {lang}")
        data, _ = read_source(file, lang, kw.get("max_bytes", MAX_BYTES))
        resolved = resolve_model("assert", lang, model, transducer)
        jobs = []
        for test in tests:
            record, focal_fn = assert_record(data, lang, functions, test, focal_functions)
            record["focal"] = focal_fn.name if focal_fn else None
            jobs.append(Job(file, test, record, resolved))
        return jobs

    for job, text in _run("assert", test_path, plan, **kw):
        yield {
            "file": str(job.file),
            "name": job.function.name,
            "line": job.function.line,
            "focal": job.record["focal"],
            **checked_assertion(text, job.record["source_lang"]),
        }


def assertion_text(text: str, lang: str) -> str:
    """A generated assertion as it goes into the test: in ordinary spacing for a brace language
    (models trained on ATLAS write space-separated tokens:
    :func:`ttune.data.syntax.compact_tokens`), as generated otherwise."""
    found = find_language(lang)
    return compact_tokens(text) if found is not None and found.blocks == "braces" else text


def checked_assertion(text: str, lang: str) -> dict[str, Any]:
    """A generated assertion as ``ttune assert`` and the editor give it: ``assertion`` (in
    ordinary spacing, :func:`assertion_text`) and ``statement`` (it parses as one statement of
    ``lang``, :func:`ttune.data.syntax.parses_as_statement`, which a model's own text for a test
    with no candidate assertion often does not)."""
    assertion = assertion_text(text, lang)
    return {"assertion": assertion, "statement": parses_as_statement(assertion, lang)}


def generate_assert(
    test_file: str | os.PathLike[str],
    function: str,
    focal: str | os.PathLike | None = None,
    model: str | None = None,
    transducer: str | os.PathLike | None = None,
    **kw: Any,
) -> dict[str, Any]:
    """The assertion for test ``function`` of the file ``test_file`` (see :func:`iter_asserts`).
    Returns {"name", "line", "focal", "assertion", "statement"}."""
    lang, functions = functions_of_file(test_file, max_bytes=kw.get("max_bytes", MAX_BYTES))
    matches = select_functions(functions, function)
    if len(matches) > 1:
        raise UseError(
            f"{function!r} names {len(matches)} functions (lines "
            f"{', '.join(str(f.line) for f in matches)}); pass --function NAME:LINE"
        )
    [result] = iter_asserts(test_file, function, focal, model, transducer, **kw)
    return {k: v for k, v in result.items() if k != "file"}


# ------------------------------------------------------------------------------ translate
def iter_translations(
    path: str | os.PathLike[str],
    to: str,
    function: str | None = None,
    model: str | None = None,
    transducer: str | os.PathLike | None = None,
    **kw: Any,
) -> Any:
    """Each outermost function (nested ones travel with their parent), or those ``function``
    names, of a file or of every source file under a folder, translated into language ``to``;
    yielded as they are generated: ``{"file", "name", "line", "translation", "unchanged",
    "mechanical", "parses"}`` (:func:`translation_checks`; ``unchanged``: the translation is the
    function's source up to whitespace, ``mechanical``: its rule-based rewrite, as a model decoded
    as a copy writes when it has nothing better; docs/decoding.md)."""
    target = find_language(to)
    if target is None:
        raise UseError(f"cannot translate to {to!r}; targets: {', '.join(language_names())}")
    to = target.name

    def plan(file: Path, lang: str, functions: list[Function]) -> list[Job]:
        if to == lang:
            raise UseError(f"{os.fspath(file)} is already {lang}")
        functions = (
            select_functions(functions, function)
            if function is not None
            else [f for f in functions if not f.nested]
        )
        resolved = resolve_model("translate", lang, model, transducer, target_lang=to)
        return [
            Job(
                file,
                f,
                function_record(f, lang, to),
                resolved,
            )
            for f in functions
        ]

    for job, text in _run("translate", path, plan, **kw):
        yield {
            "file": str(job.file),
            "name": job.function.name,
            "line": job.function.line,
            "translation": text,
            **translation_checks(text, job.record["source"], to, job.record.get("source_lang")),
        }


def same_code(a: str, b: str) -> bool:
    """Whether two code texts are the same up to whitespace (a translation that is its source)."""
    return "".join(a.split()) == "".join(b.split())


def translation_checks(
    translation: str, source: str, to: str, lang: str | None = None
) -> dict[str, bool]:
    """What a user should know of a translation before using it: ``unchanged`` (it is the
    source up to whitespace), ``mechanical`` (it is, up to whitespace, the source as the rules
    of its language pair rewrite it, :func:`ttune.data.rewrite.rewrite_source`, with no edit of
    the model's; ``lang`` names the source's language, False without one or without rules) and
    ``parses`` (tree-sitter parses it in language ``to`` with no ERROR or MISSING node,
    :func:`ttune.data.syntax.parses`)."""
    unchanged = same_code(translation, source)
    rewritten = rewrite_source(source, lang, to) if lang is not None else None
    return {
        "unchanged": unchanged,
        "mechanical": rewritten is not None and not unchanged and same_code(translation, rewritten),
        "parses": parses(translation, to),
    }


def translate_file(
    path: str | os.PathLike[str],
    to: str,
    function: str | None = None,
    model: str | None = None,
    transducer: str | os.PathLike | None = None,
    **kw: Any,
) -> list[dict[str, Any]]:
    """Each outermost function of the file ``path`` translated into language ``to``:
    ``[{"name", "line", "translation", "unchanged", "mechanical", "parses"}]`` (see
    :func:`iter_translations`)."""
    return [
        {k: v for k, v in r.items() if k != "file"}
        for r in iter_translations(path, to, function, model, transducer, **kw)
    ]


NOT_A_STATEMENT = (
    "not one statement: the model's output does not parse as an assertion (a test with no value "
    "to check gets the model's own text)"
)
"""What ``ttune assert`` says after an assertion that does not parse as one statement."""


def render_translation(r: dict, to: str) -> str:
    """One translation after a comment naming its source function, saying so when the model
    gave the source unchanged or only its rule-based rewrite, and when the translation does not
    parse."""
    found = find_language(to)
    mark = found.line_comment if found is not None else "//"
    notes = []
    if r.get("unchanged"):
        notes.append("not translated, the source unchanged")
    elif r.get("mechanical"):
        notes.append("rule-based rewrite of the source, no edit by the model")
    if r.get("parses") is False:
        notes.append(f"it does not parse as {found.display_name if found is not None else to}")
    said = ": " + "; ".join(notes) if notes else ""
    return f"{mark} {r['name']} (line {r['line']}){said}\n{r['translation'].rstrip()}\n"


def render_translations(results: Sequence[dict], to: str) -> str:
    """The translations as one text, each after a comment naming its source function."""
    return "\n".join(render_translation(r, to) for r in results)
