"""Training throughput of `ttune train` in 1 and in 2 processes (torchrun, gloo on the CPU), the
same run: the same tiny backbone, data, global batch and steps.

    python benchmarks/distributed_train.py [--steps 30] [--batch-size 16] [--method transducer]

The backbone (T5, d_model 64, 2+2 layers) and the 40 training records (standard-library functions
and the first lines of their docstrings) are made in a temporary folder; the CPG cache is warmed
by a first 1-step run, so both timed runs read their graphs from it. Reported per run: wall time
of the whole command, the training loop's examples per second (``examples_per_s`` of log.jsonl,
validation and checkpoints excluded, mean over the log windows after the first) and the load
average of the machine before and after. The ratio is 2-process / 1-process throughput.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ttune.dist import launch_command  # noqa: E402  (the checkout, not an installed copy)

MODULES = ("textwrap", "string", "shlex", "fnmatch", "glob", "posixpath", "genericpath")


def records(n: int) -> list[dict]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    out = []
    for mod in MODULES:
        src = (stdlib / f"{mod}.py").read_text(encoding="utf-8")
        lines = src.splitlines()
        for node in ast.walk(ast.parse(src)):
            doc = ast.get_docstring(node) if isinstance(node, ast.FunctionDef) else None
            if not doc or len(node.body) < 2:
                continue
            code = textwrap.dedent("\n".join(lines[node.lineno - 1 : node.end_lineno])) + "\n"
            out.append(
                {
                    "id": f"{mod}.{node.name}",
                    "source": code,
                    "target": doc.strip().splitlines()[0],
                    "source_lang": "python",
                    "target_lang": "en",
                }
            )
            if len(out) == n:
                return out
    return out


def setup(tmp: Path) -> tuple[Path, Path]:
    from ttune.backbone import build_tokenizer, save_backbone, tiny_backbone

    recs = records(40)
    data = tmp / "train.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    tok = build_tokenizer([r["source"] for r in recs] + [r["target"] for r in recs], 600)
    model = tiny_backbone(tok, seed=0, d_model=64, d_ff=128, num_layers=2, num_heads=4)
    return save_backbone(model, tok, tmp / "backbone"), data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--method", default="transducer")
    a = ap.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        backbone, data = setup(tmp)

        def args(out: Path, steps: int) -> list[str]:
            return [
                "train", "--train", str(data), "--model", str(backbone), "--output", str(out),
                "--method", a.method, "--max-steps", str(steps), "--batch-size",
                str(a.batch_size), "--max-source-len", "128", "--max-target-len", "24",
                "--cache-dir", str(tmp / "cache"), "--log-every", "5", "--save-every",
                str(10 * steps), "--no-progress",
            ]  # fmt: skip

        subprocess.run(launch_command(args(tmp / "warm", 1), 1), env=env, check=True)
        rows = []
        for nproc in (1, 2):
            out = tmp / f"run-{nproc}"
            load0 = os.getloadavg()[0]
            t0 = time.perf_counter()
            subprocess.run(launch_command(args(out, a.steps), nproc), env=env, check=True)
            wall = time.perf_counter() - t0
            log = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
            eps = [e["examples_per_s"] for e in log if "examples_per_s" in e][1:]
            rows.append(
                {
                    "processes": nproc,
                    "wall_s": wall,
                    "examples_per_s": sum(eps) / len(eps),
                    "load_before": load0,
                    "load_after": os.getloadavg()[0],
                }
            )
    print(f"{a.method}, {a.steps} steps of {a.batch_size} (global batch), CPU, gloo")
    print("| processes | wall s | train examples/s | load 1m before | after |")
    print("|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['processes']} | {r['wall_s']:.1f} | {r['examples_per_s']:.1f} | "
            f"{r['load_before']:.2f} | {r['load_after']:.2f} |"
        )
    print(f"ratio 2/1 (examples/s): {rows[1]['examples_per_s'] / rows[0]['examples_per_s']:.2f}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
