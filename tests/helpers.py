"""Helpers shared by the test packages that train tiny models (train, compare).

Import them as ``from helpers import ...``: pytest puts tests/ on sys.path (the test folders are
packages, tests/ itself is not). ``one_torch_thread`` is a fixture: a conftest that imports it
makes it apply (autouse) to its own package only.
"""

from __future__ import annotations

import json
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
