"""Deduplication and decontamination on constructed near-duplicates."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from ttune.data.hygiene import (
    FileReport,
    Hygiene,
    HygieneConfig,
    MinHasher,
    clean_files,
    code_tokens,
    jaccard,
)
from ttune.data.io import read_jsonl, write_jsonl
from ttune.tasks import get_task


def _rec(i, source, target="t", split="train"):
    return {
        "id": str(i),
        "source": source,
        "target": target,
        "source_lang": "java",
        "target_lang": "en",
        "split": split,
    }


def _func(seed: int, n: int = 40) -> str:
    rnd = random.Random(seed)
    names = [f"v{rnd.randrange(10**6)}" for _ in range(n)]
    return "int f() { " + " ".join(f"{a} = {b} + 1;" for a, b in zip(names, names[1:])) + " }"


def _mutate(code: str, k: int) -> str:
    """Replace the last k distinct variables with fresh names (lowers Jaccard step by step)."""
    toks = code_tokens(code)
    ids = [t for t in dict.fromkeys(toks) if t.startswith("v")][-k:] if k else []
    for j, t in enumerate(ids):
        code = code.replace(t, f"w{j}x")
    return code


def test_minhash_estimates_jaccard():
    h = MinHasher(num_perm=256, seed=3)
    a = set(code_tokens(_func(1)))
    b = set(code_tokens(_mutate(_func(1), 6)))
    est = float(np.mean(h.signature(a) == h.signature(b)))
    assert abs(est - jaccard(a, b)) < 0.1
    assert np.array_equal(h.signature(a), MinHasher(num_perm=256, seed=3).signature(a))


def test_exact_and_near_duplicates_within_train():
    base = _func(7)
    near = _mutate(base, 1)
    far = _mutate(base, 20)
    assert jaccard(set(code_tokens(base)), set(code_tokens(near))) >= 0.8
    assert jaccard(set(code_tokens(base)), set(code_tokens(far))) < 0.8
    recs = [
        _rec(0, base),
        _rec(1, "  " + base.replace(" ", "\n ")),
        _rec(2, near),
        _rec(3, far),
        _rec(4, _func(8)),
    ]
    rep = FileReport("train", "mem")
    kept = Hygiene(HygieneConfig()).clean(recs, "train", rep)
    assert [r["id"] for r in kept] == ["0", "3", "4"]
    assert rep.removed["exact_duplicate"] == 1 and rep.removed["near_duplicate"] == 1
    rep2 = FileReport("train", "mem")
    kept2 = Hygiene(HygieneConfig(near_dedup=False)).clean(recs, "train", rep2)
    assert [r["id"] for r in kept2] == ["0", "2", "3", "4"]


def test_decontamination_and_report(tmp_path):
    train = [_rec(i, _func(i)) for i in range(30)]
    test = [
        _rec("t0", _func(3), split="test"),  # exact copy of a train record
        _rec("t1", _mutate(_func(5), 1), split="test"),  # near copy
        _rec("t2", _func(100), split="test"),  # clean
        _rec("t3", _func(100), split="test"),  # duplicate within test
        _rec("t4", _mutate(_func(6), 20), split="test"),
    ]  # far from train
    write_jsonl(tmp_path / "train.jsonl", train)
    write_jsonl(tmp_path / "test.jsonl", test)
    with open(tmp_path / "test.jsonl", "a", encoding="utf-8") as f:
        f.write("{oops\n")
    rep = clean_files(tmp_path / "train.jsonl", [tmp_path / "test.jsonl"], tmp_path / "out")
    tr, te = rep["files"]
    assert (tr["read"], tr["kept"]) == (30, 30)
    assert te["read"] == 6 and te["malformed"] == 1 and te["malformed_lines"][0][0] == 6
    assert te["removed"]["contaminated_exact"] == 1
    assert te["removed"]["contaminated_near"] == 1
    assert te["removed"]["exact_duplicate"] == 1
    assert te["kept"] == 2
    kept, bad = read_jsonl(tmp_path / "out" / "test.jsonl")
    assert [r["id"] for r in kept] == ["t2", "t4"] and bad == []
    saved = json.loads((tmp_path / "out" / "hygiene_report.json").read_text())
    assert saved["files"][1]["kept"] == 2 and saved["config"]["threshold"] == 0.8
    with pytest.raises(ValueError, match="overwrite an input"):
        clean_files(tmp_path / "train.jsonl", [tmp_path / "test.jsonl"], tmp_path)


def test_length_and_graph_filters(tmp_path):
    recs = [
        _rec(0, "int a() { return 1; }"),
        _rec(1, _func(1, n=200)),
        _rec(2, "int b() { return 2; }"),
    ]
    sizes = {"int a() { return 1; }": 9, "int b() { return 2; }": 60}
    cfg = HygieneConfig(max_source_tokens=100, max_cpg_nodes=50)
    rep = FileReport("train", "mem")
    kept = Hygiene(
        cfg, graph_size=lambda code, lang: sizes[code], graph_code=get_task(cfg.task).graph_code
    ).clean(recs, "train", rep)
    assert [r["id"] for r in kept] == ["0"]
    assert rep.removed["too_long"] == 1 and rep.removed["graph_too_large"] == 1


def test_config_validation():
    with pytest.raises(ValueError, match="threshold"):
        HygieneConfig(threshold=0)
    with pytest.raises(ValueError, match="multiple of bands"):
        HygieneConfig(num_perm=100, bands=7)
    with pytest.raises(ValueError, match="positive"):
        HygieneConfig(max_cpg_nodes=0)


def test_near_min_tokens_spares_short_functions():
    a = "String name() { return first; }"
    b = "String name() { return second; }"
    assert jaccard(set(code_tokens(a)), set(code_tokens(b))) >= 0.8
    recs = [_rec(0, a), _rec(1, b)]
    rep = FileReport("train", "mem")
    assert len(Hygiene(HygieneConfig()).clean(recs, "train", rep)) == 1
    rep = FileReport("train", "mem")
    assert len(Hygiene(HygieneConfig(near_min_tokens=20)).clean(recs, "train", rep)) == 2
