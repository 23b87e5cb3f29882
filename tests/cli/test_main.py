"""The `ttune` entry point: usage errors are one line, and transformers stays quiet in the
user-facing commands (issue 11, defect 13)."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

from typer.testing import CliRunner

from ttune.cli.main import app, quiet_libraries

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "ttune" / "models"


def ttune(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    for name in ("TRANSFORMERS_VERBOSITY", "HF_HUB_DISABLE_PROGRESS_BARS"):
        env.pop(name, None)  # as a user's shell would have it
    return subprocess.run(
        [sys.executable, "-m", "ttune.cli.main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_model_commands_print_no_library_noise(tmp_path):
    """`eval` showed transformers' "Loading weights" bars, `init-backbone` its "Writing model
    shards" bar."""
    r = ttune(
        "eval",
        "-c",
        str(MODELS / "summarize-python"),
        "--task",
        "summarize",
        "--test",
        str(ROOT / "datasets" / "python-summarize" / "sample.jsonl"),
        "--limit",
        "2",
        "-o",
        str(tmp_path / "r.json"),
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    r = ttune(
        "init-backbone",
        "-o",
        str(tmp_path / "bb"),
        "--shape",
        "tiny",
        "--tokenizer",
        str(MODELS / "ttune-tiny"),
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert r.stderr == "" and r.stdout.startswith("wrote a random tiny T5 backbone")


def test_deprecation_warnings_of_the_libraries_are_filtered():
    """LoRA runs printed peft/transformers' FutureWarning about is_gradient_checkpointing."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        quiet_libraries()
        warnings.warn("`is_gradient_checkpointing` is deprecated", FutureWarning, stacklevel=1)
        warnings.warn("ours", UserWarning, stacklevel=1)
    assert [str(w.message) for w in seen] == ["ours"]


def test_usage_errors_are_one_line():
    r = CliRunner().invoke(app, ["summarise", "x.py"])
    assert r.exit_code == 2
    assert r.stderr == "error: No such command 'summarise'. Did you mean 'summarize'?\n"
    r = CliRunner().invoke(app, ["train", "--model", "m"])
    assert r.exit_code == 2 and r.stderr.count("\n") == 1
    assert r.stderr.startswith("error: Missing option")
