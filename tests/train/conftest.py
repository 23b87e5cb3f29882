"""Fixtures of the training tests: a tiny T5 backbone on disk and a tiny summarization data set.

The data set is made here from the Python standard library (functions of textwrap, string, shlex,
...; target = the first line of the docstring, source = the function with its docstring removed),
so nothing is downloaded and nothing from ../shared/datasets is copied.
"""

from __future__ import annotations

import ast
import sysconfig
import textwrap
from pathlib import Path

import pytest
from helpers import one_torch_thread, save_tiny_backbone, write_splits  # noqa: F401 (autouse fixture)

MODULES = ("textwrap", "string", "shlex", "fnmatch", "glob", "posixpath", "genericpath")


def stdlib_functions(n: int = 40) -> list[dict]:
    """Up to ``n`` records {id, source, target, source_lang, target_lang} from stdlib functions."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    records: list[dict] = []
    for mod in MODULES:
        src = (stdlib / f"{mod}.py").read_text(encoding="utf-8")
        lines = src.splitlines()
        for node in ast.walk(ast.parse(src)):
            if not isinstance(node, ast.FunctionDef) or len(node.body) < 2:
                continue
            doc = ast.get_docstring(node)
            first = doc.strip().splitlines()[0].strip() if doc else ""
            if not first:
                continue
            ds = node.body[0]
            start = (node.decorator_list[0].lineno if node.decorator_list else node.lineno) - 1
            body = [
                ln
                for i, ln in enumerate(lines[start : node.end_lineno], start)
                if not (ds.lineno - 1 <= i <= ds.end_lineno - 1)
            ]
            code = textwrap.dedent("\n".join(body)) + "\n"
            records.append(
                {
                    "id": f"{mod}.{node.name}.{node.lineno}",
                    "source": code,
                    "target": first,
                    "source_lang": "python",
                    "target_lang": "en",
                }
            )
            if len(records) >= n:
                return records
    return records


@pytest.fixture(scope="session")
def records() -> list[dict]:
    recs = stdlib_functions(40)
    assert len(recs) == 40
    return recs


@pytest.fixture(scope="session")
def backbone_dir(tmp_path_factory, records) -> Path:
    """A tiny random T5 (d_model 64, 2+2 layers) with a BPE trained on the records, saved to
    disk."""
    return save_tiny_backbone(
        records,
        tmp_path_factory.mktemp("backbone"),
        vocab_size=600,
        d_model=64,
        d_ff=128,
        num_layers=2,
        num_heads=4,
    )


@pytest.fixture(scope="session")
def data_files(tmp_path_factory, records) -> dict[str, Path]:
    return write_splits(
        tmp_path_factory.mktemp("data"),
        train=records[:32],
        valid=records[32:40],
        test=records[32:40],
    )


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cpg_cache")


@pytest.fixture
def make_config(backbone_dir, data_files, cache_dir, tmp_path):
    """TrainConfig factory with small, fast defaults for the tiny model."""
    from ttune.train.config import TrainConfig

    def make(**kw) -> TrainConfig:
        base = dict(
            model=str(backbone_dir),
            train_file=str(data_files["train"]),
            output_dir=str(tmp_path / "run"),
            task="summarize",
            method="transducer",
            batch_size=8,
            lr=1e-2,
            max_steps=4,
            max_source_len=128,
            max_target_len=24,
            max_new_tokens=12,
            cache_dir=str(cache_dir),
            progress=False,
            log_every=1,
            seed=0,
        )
        base.update(kw)
        return TrainConfig(**base)

    return make
