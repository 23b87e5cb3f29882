"""End-user commands as library functions: summarize, assert and translate the functions of a file.

A file's functions come from its CPG (:mod:`ttune.cpg`): every METHOD node except lambdas, with
nested functions and class methods included and qualified by their enclosing classes and
functions (``Foo.bar``, ``outer.inner``). Each function's text is sliced from the file by the node's
byte span (from the start of its first line, then dedented), made into a task record, and given
to the engine's prediction (:func:`ttune.train.predict.predict`: batching, CPGs, generation from
the source only).

Which model: :func:`resolve_model`. ``transducer`` is a trained method folder; its backbone is
``model`` if given, else the one its train_config.json or method_config.json names. Without a
transducer, the built-in models are used: the package data folder ``ttune/models/`` (or
``$TTUNE_MODELS_DIR``) holding the ``ttune-tiny`` backbone and one transducer folder per task and
language (``summarize-python``, ``summarize-java``, ``assert-java``, ``translate-java-csharp``).
``model="ttune-tiny"`` names the built-in backbone.

Nothing here imports torch or transformers until a prediction actually runs, so bad input (an
unknown function, a binary file) fails fast.
"""

from __future__ import annotations

import json
import os
import re
import textwrap
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

BUILTIN_BACKBONE = "ttune-tiny"
"""Name of the built-in backbone (a folder of that name inside the models folder)."""

NO_BUILTIN = "no built-in model is installed yet; pass --transducer DIR (and --model PATH if its backbone moved)"
PLACEHOLDER = '"<AssertPlaceHolder>"'
"""The statement that marks where the assertion goes (ATLAS layout, also used by ttune.data)."""

_LAMBDA_TYPES = {"lambda", "lambda_expression", "anonymous_method_expression"}
_TRANSLATE_TARGETS = ("java", "csharp", "python")
_COMMENT = {"python": "#", "java": "//", "csharp": "//"}


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
    """1-based line of the declared name (decorators, annotations and attributes above it not counted)."""
    start_byte: int
    """Byte span of the declaration in the file (UTF-8)."""
    end_byte: int
    source: str
    """The function's text from the start of its first line, dedented, ending with a newline."""
    nested: bool
    """True when the function sits inside another function (a local or nested function)."""


# ------------------------------------------------------------------------------ reading files
def read_source(path: str | os.PathLike[str], lang: str | None = None) -> tuple[bytes, str]:
    """(bytes, language) of a source file; UseError/CPGError (one line) for a missing, binary,
    non-UTF-8 or unsupported file."""
    from ttune.cpg import SUPPORTED_LANGUAGES, detect_language

    p = Path(path)
    if lang is None:
        try:
            lang = detect_language(p)
        except ValueError:
            raise UseError(f"unsupported file type {p.suffix or '(no extension)'!r} ({os.fspath(path)}); "
                           "supported: .py, .java, .cs") from None
    elif lang not in SUPPORTED_LANGUAGES:
        raise UseError(f"unknown language {lang!r}; supported: {', '.join(SUPPORTED_LANGUAGES)}")
    if not p.is_file():
        raise UseError(f"no such file: {os.fspath(path)}")
    try:
        data = p.read_bytes()
    except OSError as e:
        raise UseError(f"cannot read {os.fspath(path)}: {e.strerror or e}") from None
    if b"\x00" in data[:8192]:
        raise UseError(f"{os.fspath(path)} is a binary file (NUL byte), not source code")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UseError(f"{os.fspath(path)} is not UTF-8 text (invalid byte at offset {e.start})") from None
    return data, lang


def _slice(data: bytes, start: int, end: int) -> str:
    """``data[start:end]`` from the start of its first line, dedented (so that a method of a class
    parses on its own), with one trailing newline."""
    line_start = data.rfind(b"\n", 0, start) + 1
    lead = data[line_start:start]
    first = line_start if not lead.strip() else start
    text = data[first:end].decode("utf-8", errors="replace")
    return textwrap.dedent(text).rstrip() + "\n"


