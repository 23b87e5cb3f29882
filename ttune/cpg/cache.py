"""A disk cache of code property graphs, so a data file's CPGs are extracted once, not once per run.

Key: sha256(code + language + ttune.cpg.EXTRACTOR_VERSION), so a new extractor invalidates old
entries by itself. Value: one JSON file per graph (ttune.cpg.export.to_json; never pickle), written
atomically, so several processes may fill the same cache at once and a killed run leaves no
half-written entry. Extraction errors are cached too (as {"error": ...}) so a bad snippet is not
re-parsed on every run; the caller gets an empty graph for it.

Layout: <cache_dir>/<key[:2]>/<key>.json
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing as mp
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from ttune.io import atomic_write_text

from .base import CPGError
from .export import from_json, to_json
from .extract import EXTRACTOR_VERSION, extract
from .graph import CPG

log = logging.getLogger(__name__)

ENTRY_FORMAT = 1


def default_cache_dir() -> str:
    """Where extracted CPGs live: $TTUNE_CACHE if set, else ~/.cache/ttune/cpg."""
    env = os.environ.get("TTUNE_CACHE")
    if env:
        return env
    return str(Path.home() / ".cache" / "ttune" / "cpg")


def cache_key(code: str, lang: str, version: str | None = None) -> str:
    """Hex sha256 of the code, its language and the extractor version (NUL-separated)."""
    v = EXTRACTOR_VERSION if version is None else version
    h = hashlib.sha256()
    for part in (code, lang, v):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


class CacheError(ValueError):
    """The cache folder cannot be written. One line, naming the folder and the way to change it."""


@dataclass
class CacheStats:
    """What one :func:`extract_all` call did."""

    total: int = 0
    """Graphs asked for."""
    unique: int = 0
    """Distinct (code, language) pairs among them."""
    hits: int = 0
    """Distinct pairs found in the cache."""
    extracted: int = 0
    """Distinct pairs extracted by this call."""
    errors: int = 0
    """Distinct pairs whose extraction failed (an empty graph stands in)."""


# Counts extractions done in this process (tests check that a second run does none).
EXTRACTIONS = 0


def _extract_one(code: str, lang: str) -> dict[str, Any]:
    """Extract one CPG and return the cache entry (a JSON-able dict)."""
    global EXTRACTIONS
    EXTRACTIONS += 1
    try:
        cpg = extract(code, lang)
    except (CPGError, ValueError) as e:
        return {
            "format": ENTRY_FORMAT,
            "error": str(e).splitlines()[0] if str(e) else type(e).__name__,
        }
    return {"format": ENTRY_FORMAT, "cpg": to_json(cpg)}


def _extract_and_store(job: tuple[str, str, str]) -> str:
    """Pool worker: extract, write the entry atomically, return its JSON text."""
    code, lang, path = job
    text = json.dumps(_extract_one(code, lang), separators=(",", ":"))
    atomic_write_text(Path(path), text)
    return text


def _entry_to_cpg(text: str, lang: str):
    """Parse a cache entry; an error entry becomes an empty graph. Raises ValueError if corrupt."""
    entry = json.loads(text)
    if not isinstance(entry, dict) or entry.get("format") != ENTRY_FORMAT:
        raise ValueError("not a ttune CPG cache entry")
    if "error" in entry:
        return CPG(language=lang), True
    return from_json(entry["cpg"]), False


class CPGCache:
    """The on-disk cache folder."""

    def __init__(self, cache_dir: str | Path) -> None:
        self.dir = Path(cache_dir).expanduser()

    def path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.json"

    def read(self, key: str, lang: str):
        """(CPG, was_error) for a cached key, or None if absent or unreadable (then
        re-extracted)."""
        p = self.path(key)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError:
            return None
        try:
            return _entry_to_cpg(text, lang)
        except (ValueError, KeyError, TypeError) as e:
            log.warning("ignoring corrupt CPG cache entry %s: %s", p, e)
            return None


def extract_all(
    items: Sequence[tuple[str, str]],
    cache_dir: str | Path,
    num_workers: int = 1,
    progress: bool = True,
    desc: str = "CPGs",
) -> tuple[list, CacheStats]:
    """The CPG of every (code, language) pair, from the cache or extracted (and then cached).

    Identical pairs are extracted once. With ``num_workers > 1`` misses are extracted by a
    multiprocessing pool; every graph is read back through its JSON entry either way, so a first
    (extracting) run and a second (cached) run see exactly the same graphs.
    """
    cache = CPGCache(cache_dir)
    version = EXTRACTOR_VERSION
    keys = [cache_key(code, lang, version) for code, lang in items]
    stats = CacheStats(total=len(items))
    first: dict[str, tuple[str, str]] = {}
    for key, item in zip(keys, items):
        first.setdefault(key, item)
    stats.unique = len(first)

    graphs: dict[str, Any] = {}
    misses: list[str] = []
    for key, (_, lang) in first.items():
        got = cache.read(key, lang)
        if got is None:
            misses.append(key)
        else:
            graphs[key], err = got
            stats.hits += 1
            stats.errors += int(err)

    if misses:
        try:
            cache.dir.mkdir(parents=True, exist_ok=True)
            texts = _run_jobs(first, misses, cache, num_workers, progress, desc)
        except OSError as e:
            raise CacheError(
                f"cannot write the CPG cache {cache.dir}: {e.strerror or e}; "
                "choose another with --cache-dir or TTUNE_CACHE"
            ) from None
        for key, text in zip(misses, texts):
            graphs[key], err = _entry_to_cpg(text, first[key][1])
            stats.extracted += 1
            stats.errors += int(err)

    return [graphs[k] for k in keys], stats


def _run_jobs(
    first: dict, misses: list[str], cache: CPGCache, num_workers: int, progress: bool, desc: str
) -> list[str]:
    """Extract the missing graphs (in a pool when num_workers > 1); their entries' JSON, in
    order."""
    jobs = [(first[k][0], first[k][1], str(cache.path(k))) for k in misses]
    bar = tqdm(total=len(jobs), desc=f"extracting {desc}", disable=not progress, unit="graph")
    if num_workers > 1 and len(jobs) > 1:
        with mp.get_context().Pool(min(num_workers, len(jobs))) as pool:
            # imap keeps order, so results line up with `misses`.
            texts = []
            for text in pool.imap(_extract_and_store, jobs, chunksize=4):
                texts.append(text)
                bar.update(1)
    else:
        texts = []
        for job in jobs:
            texts.append(_extract_and_store(job))
            bar.update(1)
    bar.close()
    return texts
