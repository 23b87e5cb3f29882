"""Data hygiene: exact and near-duplicate removal, test decontamination, length and graph filters.

Near-duplicates follow the paper's recipe: Jaccard similarity >= 0.8 over the token sets of the
source code (tokens: ``\\w+`` words and single punctuation marks), found with MinHash LSH and then
verified by computing the exact Jaccard of each candidate pair (so LSH only decides which pairs are
compared; no pair below the threshold is ever removed).

MinHash (implemented here with numpy + hashlib, no extra dependency): each distinct token is hashed
to 32 bits with blake2b; permutation i maps a hash x to (a_i * x + b_i) mod (2^31 - 1) with fixed
seeded a_i, b_i; the signature is the minimum over the tokens per permutation.
LSH: ``bands`` x ``rows`` = ``num_perm``; two records are candidates when any band of their
signatures is identical. The default 20 bands x 5 rows makes a pair at Jaccard 0.8 a candidate
with probability 1 - (1 - 0.8^5)^20 = 0.9996.

Steps, each counted, in this order per file: malformed lines (reported with line numbers), exact
duplicates (same source after collapsing whitespace), near-duplicates (within the file, the first
occurrence is kept), then for test files exact and near-duplicates of any kept train record
(decontamination), then the optional filters: source length in tokens and CPG size in nodes.
The ``paper`` preset sets 400 source tokens and 50 CPG nodes (Transducer Tuning's limits).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ttune.cpg import extract
from ttune.data.io import DataError, read_jsonl, write_jsonl

_TOKEN = re.compile(r"\w+|[^\w\s]")
_PRIME = (1 << 31) - 1


def code_tokens(text: str) -> list[str]:
    """Words and single punctuation marks (the tokens near-duplicate detection compares)."""
    return _TOKEN.findall(text)


def exact_key(text: str) -> str:
    """Key for exact duplicates: the text with every whitespace run collapsed to one space."""
    return " ".join(text.split())


def jaccard(a: set, b: set) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


@dataclass
class HygieneConfig:
    threshold: float = 0.8
    """Jaccard similarity at or above which two records are near-duplicates."""
    num_perm: int = 100
    """MinHash permutations (= bands * rows)."""
    bands: int = 20
    """LSH bands; rows per band = num_perm // bands."""
    seed: int = 1
    """Seed of the MinHash permutations (results do not depend on it beyond LSH recall)."""
    near_dedup: bool = True
    """Remove near-duplicates (False: exact duplicates only)."""
    near_min_tokens: int = 0
    """Only records with at least this many distinct tokens take part in near-duplicate detection
    (0: all). Short functions (getters, toString) share most of their few tokens, so a token-set
    Jaccard of 0.8 calls many of them near-duplicates; a floor such as 20 spares them."""
    max_source_tokens: int | None = None
    """Drop records whose source has more tokens than this (None: no length filter)."""
    tokenizer: str | None = None
    """Tokenizer for the length filter: a folder with tokenizer.json or *vocab.json + *merges.txt
    (e.g. ../shared/datasets/codet5-tokenizer); None counts code tokens (words + punctuation)."""
    max_cpg_nodes: int | None = None
    """Drop records whose CPG (of the task's graph code) has more nodes than this (None: no
    filter)."""
    task: str = "custom"
    """Task whose graph_code() gives the code for the CPG filter (assert: the test method)."""

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")
        if self.bands < 1 or self.num_perm % self.bands:
            raise ValueError(
                f"num_perm ({self.num_perm}) must be a multiple of bands ({self.bands})"
            )
        if self.near_min_tokens < 0:
            raise ValueError(f"near_min_tokens must be >= 0, got {self.near_min_tokens}")
        for name in ("max_source_tokens", "max_cpg_nodes"):
            v = getattr(self, name)
            if v is not None and v < 1:
                raise ValueError(f"{name} must be positive, got {v}")


PRESETS: dict[str, dict] = {"paper": {"max_source_tokens": 400, "max_cpg_nodes": 50}}


