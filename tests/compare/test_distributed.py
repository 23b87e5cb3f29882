"""`ttune compare` in two processes (torchrun, gloo on the CPU) gives the runs of one process: the
same training losses (within 1e-5), and for the untrained method the same predictions in the
same order (a trained tiny model's near-tied logits may flip on a 1e-7 difference of weights);
the main process alone writes the folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ttune.compare import run_comparison

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = dict(methods=("none", "transducer"), seeds=(5,), mixed_precision="no")


def test_two_processes_compare_like_one(make_compare_config, data_files, backbone_dir, tmp_path):
    one_cfg = make_compare_config(tmp_path / "one", **SETTINGS)
    one = run_comparison(one_cfg)
    args = ["compare", "--task", "summarize", "--methods", "none,transducer", "--seeds", "5"]
    args += ["--model", str(backbone_dir), "--train", str(data_files["train"])]
    args += ["--valid", str(data_files["valid"]), "--test", str(data_files["test"])]
    args += ["--max-steps", "2", "--batch-size", "4", "--lr", "0.01", "--eval-every", "1"]
    args += ["--max-source-len", "96", "--max-target-len", "8", "--max-new-tokens", "6"]
    args += ["--mixed-precision", "no", "--cache-dir", one_cfg.cache_dir, "--log-every", "1"]
    args += ["--output", str(tmp_path / "two")]
    path = [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(path))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2"]
    r = subprocess.run(
        [*cmd, "-m", "ttune.cli.main", *args], env=env, capture_output=True, text=True, timeout=400
    )
    assert r.returncode == 0, r.stderr[-3000:]
    two = json.loads((tmp_path / "two" / "results.json").read_text())
    assert [(x["method"], x["seed"], x["steps"]) for x in two["runs"]] == [
        (x["method"], x["seed"], x["steps"]) for x in one["runs"]
    ]

    def losses(root: Path) -> list[float]:
        log = root / "runs" / "transducer" / "seed-5" / "log.jsonl"
        return [e["loss"] for e in map(json.loads, log.open()) if "loss" in e and "event" not in e]

    a, b = losses(tmp_path / "one"), losses(tmp_path / "two")
    assert len(a) == len(b) == 2 and all(abs(x - y) < 1e-5 for x, y in zip(a, b)), (a, b)
    run = Path("runs") / "none" / "seed-5" / "eval.predictions.jsonl"
    preds = [
        [json.loads(x) for x in (root / run).open()]
        for root in (tmp_path / "one", tmp_path / "two")
    ]
    assert preds[0] == preds[1] and len(preds[0]) == 8
    assert one["runs"][0]["scores"] == two["runs"][0]["scores"]
    assert (tmp_path / "two" / "report.md").is_file()
