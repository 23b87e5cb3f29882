"""Fixtures of the training tests: a tiny T5 backbone on disk and a tiny summarization data set.

The data set is made here from the Python standard library (functions of textwrap, string, shlex,
...; target = the first line of the docstring, source = the function with its docstring removed),
so nothing is downloaded and nothing from ../shared/datasets is copied.
"""

from __future__ import annotations

import ast
import json
import sysconfig
import textwrap
from pathlib import Path

import pytest

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
            body = [ln for i, ln in enumerate(lines[start:node.end_lineno], start)
                    if not (ds.lineno - 1 <= i <= ds.end_lineno - 1)]
            code = textwrap.dedent("\n".join(body)) + "\n"
            records.append({"id": f"{mod}.{node.name}.{node.lineno}", "source": code, "target": first,
                            "source_lang": "python", "target_lang": "en"})
            if len(records) >= n:
                return records
    return records


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """One intra-op thread: the tiny model gains nothing from more, and on a shared 2-core machine
    OpenMP's spinning threads make each step 50x slower when the other core is busy."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def records() -> list[dict]:
    recs = stdlib_functions(40)
    assert len(recs) == 40
    return recs


@pytest.fixture(scope="session")
def backbone_dir(tmp_path_factory, records) -> Path:
    """A tiny random T5 (d_model 64, 2+2 layers) with a BPE trained on the records, saved to disk."""
    from ttune.backbone import build_tokenizer, save_backbone, tiny_backbone

    tok = build_tokenizer([r["source"] for r in records] + [r["target"] for r in records],
                          vocab_size=600)
    model = tiny_backbone(tok, d_model=64, d_ff=128, num_layers=2, num_heads=4, seed=0)
    return save_backbone(model, tok, tmp_path_factory.mktemp("backbone"))


@pytest.fixture(scope="session")
def data_files(tmp_path_factory, records) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("data")
    return {"train": write_jsonl(d / "train.jsonl", records[:32]),
            "valid": write_jsonl(d / "valid.jsonl", records[32:40]),
            "test": write_jsonl(d / "test.jsonl", records[32:40])}


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cpg_cache")


@pytest.fixture
def make_config(backbone_dir, data_files, cache_dir, tmp_path):
    """TrainConfig factory with small, fast defaults for the tiny model."""
    from ttune.train.config import TrainConfig

    def make(**kw) -> TrainConfig:
        base = dict(model=str(backbone_dir), train_file=str(data_files["train"]),
                    output_dir=str(tmp_path / "run"), task="summarize", method="transducer",
                    batch_size=8, lr=1e-2, max_steps=4, max_source_len=128, max_target_len=24,
                    max_new_tokens=12, cache_dir=str(cache_dir), progress=False, log_every=1,
                    seed=0)
        base.update(kw)
        return TrainConfig(**base)

    return make
