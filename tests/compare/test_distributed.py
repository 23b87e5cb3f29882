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

ROOT = Path(__file__).resolve().parents[2]


def test_two_processes_compare_like_one(make_compare_config, data_files, backbone_dir, tmp_path):
    # Both runs are subprocesses: accelerate keeps one precision per process, and other tests of
    # this session already trained in bf16 here.
    cache = make_compare_config(tmp_path / "unused").cache_dir
    args = ["compare", "--task", "summarize", "--methods", "none,transducer", "--seeds", "5"]
    args += ["--model", str(backbone_dir), "--train", str(data_files["train"])]
    args += ["--valid", str(data_files["valid"]), "--test", str(data_files["test"])]
    args += ["--max-steps", "2", "--batch-size", "4", "--lr", "0.01", "--eval-every", "1"]
    args += ["--max-source-len", "96", "--max-target-len", "8", "--max-new-tokens", "6"]
    args += ["--mixed-precision", "no", "--cache-dir", cache, "--log-every", "1"]
    path = [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(path))
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2"]
    for out, cmd in (("one", [sys.executable]), ("two", launch)):
        r = subprocess.run(
            [*cmd, "-m", "ttune.cli.main", *args, "--output", str(tmp_path / out)],
            env=env,
            capture_output=True,
            text=True,
            timeout=400,
        )
        assert r.returncode == 0, r.stderr[-3000:]
    one, two = (json.loads((tmp_path / d / "results.json").read_text()) for d in ("one", "two"))
    assert [x["status"] for x in one["runs"]] == ["ok", "ok"], one["runs"]
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
