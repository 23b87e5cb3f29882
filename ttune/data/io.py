"""The one JSONL record schema every converter and builder writes, and its reader / writer.

A record is one JSON object per line::

    {"id": str, "source": str, "target": str, "source_lang": str, "target_lang": str, "split": str}

``source_lang`` / ``target_lang`` are a language name of the language table
(:mod:`ttune.cpg.languages`: ``python``, ``java``, ``csharp``) or ``en`` for natural language.
``split`` is ``train``, ``dev`` or ``test``.
Readers only require ``source`` and ``target`` (strings) so that hand-made ``custom`` files work;
other keys are kept as they are.

Malformed lines are never silently dropped and never fatal on their own: :func:`read_jsonl` returns
them with their line numbers so that callers report them. Only a missing or empty file, or a file
whose every line is bad, raises :class:`DataError`.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from ttune.cpg.languages import language_names
from ttune.io import atomic_file

SCHEMA_KEYS = ("id", "source", "target", "source_lang", "target_lang", "split")
SPLITS = ("train", "dev", "test")

PLACEHOLDER = '"<AssertPlaceHolder>"'
"""Where an assert record's source holds the assertion to write (ATLAS's marker, kept by every
builder, converter and command that makes assert inputs)."""
NATURAL_LANGUAGE = "en"
"""The ``source_lang``/``target_lang`` of English text (summaries)."""


def record_languages() -> tuple[str, ...]:
    """Every value ``source_lang``/``target_lang`` may hold: the table's languages, then ``en``."""
    return (*language_names(), NATURAL_LANGUAGE)


def __getattr__(name: str):
    # LANGS follows the language table (languages may be registered after import).
    if name == "LANGS":
        return record_languages()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class DataError(ValueError):
    """Bad or missing data (one-line message)."""


def data_dir() -> Path:
    """Folder of the shared research data sets: ``$TTUNE_DATA_DIR`` or
    ``<repo>/../shared/datasets``."""
    env = os.environ.get("TTUNE_DATA_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


def check_record(obj: object) -> str | None:
    """Why ``obj`` is not a usable record (None when it is)."""
    if not isinstance(obj, dict):
        return f"not a JSON object but {type(obj).__name__}"
    for key in ("source", "target"):
        if key not in obj:
            return f"missing key {key!r}"
        if not isinstance(obj[key], str):
            return f"key {key!r} is {type(obj[key]).__name__}, not a string"
    if not obj["source"].strip():
        return "empty source"
    for key in ("source_lang", "target_lang", "split", "id"):
        if key in obj and obj[key] is not None and not isinstance(obj[key], (str, int)):
            return f"key {key!r} has type {type(obj[key]).__name__}"
    return None


def _open_text(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", errors="strict")
    return open(path, encoding="utf-8", errors="strict")


def read_jsonl(path: str | os.PathLike) -> tuple[list[dict], list[tuple[int, str]]]:
    """Read records from a JSONL file (``.gz`` allowed).

    Returns ``(records, bad_lines)`` where ``bad_lines`` lists ``(line number starting at 1,
    reason)`` for every malformed line (bad JSON, not an object, missing/empty source or target).
    Blank lines are skipped and not counted. Raises :class:`DataError` when the file is missing,
    holds no record line at all, or every line is bad.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data file not found: {path}")
    records: list[dict] = []
    bad: list[tuple[int, str]] = []
    try:
        with _open_text(path) as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    bad.append((lineno, f"invalid JSON ({e.msg} at column {e.colno})"))
                    continue
                reason = check_record(obj)
                if reason is not None:
                    bad.append((lineno, reason))
                    continue
                records.append(obj)
    except (UnicodeDecodeError, OSError, EOFError) as e:
        raise DataError(f"cannot read {path}: {e}") from None
    if not records:
        if bad:
            first = bad[0]
            raise DataError(
                f"{path}: all {len(bad)} lines are malformed (line {first[0]}: {first[1]})"
            )
        raise DataError(f"{path}: no records (empty file)")
    return records, bad


def target_language(records: Iterable[dict]) -> str | None:
    """The one ``target_lang`` the records share (what CodeBLEU scores them in), else None."""
    langs = {r.get("target_lang") for r in records}
    return langs.pop() if len(langs) == 1 else None


def describe_bad_lines(path: str | os.PathLike, bad: list[tuple[int, str]], limit: int = 5) -> str:
    """One line naming the malformed lines of ``path`` (the first ``limit`` with reasons)."""
    shown = "; ".join(f"line {n}: {why}" for n, why in bad[:limit])
    more = f" (+{len(bad) - limit} more)" if len(bad) > limit else ""
    return f"{path}: skipped {len(bad)} malformed line(s): {shown}{more}"


def iter_jsonl_lines(records: Iterable[dict]) -> Iterator[str]:
    for r in records:
        yield json.dumps(r, ensure_ascii=False) + "\n"


def write_jsonl(path: str | os.PathLike, records: Iterable[dict]) -> int:
    """Write ``records`` atomically (temp file in the same folder, then rename); returns the
    count."""
    path = Path(path)
    n = 0
    opener = gzip.open if path.suffix == ".gz" else open
    with atomic_file(path) as tmp, opener(tmp, "wt", encoding="utf-8") as f:
        for line in iter_jsonl_lines(records):
            f.write(line)
            n += 1
    return n


def make_record(
    id: str, source: str, target: str, source_lang: str, target_lang: str, split: str
) -> dict:
    """A record in the schema's key order."""
    return {
        "id": id,
        "source": source,
        "target": target,
        "source_lang": source_lang,
        "target_lang": target_lang,
        "split": split,
    }
