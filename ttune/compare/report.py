"""The results of a comparison: results.csv, results.json, Wilcoxon tests, PNG plots, report.md.

``results.csv``: one row per run (``method``, ``seed``), then per method a row with seed ``mean``
and one with seed ``std`` (sample standard deviation over seeds, n - 1; empty with one seed).
Columns: status, trainable_parameters, one per test metric, best_valid_loss, distinct_predictions
(% of test records), peak_rss_mb, train_seconds_per_step,
inference_ms_per_example, steps.

``results.json``: {"header" (results_header: data, seeds, command, versions), "settings",
"primary_metric", "columns", "runs" [run.json records], "rows" [the CSV's run rows], "summary"
{method: {column: {"mean", "std", "n"}}},
"test_metrics" [...], "wilcoxon" {method: {...}} (first test metric),
"wilcoxon_by_metric" {metric: {method: {...}}}, "plots" [...], "notes" [...]}.

Wilcoxon: per test record, a test metric's per-example score is averaged over the seeds of a
method; the baseline's averages are then paired with each other method's by record id and tested
with the two-sided Wilcoxon signed-rank test (ttune.metrics.significance). Per-seed tests are kept
too. The test metrics are ``config.test_metrics``, or the primary metric when it is empty. The
headline metric's per-example scores are read from each predictions file (written by
ttune.train.evaluate.evaluate); any other metric's are recomputed from its predictions and targets.

Plots (only when matplotlib is importable; ``pip install ttune[compare]``): score against
trainable parameters on a log axis (a method with 0 trainable parameters is drawn at 1 and
labelled so), and validation loss against step from each run's log.jsonl.
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from pathlib import Path
from typing import Any

from ttune.data.io import read_jsonl, target_language
from ttune.io import atomic_write_text
from ttune.metrics import per_example, score
from ttune.metrics.results import results_header
from ttune.metrics.significance import wilcoxon
from ttune.tasks import get_task

MEASURES = (
    "trainable_parameters",
    "best_valid_loss",
    "distinct_predictions",
    "peak_rss_mb",
    "train_seconds_per_step",
    "inference_ms_per_example",
    "steps",
)


def _num(v: Any) -> float | None:
    return (
        float(v)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        else None
    )


def run_row(
    rec: dict[str, Any], metrics: list[str], curves: dict[str, dict[int, list[tuple[int, float]]]]
) -> dict[str, Any]:
    """The flat row of one run: its measures and test scores (None where missing); ``curves``
    from :func:`validation_curves` of the successful runs give the best validation loss."""
    scores = rec.get("scores") or {}
    ipe = _num(rec.get("inference_seconds_per_example"))
    ok = rec.get("status", "ok") == "ok"
    losses = [loss for _, loss in curves.get(rec["method"], {}).get(rec["seed"], [])] if ok else []
    return {
        "method": rec["method"],
        "seed": rec["seed"],
        "status": rec.get("status", "ok"),
        "trainable_parameters": rec.get("trainable_parameters"),
        **{m: _num(scores.get(m)) for m in metrics},
        "best_valid_loss": min(losses) if losses else None,
        "distinct_predictions": _distinct_predictions(rec) if ok else None,
        "peak_rss_mb": _num(rec.get("peak_rss_mb")),
        "train_seconds_per_step": _num(rec.get("train_seconds_per_step")),
        "inference_ms_per_example": ipe * 1000 if ipe is not None else None,
        "steps": rec.get("steps"),
    }


def _distinct_predictions(rec: dict[str, Any]) -> float | None:
    """Distinct predictions as % of the test records: low when a method says the same thing to
    every input (which smoothed sentence BLEU can still reward)."""
    path = Path(rec["dir"]) / "eval.predictions.jsonl"
    if not path.is_file():
        return None
    with open(path, encoding="utf-8") as f:
        preds = [json.loads(line)["prediction"] for line in f if line.strip()]
    return 100.0 * len(set(preds)) / len(preds) if preds else None


def mean_std(values: list[float]) -> dict[str, float | int | None]:
    """Mean and sample standard deviation (n - 1; None for fewer than two values)."""
    vals = [v for v in values if v is not None]
    if not vals:
        return {"mean": None, "std": None, "n": 0}
    return {
        "mean": statistics.fmean(vals),
        "std": statistics.stdev(vals) if len(vals) > 1 else None,
        "n": len(vals),
    }


def summarize(rows: list[dict[str, Any]], columns: list[str]) -> dict[str, dict[str, dict]]:
    """{method: {column: {"mean", "std", "n"}}} over the method's successful runs, in run order."""
    out: dict[str, dict[str, dict]] = {}
    for method in dict.fromkeys(r["method"] for r in rows):
        ok = [r for r in rows if r["method"] == method and r["status"] == "ok"]
        out[method] = {c: mean_std([_num(r.get(c)) for r in ok]) for c in columns}
    return out


