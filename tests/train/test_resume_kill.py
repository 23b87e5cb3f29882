"""A run killed with SIGKILL continues from its last checkpoint when the same command runs again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")
def test_killed_run_resumes_from_its_checkpoint(backbone_dir, data_files, cache_dir, tmp_path):
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "ttune.cli.main",
        "train",
        "--train",
        str(data_files["train"]),
        "--output",
        str(out),
        "--model",
        str(backbone_dir),
        "--method",
        "lora",
        "--max-steps",
        "100",
        "--save-every",
        "5",
        "--batch-size",
        "4",
        "--max-source-len",
        "64",
        "--max-target-len",
        "16",
        "--cache-dir",
        str(cache_dir),
        "--no-progress",
        "--log-every",
        "5",
    ]
    env = dict(
        os.environ,
        OMP_NUM_THREADS="1",
        PYTHONPATH=os.pathsep.join(
            [str(Path(__file__).resolve().parents[2])]
            + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        ),
    )
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ckpts = out / "checkpoints"
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if list(ckpts.glob("step-*")):
                break
            time.sleep(0.05)
        assert proc.poll() is None, f"run ended before it could be killed: {proc.stderr.read()!r}"
        assert list(ckpts.glob("step-*")), "no checkpoint within 120 s"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    done = sorted(int(p.name.split("-")[1]) for p in ckpts.glob("step-*"))
    assert done and all(s % 5 == 0 for s in done) and max(done) < 100
    assert not (out / "method.safetensors").exists()  # killed before finishing

    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    resumes = [e for e in log if e.get("event") == "resume"]
    assert len(resumes) == 1 and resumes[0]["step"] == max(done)
    steps = [e["step"] for e in log if "loss" in e and "event" not in e]
    assert steps == list(
        range(5, 101, 5)
    )  # every step trained once: nothing lost, nothing repeated
    assert (out / "method.safetensors").is_file()
    assert not [p for p in ckpts.iterdir() if p.name.startswith(".")]  # no half-written leftovers
