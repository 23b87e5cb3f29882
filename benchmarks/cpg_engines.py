"""`ttune cpg DIR` on the local process pool, on Dask and on Ray Data, the same tree, side by side.

    python benchmarks/cpg_engines.py [--root DIR] [--workers 2] [--engines local,dask,ray]

Default tree: the Python files of the running interpreter's standard library (site-packages and
test folders left out). Each engine extracts every file (summary format: the graphs are built, not
written) with ``--workers`` processes; reported: wall time including the engine's start-up (the
Dask local cluster, ``ray.init``), files per second and the load average before and after. Ray
runs the same per-file function through ``ray.data.from_items(...).map(...)``; it is not part of
ttune (Dask was chosen: see docs/distributed.md).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ttune.cpg.batch import _one_file, process_directory, supported_files  # noqa: E402


def stdlib_tree(dest: Path) -> Path:
    src = Path(sysconfig.get_paths()["stdlib"])
    for p in sorted(src.rglob("*.py")):
        rel = p.relative_to(src)
        if rel.parts[0] in ("site-packages", "test", "idlelib", "lib2to3") or "tests" in rel.parts:
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, dest / rel)
    return dest


def ray_run(root: Path, workers: int) -> int:
    import ray  # lazy: optional, only for this comparison

    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    try:
        jobs = [
            {"job": (f, root, None, "summary", None, None, None)} for f in supported_files(root)
        ]
        ds = ray.data.from_items(jobs).map(lambda row: {"r": _one_file(row["job"])})
        return sum(1 for row in ds.iter_rows() if "error" not in row["r"])
    finally:
        ray.shutdown()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--engines", default="local,dask,ray")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as t:
        root = a.root or stdlib_tree(Path(t) / "stdlib")
        n = len(supported_files(root))
        print(f"{n} files under {root}, {a.workers} workers, {os.cpu_count()} CPUs")
        print("| engine | wall s | files/s | files | load 1m before | after |")
        print("|---|---:|---:|---:|---:|---:|")
        for engine in a.engines.split(","):
            load0 = os.getloadavg()[0]
            t0 = time.perf_counter()
            if engine == "ray":
                files = ray_run(root, a.workers)
            else:
                rep = process_directory(root, workers=a.workers, engine=engine, progress=False)
                files = rep.files
            wall = time.perf_counter() - t0
            print(
                f"| {engine} | {wall:.1f} | {files / wall:.1f} | {files} | {load0:.2f} | "
                f"{os.getloadavg()[0]:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