def primary_metric(task: str, records: list[dict[str, Any]]) -> str | None:
    """The first of the task's metrics that every successful run scored."""
    ok = [r for r in records if r.get("status") == "ok"]
    for m in get_task(task).metrics:
        if ok and all(m in (r.get("scores") or {}) for r in ok):
            return m
    return None


def _per_example(rec: dict[str, Any], metric: str, lang: str | None = None) -> dict[str, float]:
    """{record id: per-example score} from a run's predictions file (written by
    ttune.train.evaluate.evaluate):
    the stored score when the file has ``metric``, else recomputed from prediction and target."""
    path = Path(rec["dir"]) / "eval.predictions.jsonl"
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    ids = [str(row.get("id", i)) for i, row in enumerate(rows)]
    if all(metric in row for row in rows):
        return {i: float(row[metric]) for i, row in zip(ids, rows)}
    scores = per_example(
        metric, [row["prediction"] for row in rows], [row["target"] for row in rows], lang=lang
    )
    return dict(zip(ids, scores))


def target_lang(test_file: str, limit: int | None) -> str | None:
    """The one target language of the scored test records (CodeBLEU needs it), else None."""
    try:
        records, _ = read_jsonl(test_file)
    except (OSError, ValueError):
        return None
    return target_language(records[:limit])


def copy_baseline(task: str, test_file: str, n_records: int, metrics: list[str]) -> dict | None:
    """For ``translate``: the scores of each source copied as its own translation (the naive
    baseline of CodeXGLUE, CodeBLEU 34.2 on Java-to-C#) on the first ``n_records`` test records,
    the ones the runs scored; None for other tasks or an unreadable file."""
    if task != "translate" or not n_records or not metrics:
        return None
    try:
        records, _ = read_jsonl(test_file)
    except (OSError, ValueError):
        return None
    records = records[:n_records]
    if any(not isinstance(r.get(k), str) for r in records for k in ("source", "target")):
        return None
    scores, unavailable = score(
        metrics,
        [r["source"] for r in records],
        [r["target"] for r in records],
        lang=target_language(records),
    )
    return {"n_records": len(records), "scores": scores, "unavailable_metrics": unavailable}


