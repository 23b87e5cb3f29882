"""Fixtures of the method tests: a BPE trained on a few snippets, tiny T5s, and one real batch."""

from __future__ import annotations

import pytest
import torch
from helpers import save_tiny_backbone, write_splits
from torch_geometric.data import Batch

SOURCES = [
    "def add(a, b):\n    return a + b\n",
    "def neg(x):\n    y = -x\n    if y > 0:\n        return y\n    return 0\n",
    "def first(items):\n    for it in items:\n        return it\n    return None\n",
]
TARGETS = ["add two numbers", "negate a value", "the first item"]
METHODS = [
    "none",
    "full",
    "linear",
    "lora",
    "prefix",
    "prompt",
    "transducer",
    "adapter",
    "prompt-adapter",
    "prompt-attention",
    "cpg-prompt",
    "xprompt",
    "topro",
]


@pytest.fixture(scope="session")
def tok():
    from ttune.backbone import build_tokenizer

    return build_tokenizer(SOURCES * 4 + TARGETS * 4, vocab_size=500)


@pytest.fixture
def make_backbone(tok):
    """A fresh frozen tiny T5 (the same weights for the same seed)."""
    from ttune.backbone import tiny_backbone

    return lambda **kw: tiny_backbone(tok, **kw)


def encode(tok, sources, targets=None):
    """input_ids/attention_mask [B, T], token_spans [B, T, 2] (bytes; sources are ASCII), labels [B,
    L]."""
    enc = tok(sources, return_tensors="pt", padding=True, return_offsets_mapping=True)
    spans = enc["offset_mapping"].clone().long()
    special = (enc["input_ids"] == tok.pad_token_id) | (enc["input_ids"] == tok.eos_token_id)
    spans[special] = -1
    out = {
        "input_ids": enc["input_ids"],
        "attention_mask": enc["attention_mask"],
        "token_spans": spans,
    }
    if targets is not None:
        labels = tok(targets, return_tensors="pt", padding=True)["input_ids"]
        labels[labels == tok.pad_token_id] = -100
        out["labels"] = labels
    return out


def graphs(tok, sources, **kw):
    from ttune.cpg import extract
    from ttune.transducer import featurize

    return Batch.from_data_list([featurize(extract(s, "python"), tok, **kw) for s in sources])


@pytest.fixture(scope="session")
def batch(tok):
    b = encode(tok, SOURCES[:2], TARGETS[:2])
    b["graph"] = graphs(tok, SOURCES[:2])
    return b


def make_trainable_nonzero(adapted) -> None:
    """Move zero-initialised parts off zero (LoRA's B, the transducer's W_o, adapters' up) so
    every trainable tensor gets a gradient, and a saved checkpoint is not just the
    initialisation."""
    g = torch.Generator().manual_seed(123)
    with torch.no_grad():
        for n, p in adapted.trainable_parameters():
            adapter_up = n.startswith("adapters.") and ".up." in n
            if "lora_B" in n or n.endswith("fusion.o.weight") or adapter_up:
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)


@pytest.fixture(scope="session")
def run_files(tmp_path_factory) -> dict:
    """For tests that go through the trainer: {"model": a tiny T5 (d_model 32, one layer) saved
    with a BPE, "train": a JSONL of the three SOURCES/TARGETS records}."""
    d = tmp_path_factory.mktemp("run_files")
    records = [
        {"id": f"r{i}", "source": s, "target": t, "source_lang": "python", "target_lang": "en"}
        for i, (s, t) in enumerate(zip(SOURCES, TARGETS))
    ]
    model = save_tiny_backbone(
        records * 4, d / "bb", vocab_size=300, d_model=32, d_ff=64, num_layers=1, num_heads=4
    )
    return {"model": model, **write_splits(d, train=records)}
