"""Whole-file and whole-directory CPG work behind ``ttune cpg``: rendering, per-method summaries,
and a walk over a source tree with totals -- in local processes or on a Dask cluster
(``engine="dask"``), whole or one shard of it (``shard=(K, N)``, for job arrays)."""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from ttune.io import atomic_write_text

from . import export
from .base import CPGConfig, CPGError
from .extract import detect_language, extract_file
from .graph import CPG, EDGE_TYPES

FORMATS = ("summary", "json", "dot", "graphml", "html")
ENGINES = ("local", "dask")
"""Where a directory's files are extracted: local worker processes, or Dask (``ttune[distributed]``:
a local cluster of ``workers`` processes, or the scheduler at ``address``)."""
_SUFFIX = {"json": ".cpg.json", "dot": ".dot", "graphml": ".graphml", "html": ".html"}


def parse_edge_types(spec: str | None) -> set[str] | None:
    """ "AST,CFG" -> {"AST", "CFG"}; None or "" -> None (all). Unknown names raise CPGError."""
    if not spec:
        return None
    wanted = {s.strip().upper() for s in spec.split(",") if s.strip()}
    unknown = sorted(wanted - set(EDGE_TYPES))
    if unknown:
        raise CPGError(f"unknown edge type(s) {', '.join(unknown)}; known: {', '.join(EDGE_TYPES)}")
    return wanted


def method_summaries(cpg: CPG) -> list[dict]:
    """One row per method (and the file's top level where it has one): name, line, node count and
    edge counts by type. A node belongs to its innermost method; an edge counts for a method when
    both ends belong to it (a CALL edge: when its call site does)."""
    children: dict[int, list[int]] = {}
    for e in cpg.edges:
        if e.type == "AST":
            children.setdefault(e.source, []).append(e.target)
    owner = [-1] * len(cpg.nodes)
    # Node ids are in AST pre-order, so visiting methods by id goes outer to inner and an inner
    # method's walk overwrites its enclosing method's claim.
    for mid in sorted(cpg.methods):
        stack = [mid]
        while stack:
            n = stack.pop()
            owner[n] = mid
            stack.extend(children.get(n, ()))
        entry, exit_ = cpg.methods[mid]
        owner[entry] = owner[exit_] = mid
    nodes = {mid: 0 for mid in cpg.methods}
    counts = {mid: {t: 0 for t in EDGE_TYPES} for mid in cpg.methods}
    for o in owner:
        if o >= 0:
            nodes[o] += 1
    for e in cpg.edges:
        o = owner[e.source]
        if o >= 0 and (e.type == "CALL" or owner[e.target] == o):
            counts[o][e.type] += 1
    rows = []
    for mid in sorted(cpg.methods):
        node = cpg.nodes[mid]
        rows.append(
            {
                "name": node.name or ("<module>" if node.kind == "FILE" else node.label),
                "line": node.line,
                "nodes": nodes[mid],
                "edges": counts[mid],
            }
        )
    return rows


def render(cpg: CPG, fmt: str, edge_types: set[str] | None = None) -> str:
    """The CPG as text in ``fmt`` (one of FORMATS)."""
    if fmt == "summary":
        return format_summary(cpg, edge_types)
    if fmt == "json":
        return json.dumps(export.to_json(cpg, edge_types), indent=1) + "\n"
    if fmt == "dot":
        return export.to_dot(cpg, edge_types)
    if fmt == "graphml":
        return export.to_graphml(cpg, edge_types)
    if fmt == "html":
        from .html import to_html

        return to_html(cpg, edge_types)
    raise CPGError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")


def format_summary(cpg: CPG, edge_types: set[str] | None = None) -> str:
    types = [t for t in EDGE_TYPES if edge_types is None or t in edge_types]
    head = f"{'method':<32} {'line':>5} {'nodes':>6} " + " ".join(f"{t:>5}" for t in types)
    lines = [
        f"{cpg.language}: {len(cpg.nodes)} nodes, "
        + ", ".join(f"{n} {t}" for t, n in cpg.edge_counts().items() if t in types)
        + (f", {cpg.syntax_errors} syntax error node(s)" if cpg.syntax_errors else ""),
        head,
    ]
    for row in method_summaries(cpg):
        lines.append(
            f"{row['name'][:32]:<32} {row['line']:>5} {row['nodes']:>6} "
            + " ".join(f"{row['edges'][t]:>5}" for t in types)
        )
    return "\n".join(lines) + "\n"


@dataclass
class DirectoryReport:
    """Totals of a directory run."""

    files: int = 0
    lines: int = 0
    nodes: int = 0
    edges: dict[str, int] = field(default_factory=lambda: {t: 0 for t in EDGE_TYPES})
    files_with_syntax_errors: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    def format(self) -> str:
        out = [
            f"files: {self.files}  lines: {self.lines}  nodes: {self.nodes}",
            "edges: " + ", ".join(f"{t} {n}" for t, n in self.edges.items()),
            f"files with syntax errors: {self.files_with_syntax_errors}",
            f"files skipped: {len(self.skipped)}",
        ]
        return "\n".join(out) + "\n"


def _language_of(path: Path) -> str | None:
    try:
        return detect_language(path)
    except CPGError:
        return None