def wilcoxon_tests(
    records: list[dict[str, Any]], baseline: str, metric: str, lang: str | None = None
) -> dict[str, Any]:
    """{method: test of ``baseline`` against it} on seed-averaged per-example scores (see
    module)."""
    ok = [r for r in records if r.get("status") == "ok"]
    per: dict[str, dict[int, dict[str, float]]] = {}
    for r in ok:
        per.setdefault(r["method"], {})[r["seed"]] = _per_example(r, metric, lang)
    if baseline not in per:
        return {}

    def averaged(by_seed: dict[int, dict[str, float]]) -> dict[str, float]:
        ids = set.intersection(*(set(s) for s in by_seed.values()))
        return {i: statistics.fmean(s[i] for s in by_seed.values()) for i in ids}

    base = averaged(per[baseline])
    out: dict[str, Any] = {}
    for method, by_seed in per.items():
        if method == baseline:
            continue
        other = averaged(by_seed)
        ids = sorted(set(base) & set(other))
        if not ids:
            continue
        a, b = [base[i] for i in ids], [other[i] for i in ids]
        res = {
            "baseline": baseline,
            "metric": metric,
            "n_records": len(ids),
            "mean_baseline": statistics.fmean(a),
            "mean_other": statistics.fmean(b),
            **wilcoxon(a, b).to_dict(),
            "per_seed": {},
        }
        for seed in sorted(set(per[baseline]) & set(by_seed)):
            sa, sb = per[baseline][seed], by_seed[seed]
            sid = sorted(set(sa) & set(sb))
            if sid:
                w = wilcoxon([sa[i] for i in sid], [sb[i] for i in sid])
                res["per_seed"][str(seed)] = {
                    "p_value": w.p_value,
                    "rank_biserial": w.rank_biserial,
                    "n": w.n,
                }
        out[method] = res
    return out


def validation_curves(
    records: list[dict[str, Any]],
) -> dict[str, dict[int, list[tuple[int, float]]]]:
    """{method: {seed: [(step, validation loss), ...]}} from each run's log.jsonl."""
    out: dict[str, dict[int, list[tuple[int, float]]]] = {}
    for r in records:
        path = Path(r["dir"]) / "log.jsonl"
        if not path.is_file():
            continue
        pts = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                e = json.loads(line)
            except json.JSONDecodeError:
                continue
            v = e.get("valid") if isinstance(e, dict) else None
            if isinstance(v, dict) and _num(v.get("loss")) is not None:
                pts.append((int(e.get("step", 0)), float(v["loss"])))
        if pts:
            out.setdefault(r["method"], {})[r["seed"]] = pts
    return out


# ------------------------------------------------------------------------------ plots
def make_plots(
    out: Path,
    summary: dict,
    metric: str | None,
    curves: dict[str, dict[int, list[tuple[int, float]]]],
) -> tuple[list[str], list[str]]:
    """Write the PNGs; returns (file names written, notes). No matplotlib -> no plots, one note."""
    try:
        import matplotlib  # lazy: optional dependency (the compare extra)

        matplotlib.use("Agg")  # files only; never needs a display
        import matplotlib.pyplot as plt  # lazy: optional dependency (the compare extra)
    except ImportError:
        return [], ["plots skipped: matplotlib is not installed (pip install 'ttune[compare]')"]
    written: list[str] = []
    if metric:
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        for method, cols in summary.items():
            p, s = cols["trainable_parameters"]["mean"], cols[metric]
            if p is None or s["mean"] is None:
                continue
            x = max(p, 1.0)  # a log axis has no 0: a method that trains nothing sits at 1
            ax.errorbar([x], [s["mean"]], yerr=[s["std"] or 0.0], fmt="o", capsize=3)
            ax.annotate(
                method + (" (0 trained)" if p == 0 else ""),
                (x, s["mean"]),
                textcoords="offset points",
                xytext=(5, 4),
                fontsize=8,
            )
        ax.set_xscale("log")
        ax.set_xlabel("trainable parameters (log scale)")
        ax.set_ylabel(f"test {metric} (mean ± std over seeds)")
        ax.set_title("Score against trainable parameters")
        ax.grid(True, which="both", alpha=0.3)
        fig.tight_layout()
        fig.savefig(out / "score_vs_params.png", dpi=120)
        plt.close(fig)
        written.append("score_vs_params.png")
    if curves:
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        for k, (method, by_seed) in enumerate(curves.items()):
            for j, (seed, pts) in enumerate(sorted(by_seed.items())):
                xs, ys = zip(*pts)
                ax.plot(
                    xs,
                    ys,
                    marker="o",
                    color=colors[k % len(colors)],
                    linestyle="-" if j == 0 else "--",
                    label=f"{method} seed {seed}",
                )
        ax.set_xlabel("optimizer step")
        ax.set_ylabel("validation loss (per target token)")
        ax.set_title("Validation curves")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / "validation_curves.png", dpi=120)
        plt.close(fig)
        written.append("validation_curves.png")
    return written, []


