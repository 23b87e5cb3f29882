"""prompt-attention: soft tokens are attention averages of the input, conditioned on it."""

from __future__ import annotations

import torch

from methods.conftest import SOURCES, TARGETS, encode


def _model(make_backbone, tok, **kw):
    from ttune.methods import apply_method, make_config

    config = make_config("prompt-attention", num_virtual_tokens=3, **kw)
    return apply_method(make_backbone(), config, tok)


def test_attention_sums_to_one_over_tokens_and_is_zero_on_padding(make_backbone, tok):
    adapted = _model(make_backbone, tok)
    b = encode(tok, SOURCES[:2])  # example 0 is shorter: padded
    mask = b["attention_mask"]
    assert (mask == 0).any()
    att = adapted.attention(adapted.embed(b["input_ids"]), mask)
    assert att.shape == (2, 3, mask.shape[1])
    torch.testing.assert_close(att.sum(-1), torch.ones(2, 3))
    assert (att.masked_select(mask[:, None, :].expand_as(att) == 0) == 0).all()
    assert (att.masked_select(mask[:, None, :].expand_as(att) == 1) > 0).all()


def test_soft_tokens_follow_the_formula_and_change_with_the_input(make_backbone, tok):
    adapted = _model(make_backbone, tok)
    b = encode(tok, SOURCES[:2])
    X = adapted.embed(b["input_ids"])
    attn = adapted.backbone.encoder.block[0].layer[0].SelfAttention
    W = attn.q.weight.T @ attn.k.weight  # d x d, frozen
    p = adapted.prompt.weight
    x0 = X[0, b["attention_mask"][0] == 1]  # [T0, d]
    expected = (x0.T @ torch.softmax(x0 @ W @ p.T, 0)).T  # [m, d]
    soft = adapted.soft_tokens(X, b["attention_mask"])
    torch.testing.assert_close(soft[0], expected, rtol=1e-4, atol=1e-5)
    other = encode(tok, [SOURCES[2], SOURCES[1]])
    soft2 = adapted.soft_tokens(adapted.embed(other["input_ids"]), other["attention_mask"])
    assert not torch.allclose(soft2[0], soft[0]) and torch.allclose(soft2[1], soft[1], atol=1e-6)


def test_only_prompt_and_scale_train(make_backbone, tok):
    adapted = _model(make_backbone, tok)
    own = dict(adapted.trainable_parameters())
    assert sorted(own) == ["prompt.weight", "scale"]
    assert adapted.num_trainable() == 3 * 64 + 1
    b = encode(tok, SOURCES[:2], TARGETS[:2])
    adapted(b["input_ids"], b["attention_mask"], labels=b["labels"]).loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in own.values())
    assert all(p.grad is None for n, p in adapted.named_parameters() if n not in own)
    fixed = _model(make_backbone, tok, learn_scale=False)
    assert fixed.num_trainable() == 3 * 64 and float(fixed.scale) == 1.0
