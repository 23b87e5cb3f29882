"""ttune.tasks.ranker: the linear candidate ranker, its file and its fit."""

from __future__ import annotations

import json
import random

import pytest

from ttune.data.candidates import Candidate
from ttune.data.io import DataError
from ttune.tasks import get_task, trained_task
from ttune.tasks.ranker import LOGPROB, RANKER_FILE, Ranker, fit_ranker, load_ranker


def cands(*features: dict[str, float]) -> list[Candidate]:
    return [Candidate(f"c{i}", f) for i, f in enumerate(features)]


def test_scores_weigh_the_features_and_the_log_probability():
    r = Ranker({LOGPROB: 0.5, "a": 2.0, "b": -1.0})
    got = r.scores(cands({"a": 1.0}, {"b": 1.0, "z": 9.0}, {}), [-4.0, -2.0, 0.0])
    assert got == [-2.0 + 2.0, -1.0 - 1.0, 0.0]  # an unknown feature ("z") counts 0


def test_the_shortlist_keeps_the_prefiltered_best_first():
    r = Ranker({}, {"a": 1.0}, shortlist=2)
    c = cands({"a": 0.1}, {"a": 3.0}, {"a": 2.0}, {})
    assert [x.text for x in r.shortlisted(c)] == ["c1", "c2"]
    assert Ranker({}, {"a": 1.0}).shortlisted(c) == c  # no shortlist: all, in order


def test_choose_uses_the_log_probability_or_the_ranker():
    task = get_task("assert")
    c = cands({"a": 1.0}, {})
    assert task.choose(c, [-5.0, -1.0]) == "c1"
    assert (
        task.with_options(ranker=Ranker({"a": 10.0, LOGPROB: 1.0})).choose(c, [-5.0, -1.0]) == "c0"
    )


def test_fit_recovers_the_feature_that_marks_the_reference():
    """Lists where the reference is the one candidate with feature "gold" (and noise features
    elsewhere): the fitted ranker puts it first in held-out lists, with a positive weight."""
    rng = random.Random(0)

    def make(n: int):
        out = []
        for _ in range(n):
            k = rng.randint(2, 9)
            g = rng.randrange(k)
            feats = [{"noise": rng.random()} | ({"gold": 1.0} if i == g else {}) for i in range(k)]
            out.append((cands(*feats), [rng.gauss(0, 1) for _ in range(k)], g))
        return out

    ranker, loss = fit_ranker(make(60))
    assert ranker.weights["gold"] > 2 and loss < 0.3
    for c, lp, g in make(20):
        s = ranker.scores(c, lp)
        assert max(range(len(s)), key=s.__getitem__) == g
    with pytest.raises(ValueError, match="nothing to fit"):
        fit_ranker([(cands({}), [0.0], -1)])


def test_the_file_round_trips_and_bad_files_say_so(tmp_path):
    r = Ranker({LOGPROB: 0.25, "a": -1.5}, {"a": 2.0}, 8, {"lists": 3})
    r.save(tmp_path / RANKER_FILE)
    back = load_ranker(tmp_path)
    assert (back.weights, back.prefilter, back.shortlist, back.fitted_on) == (
        r.weights,
        r.prefilter,
        8,
        {"lists": 3},
    )
    assert load_ranker(tmp_path / "none") is None and load_ranker(None) is None
    # trained_task reads the folder's ranker
    assert trained_task("assert", {}, tmp_path).ranker.weights == r.weights
    for doc, msg in (
        ({"kind": "tree"}, "must hold"),
        ({"kind": "linear", "weights": {"a": "x"}}, "weights must map"),
        ({"kind": "linear", "weights": {}, "shortlist": -1}, "shortlist"),
    ):
        (tmp_path / RANKER_FILE).write_text(json.dumps(doc))
        with pytest.raises(DataError, match=msg):
            load_ranker(tmp_path)
    (tmp_path / RANKER_FILE).write_text("{")
    with pytest.raises(DataError, match="not readable JSON"):
        load_ranker(tmp_path)
