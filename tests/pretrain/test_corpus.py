"""The corpus: only TRAINING records of the data sets (never test, never the carved dev part, never
English targets), deterministic sampling, the byte cap."""

from __future__ import annotations

import re

import pytest

from ttune.data.convert import carve_split
from ttune.pretrain.config import DATASET_SOURCES, PretrainConfig, PretrainError
from ttune.pretrain.corpus import _shares, build_corpus, chunk_text

from .conftest import N, marker


def _cfg(tmp_path, **kw):
    kw.setdefault("sources", DATASET_SOURCES)
    kw.setdefault("corpus_bytes", 10_000_000)
    return PretrainConfig(output_dir=str(tmp_path / "run"), **kw)


def _markers(corpus) -> set[str]:
    return set(re.findall(r"MARK_[a-z]+_[a-z]+_\d+_[a-z]+", "\n".join(corpus.chunks)))


def test_no_test_dev_or_english_records(tmp_path, fake_data_dir):
    corpus = build_corpus(_cfg(tmp_path, eval_windows=0), say=lambda m: None)  # no task hold-out
    found = _markers(corpus)
    expected = set()
    for i in range(N):
        # Data sets with a real train split: both code sides of train only.
        expected |= {
            marker("cxg", "train", i, "java"),
            marker("cxg", "train", i, "cs"),
            marker("av", "train", i, "java"),
            marker("av", "train", i, "py"),
        }
        # Carved data sets: the records carve_split puts in train, code side only.
        if carve_split(f"code-docstring/canonical/valid/{i + 1}") == "train":
            expected.add(marker("cd", "valid", i, "py"))
        if carve_split(f"tl-codesum/valid/valid{i}") == "train":
            expected.add(marker("tl", "valid", i, "java"))
        if carve_split(f"atlas/eval/{i}") == "train":
            expected |= {marker("at", "eval", i, "test"), marker("at", "eval", i, "assert")}
    assert found == expected
    assert not any("_test_" in m or "_testing_" in m for m in found)
    assert not any(m.endswith("_nl") for m in found)  # summaries / docstrings never
    # The carve-out really removed something in each carved data set (so the test checks it).
    assert len([m for m in found if m.startswith("MARK_cd_")]) < N
    assert len([m for m in found if m.startswith("MARK_tl_")]) < N
    assert "AssertPlaceHolder" not in "\n".join(corpus.chunks)
    assert corpus.stats["codexglue-java-cs"]["documents"] == 2 * N
    assert corpus.names["avatar-java-python"][0].startswith("avatar/train/")


def test_train_copy_of_a_test_record_is_dropped(tmp_path, fake_data_dir):
    java = fake_data_dir / "codexglue-java-cs" / "train.java-cs.txt.java"
    test_line = (
        (fake_data_dir / "codexglue-java-cs" / "test.java-cs.txt.java").read_text().splitlines()[0]
    )
    lines = java.read_text().splitlines()
    lines[3] = "  " + test_line.replace(" ; ", " ;  ")  # same code up to whitespace
    java.write_text("\n".join(lines) + "\n")
    corpus = build_corpus(
        _cfg(tmp_path, sources=("codexglue-java-cs",), eval_windows=0), say=lambda m: None
    )
    assert marker("cxg", "test", 0, "java") not in "\n".join(corpus.chunks)
    assert corpus.stats["codexglue-java-cs"]["documents"] == 2 * N - 1
    assert (
        "1 train sides equal to a test record dropped" in corpus.stats["codexglue-java-cs"]["note"]
    )


def test_deterministic_and_capped(tmp_path, fake_data_dir):
    a = build_corpus(_cfg(tmp_path, corpus_bytes=3000), say=lambda m: None)
    b = build_corpus(_cfg(tmp_path, corpus_bytes=3000), say=lambda m: None)
    c = build_corpus(_cfg(tmp_path, corpus_bytes=3000, seed=1), say=lambda m: None)
    assert a.chunks == b.chunks and a.fingerprint() == b.fingerprint()
    assert a.chunks != c.chunks
    assert 2500 < a.total_bytes() <= 3000
    assert sum(len(ch.encode()) for ch in a.chunks) == a.total_bytes()


