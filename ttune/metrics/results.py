"""The header every results file starts with: what was measured, on what, with which versions."""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import os
import platform
import subprocess
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from ttune.metrics import describe_metric

_PACKAGES = (
    "ttune",
    "torch",
    "transformers",
    "tokenizers",
    "peft",
    "torch-geometric",
    "tree-sitter",
    "sacrebleu",
    "codebleu",
)


def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def file_sha256(path: str | Path) -> str | None:
    """sha256 of a file's bytes; None when it cannot be read (a name rather than a file)."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return None
    return h.hexdigest()


@functools.cache
def source_revision() -> str | None:
    """The git commit of the ttune source that runs (``+dirty`` with uncommitted changes under
    ``ttune/``); None outside a git checkout (an installed wheel). Read once per process: a
    long command asks when it starts (``CompareRunner``), so a commit made while it runs is not
    claimed for code it loaded before."""
    root = Path(__file__).resolve().parents[2]
    try:
        rev = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "ttune"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{rev}+dirty" if dirty else rev


def cpu_model() -> str:
    """The processor's model name (Linux: /proc/cpuinfo), else what ``platform`` knows: figures
    that depend on the instruction set (bf16, oneDNN kernels) can then be traced to it."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def results_header(
    dataset: str,
    split: str,
    n_records: int,
    seeds: list[int] | tuple[int, ...] | None,
    command: str,
    metrics: list[str] | tuple[str, ...] = (),
    files: Sequence[str | Path | None] = (),
) -> dict:
    """Provenance for a results file: data set, split, record count, seeds, the exact command,
    package versions, the exact variant of every metric named, time (UTC), Python version, the
    machine's processor, the sha256 of each data file in ``files`` and the git commit of the
    ttune source: a figure that changes can be traced to the data, the code or the machine."""
    return {
        "dataset": dataset,
        "split": split,
        "n_records": int(n_records),
        "seeds": list(seeds) if seeds is not None else [],
        "command": command,
        "metric_variants": {m: describe_metric(m) for m in metrics},
        "versions": {"python": platform.python_version(), **package_versions()},
        "data_sha256": {str(f): file_sha256(f) for f in files if f},
        "ttune_revision": source_revision(),
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "platform": platform.platform()},
        "created_utc": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
