"""Prefix LM, the supervised pairs (exact layouts, length-bucketed order) and the per-step
objective choice."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from ttune.pretrain.config import PretrainConfig, PretrainError
from ttune.pretrain.objectives import (
    IGNORE,
    OBJECTIVES,
    PairOrder,
    Pairs,
    collect_pairs,
    generate_input,
    objective_of,
    padding_stats,
    prefix_lm,
    task_pairs,
)
from ttune.tasks import get_task


def test_prefix_lm_splits_each_window_at_the_same_place():
    w = np.arange(20).reshape(2, 10)
    x, y = prefix_lm(w, 4, sentinel_id=99, eos_id=1)
    assert x.tolist() == [[0, 1, 2, 3, 4, 5, 99, 1], [10, 11, 12, 13, 14, 15, 99, 1]]
    assert y.tolist() == [[6, 7, 8, 9, 1], [16, 17, 18, 19, 1]]


def test_objective_shares_and_determinism():
    shares = PretrainConfig(output_dir="x").shares()
    assert shares == pytest.approx(
        {
            "span": 0.3,
            "prefix": 0.15,
            "summarize": 0.2,
            "generate": 0.1,
            "translate": 0.15,
            "assert": 0.1,
        }
    )
    n = 20_000
    picks = [objective_of(s, 0, shares) for s in range(n)]
    # A pure function of (seed, step).
    assert picks == [objective_of(s, 0, shares) for s in range(n)]
    c = Counter(picks)
    assert set(c) == set(OBJECTIVES)
    for name, share in shares.items():  # binomial sd at n = 20,000 is at most 0.0036
        assert abs(c[name] / n - share) < 0.012, (name, c[name] / n, share)
    assert picks != [objective_of(s, 1, shares) for s in range(n)]
    assert set(objective_of(s, 0, {"span": 1.0}) for s in range(100)) == {"span"}
    only = {"span": 0.0, "translate": 1.0}
    assert set(objective_of(s, 0, only) for s in range(100)) == {"translate"}


def test_pairs_batch_pads_truncates_and_keeps_eos():
    # Pair 0: code [5, 6, 7, 1], doc [8, 1]; pair 1: code [9, 1], doc [10, 11, 12, 13, 1].
    p = Pairs(
        src=np.array([5, 6, 7, 1, 9, 1], np.int32),
        src_off=np.array([0, 4, 6]),
        tgt=np.array([8, 1, 10, 11, 12, 13, 1], np.int32),
        tgt_off=np.array([0, 2, 7]),
    )
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
        "b.py": (
            'def grow(x):\n    """Grow the list by one element."""\n    x.append(1)\n    return x\n'
        ),
        "c.py": "def nodoc(x):\n    return x\n",
    }
    norm = lambda code: " ".join(code.split())  # noqa: E731
    recs, stats = collect_pairs(
        {"python-stdlib": _entries(files)}, 10, 0, set(), norm, lambda m: None
    )
    assert sorted((r["source"], r["target"]) for r in recs) == [
        ("def area(r):\n    return 3.14 * r * r\n", "Return the area of a circle."),
        ("def grow(x):\n    x.append(1)\n    return x\n", "Grow the list by one element."),
    ]
    assert {r["source_lang"] for r in recs} == {"python"}
    assert stats["python-stdlib"]["pairs"] == 2
    excluded = {norm("def area(r):\n    return 3.14 * r * r\n")}
    recs, stats = collect_pairs(
        {"python-stdlib": _entries(files)}, 10, 0, excluded, norm, lambda m: None
    )
    assert [r["target"] for r in recs] == ["Grow the list by one element."]
    assert stats["python-stdlib"]["dropped_as_test"] == 1
    recs, _ = collect_pairs({"python-stdlib": _entries(files)}, 1, 0, set(), norm, lambda m: None)
    assert len(recs) == 1  # the cap holds


def test_each_objective_example_layout_is_exact():
    summ = {
        "id": "s",
        "source": "def rgb_to_yiq(r, g, b):\n    return r\n",
        "target": "Convert RGB to YIQ.",
        "source_lang": "python",
        "target_lang": "en",
    }
    jsum = {
        "id": "j",
        "source": "public int getMaxValue ( int x ) { return x ; }",
        "target": "returns the max",
        "source_lang": "java",
        "target_lang": "en",
    }
    tr = {
        "id": "t",
        "source": "int f(int x) { return x; }",
        "target": "int F(int x) { return x; }",
        "source_lang": "java",
        "target_lang": "csharp",
    }
    at = {
        "id": "a",
        "source": 'testA ( ) { int x = f ( ) ; "<AssertPlaceHolder>" ; }\nf ( ) { return 1 ; }',
        "target": "assertEquals ( 1 , x )",
        "source_lang": "java",
        "target_lang": "java",
    }
    got = task_pairs({"summarize": [summ, jsum], "translate": [tr], "assert": [at]}, seed=0)
    assert {k: n for k, (_, n) in got.items()} == {
        "summarize": 0,
        "generate": 0,
        "translate": 0,
        "assert": 0,
    }
    out = {k: v for k, (v, _) in got.items()}
    assert sorted(out["summarize"]) == sorted(
        [
            (
                "summarize: rgb to yiq\ndef rgb_to_yiq(r, g, b):\n    return r\n",
                "Convert RGB to YIQ.",
            ),
            (
                "summarize: get max value\npublic int getMaxValue ( int x ) { return x ; }",
                "returns the max",
            ),
        ]
    )
    assert sorted(out["generate"]) == sorted(
        [
            (
                "generate python: rgb to yiq\nConvert RGB to YIQ.",
                "def rgb_to_yiq(r, g, b):\n    return r\n",
            ),
            (
                "generate java: get max value\nreturns the max",
                "public int getMaxValue ( int x ) { return x ; }",
            ),
        ]
    )
    assert sorted(out["translate"]) == [
        ("translate csharp to java:\nint F(int x) { return x; }", "int f(int x) { return x; }"),
        ("translate java to csharp:\nint f(int x) { return x; }", "int F(int x) { return x; }"),
    ]
    assert out["assert"] == [("assert:\n" + at["source"], "assertEquals ( 1 , x )")]
    # The very inputs the fine-tuning tasks build (ttune.train.data reads format_input).
    for name, rec in (("summarize", summ), ("translate", tr), ("assert", at)):
        assert get_task(name).with_options(tagged=True).format_input(rec) in [
            i for i, _ in out[name]
        ]
    assert generate_input(summ) == "generate python: rgb to yiq\nConvert RGB to YIQ."


def test_a_held_out_record_gives_held_out_pairs_only():
    recs = [
        {
            "id": str(i),
            "source": f"int f{i}(int x) {{ return {i}; }}",
            "target": f"int F{i}() {{ }}",
            "source_lang": "java",
            "target_lang": "csharp",
        }
        for i in range(6)
    ]
    summ = [
        {
            "id": f"s{i}",
            "source": f"def get_v{i}(x):\n    return x\n",
            "target": f"Value {i}.",
            "source_lang": "python",
            "target_lang": "en",
        }
        for i in range(5)
    ]
    out = task_pairs(
        {"translate": recs[:4], "summarize": summ[:3]},
        1,
        {"translate": recs[4:], "summarize": summ[3:]},
    )
    pairs, n = out["translate"]
    assert n == 4 and len(pairs) == 12  # both directions of the 2 held-out records, at the end
    assert all(("f4(" in a + b or "f5(" in a + b) for a, b in pairs[-4:])
    assert not any(("f4(" in a + b or "f5(" in a + b) for a, b in pairs[:-4])
    for task in ("summarize", "generate"):  # the same held-out functions in both directions
        pairs, n = out[task]
        assert n == 2 and all("get_v3" in a + b or "get_v4" in a + b for a, b in pairs[-2:])
        assert not any("get_v3" in a + b or "get_v4" in a + b for a, b in pairs[:-2])


def _lengths_pairs(lengths_src, lengths_tgt) -> Pairs:
    src = np.concatenate([np.r_[np.full(n - 1, 5), 1] for n in lengths_src]).astype(np.int32)
    tgt = np.concatenate([np.r_[np.full(n - 1, 6), 1] for n in lengths_tgt]).astype(np.int32)
    return Pairs(src, np.r_[0, np.cumsum(lengths_src)], tgt, np.r_[0, np.cumsum(lengths_tgt)])


def test_pair_order_is_pure_covers_each_epoch_and_buckets_by_length():
    rng = np.random.default_rng(0)
    ls, lt = rng.integers(5, 250, 1000), rng.integers(2, 40, 1000)
    pairs = _lengths_pairs(ls, lt)
    plain = PairOrder(1000, 8, seed=3, stream=10)
    bucket = PairOrder(1000, 8, seed=3, stream=10, lengths=pairs.lengths())
    for order in (plain, bucket):
        epoch = np.concatenate([order[k] for k in range(125)])
        assert sorted(epoch.tolist()) == list(range(1000))  # every pair once per epoch
        again = PairOrder(1000, 8, seed=3, stream=10, lengths=order.lengths)
        # Any order of access gives the same batches.
        assert all(np.array_equal(again[k], order[k]) for k in (300, 7, 125, 0))
        assert not np.array_equal(order[0], order[125])  # the next epoch is another permutation
    p = padding_stats(pairs, plain, 125, 256, 48)
    b = padding_stats(pairs, bucket, 125, 256, 48)
    assert p["real"] == pytest.approx(b["real"]) == pytest.approx((ls.sum() + lt.sum()) / 125)
    assert b["fill"] > p["fill"] + 0.2, (p, b)
    small = PairOrder(3, 8, seed=0, stream=1)  # fewer pairs than a batch
    assert len(small[0]) == 8 and set(small[0].tolist()) == {0, 1, 2}


@pytest.mark.parametrize(
    "kw, msg",
    [
        (dict(prefix_share=0.6, summarize_share=0.6), "must sum to at most 1"),
        (dict(translate_share=-0.1), "translate_share must be in [0, 1]"),
        (dict(assert_share=1.5), "assert_share must be in [0, 1]"),
        (dict(docstring_pairs=1), "docstring_pairs must be an integer >= 2"),
        (dict(code_target_length=0), "code_target_length must be an integer >= 2"),
        (dict(distinct_sample=-1), "distinct_sample must be a non-negative integer"),
        (dict(init_from="/nonexistent"), "init_from: /nonexistent is not a backbone folder"),
        (dict(input_length=64), "prefix_target_length must be at most input_length / 2"),
    ],
)
def test_objective_options_are_checked(tmp_path, kw, msg):
    with pytest.raises(PretrainError, match=msg.replace("[", r"\[").replace("]", r"\]")):
        PretrainConfig(output_dir=str(tmp_path), **kw)


def test_shares_and_pairs_key():
    c = PretrainConfig(
        output_dir="x",
        prefix_share=0.2,
        summarize_share=0.3,
        generate_share=0,
        translate_share=0.1,
        assert_share=0.1,
    )
    assert c.shares() == pytest.approx(
        {
            "span": 0.3,
            "prefix": 0.2,
            "summarize": 0.3,
            "generate": 0.0,
            "translate": 0.1,
            "assert": 0.1,
        }
    )
    assert "docstring_pairs" not in c.corpus_key()  # changing the pairs never rebuilds the corpus
    assert c.pairs_key()["docstring_pairs"] == 60_000
