"""Trainable-parameter counts on the real shapes of three causal backbones, built on the meta
device (same modules and shapes, no memory, no init, no download).

The shapes are the published config.json values of Qwen/Qwen2.5-Coder-0.5B (hidden 896,
intermediate 4864, 24 layers, 14 heads, 2 KV heads, 151,936 tokens, tied embeddings),
bigcode/starcoder2-3b (hidden 3072, intermediate 12288, 30 layers, 24 heads, 2 KV heads, 49,152
tokens, biases) and state-spaces/mamba-130m-hf (hidden 768, 24 layers, state 16, expand 2,
conv 4, step rank 48, 50,280 tokens), as :func:`ttune.backbone.causal_config` writes them.
"""

from __future__ import annotations

import pytest
import torch


def meta_backbone(shape: str):
    from transformers import AutoModelForCausalLM

    from ttune.backbone import causal_config, freeze

    with torch.device("meta"):
        return freeze(AutoModelForCausalLM.from_config(causal_config(shape)))


@pytest.fixture
def qwen():
    return meta_backbone("qwen2.5-coder-0.5b")


@pytest.fixture
def starcoder2():
    return meta_backbone("starcoder2-3b")


@pytest.fixture
def mamba():
    return meta_backbone("mamba-130m")


def test_qwen_shape_is_the_published_494m(qwen):
    # 24 x 14,912,384 per layer + 136,134,656 embedding + 896 final norm ("0.49B")
    assert sum(p.numel() for p in qwen.parameters()) == 494_032_768


def test_shapes_of_the_other_two(starcoder2, mamba):
    d, f, kv = 3072, 12288, 256  # kv: 2 heads x 128
    layer = (d * d + d) * 2 + (d * kv + kv) * 2 + (2 * d * f + d + f) + 4 * d
    assert sum(p.numel() for p in starcoder2.parameters()) == 30 * layer + 49152 * d + 2 * d
    # mamba layer: in_proj, conv1d, x_proj, dt_proj, A_log, D, out_proj, norm
    m = 768 * 3072 + 1536 * 5 + 1536 * 80 + (48 * 1536 + 1536) + 1536 * 16 + 1536
    m += 1536 * 768 + 768
    assert sum(p.numel() for p in mamba.parameters()) == 24 * m + 50280 * 768 + 768


@pytest.mark.parametrize(
    "name, overrides, qwen_n, starcoder2_n",
    [
        # 24 x 8 x ((896 + 896) + (896 + 128)); 30 x 8 x ((3072 + 3072) + (3072 + 256))
        ("lora", {}, 540_672, 2_273_280),
        ("prompt", {"num_virtual_tokens": 25}, 25 * 896, 25 * 3072),
        # P x 2L x KV width: 10 x 48 x (2 x 64); 10 x 60 x (2 x 128)
        ("prefix", {"num_virtual_tokens": 10}, 61_440, 153_600),
        ("linear", {}, 896 * 896, 3072 * 3072),
        # 2L x (2 d r + r + d), r = 64
        ("adapter", {}, 48 * (2 * 896 * 64 + 64 + 896), 60 * (2 * 3072 * 64 + 64 + 3072)),
        # 26 d + 3,338 (the T5 count's formula: 23,306 at d = 768)
        ("transducer", {}, 26 * 896 + 3338, 26 * 3072 + 3338),
        ("none", {}, 0, 0),
    ],
)
def test_methods_on_attention_lms(name, overrides, qwen_n, starcoder2_n, qwen, starcoder2):
    from ttune.methods import apply_method, make_config

    assert apply_method(qwen, make_config(name, **overrides)).num_trainable() == qwen_n
    assert apply_method(starcoder2, make_config(name, **overrides)).num_trainable() == starcoder2_n


@pytest.mark.parametrize(
    "name, overrides, expected",
    [
        # the docstring formulas of ttune/methods/mamba_*.py at d = 768, d_in = 1536, N = 16,
        # R = 48, k = 4, L = 24
        ("mamba-lora", {}, 24 * 8 * ((768 + 3072) + (1536 + 80) + (1536 + 768))),
        ("mamba-lora", {"x_proj": False, "out_proj": False}, 24 * 8 * (768 + 3072)),
        ("mamba-lora", {"in_proj": False, "out_proj": False, "r": 4}, 24 * 4 * (1536 + 80)),
        ("mamba-lora", {"in_proj": False, "x_proj": False}, 24 * 8 * (1536 + 768)),
        ("mamba-partial", {}, 24 * (1536 * 16 + 1536)),  # A_log and D: 626,688
        ("mamba-partial", {"conv1d": True, "bias": True}, 847_872),
        ("mamba-partial", {"d": False}, 24 * 1536 * 16),
        ("mamba-partial", {"a_log": False}, 24 * 1536),
        ("mamba-partial", {"a_log": False, "d": False, "conv1d": True}, 24 * 1536 * 5),
        ("mamba-partial", {"a_log": False, "d": False, "bias": True}, 24 * 1536),
        ("prompt", {"num_virtual_tokens": 25}, 25 * 768),
        ("affix", {}, 73_728),
        ("additional-scan", {}, 884_736),
        ("additional-scan", {"num_states": 1}, 24 * 3 * 1536),
        ("parallel-adapter", {}, 1_198_848),
        ("lora", {}, 24 * 8 * ((768 + 3072) + (1536 + 80))),  # peft: in_proj, x_proj
        ("transducer", {}, 23_306),
    ],
)
def test_mambapeft_methods_on_mamba_130m(name, overrides, expected, mamba):
    from ttune.methods import apply_method, make_config

    assert apply_method(mamba, make_config(name, **overrides)).num_trainable() == expected
