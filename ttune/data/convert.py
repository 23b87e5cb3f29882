"""Converters from the research data sets' own formats to the one JSONL schema
(:mod:`ttune.data.io`).

Each converter takes the data set's folder (or one of its files) and yields records of every split
it has. Splits are named ``train`` / ``dev`` / ``test``. Where a data set has no train split
(TL-CodeSum, code-docstring-corpus, ATLAS) its non-test part is divided deterministically:
a record goes to ``dev`` when ``sha256(id) mod 10 == 0`` (about 10 %), else to ``train``
(:func:`carve_split`). The id hashed is the record's ``id`` field, so the carve-out is the same on
every machine and for every run.

Problems in a source file (blank or misaligned lines, unparseable JSON, incomplete records) are
collected as ``(file:line, reason)`` in :attr:`ConvertResult.skipped`, never silently dropped.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ttune.data.decode import (
    decode_avatar_python,
    decode_avatar_strings,
    decode_dcnl,
    decode_dcnl_text,
    split_first_method,
)
from ttune.data.io import PLACEHOLDER, SPLITS, DataError, make_record, write_jsonl


@dataclass
class ConvertResult:
    records: list[dict] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(``file:line``, reason) for every source line that gave no record."""

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in SPLITS}
        for r in self.records:
            out[r["split"]] = out.get(r["split"], 0) + 1
        return out


class _Skip:
    __slots__ = ("where", "reason")

    def __init__(self, where: str, reason: str) -> None:
        self.where, self.reason = where, reason


def carve_split(record_id: str, dev_mod: int = 10) -> str:
    """``dev`` for ids whose sha256 is 0 mod ``dev_mod``, else ``train`` (deterministic
    carve-out)."""
    h = int.from_bytes(hashlib.sha256(record_id.encode("utf-8")).digest()[:8], "big")
    return "dev" if h % dev_mod == 0 else "train"


def _read_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise DataError(f"missing file {path}")
    with open(path, encoding="utf-8", errors="replace", newline="\n") as f:
        return [ln.rstrip("\n").rstrip("\r") for ln in f]


def _aligned(paths: list[Path]) -> list[list[str]]:
    columns = [_read_lines(p) for p in paths]
    lengths = {len(c) for c in columns}
    if len(lengths) != 1:
        sizes = ", ".join(f"{p.name}={len(c)}" for p, c in zip(paths, columns))
        raise DataError(f"line-aligned files differ in length: {sizes}")
    return columns


def _find(folder: Path, pattern: str) -> list[Path]:
    return sorted(folder.glob(pattern))


# ------------------------------------------------------------------------- codexglue-trans
_CODEXGLUE_SPLITS = {"train": "train", "valid": "dev", "test": "test"}


def _codexglue_trans(path: Path) -> Iterator[dict | _Skip]:
    """CodeXGLUE code-to-code-trans: ``{split}.java-cs.txt.java`` / ``.cs``, line i of each a
    pair."""
    folder = path if path.is_dir() else path.parent
    found = False
    for src_split, split in _CODEXGLUE_SPLITS.items():
        java = folder / f"{src_split}.java-cs.txt.java"
        cs = folder / f"{src_split}.java-cs.txt.cs"
        if not java.exists() and not cs.exists():
            continue
        found = True
        javas, css = _aligned([java, cs])
        for i, (j, c) in enumerate(zip(javas, css), 1):
            if not j.strip() or not c.strip():
                yield _Skip(f"{java.name}:{i}", "empty Java or C# side")
                continue
            yield make_record(
                f"codexglue-java-cs/{src_split}/{i}", j.strip(), c.strip(), "java", "csharp", split
            )
    if not found:
        raise DataError(f"no {{train,valid,test}}.java-cs.txt.java files in {folder}")


# ------------------------------------------------------------------------- tl-codesum
def _read_id_tab(path: Path) -> list[tuple[str, str] | None]:
    """(id, text) per line of an ``id<TAB>text`` file; None for a line without a tab or id."""
    rows: list[tuple[str, str] | None] = []
    for line in _read_lines(path):
        rid, tab, text = line.partition("\t")
        rows.append((rid.strip(), text.strip()) if tab and rid.strip() else None)
    return rows