def find_functions(source: str | bytes, lang: str) -> list[Function]:
    """The functions and methods of ``source`` in file order (lambdas left out)."""
    from ttune.cpg import extract

    data = source.encode("utf-8") if isinstance(source, str) else bytes(source)
    cpg = extract(data, lang)
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
        out.append(Function(qualified, n.name, name_line.get(n.id, n.line), n.start_byte, n.end_byte,
                            _slice(data, n.start_byte, n.end_byte), nested))
    out.sort(key=lambda f: (f.start_byte, f.end_byte))
    return out


def functions_of_file(path: str | os.PathLike[str], lang: str | None = None) -> tuple[str, list[Function]]:
    """(language, functions) of a file; UseError when it holds no function."""
    data, lang = read_source(path, lang)
    functions = find_functions(data, lang)
    if not functions:
        raise UseError(f"{os.fspath(path)} holds no function or method")
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
        raise UseError(f"no function named {name!r}{f' on line {line}' if line else ''}; "
                       f"available: {_names(functions)}")
    return found


# ------------------------------------------------------------------------------ models
@dataclass(frozen=True)
class ResolvedModel:
    """A transducer folder and the backbone to load it on."""

    transducer: Path
    """The trained method folder (method_config.json + method.safetensors)."""
    backbone: str
    """Local folder or hub id of the backbone."""
    builtin: bool
    """True when both come from the built-in models folder."""


def models_dir() -> Path:
    """Where the built-in models live: $TTUNE_MODELS_DIR, else the package's ``ttune/models``."""
    env = os.environ.get("TTUNE_MODELS_DIR")
    return Path(env) if env else Path(__file__).resolve().parent / "models"


def builtin_backbone() -> Path:
    """The built-in backbone's folder (``ttune-tiny`` in the models folder); UseError when absent."""
    folder = models_dir() / BUILTIN_BACKBONE
    if not folder.is_dir():
        raise UseError(NO_BUILTIN)
    return folder


def builtin_name(task: str, lang: str, target_lang: str | None = None) -> str:
    """Folder name of a built-in transducer: ``summarize-python``, ``translate-java-csharp``."""
    return f"{task}-{lang}" + (f"-{target_lang}" if target_lang else "")


def _backbone_of(folder: Path) -> str | None:
    """The backbone a trained method folder names (train_config.json's ``model``, else the
    ``name_or_path`` recorded in method_config.json)."""
    for name, get in (("train_config.json", lambda d: d.get("model")),
                      ("method_config.json", lambda d: (d.get("backbone") or {}).get("name_or_path"))):
        path = folder / name
        if path.is_file():
            try:
                value = get(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, AttributeError):
                raise UseError(f"corrupt {path}") from None
            if value:
                return str(value)
    return None


def resolve_model(task: str, lang: str, model: str | None = None, transducer: str | os.PathLike | None = None,
                  target_lang: str | None = None) -> ResolvedModel:
    """Which transducer and backbone run ``task`` on ``lang`` code (see the module docstring).
    Reads a few JSON files only; UseError (one line) when nothing fits."""
    root = models_dir()
    if model == BUILTIN_BACKBONE:
        model = str(builtin_backbone())
    if transducer is not None:
        folder = Path(transducer)
        if not folder.is_dir():
            raise UseError(f"transducer folder not found: {folder}")
        if not (folder / "method_config.json").is_file():
            raise UseError(f"{folder} is not a trained method folder (no method_config.json)")
        backbone = model or _backbone_of(folder)
        if not backbone:
            raise UseError(f"{folder} does not name its backbone; pass --model PATH")
        if backbone == BUILTIN_BACKBONE and not Path(backbone).exists():  # trained with --model ttune-tiny
            backbone = str(builtin_backbone())
        if model is None and Path(backbone).is_absolute() and not Path(backbone).exists():
            raise UseError(f"the backbone of {folder} is not at {backbone} any more; pass --model PATH")
        return ResolvedModel(folder, backbone, False)
    if not root.is_dir() or not (root / BUILTIN_BACKBONE).is_dir():
        raise UseError(NO_BUILTIN)
    name = builtin_name(task, lang, target_lang)
    folder = root / name
    if not (folder / "method_config.json").is_file():
        have = sorted(p.name for p in root.iterdir() if (p / "method_config.json").is_file())
        raise UseError(f"no built-in model for {name}; built-in: {', '.join(have) or '(none)'}; "
                       "pass --transducer DIR")
    return ResolvedModel(folder, model or str(root / BUILTIN_BACKBONE), model is None)


