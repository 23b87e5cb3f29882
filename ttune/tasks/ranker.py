"""A linear ranker over a record's candidate targets (``Task.rerank``): it weighs each candidate's
features (:class:`ttune.data.candidates.Candidate`) with the model's log-probability of it and
answers with the best.

The model alone (the built-in Java assert model's log-probability) ranks the reference first for
17.3 % of the ATLAS training tests that keep it in their shortlist of candidates: it prefers
short, frequent forms (``assertNotNull``) whatever the test. What the test says about each
candidate is cheap to read and telling: a ``boolean`` local is checked with ``assertTrue`` /
``assertFalse``, a local named ``expected`` is the expected value, a number is compared with a
number, the value the test computed last is the one checked. :func:`fit_ranker` learns one weight
per feature and one for the log-probability on a training split, by the listwise softmax loss
(ListNet with one relevant item: the negative log-probability of the reference among the record's
candidates under a softmax of the scores, plus an L2 penalty), and :class:`Ranker` applies them:

.. math::
    s(c) = w_{lp} \\log p_\\theta(c \\mid x) + \\sum_f w_f\\, f(c)

A model folder holds its ranker as :data:`RANKER_FILE` (JSON: the weights and what they were
fitted on); ``ttune fit-ranker`` writes it (docs/decoding.md, "Choosing among candidate
assertions").
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ttune.data.candidates import Candidate
from ttune.data.io import DataError
from ttune.io import atomic_write_text

__all__ = ["LOGPROB", "RANKER_FILE", "Ranker", "fit_ranker", "load_ranker"]

RANKER_FILE = "ranker.json"
"""A model folder's ranker, read by ``trained_task`` when the folder has one."""

LOGPROB = "logprob"
"""The weight name of the model's log-probability (the sum over the candidate's tokens)."""


@dataclass(frozen=True, eq=False)
class Ranker:
    """Weights of a linear ranker: feature name -> weight; :data:`LOGPROB` weighs the model's
    log-probability. A feature the weights do not name counts 0. With ``shortlist`` > 0 only the
    ``shortlist`` candidates the ``prefilter`` weights (features only) score best are scored by
    the model and ranked: the model reads a few dozen candidates instead of hundreds."""

    weights: dict[str, float]
    prefilter: dict[str, float] = field(default_factory=dict)
    """Feature weights that shortlist the candidates before the model scores them."""
    shortlist: int = 0
    """How many candidates the prefilter keeps (0: all)."""
    fitted_on: dict = field(default_factory=dict)
    """What the weights were fitted on (data, records, lists, loss), for the model card."""

    def scores(self, candidates: Sequence[Candidate], logprobs: Sequence[float]) -> list[float]:
        """One score per candidate (``logprobs``: the model's, in the same order)."""
        return _linear(self.weights, candidates, logprobs)

    def shortlisted(self, candidates: Sequence[Candidate]) -> list[Candidate]:
        """The candidates the model should score: the ``shortlist`` best by the ``prefilter``
        weights, best first (all of them, in order, without a shortlist)."""
        if self.shortlist <= 0 or len(candidates) <= self.shortlist:
            return list(candidates)
        s = _linear(self.prefilter, candidates, [0.0] * len(candidates))
        best = sorted(range(len(s)), key=lambda i: -s[i])[: self.shortlist]
        return [candidates[i] for i in best]

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the ranker as JSON (atomically), as :func:`load_ranker` reads it."""
        doc = {
            "kind": "linear",
            "weights": self.weights,
            "prefilter": self.prefilter,
            "shortlist": self.shortlist,
            "fitted_on": self.fitted_on,
        }
        atomic_write_text(Path(path), json.dumps(doc, indent=2) + "\n")


def _linear(
    weights: dict[str, float], candidates: Sequence[Candidate], logprobs: Sequence[float]
) -> list[float]:
    lp = weights.get(LOGPROB, 0.0)
    return [
        lp * float(p) + sum(weights.get(k, 0.0) * v for k, v in c.features.items())
        for c, p in zip(candidates, logprobs, strict=True)
    ]


def load_ranker(folder: str | os.PathLike[str] | None) -> Ranker | None:
    """The ranker of a model folder (its :data:`RANKER_FILE`), None when it has none; DataError
    (one line) when the file is not a linear ranker's JSON."""
    if folder is None or not (Path(folder) / RANKER_FILE).is_file():
        return None
    path = Path(folder) / RANKER_FILE
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: not readable JSON ({type(e).__name__})") from None
    if not isinstance(doc, dict) or doc.get("kind") != "linear":
        raise DataError(f'{path}: must hold {{"kind": "linear", "weights": {{name: number}}}}')
    weights, prefilter, shortlist = (
        doc.get("weights"),
        doc.get("prefilter", {}),
        doc.get("shortlist", 0),
    )
    for name, w in (("weights", weights), ("prefilter", prefilter)):
        if not isinstance(w, dict) or not all(
            isinstance(v, (int, float)) and math.isfinite(v) for v in w.values()
        ):
            raise DataError(f"{path}: {name} must map feature names to numbers")
    if not isinstance(shortlist, int) or isinstance(shortlist, bool) or shortlist < 0:
        raise DataError(f"{path}: shortlist must be an integer >= 0")
    return Ranker(
        {str(k): float(v) for k, v in weights.items()},
        {str(k): float(v) for k, v in prefilter.items()},
        shortlist,
        doc.get("fitted_on") or {},
    )


