"""The pretraining corpus: code from this machine and from the TRAINING parts of the shared data
sets.

Sources (``PretrainConfig.sources``):

- ``python-stdlib``: ``*.py`` under ``sysconfig.get_paths()["stdlib"]`` (not its site-packages);
- ``site-packages``: ``*.py`` under the ``purelib`` / ``platlib`` folders of the running
  interpreter;
- ``jdk``: ``*.java`` inside ``/usr/lib/jvm/openjdk-17/lib/src.zip`` (read in the zip; skipped
  with a message when the file is absent);
- ``codexglue-java-cs``: the Java and the C# side of ``train.java-cs.txt.*`` (never valid or test);
- ``avatar-java-python``: the Java and the Python side of ``train.java-python.*``;
- ``code-docstring``: the code (declaration + body) of the canonical ``parallel-corpus`` records
  whose :func:`ttune.data.convert.carve_split` is ``train`` (valid split minus its carved dev
  tenth; never test, never the repo_split variant);
- ``tl-codesum``: the code of the ``valid`` records carved to ``train`` (never test);
- ``atlas``: the ``eval`` records carved to ``train``, with the assertion put back in place of the
  ``"<AssertPlaceHolder>"`` (test method + focal method; never ``testing``).

The corpus (span corruption, prefix LM) holds code only. The supervised pairs (:func:`build_pairs`)
add the English side of the TRAINING records only (code-docstring-corpus and TL-CodeSum summaries
carved to ``train``) and the docstrings of local functions. A data-set record whose code side
equals (up to whitespace) the code of any test record of a loaded data set is dropped from both.

Sampling: each source's documents (files or records) are listed in a fixed order (sorted paths or
record ids) and shuffled with the seed. The byte cap ``corpus_bytes`` is shared equally by the
sources; a source smaller than its share is taken whole and its unused share goes to the others.
Documents are taken whole until the share is reached (the last one cut at a line boundary). Each
document is then cut at line boundaries into chunks of at most ``chunk_chars`` characters; a
data-set record is one chunk. Training packs the tokenized chunks (each ending in ``</s>``) into
fixed windows of ``input_length`` tokens.
"""

from __future__ import annotations

import hashlib
import logging
import random
import sysconfig
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import distributions
from pathlib import Path

from ttune.cpg.languages import get_language, language_names
from ttune.data.convert import convert
from ttune.data.io import PLACEHOLDER, DataError
from ttune.data.io import data_dir as default_data_dir
from ttune.pretrain.config import DATASET_SOURCES, LOCAL_SOURCES, PretrainConfig, PretrainError
from ttune.pretrain.objectives import collect_pairs

log = logging.getLogger(__name__)


@dataclass
class Doc:
    """One document: ``name`` is a path (local sources) or a record id and side (data sets)."""

    source: str
    name: str
    text: str


@dataclass
class Corpus:
    """The sampled corpus: chunks in training order plus what each source gave."""

    chunks: list[str] = field(default_factory=list)
    stats: dict[str, dict] = field(default_factory=dict)
    """source -> {"documents", "chunks", "bytes", "available_bytes", "note"}."""
    names: dict[str, list[str]] = field(default_factory=dict)
    """source -> the document names taken, in order (the exact records / files used)."""

    def total_bytes(self) -> int:
        return sum(s["bytes"] for s in self.stats.values())

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for c in self.chunks:
            h.update(hashlib.sha256(c.encode("utf-8")).digest())
        return h.hexdigest()


def _nbytes(s: str) -> int:
    return len(s.encode("utf-8"))


# ------------------------------------------------------------------ local sources
# Each lister returns (name, size, loader) without reading the files, so sampling is cheap.
Entry = tuple[str, int, Callable[[], "str | None"]]


