"""A fake $TTUNE_DATA_DIR in the shared data sets' own file formats, with a marker word in every
record naming its data set, split and side, so a test can see which records reached the corpus."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

N = 12  # records per split


def marker(ds: str, split: str, i: int, side: str) -> str:
    return f"MARK_{ds}_{split}_{i}_{side}"


def _java(ds, split, i, side="java"):
    return f"public int f{i} ( int x ) {{ int {marker(ds, split, i, side)} = x * {i} ; return {marker(ds, split, i, side)} ; }}"


def make_fake_data_dir(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    # CodeXGLUE Java -> C#: line i of .java and .cs is a pair.
    d = root / "codexglue-java-cs"
    d.mkdir()
    for split in ("train", "valid", "test"):
        (d / f"{split}.java-cs.txt.java").write_text(
            "\n".join(_java("cxg", split, i) for i in range(N)) + "\n")
        (d / f"{split}.java-cs.txt.cs").write_text(
            "\n".join(f"public int F{i}(int x){{ var {marker('cxg', split, i, 'cs')} = x; return x; }}"
                      for i in range(N)) + "\n")
    # AVATAR Java <-> Python, space tokenised with NEW_LINE / INDENT / DEDENT.
    d = root / "avatar-java-python"
    d.mkdir()
    for split in ("train", "valid", "test"):
        (d / f"{split}.java-python.java").write_text(
            "\n".join(_java("av", split, i) for i in range(N)) + "\n")
        (d / f"{split}.java-python.python").write_text(
            "\n".join(f"def f{i} ( x ) : NEW_LINE INDENT {marker('av', split, i, 'py')} = x NEW_LINE "
                      f"return x NEW_LINE DEDENT" for i in range(N)) + "\n")
        (d / f"{split}.java-python.id").write_text("\n".join(f"{split}_{i}" for i in range(N)) + "\n")
    # code-docstring-corpus (canonical): valid is carved into train/dev, test stays test.
    d = root / "code-docstring-corpus" / "parallel-corpus"
    d.mkdir(parents=True)
    for split in ("valid", "test"):
        (d / f"data_ps.declbodies.{split}").write_text(
            "\n".join(f"def g{i} ( x ) : DCNL DCSP {marker('cd', split, i, 'py')} = x DCNL DCSP return x"
                      for i in range(N)) + "\n")
        (d / f"data_ps.descriptions.{split}").write_text(
            "\n".join(f"'Return {marker('cd', split, i, 'nl')}.'" for i in range(N)) + "\n")
    # TL-CodeSum: id<TAB>text; valid is carved, test stays test.
    d = root / "tl-codesum"
    d.mkdir()
    for split in ("valid", "test"):
        (d / f"{split}.token.code").write_text(
            "\n".join(f"{split}{i}\t{_java('tl', split, i)}" for i in range(N)) + "\n")
        (d / f"{split}.token.nl").write_text(
            "\n".join(f"{split}{i}\treturns {marker('tl', split, i, 'nl')}" for i in range(N)) + "\n")
    # ATLAS: gzipped JSON lines; eval is carved, testing is test.
    d = root / "atlas"
    d.mkdir()
    for split in ("eval", "testing"):
        with gzip.open(d / f"atlas_{split}.jsonl.gz", "wt", encoding="utf-8") as f:
            for i in range(N):
                test = (f"@Test public void t{i} ( ) {{ int {marker('at', split, i, 'test')} = 1 ; "
                        f"\"<AssertPlaceHolder>\" ; }} int focal{i} ( ) {{ return {i} ; }}")
                f.write(json.dumps({"id": i, "split": split, "test_method": test,
                                    "assertion": f"assertEquals ( {marker('at', split, i, 'assert')} , 1 )",
                                    "deabstraction_complete": True}) + "\n")
    return root


@pytest.fixture
def fake_data_dir(tmp_path, monkeypatch) -> Path:
    root = make_fake_data_dir(tmp_path / "datasets")
    monkeypatch.setenv("TTUNE_DATA_DIR", str(root))
    return root