def threads_for(backbone: str) -> int | None:
    """Intra-op threads for a backbone: 1 for a small local one (under 100 MB of weights), else
    torch's default. Why: a tiny model's matrices gain nothing from more threads, and OpenMP's
    spin-waiting threads made generation 5 to 15 times slower on a 2-core machine whose other
    core was busy (measured: 14 summaries in 1.5 s with 1 thread, 8 to 22 s with 2)."""
    p = Path(backbone)
    if not p.is_dir():
        return None
    size = sum(f.stat().st_size for f in p.glob("*.safetensors"))
    return 1 if 0 < size < 100_000_000 else None


def _predict(resolved: ResolvedModel, records: list[dict], task: str, *, num_beams: int,
             batch_size: int, max_new_tokens: int | None, device: str) -> list[str]:
    import torch

    from ttune.train.predict import predict

    before = torch.get_num_threads()
    threads = threads_for(resolved.backbone) if device == "cpu" else None
    if threads:
        torch.set_num_threads(threads)
    try:
        with warnings.catch_warnings():
            if resolved.builtin:
                # The built-in transducers were trained on the backbone at another path; same weights.
                warnings.filterwarnings("ignore", message="method was trained on")
            return predict(resolved.transducer, records, model=resolved.backbone, task=task,
                           batch_size=batch_size, num_beams=num_beams, max_new_tokens=max_new_tokens,
                           device=device)
    finally:
        torch.set_num_threads(before)


# ------------------------------------------------------------------------------ summarize
def summarize_file(path: str | os.PathLike[str], function: str | None = None, model: str | None = None,
                   transducer: str | os.PathLike | None = None, *, num_beams: int = 4, batch_size: int = 8,
                   max_new_tokens: int | None = None, device: str = "cpu") -> list[dict[str, Any]]:
    """One summary per function of ``path`` (only those matching ``function`` when given):
    ``[{"name", "line", "summary"}]`` in file order."""
    lang, functions = functions_of_file(path)
    if function is not None:
        functions = select_functions(functions, function)
    resolved = resolve_model("summarize", lang, model, transducer)
    records = [{"id": f"{f.name}:{f.line}", "source": f.source, "source_lang": lang, "target_lang": "en"}
               for f in functions]
    texts = _predict(resolved, records, "summarize", num_beams=num_beams, batch_size=batch_size,
                     max_new_tokens=max_new_tokens, device=device)
    return [{"name": f.name, "line": f.line, "summary": s} for f, s in zip(functions, texts)]


# ------------------------------------------------------------------------------ assert
def _called_names(data: bytes, lang: str, fn: Function) -> list[str]:
    """Simple names of the calls inside ``fn``, in source order (``f.bar(1)`` -> ``bar``,
    ``new Foo()`` -> ``Foo``)."""
    from ttune.cpg import extract

    cpg = extract(data, lang)
    names = []
    for n in cpg.nodes:
        if n.kind != "CALL" or not (fn.start_byte <= n.start_byte < fn.end_byte):
            continue
        head = data[n.start_byte:n.end_byte].split(b"(", 1)[0].decode("utf-8", "replace")
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
        import ast

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
            head, rest = row[:body.col_offset].decode().rstrip(), row[body.col_offset:].decode()
            src = "\n".join(lines[:body.lineno - 1] + [head, indent + rest] + lines[body.lineno:]) + "\n"
        return src.rstrip("\n") + f"\n{indent}{PLACEHOLDER}\n"
    close = src.rstrip().rfind("}")
    if close < 0:
        raise UseError(f"{test.name} (line {test.line}) has no body to put an assertion in")
    return src[:close].rstrip() + f" {PLACEHOLDER} ; }}\n"