def test_missing_sources_are_skipped_with_a_message(tmp_path, monkeypatch):
    monkeypatch.setenv("TTUNE_DATA_DIR", str(tmp_path / "nowhere"))
    said = []
    with pytest.raises(PretrainError, match="corpus is empty"):
        build_corpus(
            _cfg(tmp_path, sources=("atlas", "jdk"), jdk_src_zip=str(tmp_path / "no.zip")),
            say=said.append,
        )
    assert any("atlas skipped" in s for s in said) and any("jdk skipped" in s for s in said)


def test_shares_give_unused_bytes_to_the_others():
    assert _shares({"a": 10, "b": 1000, "c": 1000}, 310) == {"a": 10, "b": 150, "c": 150}
    assert _shares({"a": 10, "b": 20}, 1000) == {"a": 10, "b": 20}
    assert _shares({"a": 0, "b": 500}, 100) == {"a": 0, "b": 100}


def test_chunk_text_cuts_at_lines():
    text = "".join(f"line {i}\n" for i in range(100))
    chunks = chunk_text(text, 50)
    assert "".join(chunks) == text
    assert all(len(c) <= 50 and c.endswith("\n") for c in chunks)
    assert chunk_text("x" * 120, 50) == ["x" * 50, "x" * 50, "x" * 20]


@pytest.mark.parametrize(
    "kw,msg",
    [
        ({"sources": ("nope",)}, "sources: unknown nope"),
        ({"noise_density": 0.7}, "noise_density"),
        ({"shape": "huge"}, "unknown shape 'huge'"),
        ({"d_model": 100, "num_heads": 3}, "not divisible"),
        ({"input_length": 4096}, "sentinels"),
        ({"schedule": "step"}, "schedule must be"),
        ({"max_steps": 0}, "max_steps must be a positive integer"),
    ],
)
def test_config_validation(tmp_path, kw, msg):
    with pytest.raises(PretrainError, match=msg):
        PretrainConfig(output_dir=str(tmp_path), **kw)


def test_config_round_trip_and_resume_keys(tmp_path):
    c = PretrainConfig(output_dir=str(tmp_path), sources=("jdk", "atlas"), max_minutes=3.0)
    c.save(tmp_path / "c.json")
    d = PretrainConfig.load(tmp_path / "c.json")
    assert d == c
    assert (
        PretrainConfig(output_dir="x", sources=("jdk", "atlas"), max_minutes=9.0).resume_mismatch(c)
        == []
    )
    assert PretrainConfig(output_dir="x", sources=("jdk", "atlas"), seed=5).resume_mismatch(c) == [
        "seed"
    ]


def test_jdk_sources_are_read_inside_the_zip(tmp_path, monkeypatch):
    import zipfile

    z = tmp_path / "src.zip"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("java.base/java/lang/A.java", "class A { int JDK_A; }\n")
        f.writestr("java.base/java/lang/B.java", "class B { int JDK_B; }\n")
        f.writestr("java.base/java/lang/notes.txt", "NOT_JAVA\n")
        f.writestr(
            "java.base/java/lang/Huge.java", "class Huge { int JDK_HUGE; }\n" + "//x\n" * 100
        )
    monkeypatch.setenv("TTUNE_DATA_DIR", str(tmp_path / "nowhere"))
    corpus = build_corpus(
        _cfg(tmp_path, sources=("jdk",), jdk_src_zip=str(z), max_file_bytes=100), say=lambda m: None
    )
    text = "\n".join(corpus.chunks)
    assert "JDK_A" in text and "JDK_B" in text
    assert "NOT_JAVA" not in text and "JDK_HUGE" not in text  # not .java / over max_file_bytes
    assert sorted(corpus.names["jdk"]) == [
        "java.base/java/lang/A.java",
        "java.base/java/lang/B.java",
    ]
    assert corpus.stats["jdk"]["bytes"] == 2 * len("class A { int JDK_A; }\n")


