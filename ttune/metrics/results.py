"""The header every results file starts with: what was measured, on what, with which versions."""

from __future__ import annotations

import datetime as _dt
import platform
from importlib import metadata

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


def results_header(
    dataset: str,
    split: str,
    n_records: int,
    seeds: list[int] | tuple[int, ...] | None,
    command: str,
    metrics: list[str] | tuple[str, ...] = (),
) -> dict:
    """Provenance for a results file: data set, split, record count, seeds, the exact command,
    package versions, the exact variant of every metric named, time (UTC) and Python version."""
    return {
        "dataset": dataset,
        "split": split,
        "n_records": int(n_records),
        "seeds": list(seeds) if seeds is not None else [],
        "command": command,
        "metric_variants": {m: describe_metric(m) for m in metrics},
        "versions": {"python": platform.python_version(), **package_versions()},
        "created_utc": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