def _tl_codesum(path: Path) -> Iterator[dict | _Skip]:
    """TL-CodeSum: ``{valid,test}.token.code`` / ``.nl``, lines ``id<TAB>text``; valid is carved
    into train/dev (no train split is published), test stays test."""
    folder = path if path.is_dir() else path.parent
    found = False
    for src_split in ("train", "valid", "test"):
        code_f, nl_f = folder / f"{src_split}.token.code", folder / f"{src_split}.token.nl"
        if not code_f.exists():
            continue
        found = True
        codes, nls = _read_id_tab(code_f), _read_id_tab(nl_f)
        if len(codes) != len(nls):
            raise DataError(f"{code_f.name} has {len(codes)} lines but {nl_f.name} {len(nls)}")
        for i, (c, n) in enumerate(zip(codes, nls), 1):
            if c is None or n is None:
                yield _Skip(f"{code_f.name}:{i}", "line is not id<TAB>text")
                continue
            if c[0] != n[0]:
                yield _Skip(f"{code_f.name}:{i}", f"id {c[0]} != {n[0]} in {nl_f.name}")
                continue
            if not c[1] or not n[1]:
                yield _Skip(f"{code_f.name}:{i}", "empty code or summary")
                continue
            rid = f"tl-codesum/{src_split}/{c[0]}"
            split = (
                "test"
                if src_split == "test"
                else ("train" if src_split == "train" else carve_split(rid))
            )
            yield make_record(rid, c[1], n[1], "java", "en", split)
    if not found:
        raise DataError(f"no {{valid,test}}.token.code files in {folder}")


# ------------------------------------------------------------------------- code-docstring
def _code_docstring(path: Path) -> Iterator[dict | _Skip]:
    """code-docstring-corpus: ``[repo_split.]data_ps.declbodies.{valid,test}`` + ``.descriptions``.
    The folder may be the corpus root (then the canonical ``parallel-corpus`` split is used) or
    one of its split folders."""
    folder = path if path.is_dir() else path.parent
    if (folder / "parallel-corpus").is_dir():
        folder = folder / "parallel-corpus"
    prefixes = {p.name.rsplit(".declbodies.", 1)[0] for p in _find(folder, "*data_ps.declbodies.*")}
    if len(prefixes) != 1:
        raise DataError(
            f"expected one *data_ps.declbodies.* family in {folder}, found {sorted(prefixes)}"
        )
    prefix = prefixes.pop()
    variant = "repo_split" if prefix.startswith("repo_split") else "canonical"
    for src_split in ("train", "valid", "test"):
        bodies_f = folder / f"{prefix}.declbodies.{src_split}"
        if not bodies_f.exists():
            continue
        desc_f = folder / f"{prefix}.descriptions.{src_split}"
        bodies, descs = _aligned([bodies_f, desc_f])
        for i, (b, d) in enumerate(zip(bodies, descs), 1):
            if not b.strip() or not d.strip():
                yield _Skip(f"{bodies_f.name}:{i}", "empty code or description")
                continue
            code = decode_dcnl(b)
            text = decode_dcnl_text(d)
            if not text:
                yield _Skip(f"{desc_f.name}:{i}", "description decodes to nothing")
                continue
            rid = f"code-docstring/{variant}/{src_split}/{i}"
            split = (
                "test"
                if src_split == "test"
                else ("train" if src_split == "train" else carve_split(rid))
            )
            yield make_record(rid, code, text, "python", "en", split)


# ------------------------------------------------------------------------- atlas
def _atlas_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    files = _find(path, "*.jsonl.gz") + _find(path, "*.jsonl")
    if not files:
        raise DataError(f"no *.jsonl.gz files in {path}")
    return files


def _atlas(path: Path) -> Iterator[dict | _Skip]:
    """ATLAS with real identifiers: gzipped JSON lines. Source = the test method with its
    ``"<AssertPlaceHolder>"`` statement, then (on a new line) the focal method where the record
    has one; target = the assertion. ``eval`` is carved into train/dev, ``testing`` is test.
    Records whose identifiers could not be put back (``deabstraction_complete`` false) are
    skipped."""
    for f in _atlas_files(path):
        opener = gzip.open if f.suffix == ".gz" else open
        with opener(f, "rt", encoding="utf-8") as fh:
            for i, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                where = f"{f.name}:{i}"
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    yield _Skip(where, f"invalid JSON ({e.msg})")
                    continue
                test, assertion = obj.get("test_method"), obj.get("assertion")
                if (
                    not isinstance(test, str)
                    or not isinstance(assertion, str)
                    or not assertion.strip()
                ):
                    yield _Skip(where, "missing test_method or assertion")
                    continue
                if obj.get("deabstraction_complete") is False:
                    yield _Skip(
                        where, "deabstraction_complete is false (abstract identifiers left)"
                    )
                    continue
                if PLACEHOLDER not in test:
                    yield _Skip(where, "no <AssertPlaceHolder> in test_method")
                    continue
                method, focal = split_first_method(test)
                source = method + ("\n" + focal if focal else "")
                src_split = str(obj.get("split") or f.name.split("_")[-1].split(".")[0])
                rid = f"atlas/{src_split}/{obj.get('id', i)}"
                split = "test" if src_split in ("testing", "test") else carve_split(rid)
                yield make_record(rid, source, assertion.strip(), "java", "java", split)


