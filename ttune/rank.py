"""Fit a trained method's candidate ranker (``ttune fit-ranker``): the weights with which its
task chooses among a record's candidate targets (``Task.rerank``, :mod:`ttune.tasks.ranker`).

:func:`fit_ranker_file` works in two stages on the training records whose reference is among
their candidates. First a prefilter over the candidates' features alone (no model: seconds per
thousand records); then the method scores the prefilter's shortlist of each record (its
log-probability of each candidate) and the final weights are fitted over the features and that
log-probability on those shortlists (:func:`ttune.tasks.ranker.fit_ranker` both times). The
ranker goes into the method's folder as ``ranker.json``, which every later prediction with the
folder reads.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ttune.builtin import ModelNotFoundError, resolve_model
from ttune.data.io import DataError
from ttune.lite.predict import load_lite
from ttune.options import RankerOptions
from ttune.tasks.ranker import LOGPROB, RANKER_FILE, Ranker, fit_ranker
from ttune.train.data import load_records

__all__ = ["fit_ranker_file"]

CHUNK = 16
"""Records scored by the method at a time (progress is reported after each chunk)."""


def _predictor(checkpoint: Path, model: str | None, task: str, device: str):
    """The lite predictor where it runs the method, else the engine's; the backbone: ``model``,
    else the one the folder names (``ttune-tiny``: the built-in one)."""
    try:
        backbone = resolve_model(task, "java", model, transducer=checkpoint).backbone
    except ModelNotFoundError as e:
        raise DataError(str(e)) from None
    lite = load_lite(checkpoint, backbone, task=task, rerank=True, device=device)
    if lite is not None:
        return lite
    from ttune.train.predict import Predictor  # lazy: transformers and torch_geometric

    return Predictor(checkpoint, model=backbone, task=task, rerank=True, device=device)


def _top1(lists, scores_of) -> float:
    hits = 0
    for cands, logprobs, gold in lists:
        s = scores_of(cands, logprobs)
        hits += max(range(len(s)), key=s.__getitem__) == gold
    return round(100 * hits / max(len(lists), 1), 2)


def fit_ranker_file(
    checkpoint: str | Path,
    train: str | Path,
    *,
    options: RankerOptions | None = None,
    task: str = "assert",
    model: str | None = None,
    device: str = "auto",
    output: str | Path | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Fit the ranker of the trained method in ``checkpoint`` on the records of ``train`` (a
    JSON-lines file with targets: a training split, never a test one; ``options``: how many, the
    shortlist, the penalty) and write it to ``output`` (default: ``<checkpoint>/ranker.json``).
    ``on_progress(done, total)`` is called while the method scores. Returns a summary (also kept
    in the file's ``fitted_on``): records, how many have candidates and the reference among them,
    top-1 accuracy on the fitted lists by the log-probability alone, the prefilter and the
    ranker, and the output path."""
    folder, opts = Path(checkpoint), options or RankerOptions()
    shortlist, l2 = opts.shortlist, opts.l2
    records = load_records(train, "training data", limit=opts.limit)
    pred = _predictor(folder, model, task, device)
    base = pred.task.with_options(ranker=None)
    if base.candidates is None:
        raise DataError(f"task {base.name} lists no candidates: it has nothing to rank")
    start = time.monotonic()

    # Stage 1: the prefilter, on every candidate's features (no model).
    first, kept, with_candidates = [], [], 0
    for rec in records:
        cands = base.candidates(rec)
        with_candidates += bool(cands)
        texts = [c.text for c in cands]
        if rec["target"] in texts:
            first.append((cands, [0.0] * len(cands), texts.index(rec["target"])))
            kept.append(rec)
    if not first:
        raise DataError(
            f"{train}: no record's target is among its candidates "
            f"({with_candidates} of {len(records)} records have candidates)"
        )
    pre, _ = fit_ranker(first, l2=l2)
    prefilter = {k: v for k, v in pre.weights.items() if k != LOGPROB}

    # Stage 2: the method scores each record's shortlist; the final weights are fitted on those.
    pred.task = base.with_options(ranker=Ranker({}, prefilter, shortlist), rerank=True)
    second = []
    for i in range(0, len(kept), CHUNK):
        chunk = kept[i : i + CHUNK]
        for rec, (cands, logprobs) in zip(chunk, pred.candidate_logprobs(chunk), strict=True):
            texts = [c.text for c in cands]
            if rec["target"] in texts:
                second.append((cands, logprobs, texts.index(rec["target"])))
        if on_progress is not None:
            on_progress(min(i + CHUNK, len(kept)), len(kept))
    final, loss = fit_ranker(second, l2=l2)
    summary = {
        "train": str(train),
        "records": len(records),
        "with_candidates": with_candidates,
        "reference_among_candidates": len(first),
        "reference_in_shortlist": len(second),
        "shortlist": shortlist,
        "top1_logprob_pct": _top1(second, lambda c, lp: list(lp)),
        "top1_prefilter_pct": _top1(second, lambda c, lp: pre.scores(c, [0.0] * len(c))),
        "top1_ranker_pct": _top1(second, final.scores),
        "loss": round(loss, 4),
        "l2": l2,
        "seconds": round(time.monotonic() - start, 1),
    }
    out = Path(output) if output is not None else folder / RANKER_FILE
    Ranker(final.weights, prefilter, shortlist, summary).save(out)
    return {**summary, "output": str(out)}