def _read_file(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None


def _py_files(roots: list[Path], exclude_site: bool, max_bytes: int) -> list[Entry]:
    seen, out = set(), []
    for root in roots:
        if not root.is_dir():
            continue
        for p in root.rglob("*" + get_language("python").extensions[0]):
            if exclude_site and ("site-packages" in p.parts or "dist-packages" in p.parts):
                continue
            try:
                if not p.is_file():
                    continue
                size = p.stat().st_size
            except OSError:
                continue
            rp = p.resolve()
            if rp in seen or size == 0 or size > max_bytes:
                continue
            seen.add(rp)
            out.append((str(p), size, lambda p=p: _read_file(p)))
    return sorted(out, key=lambda e: e[0])


def _stdlib_entries(cfg: PretrainConfig) -> tuple[list[Entry], str]:
    root = Path(sysconfig.get_paths()["stdlib"])
    return _py_files([root], True, cfg.max_file_bytes), str(root)


def _site_entries(cfg: PretrainConfig) -> tuple[list[Entry], str]:
    paths = sysconfig.get_paths()
    roots = sorted({Path(paths["purelib"]), Path(paths["platlib"])})
    return _py_files(roots, False, cfg.max_file_bytes), ", ".join(map(str, roots))


def _jdk_entries(cfg: PretrainConfig) -> tuple[list[Entry], str]:
    zpath = Path(cfg.jdk_src_zip)
    if not zpath.is_file():
        return [], f"skipped: {zpath} is absent (Debian package openjdk-17-source)"
    out: list[Entry] = []
    # One open archive serves every read (re-opening parses the 15,000-entry directory each time).
    z = zipfile.ZipFile(zpath)

    def load(name: str) -> str | None:
        try:
            return z.read(name).decode("utf-8")
        except UnicodeDecodeError:
            return None

    java = get_language("java").extensions
    for info in z.infolist():
        if info.is_dir() or not info.filename.endswith(java):
            continue
        if info.file_size == 0 or info.file_size > cfg.max_file_bytes:
            continue
        out.append((info.filename, info.file_size, lambda n=info.filename: load(n)))
    return sorted(out, key=lambda e: e[0]), str(zpath)


_LOCAL: dict[str, Callable[[PretrainConfig], tuple[list[Entry], str]]] = {
    "python-stdlib": _stdlib_entries,
    "site-packages": _site_entries,
    "jdk": _jdk_entries,
}


# ------------------------------------------------------------------ data sets
_FOLDERS = {
    "codexglue-java-cs": ("codexglue-java-cs", "codexglue-trans"),
    "avatar-java-python": ("avatar-java-python", "avatar"),
    "code-docstring": ("code-docstring-corpus/parallel-corpus", "code-docstring"),
    "tl-codesum": ("tl-codesum", "tl-codesum"),
    "atlas": ("atlas", "atlas"),
}


def _norm(code: str) -> str:
    return hashlib.sha256(" ".join(code.split()).encode("utf-8")).hexdigest()


def _code_sides(name: str, rec: dict) -> list[tuple[str, str]]:
    """(side name, code) of a record: only the sides that are code, never English targets."""
    if name == "atlas":
        # Put the assertion back where the test had it: ordinary Java, no placeholder token.
        return [
            (
                "source",
                rec["source"].replace(PLACEHOLDER, rec["target"].rstrip(";").strip(), 1),
            )
        ]
    sides = [("source", rec["source"])]
    if rec.get("target_lang") in language_names():
        sides.append(("target", rec["target"]))
    return sides


def _dataset_records(name: str, data_dir: Path) -> tuple[list[dict], list[str], str]:
    """(records carved to ``train``, normalized-code hashes of the test records, note) of one data
    set. Test records give only their hashes; ``dev`` records (carved or published) nothing."""
    folder, fmt = _FOLDERS[name]
    path = data_dir / folder
    if not path.exists():
        return [], [], f"skipped: {path} is absent"
    try:
        result = convert(fmt, path)
    except DataError as e:
        return [], [], f"skipped: {e}"
    train, test_hashes = [], []
    for rec in result.records:
        if rec["split"] == "test":
            test_hashes.extend(_norm(code) for _, code in _code_sides(name, rec))
        elif rec["split"] == "train":
            train.append(rec)
    return train, test_hashes, str(path)


def _without_test_copies(name: str, records: list[dict], test_hashes: set[str]) -> list[dict]:
    """The records none of whose code sides equals (up to whitespace) a test record's code."""
    return [
        r
        for r in records
        if not any(_norm(code) in test_hashes for _, code in _code_sides(name, r))
    ]


# Which supervised records each data set gives (its training part only).
_TASK_OF = {
    "code-docstring": "summarize",
    "tl-codesum": "summarize",
    "codexglue-java-cs": "translate",
    "avatar-java-python": "translate",
    "atlas": "assert",
}


def heldout_records(records: dict[str, list[dict]], seed: int, n: int) -> dict[str, list[dict]]:
    """Task (summarize, translate, assert) -> the data-set records held out of pretraining: of
    each task's training records (``records``: source -> records, test copies already dropped),
    sorted by id and shuffled with the seed, the last min(n, a quarter). They enter neither the
    corpus nor any training pair (in any direction or task); their pairs are the held-out sets of
    the log."""
    by_task: dict[str, list[dict]] = {}
    for s, recs in records.items():
        by_task.setdefault(_TASK_OF[s], []).extend(recs)
    out = {}
    for task, recs in by_task.items():
        order = sorted(recs, key=lambda r: r["id"])
        random.Random(f"{seed}:heldout:{task}").shuffle(order)
        out[task] = order[len(order) - min(n, len(order) // 4) :]
    return out


# ------------------------------------------------------------------ licences
LICENCES = {
    "python-stdlib": "PSF License Version 2 (the CPython standard library)",
    "site-packages": "each distribution's own licence (listed in the model card)",
    "jdk": "GPL-2.0 with the Classpath Exception (OpenJDK 17 sources, Debian openjdk-17-source)",
    "codexglue-java-cs": "CodeXGLUE data C-UDA, code MIT (microsoft/CodeXGLUE code-to-code-trans)",
    "avatar-java-python": "CC BY-SA 4.0 (wasiahmad/AVATAR g4g functions)",
    "code-docstring": "research use only (EdinburghNLP/code-docstring-corpus)",
    "tl-codesum": "no licence file: research use (xing-hu/TL-CodeSum)",
    "atlas": "no licence file: research use (ATLAS, Watson et al. ICSE 2020)",
}
"""Licence of every corpus source, as the shared data sets' README and the packages state them."""


def site_package_licences() -> dict[str, str]:
    """Distribution name -> its licence (License-Expression, else the License field when short,
    else the licence classifiers, else "not stated") for the running interpreter's packages."""
    out: dict[str, str] = {}
    for d in distributions():
        meta = d.metadata
        name = meta.get("Name") or "?"
        lic = (meta.get("License-Expression") or "").strip()
        field = (meta.get("License") or "").strip()
        if not lic and field and len(field) <= 60 and "\n" not in field:
            lic = field
        if not lic:
            lic = (
                "; ".join(
                    c.rsplit("::", 1)[-1].strip()
                    for c in meta.get_all("Classifier") or []
                    if c.startswith("License ::")
                )
                or "not stated"
            )
        out[name] = lic
    return dict(sorted(out.items(), key=lambda kv: kv[0].lower()))


# ------------------------------------------------------------------ sampling
def _shares(available: dict[str, int], total: int) -> dict[str, int]:
    """Split ``total`` bytes equally, giving the share a small source cannot use to the others."""
    shares = {s: 0 for s in available}
    open_ = [s for s in available if available[s] > 0]
    left = total
    while open_ and left > 0:
        each = left // len(open_)
        if each == 0:
            break
        small = [s for s in open_ if available[s] - shares[s] <= each]
        if not small:
            for s in open_:
                shares[s] += each
            break
        for s in small:
            left -= available[s] - shares[s]
            shares[s] = available[s]
        open_ = [s for s in open_ if s not in small]
    return shares


def chunk_text(text: str, chunk_chars: int) -> list[str]:
    """Cut ``text`` at line boundaries into pieces of at most ``chunk_chars`` characters (a longer
    single line is cut inside); blank-only pieces are dropped."""
    out, cur, n = [], [], 0
    for line in text.splitlines(keepends=True):
        while len(line) > chunk_chars:
            if cur:
                out.append("".join(cur))
                cur, n = [], 0
            out.append(line[:chunk_chars])
            line = line[chunk_chars:]
        if n + len(line) > chunk_chars and cur:
            out.append("".join(cur))
            cur, n = [], 0
        cur.append(line)
        n += len(line)
    if cur:
        out.append("".join(cur))
    return [c for c in out if c.strip()]


def _cut_to_bytes(text: str, limit: int) -> str:
    """The longest prefix of whole lines of ``text`` within ``limit`` UTF-8 bytes."""
    out, n = [], 0
    for line in text.splitlines(keepends=True):
        b = _nbytes(line)
        if n + b > limit:
            break
        out.append(line)
        n += b
    return "".join(out)


def build_corpus(cfg: PretrainConfig, say: Callable[[str], None] = log.info) -> Corpus:
    """Sample the corpus of ``cfg`` (deterministic for a seed and an unchanged machine)."""
    data_dir = Path(cfg.data_dir) if cfg.data_dir else default_data_dir()
    entries: dict[str, list[Entry]] = {}
    notes: dict[str, str] = {}
    test_hashes: set[str] = set()
    ds_records: dict[str, list[dict]] = {}
    for s in cfg.sources:
        if s in LOCAL_SOURCES:
            entries[s], notes[s] = _LOCAL[s](cfg)
        else:
            ds_records[s], hashes, notes[s] = _dataset_records(s, data_dir)
            test_hashes.update(hashes)
        if notes[s].startswith("skipped"):
            say(f"corpus: {s} {notes[s]}")
    held = {
        r["id"]
        for recs in heldout_records(
            {s: _without_test_copies(s, recs, test_hashes) for s, recs in ds_records.items()},
            cfg.seed,
            cfg.eval_windows,
        ).values()
        for r in recs
    }
    for s, records in ds_records.items():
        docs = [
            Doc(s, f"{rec['id']}#{side}", code)
            for rec in records
            if rec["id"] not in held
            for side, code in _code_sides(s, rec)
            if code.strip()
        ]
        kept = [d for d in docs if _norm(d.text) not in test_hashes]
        if len(kept) != len(docs):
            notes[s] += f"; {len(docs) - len(kept)} train sides equal to a test record dropped"
        n_held = sum(r["id"] in held for r in records)
        if n_held:
            notes[s] += f"; {n_held} records held out for the task losses"
        entries[s] = [(d.name, _nbytes(d.text), (lambda t=d.text: t)) for d in kept]

    available = {s: sum(e[1] for e in entries[s]) for s in cfg.sources}
    shares = _shares(available, cfg.corpus_bytes)
    corpus = Corpus()
    for s in cfg.sources:
        order = list(entries[s])
        random.Random(f"{cfg.seed}:{s}").shuffle(order)
        taken, names, chunks = 0, [], []
        for name, _size, load in order:
            if taken >= shares[s]:
                break
            text = load()
            if not text or not text.strip():
                continue
            if taken + _nbytes(text) > shares[s]:
                text = _cut_to_bytes(text, shares[s] - taken)
                if not text.strip():
                    break
            taken += _nbytes(text)
            names.append(name)
            chunks.extend(chunk_text(text, cfg.chunk_chars) if s in LOCAL_SOURCES else [text])
        corpus.names[s] = names
        corpus.stats[s] = {
            "documents": len(names),
            "chunks": len(chunks),
            "bytes": taken,
            "available_bytes": available[s],
            "note": notes[s],
        }
        corpus.chunks.extend(chunks)
    if not corpus.chunks:
        raise PretrainError("the corpus is empty: no source gave any code (see the messages above)")
    # One seeded order over all chunks, so each window mixes sources and languages.
    random.Random(f"{cfg.seed}:chunks").shuffle(corpus.chunks)
    return corpus


def build_pairs(
    cfg: PretrainConfig, say: Callable[[str], None] = log.info
) -> tuple[dict[str, list[dict]], dict[str, list[dict]], dict[str, dict]]:
    """The supervised records of the config's sources: ``summarize`` (local functions with a doc,
    then the code-docstring-corpus and TL-CodeSum records carved to train), ``translate``
    (CodeXGLUE and AVATAR train) and ``assert`` (ATLAS records carved to train). A record with a
    code side equal (up to whitespace) to the code of a test record of any loaded data set is
    dropped. Returns (task -> training records, task -> held-out records (:func:`heldout_records`,
    data-set records only), source -> {"task", "records", "heldout", "dropped_as_test", ...})."""
    data_dir = Path(cfg.data_dir) if cfg.data_dir else default_data_dir()
    test_hashes: set[str] = set()
    local: dict[str, list[Entry]] = {}
    ds: dict[str, tuple[list[dict], str]] = {}
    for s in cfg.sources:
        if s in LOCAL_SOURCES:
            local[s] = _LOCAL[s](cfg)[0]
        else:
            records, hashes, note = _dataset_records(s, data_dir)
            test_hashes.update(hashes)
            ds[s] = (records, note)
    train: dict[str, list[dict]] = {"summarize": [], "translate": [], "assert": []}
    stats: dict[str, dict] = {}
    if local:
        recs, local_stats = collect_pairs(
            local, cfg.docstring_pairs, cfg.seed, test_hashes, _norm, say
        )
        train["summarize"].extend(recs)
        stats.update(
            {
                k: {"task": "summarize", "records": v["pairs"], "heldout": 0, **v}
                for k, v in local_stats.items()
            }
        )
    kept = {s: _without_test_copies(s, records, test_hashes) for s, (records, _) in ds.items()}
    held = heldout_records(kept, cfg.seed, cfg.eval_windows)
    held_ids = {r["id"] for recs in held.values() for r in recs}
    for s, (records, note) in ds.items():
        task = _TASK_OF[s]
        n_held = sum(r["id"] in held_ids for r in kept[s])
        train[task].extend(r for r in kept[s] if r["id"] not in held_ids)
        stats[s] = {
            "task": task,
            "records": len(kept[s]) - n_held,
            "heldout": n_held,
            "dropped_as_test": len(records) - len(kept[s]),
            "note": note,
        }
        say(f"corpus: {len(kept[s]) - n_held:,} {task} records from {s} train (+{n_held} held out)")
    return train, held, stats


def tokenizer_sample(corpus: Corpus, n_bytes: int, seed: int) -> Iterator[str]:
    """A seeded sample of chunks, about ``n_bytes`` in all, to train the tokenizer on."""
    idx = list(range(len(corpus.chunks)))
    random.Random(f"{seed}:tokenizer").shuffle(idx)
    n = 0
    for i in idx:
        if n >= n_bytes:
            break
        n += _nbytes(corpus.chunks[i])
        yield corpus.chunks[i]


__all__ = [
    "Doc",
    "Corpus",
    "build_corpus",
    "build_pairs",
    "chunk_text",
    "tokenizer_sample",
    "DATASET_SOURCES",
    "LICENCES",
    "site_package_licences",
    "heldout_records",
]