# ------------------------------------------------------------------------------ files
def _fmt(v: Any, digits: int = 2) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def csv_text(rows: list[dict[str, Any]], summary: dict, columns: list[str]) -> str:
    header = ["method", "seed", "status"] + columns
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow([r["method"], r["seed"], r["status"]] + [_fmt(r.get(c), 6) for c in columns])
    for method, cols in summary.items():
        for stat in ("mean", "std"):
            w.writerow([method, stat, ""] + [_fmt(cols[c][stat], 6) for c in columns])
    return buf.getvalue()


def markdown(config, results: dict[str, Any]) -> str:
    """report.md: settings, the table, the tests, the plots, how things were measured."""
    summary, columns = results["summary"], results["columns"]
    metrics = [c for c in columns if c not in MEASURES]
    lines = [
        f"# ttune compare: {config.task}",
        "",
        f"- backbone: `{config.model}`",
        f"- data: train `{config.train_file}`, valid `{config.valid_file}`, test "
        f"`{config.test_file}`"
        f" ({results['header']['n_records']} test records)",
        f"- seeds: {', '.join(map(str, config.seeds))}; budget: "
        + (f"{config.max_steps} steps" if config.max_steps else f"{config.epochs} epochs")
        + f", batch {config.batch_size} x {config.grad_accum}, lr {config.lr}"
        + (f" (per method: {json.dumps(config.method_lr)})" if config.method_lr else "")
        + f"; generation: beam {config.num_beams}",
        f"- command: `{config.command}`" if config.command else "- command: (library call)",
        "",
        "## Results (test set, mean ± std over seeds)",
        "",
    ]
    head = (
        ["method", "trainable"]
        + metrics
        + ["best valid loss", "distinct %", "peak RSS MB", "s/step", "ms/example"]
    )
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def ms(col: str, digits: int = 2) -> str:
        s = cols[col]
        if s["mean"] is None:
            return "n/a"
        return _fmt(s["mean"], digits) + (
            f" ± {_fmt(s['std'], digits)}" if s["std"] is not None else ""
        )

    for method, cols in summary.items():
        tp = cols["trainable_parameters"]["mean"]
        lines.append(
            "| "
            + " | ".join(
                [f"`{method}`", f"{int(tp):,}" if tp is not None else "n/a"]
                + [ms(m) for m in metrics]
                + [
                    ms("best_valid_loss", 3),
                    ms("distinct_predictions", 1),
                    ms("peak_rss_mb", 0),
                    ms("train_seconds_per_step", 3),
                    ms("inference_ms_per_example", 1),
                ]
            )
            + " |"
        )
    copy = results.get("copy_baseline")
    if copy:
        lines += [
            "",
            f"Copying each source as its translation (the naive baseline; same "
            f"{copy['n_records']} test records): "
            + ", ".join(f"{m} {_fmt(v)}" for m, v in copy["scores"].items())
            + ". A method below it translates worse than no translation at all.",
        ]
    failed = [r for r in results["runs"] if r["status"] != "ok"]
    if failed:
        lines += [
            "",
            "Failed runs: "
            + "; ".join(f"`{r['method']}` seed {r['seed']}: {r.get('error', '')}" for r in failed),
        ]
    for test_metric, tests in (results["wilcoxon_by_metric"] or {None: {}}).items():
        lines += [
            "",
            f"## Wilcoxon signed-rank tests: `{config.baseline}` against each method"
            + (f" ({test_metric})" if test_metric else ""),
            "",
        ]
        if not tests:
            lines.append(
                f"none (`{config.baseline}` is not among the successful runs, or no metric)"
            )
            continue
        lines += [
            f"Per-example {test_metric}, averaged over seeds, paired by test record; two-sided.",
            "",
            f"| method | n | mean {config.baseline} | mean method | p | rank-biserial |",
            "|---|---|---|---|---|---|",
        ]
        for method, t in tests.items():
            lines.append(
                f"| `{method}` | {t['n_records']} | {t['mean_baseline']:.2f} | "
                f"{t['mean_other']:.2f} | {t['p_value']:.4g} | {t['rank_biserial']:+.3f} |"
            )
    if results["plots"]:
        lines += ["", "## Plots", ""] + [f"![{p[:-4]}]({p})" for p in results["plots"]]
    lines += [
        "",
        "## How it was measured",
        "",
        "- trainable parameters: parameters the method trains and forward uses "
        "(`AdaptedModel.num_trainable`).",
        "- best valid loss: lowest validation loss (mean token cross-entropy, nats) of the run; "
        "the test scores come from that checkpoint.",
        "- distinct %: distinct test predictions / test records (low = the same output for "
        "many inputs).",
        "- peak RSS: resident set size of the process, sampled with psutil every 20 ms during "
        "training and evaluation; it includes the Python process and the frozen backbone.",
        "- s/step: wall time of the optimizer steps alone (no loading, CPG extraction, "
        "validation or checkpointing) / steps.",
        "- ms/example: generation time over the test set (graph encoding and decoding; no "
        "loading or CPG extraction) / test records.",
    ]
    lines += [f"- note: {n}" for n in results["notes"]]
    return "\n".join(lines) + "\n"


