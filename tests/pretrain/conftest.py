"""A fake $TTUNE_DATA_DIR in the shared data sets' own file formats, with a marker word in every
record naming its data set, split and side, so a test can see which records reached the corpus."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from ttune.pretrain.config import PretrainConfig

N = 12  # records per split


def marker(ds: str, split: str, i: int, side: str) -> str:
    return f"MARK_{ds}_{split}_{i}_{side}"


def _java(ds, split, i, side="java"):
    name = marker(ds, split, i, side)
    return f"public int f{i} ( int x ) {{ int {name} = x * {i} ; return {name} ; }}"


def _write_lines(path: Path, lines) -> None:
    path.write_text("\n".join(lines) + "\n")


def make_fake_data_dir(root: Path) -> Path:
    cxg, av = root / "codexglue-java-cs", root / "avatar-java-python"
    cds, tl = root / "code-docstring-corpus" / "parallel-corpus", root / "tl-codesum"
    for d in (cxg, av, cds, tl):
        d.mkdir(parents=True)
    for split in ("train", "valid", "test"):
        # CodeXGLUE Java -> C#: line i of .java and .cs is a pair.
        _write_lines(cxg / f"{split}.java-cs.txt.java", (_java("cxg", split, i) for i in range(N)))
        _write_lines(
            cxg / f"{split}.java-cs.txt.cs",
            (
                f"public int F{i}(int x){{ var {marker('cxg', split, i, 'cs')} = x; return x; }}"
                for i in range(N)
            ),
        )
        # AVATAR Java <-> Python, space tokenised with NEW_LINE / INDENT / DEDENT.
        _write_lines(av / f"{split}.java-python.java", (_java("av", split, i) for i in range(N)))
        _write_lines(
            av / f"{split}.java-python.python",
            (
                f"def f{i} ( x ) : NEW_LINE INDENT {marker('av', split, i, 'py')} = x NEW_LINE "
                f"return x NEW_LINE DEDENT"
                for i in range(N)
            ),
        )
        _write_lines(av / f"{split}.java-python.id", (f"{split}_{i}" for i in range(N)))
    for split in ("valid", "test"):
        # code-docstring-corpus (canonical): valid is carved into train/dev, test stays test.
        _write_lines(
            cds / f"data_ps.declbodies.{split}",
            (
                f"def g{i} ( x ) : DCNL DCSP {marker('cd', split, i, 'py')} = x DCNL DCSP return x"
                for i in range(N)
            ),
        )
        _write_lines(
            cds / f"data_ps.descriptions.{split}",
            (f"'Return {marker('cd', split, i, 'nl')}.'" for i in range(N)),
        )
        # TL-CodeSum: id<TAB>text; valid is carved, test stays test.
        _write_lines(
            tl / f"{split}.token.code", (f"{split}{i}\t{_java('tl', split, i)}" for i in range(N))
        )
        _write_lines(
            tl / f"{split}.token.nl",
            (f"{split}{i}\treturns {marker('tl', split, i, 'nl')}" for i in range(N)),
        )
    # ATLAS: gzipped JSON lines; eval is carved, testing is test.
    d = root / "atlas"
    d.mkdir()
    for split in ("eval", "testing"):
        with gzip.open(d / f"atlas_{split}.jsonl.gz", "wt", encoding="utf-8") as f:
            for i in range(N):
                test = (
                    f"@Test public void t{i} ( ) {{ int {marker('at', split, i, 'test')} = 1 ; "
                    f'"<AssertPlaceHolder>" ; }} int focal{i} ( ) {{ return {i} ; }}'
                )
                f.write(
                    json.dumps(
                        {
                            "id": i,
                            "split": split,
                            "test_method": test,
                            "assertion": f"assertEquals ( {marker('at', split, i, 'assert')} , 1 )",
                            "deabstraction_complete": True,
                        }
                    )
                    + "\n"
                )
    return root


@pytest.fixture
def fake_data_dir(tmp_path, monkeypatch) -> Path:
    root = make_fake_data_dir(tmp_path / "datasets")
    monkeypatch.setenv("TTUNE_DATA_DIR", str(root))
    return root


# A pretraining run small enough for a test: every source of the fake data sets folder, a 600-token
# vocabulary, 2 layers of width 32, windows of 64 tokens, 4 rows a step.
TINY = dict(
    sources=("python-stdlib", "codexglue-java-cs", "tl-codesum", "atlas"),
    corpus_bytes=120_000,
    tokenizer_bytes=120_000,
    vocab_size=600,
    shape="ttune-mini",
    d_model=32,
    num_layers=2,
    input_length=64,
    batch_size=4,
    eval_windows=8,
    warmup_steps=2,
    lr=3e-3,
    log_every=1,
    progress=False,
    seed=3,
    docstring_pairs=200,
    code_target_length=32,
)
ARCH_TINY = {  # what each arch adds (a mamba model has no feed-forward width or heads)
    "t5": dict(d_ff=64, num_heads=4, prefix_target_length=16),
    "llama": dict(d_ff=64, num_heads=4),
    "mamba": {},
}


def tiny_config(out, data_dir: str, arch: str = "t5", **kw) -> PretrainConfig:
    """The tiny run of ``arch`` writing to ``out``; ``kw`` overrides any field."""
    fields = {**TINY, **ARCH_TINY[arch], "arch": arch, "data_dir": data_dir, **kw}
    return PretrainConfig(output_dir=str(out), **fields)


def copy_prepared(prepared: Path, path: Path) -> Path:
    """A new run folder ``path`` holding the corpus, tokenizer and token ids made once in
    ``prepared`` (so a test skips the slow preparation)."""
    path.mkdir(parents=True)
    for f in prepared.iterdir():
        (shutil.copytree if f.is_dir() else shutil.copy)(f, path / f.name)
    return path
