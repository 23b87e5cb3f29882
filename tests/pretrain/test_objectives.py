"""Prefix LM, docstring pairs and the per-step objective choice."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from ttune.pretrain.config import PretrainConfig, PretrainError
from ttune.pretrain.objectives import IGNORE, Pairs, collect_pairs, objective_of, prefix_lm


def test_prefix_lm_splits_each_window_at_the_same_place():
    w = np.arange(20).reshape(2, 10)
    x, y = prefix_lm(w, 4, sentinel_id=99, eos_id=1)
    assert x.tolist() == [[0, 1, 2, 3, 4, 5, 99, 1], [10, 11, 12, 13, 14, 15, 99, 1]]
    assert y.tolist() == [[6, 7, 8, 9, 1], [16, 17, 18, 19, 1]]


def test_objective_shares_and_determinism():
    shares = {"span": 0.5, "prefix": 0.25, "docstring": 0.25}
    picks = [objective_of(s, 0, shares) for s in range(4000)]
    assert picks == [
        objective_of(s, 0, shares) for s in range(4000)
    ]  # a pure function of (seed, step)
    c = Counter(picks)
    assert abs(c["span"] / 4000 - 0.5) < 0.03 and abs(c["prefix"] / 4000 - 0.25) < 0.03
    assert picks != [objective_of(s, 1, shares) for s in range(4000)]
    assert set(objective_of(s, 0, {"span": 1.0}) for s in range(100)) == {"span"}


def test_pairs_batch_pads_truncates_and_keeps_eos():
    # Pair 0: code [5, 6, 7, 1], doc [8, 1]; pair 1: code [9, 1], doc [10, 11, 12, 13, 1].
    p = Pairs(src=np.array([5, 6, 7, 1, 9, 1], np.int32), src_off=np.array([0, 4, 6]),
              tgt=np.array([8, 1, 10, 11, 12, 13, 1], np.int32), tgt_off=np.array([0, 2, 7]))
    assert len(p) == 2
    x, mask, y = p.batch(np.array([0, 1]), max_source=3, max_target=4, pad_id=0, eos_id=1)
    assert x.tolist() == [[5, 6, 1], [9, 1, 0]]
    assert mask.tolist() == [[1, 1, 1], [1, 1, 0]]
    assert y.tolist() == [[8, 1, IGNORE, IGNORE], [10, 11, 12, 1]]


def _entries(files: dict[str, str]):
    return [(name, len(text), (lambda t=text: t)) for name, text in sorted(files.items())]


def test_collect_pairs_strips_the_docstring_and_drops_test_copies():
    files = {
        "a.py": 'def area(r):\n    """Return the area of a circle."""\n    return 3.14 * r * r\n',
        "b.py": ('def grow(x):\n    """Grow the list by one element."""\n'
                 '    x.append(1)\n    return x\n'),
        "c.py": "def nodoc(x):\n    return x\n",
    }
    norm = lambda code: " ".join(code.split())  # noqa: E731
    pairs, stats = collect_pairs(
        {"python-stdlib": _entries(files)}, 10, 0, set(), norm, lambda m: None
    )
    assert sorted(pairs) == [
        ("def area(r):\n    return 3.14 * r * r\n", "Return the area of a circle."),
        ("def grow(x):\n    x.append(1)\n    return x\n", "Grow the list by one element."),
    ]
    assert stats["python-stdlib"]["pairs"] == 2
    excluded = {norm("def area(r):\n    return 3.14 * r * r\n")}
    pairs, stats = collect_pairs(
        {"python-stdlib": _entries(files)}, 10, 0, excluded, norm, lambda m: None
    )
    assert [d for _, d in pairs] == ["Grow the list by one element."]
    assert stats["python-stdlib"]["dropped_as_test"] == 1
    pairs, _ = collect_pairs({"python-stdlib": _entries(files)}, 1, 0, set(), norm, lambda m: None)
    assert len(pairs) == 1  # the cap holds


@pytest.mark.parametrize("kw, msg", [
    (dict(prefix_share=0.6, docstring_share=0.6), "sum to at most 1"),
    (dict(docstring_share=-0.1), "must be in [0, 1]"),
    (dict(docstring_pairs=1), "docstring_pairs must be an integer >= 2"),
    (dict(input_length=64), "prefix_target_length must be at most input_length / 2"),
])
def test_objective_options_are_checked(tmp_path, kw, msg):
    with pytest.raises(PretrainError, match=msg.replace("[", r"\[").replace("]", r"\]")):
        PretrainConfig(output_dir=str(tmp_path), **kw)


def test_shares_and_pairs_key():
    c = PretrainConfig(output_dir="x", prefix_share=0.2, docstring_share=0.3)
    assert c.shares() == pytest.approx({"span": 0.5, "prefix": 0.2, "docstring": 0.3})
    assert "docstring_pairs" not in c.corpus_key()  # changing the pairs never rebuilds the corpus
    assert c.pairs_key()["docstring_pairs"] == 60_000
