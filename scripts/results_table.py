"""One markdown table across the comparison reports in docs/results/, and the issue's targets.

Reads every ``docs/results/*/results.json`` that ``ttune compare`` wrote (nothing is recomputed):
per method and task, the first test metric's mean ± std over seeds and the Wilcoxon p-value of
the transducer against the method; the best validation loss and distinct predictions; then, per
task, the two targets of the comparison:

- the transducer within 2 points of LoRA (first test metric) with at most 5 % of its parameters;
- ``node`` fusion (``transducer``) better than ``transducer-paper`` and ``transducer-nograph``
  with p < 0.05.

    python scripts/results_table.py [RESULTS_DIR]      # default docs/results
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def load(root: Path) -> dict[str, dict]:
    return {
        p.parent.name: json.loads(p.read_text(encoding="utf-8"))
        for p in sorted(root.glob("*/results.json"))
    }


def metric_of(res: dict) -> str:
    return (res.get("test_metrics") or [res["primary_metric"]])[0]


def cell(res: dict, method: str) -> str:
    metric = metric_of(res)
    s = res["summary"].get(method, {}).get(metric)
    if not s or s["mean"] is None:
        return "-"
    text = f"{s['mean']:.2f}" + (f" ± {s['std']:.2f}" if s["std"] is not None else "")
    test = res["wilcoxon"].get(method)
    return text + (f" (p {test['p_value']:.2g})" if test else "")


def fit_cell(res: dict, method: str) -> str:
    """Best validation loss and distinct predictions (%), seed means."""
    s = res["summary"].get(method, {})
    loss, distinct = (s.get(c, {}).get("mean") for c in ("best_valid_loss", "distinct_predictions"))
    return "-" if loss is None or distinct is None else f"{loss:.3f} ({distinct:.1f} %)"


def table(results: dict[str, dict], fit: bool = False) -> list[str]:
    """Per method and task: the first test metric (with p vs the transducer), or with ``fit`` the
    best validation loss and the distinct predictions."""
    names = list(results)
    methods = list(dict.fromkeys(m for r in results.values() for m in r["summary"]))
    head = ["method", "trainable"] + [
        f"{n}: " + ("valid loss (distinct)" if fit else metric_of(results[n])) for n in names
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for m in methods:
        tp = next(
            (
                r["summary"][m]["trainable_parameters"]["mean"]
                for r in results.values()
                if m in r["summary"]
            ),
            None,
        )
        lines.append(
            "| "
            + " | ".join(
                [f"`{m}`", f"{int(tp):,}" if tp is not None else "-"]
                + [(fit_cell if fit else cell)(results[n], m) for n in names]
            )
            + " |"
        )
    if not fit and any(r.get("copy_baseline") for r in results.values()):
        copies = [
            (results[n].get("copy_baseline") or {}).get("scores", {}).get(metric_of(results[n]))
            for n in names
        ]
        lines.append(
            "| copy the source (no model) | 0 | "
            + " | ".join("-" if v is None else f"{v:.2f}" for v in copies)
            + " |"
        )
    return lines


def targets(name: str, res: dict) -> list[str]:
    metric, summ, tests = metric_of(res), res["summary"], res["wilcoxon"]

    def mean(m: str, col: str) -> float | None:
        return summ.get(m, {}).get(col, {}).get("mean")

    out = [f"- {name} ({metric}):"]
    t, lora = mean("transducer", metric), mean("lora", metric)
    tp, lp = mean("transducer", "trainable_parameters"), mean("lora", "trainable_parameters")
    if None not in (t, lora, tp, lp):
        ratio = 100 * tp / lp
        ok = lora - t <= 2 and ratio <= 5
        out.append(
            f"  transducer {t:.2f} vs LoRA {lora:.2f} (gap {lora - t:+.2f} points), "
            f"{ratio:.1f} % of LoRA's parameters: {'met' if ok else 'missed'}"
        )
    for other in ("transducer-paper", "transducer-nograph"):
        o, test = mean(other, metric), tests.get(other)
        if o is None or t is None or not test:
            continue
        ok = t > o and test["p_value"] < 0.05
        out.append(
            f"  node {t:.2f} vs {other} {o:.2f}, p = {test['p_value']:.2g}: "
            f"{'met' if ok else 'missed'}"
        )
    return out


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/results")
    results = load(root)
    if not results:
        sys.exit(f"no */results.json under {root}")
    print("\n".join(table(results)))
    print()
    print("\n".join(table(results, fit=True)))
    print()
    for name, res in results.items():
        print("\n".join(targets(name, res)))


if __name__ == "__main__":
    main()
