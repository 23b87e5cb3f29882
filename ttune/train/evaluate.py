"""Evaluation of a trained method on a test file, and the significance test of two evaluations.

:func:`evaluate` generates for the test records (their sources only), scores the predictions with
the task's metrics and writes a results JSON (header, scores, unavailable metrics) and a
``.predictions.jsonl`` beside it; :func:`compare_results` runs the paired Wilcoxon test on two
such prediction files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ttune import dist
from ttune.data.io import DataError, describe_bad_lines, read_jsonl, target_language, write_jsonl
from ttune.io import atomic_write_text
from ttune.metrics import per_example, score
from ttune.metrics.results import results_header
from ttune.metrics.significance import wilcoxon
from ttune.options import DECODING_OPTIONS
from ttune.tasks import DECODING_FIELDS, trained_task
from ttune.train.predict import predict


def evaluate(
    checkpoint: str | Path,
    task: str,
    test: str | Path,
    output: str | Path,
    limit: int | None = None,
    metrics: list[str] | None = None,
    num_beams: int = 1,
    batch_size: int = 8,
    command: str = "",
    dataset: str | None = None,
    **predict_kw: Any,
) -> dict:
    """Generate for the test file's records (their sources only) with the trained method in
    ``checkpoint``, score them with the task's metrics and write ``output`` (results JSON: the
    results header, scores, unavailable metrics) plus ``<output>.predictions.jsonl`` (id,
    prediction, target and per-example score of the headline metric). Returns the results dict."""
    config = Path(checkpoint) / "train_config.json"  # its follow bias, when trained under one
    try:  # an unreadable one is reported by the predictor's loader, in its own words
        trained = json.loads(config.read_text(encoding="utf-8")) if config.is_file() else {}
    except (OSError, ValueError):
        trained = {}
    t = trained_task(task, trained, checkpoint).with_decoding(
        **{k: predict_kw.get(k) for k in DECODING_OPTIONS}
    )  # the decoding generation uses (the model's decoding.json, the options): the header names it
    records, bad = read_jsonl(test)
    if limit is not None:
        if limit < 1:
            raise DataError(f"--limit must be positive, got {limit}")
        records = records[:limit]
    names = list(metrics) if metrics else list(t.metrics)
    predictions = predict(
        checkpoint, records, task=task, num_beams=num_beams, batch_size=batch_size, **predict_kw
    )
    references = [r["target"] for r in records]
    lang = target_language(records)
    scores, unavailable = score(names, predictions, references, lang=lang)
    seeds: list = []
    try:
        cfg = json.loads((Path(checkpoint) / "train_config.json").read_text(encoding="utf-8"))
        if isinstance(cfg.get("seed"), int):
            seeds = [cfg["seed"]]
    except (OSError, ValueError):
        pass
    splits = {r.get("split") for r in records}
    header = results_header(
        dataset or str(test),
        splits.pop() if len(splits) == 1 else "mixed",
        len(records),
        seeds,
        command,
        names,
        files=(test,),
    )
    headline = next((m for m in names if m in scores), None)
    per = (
        per_example(headline, predictions, references, lang=lang)
        if headline
        else [None] * len(records)
    )
    pred_path = (
        Path(str(output) + ".predictions.jsonl")
        if not str(output).endswith(".json")
        else Path(str(output)[:-5] + ".predictions.jsonl")
    )
    results = {
        "header": {
            **header,
            "checkpoint": str(checkpoint),
            "task": task,
            "num_beams": num_beams,
            **{k: getattr(t, k) for k in DECODING_FIELDS},
            # the candidate ranker that chose the outputs (the folder's ranker.json)
            **(
                {"ranker": {"shortlist": t.ranker.shortlist, "fitted_on": t.ranker.fitted_on}}
                if t.rerank and t.ranker is not None
                else {}
            ),
            "malformed_lines": len(bad),
        },
        "scores": scores,
        "unavailable_metrics": unavailable,
        "predictions_file": str(pred_path),
    }
    if bad:
        results["malformed_note"] = describe_bad_lines(test, bad)
    if not dist.is_main():  # every process holds all predictions (ttune.dist); one writes them
        return results
    write_jsonl(
        pred_path,
        (
            {"id": r.get("id", i), "prediction": p, "target": r["target"], (headline or "score"): s}
            for i, (r, p, s) in enumerate(zip(records, predictions, per))
        ),
    )
    atomic_write_text(Path(output), json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return results


def compare_results(
    predictions_a: str | Path, predictions_b: str | Path, metric: str, lang: str | None = None
) -> dict:
    """Paired Wilcoxon signed-rank test (with rank-biserial effect size) of two prediction files
    (``*.predictions.jsonl`` from :func:`evaluate`) on the same records, per-example ``metric``."""

    def load(path) -> list[dict]:
        try:
            with open(path, encoding="utf-8") as f:
                rows = [json.loads(line) for line in f if line.strip()]
        except (OSError, ValueError) as e:
            raise DataError(f"cannot read predictions {path}: {e}") from None
        if not rows or not all("prediction" in r and "target" in r for r in rows):
            raise DataError(f"{path}: not a predictions file (id, prediction, target per line)")
        return rows

    a, b = load(predictions_a), load(predictions_b)
    if [r.get("id") for r in a] != [r.get("id") for r in b]:
        raise DataError("the two prediction files do not hold the same records in the same order")
    refs = [r["target"] for r in a]
    sa = per_example(metric, [r["prediction"] for r in a], refs, lang=lang)
    sb = per_example(metric, [r["prediction"] for r in b], refs, lang=lang)
    return {
        "metric": metric,
        "n_records": len(refs),
        "mean_a": sum(sa) / len(sa),
        "mean_b": sum(sb) / len(sb),
        **wilcoxon(sa, sb).to_dict(),
    }
