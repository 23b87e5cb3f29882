"""Cold start of ``ttune summarize`` (one process per call): the lite path against the engine's.

    python benchmarks/cold_start.py [--file F.py] [--repeats 5] [--json out/cold_start.json]

Runs ``python -m ttune summarize FILE`` with the built-in models, alternating the lite inference
path (the default) and the engine's (``TTUNE_INFERENCE=hf``: transformers and torch_geometric), N
times each, and prints the median wall time of each with their ratio; also the median of
``ttune --help`` and ``ttune summarize --help``, and, from one ``python -X importtime`` run of each
path, the total import time and the heaviest top-level imports. Both paths must print the same
summaries. The default file is 200 lines: the first 196 lines of the standard library's
``textwrap.py`` plus a 4-line function. The load average is printed beside the figures, and the
CPU time (user + system) of each run beside its wall time: on a busy machine compare the two
paths' ratio and CPU times, not the absolute wall times.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_file(folder: Path) -> Path:
    """A 200-line Python file: textwrap.py's first 196 lines and one more function."""
    lines = (Path(sysconfig.get_paths()["stdlib"]) / "textwrap.py").read_text().splitlines()
    text = (
        "\n".join(lines[:196]) + '\ndef extra(a, b):\n    """Add."""\n    c = a + b\n    return c\n'
    )
    path = folder / "two_hundred.py"
    path.write_text(text, encoding="utf-8")
    return path


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(args: list[str], env: dict) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds (user + system), stdout) of ``python -m ttune ARGS``; fails on
    a non-zero exit. CPU time depends less on other processes than wall time does."""
    cpu, began = _cpu(), time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "ttune", *args], env=env, capture_output=True, text=True, cwd=ROOT
    )
    wall, cpu = time.perf_counter() - began, _cpu() - cpu
    if out.returncode:
        raise SystemExit(f"ttune {' '.join(args)} failed: {out.stderr.strip()[-400:]}")
    return wall, cpu, out.stdout


def imports(args: list[str], env: dict) -> dict:
    """Total import time (seconds) of one run and its five heaviest top-level imports."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "ttune", *args],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    top = []
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|")
        if cumulative.strip().isdigit() and not name.startswith("  "):  # top level
            top.append((int(cumulative) / 1e6, name.strip()))
    return {
        "total_s": round(sum(s for s, _ in top), 3),
        "heaviest_s": {n: round(s, 3) for s, n in sorted(top, reverse=True)[:5]},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", type=Path, help="Python file to summarize (default: 200 lines)")
    ap.add_argument("--repeats", type=int, default=5, help="runs of each path")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    a = ap.parse_args()
    base = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    base.pop("TTUNE_INFERENCE", None)
    paths = {"lite": base, "engine (TTUNE_INFERENCE=hf)": {**base, "TTUNE_INFERENCE": "hf"}}
    with tempfile.TemporaryDirectory() as tmp:
        file = a.file or make_file(Path(tmp))
        n_lines = len(file.read_text(encoding="utf-8").splitlines())
        cmd = ["summarize", str(file)]
        load_before = os.getloadavg()
        walls: dict[str, list[float]] = {name: [] for name in paths}
        cpus: dict[str, list[float]] = {name: [] for name in paths}
        outputs: dict[str, set[str]] = {name: set() for name in paths}
        for _ in range(a.repeats):  # alternate, so that a change of load hits both alike
            for name, env in paths.items():
                wall, cpu, stdout = run(cmd, env)
                walls[name].append(wall)
                cpus[name].append(cpu)
                outputs[name].add(stdout)
        helps = {
            " ".join(h): statistics.median(run(h, base)[0] for _ in range(a.repeats))
            for h in (["--help"], ["summarize", "--help"])
        }
        imported = {name: imports(cmd, env) for name, env in paths.items()}
        load_after = os.getloadavg()
    texts = {name: next(iter(o)) for name, o in outputs.items()}
    same = len(set(texts.values())) == 1 and all(len(o) == 1 for o in outputs.values())
    medians = {name: statistics.median(w) for name, w in walls.items()}
    lite, engine = medians["lite"], medians["engine (TTUNE_INFERENCE=hf)"]
    result = {
        "command": f"python -m ttune summarize {file.name} ({n_lines} lines, built-in models)",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}",
        "repeats": a.repeats,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "walls_s": {n: [round(x, 2) for x in w] for n, w in walls.items()},
        "median_s": {n: round(m, 2) for n, m in medians.items()},
        "lite_over_engine": round(lite / engine, 3),
        "cpu_s": {n: [round(x, 2) for x in c] for n, c in cpus.items()},
        "cpu_median_s": {n: round(statistics.median(c), 2) for n, c in cpus.items()},
        "help_median_s": {h: round(s, 2) for h, s in helps.items()},
        "imports": imported,
        "same_output": same,
        "functions": len(texts["lite"].splitlines()),
    }
    print(json.dumps(result, indent=2))
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if not same:
        raise SystemExit("the two paths printed different summaries")


if __name__ == "__main__":
    main()
