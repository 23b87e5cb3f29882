"""Pretraining in two processes (torchrun, gloo on the CPU) follows one process: the same loss
curve within 1e-5 (fp32; each process takes half of every step's rows), the same held-out loss,
one log and one backbone, written by the main process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from safetensors.torch import load_file

from ttune.pretrain.loop import pretrain

from .test_loop import log_lines, prepared, run_dir, tiny  # noqa: F401 (prepared: a fixture)

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import json, sys
from ttune.pretrain.config import PretrainConfig
from ttune.pretrain.loop import pretrain
cfg = json.loads(open(sys.argv[1]).read())
cfg["sources"] = tuple(cfg["sources"])
pretrain(PretrainConfig(**cfg))
"""


def test_two_processes_follow_one_process(prepared, tmp_path):  # noqa: F811
    kw = dict(precision="fp32", threads=1, max_steps=5, checkpoint_every=3)
    one = pretrain(tiny(run_dir(prepared, tmp_path / "one"), **kw)).parent
    two = run_dir(prepared, tmp_path / "two")
    (tmp_path / "cfg.json").write_text(json.dumps(tiny(two, **kw).to_dict()))
    (tmp_path / "run.py").write_text(SCRIPT)
    path = [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(path))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2"]
    r = subprocess.run(
        [*cmd, str(tmp_path / "run.py"), str(tmp_path / "cfg.json")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    a, b = log_lines(one), log_lines(two)
    la = {e["step"]: e["loss"] for e in a if "loss" in e and "event" not in e}
    lb = {e["step"]: e["loss"] for e in b if "loss" in e and "event" not in e}
    assert sorted(la) == sorted(lb) == [1, 2, 3, 4, 5]
    assert all(abs(la[s] - lb[s]) < 1e-5 for s in la), (la, lb)
    ea = [e for e in a if e.get("event") == "eval"]
    eb = [e for e in b if e.get("event") == "eval"]
    assert len(ea) == len(eb) == 2
    for x, y in zip(ea, eb):
        assert abs(x["heldout_loss"] - y["heldout_loss"]) < 1e-5
        assert x["summarize_distinct"] == y["summarize_distinct"]
    wa = load_file(str(one / "backbone" / "model.safetensors"))
    wb = load_file(str(two / "backbone" / "model.safetensors"))
    assert max(float((wa[k] - wb[k]).abs().max()) for k in wa) < 1e-4
    assert len([e for e in b if e.get("event") == "start"]) == 1  # one process wrote the log