class MinHasher:
    """MinHash signatures of token sets. Shapes: signature -> uint64 [num_perm]."""

    def __init__(self, num_perm: int = 100, seed: int = 1) -> None:
        rng = np.random.default_rng(seed)
        self.a = rng.integers(1, _PRIME, size=num_perm, dtype=np.uint64)
        self.b = rng.integers(0, _PRIME, size=num_perm, dtype=np.uint64)
        self._cache: dict[str, int] = {}

    def _hash(self, token: str) -> int:
        h = self._cache.get(token)
        if h is None:
            h = int.from_bytes(
                hashlib.blake2b(token.encode("utf-8"), digest_size=4).digest(), "little"
            )
            if len(self._cache) < 2_000_000:
                self._cache[token] = h
        return h

    def signature(self, tokens: set[str]) -> np.ndarray:
        if not tokens:
            return np.full(self.a.shape, _PRIME, dtype=np.uint64)
        x = np.fromiter((self._hash(t) for t in tokens), dtype=np.uint64, count=len(tokens))
        # a < 2^31 and x < 2^32, so a * x + b < 2^63: no uint64 overflow.
        return ((self.a[:, None] * x[None, :] + self.b[:, None]) % _PRIME).min(axis=1)


class NearDupIndex:
    """LSH index of kept token sets; :meth:`find` returns the first kept entry at Jaccard >=
    threshold."""

    def __init__(self, config: HygieneConfig, hasher: MinHasher) -> None:
        self.threshold = config.threshold
        self.bands = config.bands
        self.rows = config.num_perm // config.bands
        self.hasher = hasher
        self.buckets: list[dict[bytes, list[int]]] = [{} for _ in range(self.bands)]
        self.sets: list[set[str]] = []
        self.ids: list[str] = []

    def _keys(self, sig: np.ndarray) -> list[bytes]:
        return [sig[i * self.rows : (i + 1) * self.rows].tobytes() for i in range(self.bands)]

    def find(self, tokens: set[str], sig: np.ndarray) -> str | None:
        seen: set[int] = set()
        for band, key in zip(self.buckets, self._keys(sig)):
            for j in band.get(key, ()):
                if j in seen:
                    continue
                seen.add(j)
                if jaccard(tokens, self.sets[j]) >= self.threshold:
                    return self.ids[j]
        return None

    def add(self, tokens: set[str], sig: np.ndarray, ident: str) -> None:
        j = len(self.sets)
        self.sets.append(tokens)
        self.ids.append(ident)
        for band, key in zip(self.buckets, self._keys(sig)):
            band.setdefault(key, []).append(j)


@dataclass
class FileReport:
    role: str
    input: str
    output: str | None = None
    read: int = 0
    malformed: int = 0
    malformed_lines: list[tuple[int, str]] = field(default_factory=list)
    removed: dict[str, int] = field(
        default_factory=lambda: {
            "exact_duplicate": 0,
            "near_duplicate": 0,
            "contaminated_exact": 0,
            "contaminated_near": 0,
            "too_long": 0,
            "graph_too_large": 0,
        }
    )
    kept: int = 0


def load_token_counter(path: str | None) -> Callable[[str], int]:
    """A function counting tokens of a text: a tokenizer from ``path`` or code tokens."""
    if path is None:
        return lambda text: len(code_tokens(text))
    p = Path(path)
    import tokenizers  # lazy: only the optional length filter with a tokenizer reads it

    if (p / "tokenizer.json").is_file():
        tok = tokenizers.Tokenizer.from_file(str(p / "tokenizer.json"))
    else:
        vocab, merges = sorted(p.glob("*vocab.json")), sorted(p.glob("*merges.txt"))
        if not vocab or not merges:
            raise DataError(f"no tokenizer.json or *vocab.json + *merges.txt in {p}")
        tok = tokenizers.ByteLevelBPETokenizer(str(vocab[0]), str(merges[0]))
    return lambda text: len(tok.encode(text).ids)


def default_graph_size(code: str, lang: str) -> int:
    return len(extract(code, lang).nodes)


GraphCode = Callable[[dict], tuple[str, str, int]]
"""A task's ``graph_code(record)``: (code whose CPG the method reads, language, byte offset)."""