def supported_files(root: Path) -> list[Path]:
    """Every file under ``root`` with a supported extension, sorted, skipping hidden folders."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if _language_of(Path(name)) is not None:
                found.append(Path(dirpath) / name)
    return found


def parse_shard(spec: str | None) -> tuple[int, int] | None:
    """ "K/N" (1 <= K <= N) -> (K, N); None or "" -> None (the whole tree). Else CPGError."""
    if not spec:
        return None
    k, sep, n = spec.partition("/")
    if not (sep and k.strip().isdigit() and n.strip().isdigit()):
        raise CPGError(f"--shard must be K/N with whole numbers, e.g. 1/4 (got {spec!r})")
    k_, n_ = int(k), int(n)
    if not 1 <= k_ <= n_:
        raise CPGError(f"--shard K/N needs 1 <= K <= N (got {spec!r})")
    return k_, n_


def shard_of(relative: str, n: int) -> int:
    """The shard (1..``n``) of a file, from its path relative to the root (``/`` separators): a
    hash, so a file's shard depends on nothing else -- not on the other files, the machine or the
    order of the walk."""
    digest = hashlib.sha256(relative.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % n + 1


def select_shard(files: list[Path], root: Path, shard: tuple[int, int] | None) -> list[Path]:
    """The files of shard ``(K, N)`` (all for None): the N shards are disjoint, cover ``files``."""
    if shard is None:
        return files
    k, n = shard
    return [f for f in files if shard_of(Path(f).relative_to(root).as_posix(), n) == k]


def _one_file(job: tuple) -> dict:
    path, root, out_dir, fmt, edge_types, config, lang = job
    try:
        cpg = extract_file(path, lang, config)
    except CPGError as exc:
        return {"path": str(path), "error": str(exc)}
    except (OSError, RecursionError) as exc:  # a bug or a vanished file must not stop the whole run
        return {"path": str(path), "error": f"{type(exc).__name__}: {exc}"}
    if out_dir is not None and fmt != "summary":
        target = Path(out_dir) / (str(Path(path).relative_to(root)) + _SUFFIX[fmt])
        atomic_write_text(target, render(cpg, fmt, edge_types))
    with open(path, "rb") as fh:
        lines = fh.read().count(b"\n")
    return {
        "path": str(path),
        "lines": lines,
        "nodes": len(cpg.nodes),
        "edges": cpg.edge_counts(),
        "syntax_errors": cpg.syntax_errors,
    }


def process_directory(
    root: Path,
    *,
    fmt: str = "summary",
    out_dir: Path | None = None,
    edge_types: set[str] | None = None,
    config: CPGConfig | None = None,
    lang: str | None = None,
    workers: int | None = None,
    progress: bool = True,
    shard: tuple[int, int] | None = None,
    engine: str = "local",
    address: str | None = None,
) -> DirectoryReport:
    """Extract the CPG of every supported file under ``root`` (only shard ``(K, N)`` of them when
    given) across ``workers`` processes, or on Dask (``engine="dask"``; ``address``: a running
    scheduler, default a local cluster of ``workers`` processes). Files that fail are reported in
    ``skipped`` and do not stop the run; the report and the files written do not depend on the
    engine or the number of workers."""
    if engine not in ENGINES:
        raise CPGError(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}")
    config = config or CPGConfig()
    files = select_shard(supported_files(root), root, shard)
    if lang is not None:
        files = [f for f in files if _language_of(f) == lang]
    jobs = [(f, root, out_dir, fmt, edge_types, config, lang) for f in files]
    report = DirectoryReport()
    workers = workers or min(os.cpu_count() or 1, 8)
    results: Iterable[dict]
    pool = None
    if engine == "dask":
        results = _dask_results(jobs, workers, address)
    elif workers <= 1 or len(jobs) < 8:
        results = map(_one_file, jobs)
    else:
        pool = mp.get_context("spawn" if os.name == "nt" else "fork").Pool(workers)
        results = pool.imap_unordered(_one_file, jobs, chunksize=8)
    try:
        for r in tqdm(
            results,
            total=len(jobs),
            unit="file",
            disable=not progress,
            desc=f"cpg {root}",
            leave=False,
        ):
            if "error" in r:
                report.skipped.append((r["path"], r["error"]))
                continue
            report.files += 1
            report.lines += r["lines"]
            report.nodes += r["nodes"]
            for t, n in r["edges"].items():
                report.edges[t] += n
            report.files_with_syntax_errors += r["syntax_errors"] > 0
    finally:
        if pool is not None:
            pool.terminate()
    report.skipped.sort()
    return report


def _dask_results(jobs: list[tuple], workers: int, address: str | None) -> list[dict]:
    """:func:`_one_file` of every job on a Dask cluster (a bag of 8 files a partition, as the local
    pool's chunks: small enough that no worker waits on a straggler)."""
    try:
        # lazy: the optional extra ttune[distributed]
        import dask.bag as db
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise CPGError("--engine dask needs Dask: pip install 'ttune[distributed]'") from None
    if not jobs:
        return []
    bag = db.from_sequence(jobs, partition_size=8)
    if address:
        try:
            client = Client(address, timeout="30s")
        except (OSError, TimeoutError) as e:
            raise CPGError(f"cannot reach the Dask scheduler at {address}: {e}") from None
        with client:
            return bag.map(_one_file).compute(scheduler=client)
    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        return bag.map(_one_file).compute(scheduler=client)