def assert_record(data: bytes, lang: str, functions: Sequence[Function], test: Function,
                  focal_candidates: Sequence[Function] | None = None) -> tuple[dict, Function | None]:
    """(task record, focal function or None) for test ``test`` of the source ``data`` whose
    functions are ``functions``. The focal method is the last function the test calls among
    ``focal_candidates`` (default: the other functions of ``data``); its text follows the test's."""
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
    return {"id": test.name, "source": source, "source_lang": lang, "target_lang": lang}, focal_fn


def generate_assert(test_file: str | os.PathLike[str], function: str, focal: str | os.PathLike | None = None,
                    model: str | None = None, transducer: str | os.PathLike | None = None, *,
                    num_beams: int = 4, max_new_tokens: int | None = None,
                    device: str = "cpu") -> dict[str, Any]:
    """The assertion for test ``function`` of ``test_file`` (at its ``"<AssertPlaceHolder>"``
    statement, else at the end of its body). The focal method (the method under test, given to the
    model after the test as in ATLAS) is the last function the test calls that ``focal`` (a file)
    defines, else that the test file itself defines. Returns {"name", "line", "focal", "assertion"}."""
    lang, functions = functions_of_file(test_file)
    matches = select_functions(functions, function)
    if len(matches) > 1:
        raise UseError(f"{function!r} names {len(matches)} functions (lines "
                       f"{', '.join(str(f.line) for f in matches)}); pass --function NAME:LINE")
    test = matches[0]
    data, _ = read_source(test_file, lang)
    candidates = None
    if focal is not None:
        focal_lang, candidates = functions_of_file(focal)
        if focal_lang != lang:
            raise UseError(f"the focal file is {focal_lang} but the test is {lang}")
    record, focal_fn = assert_record(data, lang, functions, test, candidates)
    resolved = resolve_model("assert", lang, model, transducer)
    [assertion] = _predict(resolved, [record], "assert", num_beams=num_beams, batch_size=1,
                           max_new_tokens=max_new_tokens, device=device)
    return {"name": test.name, "line": test.line, "focal": focal_fn.name if focal_fn else None,
            "assertion": assertion}


# ------------------------------------------------------------------------------ translate
def translate_file(path: str | os.PathLike[str], to: str, function: str | None = None, model: str | None = None,
                   transducer: str | os.PathLike | None = None, *, num_beams: int = 4, batch_size: int = 4,
                   max_new_tokens: int | None = None, device: str = "cpu") -> list[dict[str, Any]]:
    """Each outermost function of ``path`` (nested ones travel with their parent) translated into
    language ``to``: ``[{"name", "line", "translation"}]``."""
    if to not in _TRANSLATE_TARGETS:
        raise UseError(f"cannot translate to {to!r}; targets: {', '.join(_TRANSLATE_TARGETS)}")
    lang, functions = functions_of_file(path)
    if to == lang:
        raise UseError(f"{os.fspath(path)} is already {lang}")
    functions = select_functions(functions, function) if function is not None else \
        [f for f in functions if not f.nested]
    resolved = resolve_model("translate", lang, model, transducer, target_lang=to)
    records = [{"id": f"{f.name}:{f.line}", "source": f.source, "source_lang": lang, "target_lang": to}
               for f in functions]
    texts = _predict(resolved, records, "translate", num_beams=num_beams, batch_size=batch_size,
                     max_new_tokens=max_new_tokens, device=device)
    return [{"name": f.name, "line": f.line, "translation": t} for f, t in zip(functions, texts)]


def render_translations(results: Sequence[dict], to: str) -> str:
    """The translations as one text, each after a comment naming its source function."""
    mark = _COMMENT.get(to, "//")
    return "\n".join(f"{mark} {r['name']} (line {r['line']})\n{r['translation'].rstrip()}\n" for r in results)
