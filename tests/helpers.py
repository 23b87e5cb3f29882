"""Helpers shared by the test packages that train tiny models (train, compare).

Import them as ``from helpers import ...``: pytest puts tests/ on sys.path (the test folders are
packages, tests/ itself is not). ``one_torch_thread`` is a fixture: a conftest that imports it
makes it apply (autouse) to its own package only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest


def write_jsonl(path: Path, records: list[dict]) -> Path:
    """Write ``records`` as JSON lines to ``path``; return ``path``."""
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def write_splits(folder: Path, **splits: list[dict]) -> dict[str, Path]:
    """``folder/<split>.jsonl`` for each keyword (train=..., valid=..., test=...); {split: path}."""
    return {name: write_jsonl(folder / f"{name}.jsonl", recs) for name, recs in splits.items()}


def save_tiny_backbone(records: list[dict], folder: Path, vocab_size: int, **sizes: int) -> Path:
    """A tiny random T5 (``sizes``: d_model, d_ff, num_layers, num_heads) with a BPE trained on the
    records' sources and targets, saved to ``folder``; returns the folder."""
    from ttune.backbone import build_tokenizer, save_backbone, tiny_backbone

    tok = build_tokenizer(
        [r["source"] for r in records] + [r["target"] for r in records], vocab_size=vocab_size
    )
    model = tiny_backbone(tok, seed=0, **sizes)
    return save_backbone(model, tok, folder)


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """One intra-op thread: the tiny models gain nothing from more, and on a shared 2-core machine
    OpenMP's spinning threads make each step 50x slower when the other core is busy."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def save_tiny_causal_backbone(
    records: list[dict], folder: Path, family: str, vocab_size: int, hidden: int = 32
) -> Path:
    """A tiny random causal LM of ``family`` (llama, qwen2, starcoder2, gpt_bigcode, mamba,
    mamba2; 2 layers of width ``hidden``) with a BPE trained on the records, saved to ``folder``."""
    from ttune.backbone import build_tokenizer, save_backbone, tiny_causal_backbone

    tok = build_tokenizer(
        [r["source"] for r in records] + [r["target"] for r in records], vocab_size=vocab_size
    )
    model = tiny_causal_backbone(tok, family, hidden=hidden, seed=0)
    return save_backbone(model, tok, folder)


def cli_train_predict_eval(
    out: Path, files: dict[str, Path], model: Path, task: str, method: str, options: list[str]
) -> tuple[list[dict], dict]:
    """``ttune train`` (2 steps of 4, ``-m`` for each of ``options``) into ``out``, then ``ttune
    predict`` (4 new tokens) and ``ttune eval`` on ``files["test"]``; each must exit 0. Returns
    the prediction rows and the eval file's contents. Writes beside ``out``; caches in
    ``$TTUNE_CACHE``."""
    from typer.testing import CliRunner

    from ttune.cli.main import app

    def ok(args: list[str]) -> None:
        r = CliRunner().invoke(app, args)
        assert r.exit_code == 0, r.output

    cache = os.environ["TTUNE_CACHE"]
    opts = [x for o in options for x in ("-m", o)]
    ok(["train", "--train", str(files["train"]), "--output", str(out), "--model", str(model)]
       + ["--task", task, "--method", method, *opts, "--max-steps", "2", "--batch-size", "4"]
       + ["--cache-dir", cache, "--no-progress"])  # fmt: skip
    pred, res = out.with_name(out.name + "-pred.jsonl"), out.with_name(out.name + "-eval.json")
    ok(["predict", "--checkpoint", str(out), "--input", str(files["test"]), "--output", str(pred)]
       + ["--max-new-tokens", "4"])  # fmt: skip
    ok(["eval", "--checkpoint", str(out), "--task", task, "--test", str(files["test"])]
       + ["--output", str(res)])  # fmt: skip
    rows = [json.loads(line) for line in pred.read_text().splitlines()]
    return rows, json.loads(res.read_text())