# ------------------------------------------------------------------------- avatar
_AVATAR_SPLITS = {"train": "train", "valid": "dev", "test": "test"}


def _avatar(path: Path) -> Iterator[dict | _Skip]:
    """AVATAR g4g functions: ``{split}.java-python.{java,python,id}``, line-aligned and tokenised;
    Python layout tokens become real indentation, tokenised string literals are joined."""
    folder = path if path.is_dir() else path.parent
    found = False
    for src_split, split in _AVATAR_SPLITS.items():
        java_f = folder / f"{src_split}.java-python.java"
        if not java_f.exists():
            continue
        found = True
        py_f, id_f = (
            folder / f"{src_split}.java-python.python",
            folder / f"{src_split}.java-python.id",
        )
        javas, pys, ids = _aligned([java_f, py_f, id_f])
        for i, (j, p, rid) in enumerate(zip(javas, pys, ids), 1):
            if not j.strip() or not p.strip():
                yield _Skip(f"{java_f.name}:{i}", "empty Java or Python side")
                continue
            rid = f"avatar/{src_split}/{rid.strip() or i}"
            yield make_record(
                rid,
                decode_avatar_strings(j.strip()),
                decode_avatar_python(p),
                "java",
                "python",
                split,
            )
    if not found:
        raise DataError(f"no {{train,valid,test}}.java-python.java files in {folder}")


FORMATS: dict[str, Callable[[Path], Iterator[dict | _Skip]]] = {
    "codexglue-trans": _codexglue_trans,
    "tl-codesum": _tl_codesum,
    "code-docstring": _code_docstring,
    "atlas": _atlas,
    "avatar": _avatar,
}


def format_names() -> list[str]:
    return sorted(FORMATS)


def convert(
    fmt: str, input_path: str | Path, split: str | None = None, reverse: bool = False
) -> ConvertResult:
    """Convert the data set at ``input_path`` (format ``fmt``) into schema records.

    ``split`` keeps one split (``train`` / ``dev`` / ``test``); ``reverse`` swaps source and target
    (and their languages), e.g. AVATAR Python -> Java or C# -> Java.
    """
    if fmt not in FORMATS:
        raise DataError(f"unknown format {fmt!r}; known: {', '.join(format_names())}")
    if split is not None and split not in SPLITS:
        raise DataError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")
    path = Path(input_path)
    if not path.exists():
        raise DataError(f"input not found: {path}")
    result = ConvertResult()
    for item in FORMATS[fmt](path):
        if isinstance(item, _Skip):
            result.skipped.append((item.where, item.reason))
            continue
        if split is not None and item["split"] != split:
            continue
        if reverse:
            item["source"], item["target"] = item["target"], item["source"]
            item["source_lang"], item["target_lang"] = item["target_lang"], item["source_lang"]
        result.records.append(item)
    if not result.records:
        raise DataError(f"no records converted from {path} (format {fmt}, split {split or 'all'})")
    return result


def convert_to_file(
    fmt: str,
    input_path: str | Path,
    output: str | Path,
    split: str | None = None,
    reverse: bool = False,
) -> dict:
    """:func:`convert` written to ``output`` as schema JSONL. Returns {"output", "records",
    "splits", "skipped", "skipped_examples"} (skipped: source lines that gave no record, with
    reasons)."""
    result = convert(fmt, input_path, split=split, reverse=reverse)
    n = write_jsonl(output, result.records)
    return {
        "output": str(output),
        "records": n,
        "splits": result.counts(),
        "skipped": len(result.skipped),
        "skipped_examples": result.skipped[:10],
    }
