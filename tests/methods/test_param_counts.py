"""Trainable-parameter counts with a CodeT5+ 220M-shaped backbone (the paper's numbers).

The 220M T5 is built on the meta device: the same modules and shapes as a real one, no memory,
no random init, so counting takes well under a second. No forward pass is needed.
"""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def t5_220m():
    from transformers import T5ForConditionalGeneration

    from ttune.backbone import freeze, t5_config

    with torch.device("meta"):
        return freeze(T5ForConditionalGeneration(t5_config("codet5p-220m")))


def test_backbone_is_220m(t5_220m):
    assert sum(p.numel() for p in t5_220m.parameters()) == 222_882_048


def test_transducer_paper_mode_is_30728(t5_220m):
    from ttune.methods import apply_method, make_config

    cfg = make_config("transducer", fusion="paper", vectorizer="hashed", node_dim=1024)
    assert apply_method(t5_220m, cfg).num_trainable() == 30_728


def test_transducer_node_mode_default(t5_220m):
    from ttune.methods import apply_method, make_config

    # GVE 768 + 6,144 + 136 + 1,024; fusion 768 + 128 + 6,144 + 1,024 + 1,024 + 6,144 + gate 1 +
    # span bias 1
    assert apply_method(t5_220m, make_config("transducer")).num_trainable() == 23_306


def test_lora_is_884736(t5_220m):
    from ttune.methods import apply_method, make_config

    # 36 attention blocks x (q, v) x 8 x (768 + 768)
    assert apply_method(t5_220m, make_config("lora")).num_trainable() == 884_736


@pytest.mark.parametrize(
    "name, overrides, expected",
    [
        ("linear", {}, 768 * 768),
        ("prompt", {"num_virtual_tokens": 25}, 25 * 768),  # only the rows it uses
        (
            "prefix",
            {"num_virtual_tokens": 10},
            10 * 24 * 768 + 10 * 768,
        ),  # peft decoder prefix + encoder prefix
        ("prefix", {"num_virtual_tokens": 10, "encoder_prefix": False}, 10 * 24 * 768),
        ("none", {}, 0),
        ("full", {}, 222_882_048),
    ],
)
def test_other_counts(t5_220m, name, overrides, expected):
    from ttune.methods import apply_method, make_config

    assert apply_method(t5_220m, make_config(name, **overrides)).num_trainable() == expected


ADAPTER_220M = 2 * 768 * 64 + 64 + 768  # per adapter: 2 d r + r + d = 99,136
GVE_220M = 768 + 768 * 8 + 136 + 8 * 128  # graph encoder, as in the transducer
GENERATOR_220M = 128 * 64 + 64 + 64 * 10 * 768 + 10 * 768  # g h + h + h m d + m d
FUSION_220M = (768 + 128) * 64 + 64 + 64 * 768 + 768  # (d + g) h + h + h d + d


@pytest.mark.parametrize(
    "name, overrides, expected",
    [
        ("adapter", {}, 60 * ADAPTER_220M),  # 12 x (self, ff) + 12 x (self, cross, ff)
        ("adapter", {"cross_attention": False}, 48 * ADAPTER_220M),
        ("prompt-adapter", {"num_virtual_tokens": 25}, 60 * ADAPTER_220M + 25 * 768),
        ("prompt-attention", {"num_virtual_tokens": 25}, 25 * 768 + 1),
        ("prompt-attention", {"num_virtual_tokens": 25, "learn_scale": False}, 25 * 768),
        ("cpg-prompt", {}, GVE_220M + GENERATOR_220M),
        ("cpg-prompt", {"fuse": True}, GVE_220M + GENERATOR_220M + FUSION_220M),
        ("xprompt", {"num_virtual_tokens": 20, "pieces": 16}, 20 * 16 * (768 // 16)),
    ],
)
def test_plugin_method_counts(t5_220m, name, overrides, expected):
    from ttune.methods import apply_method, make_config

    assert apply_method(t5_220m, make_config(name, **overrides)).num_trainable() == expected


def test_docstring_figures():
    assert 60 * ADAPTER_220M == 5_948_160
    assert GVE_220M + GENERATOR_220M == 515_528 and FUSION_220M == 107_328
