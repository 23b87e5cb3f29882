"""Table of pretraining probes: one row per run folder under ROOT (default runs/probes).

For each probe: steps done, mean corpus tokens per second (as logged, so it depends on what else
ran on the machine), the last held-out span-corruption and docstring losses (nats per target token),
and the corpus's bytes per token, which turns a per-token loss into approximate bits per byte
(loss / ln 2 / bytes-per-token), the only form comparable across vocabularies.

    python scripts/probe_summary.py [ROOT] [--markdown]
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path


def summarize(run: Path) -> dict:
    """The figures of one probe run folder (empty dict when it has no log yet)."""
    log = run / "log.jsonl"
    if not log.is_file():
        return {}
    steps, evals = [], []
    for line in log.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if entry.get("event") in ("eval", "start"):
            evals.append(entry)
        elif "loss" in entry and "step" in entry and "event" not in entry:
            steps.append(entry)
    corpus = json.loads((run / "corpus.json").read_text(encoding="utf-8"))
    bytes_per_token = corpus["bytes"] / max(corpus["tokens"], 1)
    last = evals[-1] if evals else {}
    rates = [s["tokens_per_s"] for s in steps if s.get("tokens_per_s")]
    row = {
        "probe": run.name,
        "step": steps[-1]["step"] if steps else 0,
        "tokens_per_s": sum(rates) / len(rates) if rates else float("nan"),
        "eval_step": last.get("step"),
        "heldout_loss": last.get("heldout_loss"),
        # The docstring objective is called summarize since the supervised mixture.
        "heldout_docstring_loss": last.get(
            "heldout_docstring_loss", last.get("heldout_summarize_loss")
        ),
        "bytes_per_token": bytes_per_token,
        "done": (run / "backbone").is_dir(),
    }
    for key in ("heldout_loss", "heldout_docstring_loss"):
        value = row[key]
        row[key.replace("loss", "bpb")] = (
            value / math.log(2) / bytes_per_token if value is not None else None
        )
    return row


def main(argv: list[str]) -> None:
    args = [a for a in argv if not a.startswith("--")]
    root = Path(args[0] if args else "runs/probes")
    rows = [r for r in (summarize(p) for p in sorted(root.iterdir()) if p.is_dir()) if r]
    cols = [
        "probe",
        "step",
        "done",
        "tokens_per_s",
        "eval_step",
        "heldout_loss",
        "heldout_bpb",
        "heldout_docstring_loss",
        "bytes_per_token",
    ]

    def fmt(v):
        if isinstance(v, float):
            return f"{v:.3f}" if abs(v) < 100 else f"{v:,.0f}"
        return "" if v is None else str(v)

    if "--markdown" in argv:
        print("| " + " | ".join(cols) + " |")
        print("|" + "---|" * len(cols))
        for r in rows:
            print("| " + " | ".join(fmt(r.get(c)) for c in cols) + " |")
    else:
        print("  ".join(f"{c:>14}" for c in cols))
        for r in rows:
            print("  ".join(f"{fmt(r.get(c)):>14}" for c in cols))


if __name__ == "__main__":
    main(sys.argv[1:])