def test_supervised_pairs_come_from_training_records_only(tmp_path, fake_data_dir):
    from ttune.pretrain.corpus import build_pairs
    from ttune.pretrain.objectives import task_pairs

    records, held, stats = build_pairs(_cfg(tmp_path), say=lambda m: None)
    pairs = {k: v for k, (v, _) in task_pairs(records, 0, held).items()}
    text = {k: "\n".join(a + "\n" + b for a, b in v) for k, v in pairs.items()}
    found = {k: set(re.findall(r"MARK_[a-z]+_[a-z]+_\d+_[a-z]+", t)) for k, t in text.items()}
    summ, trans, asrt = set(), set(), set()
    for i in range(N):
        trans |= {
            marker("cxg", "train", i, "java"),
            marker("cxg", "train", i, "cs"),
            marker("av", "train", i, "java"),
            marker("av", "train", i, "py"),
        }
        if carve_split(f"code-docstring/canonical/valid/{i + 1}") == "train":
            summ |= {marker("cd", "valid", i, "py"), marker("cd", "valid", i, "nl")}
        if carve_split(f"tl-codesum/valid/valid{i}") == "train":
            summ |= {marker("tl", "valid", i, "java"), marker("tl", "valid", i, "nl")}
        if carve_split(f"atlas/eval/{i}") == "train":
            asrt |= {marker("at", "eval", i, "test"), marker("at", "eval", i, "assert")}
    assert found == {"summarize": summ, "generate": summ, "translate": trans, "assert": asrt}
    every = set().union(*found.values())
    assert not any("_test_" in m or "_testing_" in m for m in every)  # never a test record
    assert len([m for m in every if m.startswith("MARK_cd_")]) < 2 * N  # the carved dev part is out
    # Each translation record in both directions; the assert input keeps the placeholder.
    assert len(pairs["translate"]) == 2 * 2 * N and len(pairs["summarize"]) == len(summ) // 2
    assert all(
        i.startswith("assert:\n") and '"<AssertPlaceHolder>"' in i for i, _ in pairs["assert"]
    )
    cx, av = stats["codexglue-java-cs"], stats["avatar-java-python"]
    assert cx["task"] == av["task"] == "translate" and cx["dropped_as_test"] == 0
    assert cx["records"] + cx["heldout"] == av["records"] + av["heldout"] == N
    assert cx["heldout"] + av["heldout"] == 2 * N // 4  # a quarter of the task's 24 records


def test_held_out_records_are_in_no_training_pair_and_not_in_the_corpus(tmp_path, fake_data_dir):
    from ttune.pretrain.corpus import build_pairs

    cfg = _cfg(tmp_path, eval_windows=2)
    records, held, _ = build_pairs(cfg, say=lambda m: None)
    # Per task min(eval_windows, a quarter) records: summarize pools code-docstring and TL-CodeSum.
    assert {k: len(v) for k, v in held.items()} == {"summarize": 2, "translate": 2, "assert": 2}
    held_ids = {r["id"] for v in held.values() for r in v}
    assert not held_ids & {r["id"] for v in records.values() for r in v}
    corpus = build_corpus(cfg, say=lambda m: None)
    names = {n.split("#")[0] for v in corpus.names.values() for n in v}
    assert not held_ids & names and len(names) > 20
    text = "\n".join(corpus.chunks)
    for r in (r for v in held.values() for r in v):
        assert not any(m in text for m in re.findall(r"MARK_[a-z]+_[a-z]+_\d+_[a-z]+", r["source"]))
    assert "2 records held out for the task losses" in corpus.stats["atlas"]["note"]


def test_a_pair_equal_to_a_test_record_is_dropped(tmp_path, fake_data_dir):
    from ttune.pretrain.corpus import build_pairs

    tl = fake_data_dir / "tl-codesum" / "valid.token.code"
    test_code = (
        (fake_data_dir / "tl-codesum" / "test.token.code")
        .read_text()
        .splitlines()[0]
        .split("\t")[1]
    )
    ids = [f"valid{i}" for i in range(N) if carve_split(f"tl-codesum/valid/valid{i}") == "train"]
    lines = tl.read_text().splitlines()
    k = int(ids[0][len("valid") :])
    lines[k] = f"{ids[0]}\t  {test_code}"  # a training record whose code is a test record's
    tl.write_text("\n".join(lines) + "\n")
    records, held, stats = build_pairs(_cfg(tmp_path, sources=("tl-codesum",)), say=lambda m: None)
    assert stats["tl-codesum"]["dropped_as_test"] == 1
    assert stats["tl-codesum"]["records"] + len(held["summarize"]) == len(ids) - 1
    assert stats["tl-codesum"]["records"] == len(records["summarize"])
    assert not any(
        marker("tl", "test", 0, "java") in r["source"]
        for r in records["summarize"] + held["summarize"]
    )
