"""Methods on causal-LM backbones (Llama, GPT-BigCode, Mamba, Mamba2): the decoder-only layout,
forward/backward/generate through every applicable method, identity at initialisation, left
padding, and the saved-method fingerprint."""

from __future__ import annotations

import pytest
import torch

from methods.conftest import make_trainable_nonzero
from methods.test_generate import _gen

FAMILIES = ["llama", "qwen2", "starcoder2", "gpt_bigcode", "mamba", "mamba2"]
ATTENTION = ["llama", "qwen2", "starcoder2", "gpt_bigcode"]
METHODS = [
    "none",
    "full",
    "linear",
    "lora",
    "prompt",
    "transducer",
    "adapter",
    "prompt-adapter",
    "cpg-prompt",
    "xprompt",
    "topro",
]
ZERO_INIT = ["linear", "lora", "transducer", "adapter"]
"""Methods whose untrained state computes exactly the backbone's function."""


@pytest.fixture
def causal(tok):
    from ttune.backbone import tiny_causal_backbone

    return lambda family, **kw: tiny_causal_backbone(tok, family, **kw)


def _run(adapted, batch, labels=None):
    return adapted(
        batch["input_ids"],
        batch["attention_mask"],
        labels=batch["labels"] if labels is None else labels,
        graph=batch["graph"],
        token_spans=batch["token_spans"],
    )


@pytest.mark.parametrize(
    "family, name",
    [(f, m) for f in FAMILIES for m in METHODS] + [(f, "prefix") for f in ATTENTION],
)
def test_forward_backward_generate(family, name, causal, batch, tok):
    """Loss on the target only, gradients reach every trainable weight, and greedy generation
    returns new tokens only, equal to the argmax of the teacher-forced logits on them."""
    from ttune.methods import apply_method, make_config

    adapted = apply_method(causal(family), make_config(name), tok)
    make_trainable_nonzero(adapted)
    out = _run(adapted, batch)
    B, L = batch["labels"].shape
    assert out.logits.shape == (B, L, len(tok)) and torch.isfinite(out.loss)
    logp = out.logits.log_softmax(-1)
    keep = batch["labels"] != -100
    nll = -logp.gather(-1, batch["labels"].clamp(min=0).unsqueeze(-1)).squeeze(-1)[keep].mean()
    assert torch.allclose(out.loss, nll, atol=1e-5)  # the loss covers the target tokens only
    if name != "none":
        out.loss.backward()
        grads = [p.grad for _, p in adapted.trainable_parameters()]
        assert grads and any(g is not None and g.abs().sum() > 0 for g in grads)
    adapted.eval()
    gen = _gen(adapted, batch, max_new_tokens=5)
    assert gen.dtype == torch.long and gen.shape[0] == B and 1 <= gen.shape[1] <= 5
    labels = gen.clone()
    for b in range(B):
        row = gen[b].tolist()
        if tok.eos_token_id in row:
            labels[b, row.index(tok.eos_token_id) + 1 :] = -100
    with torch.no_grad():
        pred = _run(adapted, batch, labels=labels).logits.argmax(-1)
    assert pred[labels != -100].tolist() == gen[labels != -100].tolist()
    assert _gen(adapted, batch, max_new_tokens=3, num_beams=2).shape[0] == B


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("name", ZERO_INIT)
def test_identity_at_init(family, name, causal, batch, tok):
    from ttune.methods import apply_method, make_config

    with torch.no_grad():
        ref = _run(apply_method(causal(family), make_config("none"), tok), batch).logits
        got = _run(apply_method(causal(family), make_config(name), tok).eval(), batch).logits
    assert torch.allclose(got, ref, atol=1e-5)


@pytest.mark.parametrize(
    "family, name",
    [(f, "prompt") for f in FAMILIES] + [(f, "prefix") for f in ATTENTION],
)
def test_batched_generation_equals_one_at_a_time(family, name, causal, tok):
    """Left padding: a source generated in a batch with a longer one gives what it gives
    alone."""
    from methods.conftest import SOURCES, encode, graphs
    from ttune.methods import apply_method, make_config

    adapted = apply_method(causal(family), make_config(name, num_virtual_tokens=3), tok).eval()
    both = encode(tok, SOURCES[:2])
    both["graph"] = graphs(tok, SOURCES[:2])
    batched = _gen(adapted, both, max_new_tokens=6)
    for i in range(2):
        one = encode(tok, SOURCES[i : i + 1])
        one["graph"] = graphs(tok, SOURCES[i : i + 1])
        alone = _gen(adapted, one, max_new_tokens=6)[0].tolist()
        row = batched[i].tolist()[: len(alone)]
        assert row == alone


def test_left_align_closes_holes():
    from ttune.methods.base import left_align

    e = torch.arange(8.0).view(2, 4, 1)
    m = torch.tensor([[1, 1, 0, 0], [1, 0, 1, 1]])
    out, mask = left_align(e, m)
    assert mask.tolist() == [[0, 0, 1, 1], [0, 1, 1, 1]]
    assert out[0, 2:, 0].tolist() == [0.0, 1.0] and out[1, 1:, 0].tolist() == [4.0, 6.0, 7.0]


def test_prefix_refuses_mamba_and_prompt_attention_causal_lms(causal, tok):
    from ttune.methods import MethodConfigError, apply_method, make_config

    with pytest.raises(MethodConfigError, match="prefix: a Mamba backbone has no attention keys"):
        apply_method(causal("mamba"), make_config("prefix"), tok)
    with pytest.raises(MethodConfigError, match="not a T5-family model"):
        apply_method(causal("mamba"), make_config("prompt-attention"), tok)


def test_saved_method_records_the_family_and_refuses_another(causal, batch, tok, tmp_path):
    from ttune.methods import CheckpointError, apply_method, load_method, make_config, save_method

    adapted = apply_method(causal("mamba"), make_config("lora", r=2), tok)
    make_trainable_nonzero(adapted)
    save_method(adapted, tmp_path / "m")
    from ttune.methods import read_method_config

    fp = read_method_config(tmp_path / "m")["backbone"]
    assert fp["model_type"] == "mamba" and fp["architecture"] == "causal"
    again = load_method(tmp_path / "m", causal("mamba"), tok)
    with torch.no_grad():
        assert torch.equal(_run(again.eval(), batch).logits, _run(adapted.eval(), batch).logits)
    with pytest.raises(CheckpointError, match="model_type 'mamba' != 'llama'"):
        load_method(tmp_path / "m", causal("llama"), tok)