def fit_ranker(
    lists: Sequence[tuple[Sequence[Candidate], Sequence[float], int]],
    *,
    l2: float = 1e-4,
    min_count: int = 5,
) -> tuple[Ranker, float]:
    """(ranker, final training loss) fitted on ``lists``: (candidates, the model's log-probability
    of each, index of the reference among them). Features seen on fewer than ``min_count``
    candidates get no weight. L-BFGS on the mean listwise softmax loss plus ``l2`` times the
    squared weights."""
    import torch  # lazy: the ranker's use needs no torch

    lists = [x for x in lists if x[0] and 0 <= x[2] < len(x[0])]
    if not lists:
        raise ValueError("no record has its reference among its candidates: nothing to fit")
    counts: dict[str, int] = {}
    for cands, _, _ in lists:
        for c in cands:
            for k in c.features:
                counts[k] = counts.get(k, 0) + 1
    names = [LOGPROB] + sorted(k for k, n in counts.items() if n >= min_count and k != LOGPROB)
    index = {k: i for i, k in enumerate(names)}
    rows_, cols_, vals_, gold, segment, offset = [], [], [], [], [], 0
    for j, (cands, logprobs, g) in enumerate(lists):  # the [sum K, F] feature matrix's entries
        r, c, v = [], [], []
        for i, (cand, p) in enumerate(zip(cands, logprobs, strict=True)):
            pairs = [(0, float(p))] + [
                (index[k], x) for k, x in cand.features.items() if k in index
            ]
            r += [offset + i] * len(pairs)
            c += [f for f, _ in pairs]
            v += [x for _, x in pairs]
        rows_.append(torch.tensor(r, dtype=torch.long))
        cols_.append(torch.tensor(c, dtype=torch.long))
        vals_.append(torch.tensor(v, dtype=torch.float64))
        gold.append(offset + g)
        segment.append(torch.full((len(cands),), j, dtype=torch.long))
        offset += len(cands)
    rows, cols, vals = torch.cat(rows_), torch.cat(cols_), torch.cat(vals_)
    seg = torch.cat(segment)  # [sum K]: the list of each candidate
    gold_t = torch.tensor(gold)
    n = len(lists)
    w = torch.zeros(len(names), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w], max_iter=500, line_search_fn="strong_wolfe")

    def loss_fn() -> torch.Tensor:
        s = torch.zeros(offset, dtype=w.dtype).index_add(0, rows, vals * w[cols])  # [sum K]
        top = torch.full((n,), -torch.inf, dtype=s.dtype).scatter_reduce(0, seg, s, "amax")
        total = torch.zeros(n, dtype=s.dtype).index_add(0, seg, (s - top[seg]).exp())
        nll = (top + total.log() - s[gold_t]).mean()  # -log softmax of the reference, per list
        return nll + l2 * (w * w).sum()

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        loss = float(loss_fn())
    weights = {k: round(float(v), 6) for k, v in zip(names, w.detach()) if float(v) != 0.0}
    return Ranker(weights, fitted_on={"lists": len(lists), "loss": round(loss, 4), "l2": l2}), loss