class Hygiene:
    """Runs the steps over a train file and test files; keeps the train index for
    decontamination."""

    def __init__(
        self,
        config: HygieneConfig | None = None,
        graph_size: Callable[[str, str], int] | None = None,
        graph_code: GraphCode | None = None,
    ) -> None:
        """``graph_code``: the task's (``ttune.tasks.get_task(config.task).graph_code``), needed by
        the CPG size filter only."""
        self.config = config or HygieneConfig()
        if self.config.max_cpg_nodes is not None and graph_code is None:
            raise DataError("the CPG size filter needs the task's graph_code")
        self.graph_code = graph_code
        self.hasher = MinHasher(self.config.num_perm, self.config.seed)
        self.count_tokens = (
            load_token_counter(self.config.tokenizer)
            if self.config.max_source_tokens is not None
            else None
        )
        self.graph_size = graph_size or default_graph_size
        self.train_keys: set[str] = set()
        self.train_index = NearDupIndex(self.config, self.hasher)

    def _dedup(self, records: list[dict], report: FileReport, is_train: bool) -> list[dict]:
        keys: set[str] = set()
        index = self.train_index if is_train else NearDupIndex(self.config, self.hasher)
        kept = []
        for r in records:
            key = exact_key(r["source"])
            if key in keys:
                report.removed["exact_duplicate"] += 1
                continue
            if not is_train and key in self.train_keys:
                report.removed["contaminated_exact"] += 1
                continue
            keys.add(key)
            toks = set(code_tokens(r["source"])) if self.config.near_dedup else set()
            if self.config.near_dedup and len(toks) >= self.config.near_min_tokens:
                sig = self.hasher.signature(toks)
                if index.find(toks, sig) is not None:
                    report.removed["near_duplicate"] += 1
                    continue
                if not is_train and self.train_index.find(toks, sig) is not None:
                    report.removed["contaminated_near"] += 1
                    continue
                index.add(toks, sig, str(r.get("id", len(kept))))
            kept.append(r)
        if is_train:
            self.train_keys |= keys
        return kept

    def _filters(self, records: list[dict], report: FileReport) -> list[dict]:
        cfg = self.config
        if cfg.max_source_tokens is not None:
            n0 = len(records)
            records = [
                r for r in records if self.count_tokens(r["source"]) <= cfg.max_source_tokens
            ]
            report.removed["too_long"] += n0 - len(records)
        if cfg.max_cpg_nodes is not None:
            kept = []
            for r in records:
                code, lang, _ = self.graph_code(r)
                if self.graph_size(code, lang) <= cfg.max_cpg_nodes:
                    kept.append(r)
                else:
                    report.removed["graph_too_large"] += 1
            records = kept
        return records

    def clean(self, records: list[dict], role: str, report: FileReport) -> list[dict]:
        """Clean one file's records; ``role`` is "train" (call first) or "test"."""
        report.read = len(records) + report.malformed
        kept = self._dedup(records, report, is_train=(role == "train"))
        kept = self._filters(kept, report)
        report.kept = len(kept)
        return kept


def clean_files(
    train: str | Path,
    tests: list[str | Path],
    output_dir: str | Path,
    config: HygieneConfig | None = None,
    graph_size: Callable[[str, str], int] | None = None,
    graph_code: GraphCode | None = None,
) -> dict:
    """Clean ``train`` then each test file against it; write ``<output_dir>/<input name>`` for each
    and ``hygiene_report.json``. Returns the report (config + one entry per file)."""
    hyg = Hygiene(config, graph_size, graph_code)
    out_dir = Path(output_dir)
    names = [Path(p).name for p in [train, *tests]]
    if len(set(names)) != len(names):
        raise DataError(f"input files must have distinct names (outputs share one folder): {names}")
    if out_dir.resolve() in {Path(p).resolve().parent for p in [train, *tests]}:
        raise DataError(
            f"--output-dir {out_dir} would overwrite an input file; pick another folder"
        )
    reports = []
    for role, path in [("train", train), *[("test", t) for t in tests]]:
        records, bad = read_jsonl(path)
        rep = FileReport(role, str(path), malformed=len(bad), malformed_lines=bad[:20])
        kept = hyg.clean(records, role, rep)
        name = Path(path).name
        if name.endswith(".gz"):
            name = name[:-3]
        rep.output = str(out_dir / name)
        write_jsonl(rep.output, kept)
        reports.append(rep)
    report = {"config": asdict(hyg.config), "files": [asdict(r) for r in reports]}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "hygiene_report.json").write_text(
        json.dumps(report, indent=2) + "\n", encoding="utf-8"
    )
    return report


def clean_dataset(
    train: str | Path,
    tests: list[str | Path],
    output_dir: str | Path,
    preset: str | None = None,
    graph_size: Callable[[str, str], int] | None = None,
    graph_code: GraphCode | None = None,
    **options,
) -> dict:
    """:func:`clean_files` with the settings of ``preset`` (``"paper"``: 400 tokens, 50 nodes)
    changed by ``options`` (HygieneConfig fields; None values are ignored)."""
    settings: dict = {}
    if preset is not None:
        if preset not in PRESETS:
            raise DataError(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
        settings.update(PRESETS[preset])
    settings.update({k: v for k, v in options.items() if v is not None})
    return clean_files(
        train,
        list(tests),
        output_dir,
        HygieneConfig(**settings),
        graph_size=graph_size,
        graph_code=graph_code,
    )