def write_report(config, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Write results.csv, results.json, the plots and report.md into the comparison folder."""
    out = Path(config.output_dir)
    ok = [r for r in records if r.get("status") == "ok"]
    metrics = list(dict.fromkeys(m for r in ok for m in (r.get("scores") or {})))
    columns = (
        ["trainable_parameters"] + metrics + [c for c in MEASURES if c != "trainable_parameters"]
    )
    curves = validation_curves(ok)
    rows = [run_row(r, metrics, curves) for r in records]
    summary = summarize(rows, columns)
    metric = primary_metric(config.task, records)
    test_metrics = list(config.test_metrics) or ([metric] if metric else [])
    lang = target_lang(config.test_file, config.test_limit) if test_metrics != [metric] else None
    by_metric = {m: wilcoxon_tests(records, config.baseline, m, lang) for m in test_metrics}
    n_test = next((r.get("test_records") for r in ok), 0) or 0
    header = results_header(
        config.test_file,
        "test",
        n_test,
        list(config.seeds),
        config.command,
        metrics,
        files=(config.train_file, config.valid_file, config.test_file),
    )
    # A comparison resumed across commits mixes code: each run records the revision it ran.
    header["ttune_revision_of_runs"] = sorted({str(r.get("ttune_revision")) for r in ok})
    # Decoding settings (the task's, from each run's eval.json); None: a run made before they
    # were recorded.
    header["decoding_of_runs"] = [
        json.loads(d) for d in sorted({json.dumps(r.get("decoding"), sort_keys=True) for r in ok})
    ]
    plot_metric = test_metrics[0] if test_metrics and test_metrics[0] in metrics else metric
    plots, notes = make_plots(out, summary, plot_metric, curves)
    results = {
        "header": header,
        "settings": config.to_dict(),
        "primary_metric": metric,
        "columns": columns,
        "runs": records,
        "rows": rows,
        "summary": summary,
        "test_metrics": test_metrics,
        "wilcoxon": by_metric.get(test_metrics[0], {}) if test_metrics else {},
        "wilcoxon_by_metric": by_metric,
        "copy_baseline": copy_baseline(config.task, config.test_file, n_test, metrics),
        "plots": plots,
        "notes": notes,
    }
    atomic_write_text(out / "results.csv", csv_text(rows, summary, columns))
    atomic_write_text(
        out / "results.json", json.dumps(results, indent=2, ensure_ascii=False) + "\n"
    )
    atomic_write_text(out / "report.md", markdown(config, results))
    return results
