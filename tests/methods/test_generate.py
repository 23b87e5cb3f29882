"""generate(): source only, [B, L] ids, consistent with the method's own forward pass."""

from __future__ import annotations

import pytest
import torch

from methods.conftest import METHODS, make_trainable_nonzero


def _gen(adapted, batch, **kw):
    return adapted.generate(
        batch["input_ids"],
        batch["attention_mask"],
        graph=batch["graph"],
        token_spans=batch["token_spans"],
        **kw,
    )


@pytest.mark.parametrize(
    "name, overrides", [(m, {}) for m in METHODS] + [("prefix", {"encoder_prefix": False})]
)
def test_generate_shape_and_agrees_with_forward(name, overrides, make_backbone, batch, tok):
    """Greedy output == argmax of the method's teacher-forced logits on that output, so generate
    sees the same adapted inputs as forward (prompts, prefixes, transducer embeddings)."""
    from ttune.methods import apply_method, make_config

    adapted = apply_method(make_backbone(), make_config(name, **overrides), tok)
    make_trainable_nonzero(adapted)
    adapted.eval()
    out = _gen(adapted, batch, max_new_tokens=6)
    B = batch["input_ids"].shape[0]
    assert (
        out.dtype == torch.long and out.dim() == 2 and out.shape[0] == B and 2 <= out.shape[1] <= 7
    )
    assert (out[:, 0] == 0).all()  # decoder start
    with torch.no_grad():
        logits = adapted(
            batch["input_ids"],
            batch["attention_mask"],
            labels=out[:, 1:],
            graph=batch["graph"],
            token_spans=batch["token_spans"],
        ).logits
    pred = logits.argmax(-1)
    for b in range(B):
        row = out[b, 1:].tolist()
        n = row.index(tok.eos_token_id) + 1 if tok.eos_token_id in row else len(row)
        assert pred[b, :n].tolist() == row[:n]
    beams = _gen(adapted, batch, max_new_tokens=4, num_beams=2)
    assert beams.shape[0] == B and beams.dim() == 2


def test_generate_refuses_references(make_backbone, batch, tok):
    from ttune.methods import MethodError, apply_method, make_config

    adapted = apply_method(make_backbone(), make_config("none"), tok)
    with pytest.raises(MethodError, match="source only"):
        _gen(adapted, batch, decoder_input_ids=batch["labels"].clamp(min=0))


def test_decoder_prefix_reaches_generate(make_backbone, batch, tok):
    """peft's decoder prefix is used by generate (ttune calls the backbone's generate itself)."""
    from ttune.methods import apply_method, make_config

    ref = apply_method(make_backbone(), make_config("none"), tok)
    adapted = apply_method(make_backbone(), make_config("prefix", encoder_prefix=False), tok)
    with torch.no_grad():
        for _, p in adapted.trainable_parameters():
            p.mul_(50.0)
    a = _gen(adapted, batch, max_new_tokens=6)
    r = _gen(ref, batch, max_new_tokens=6)
    assert a.shape != r.shape or not torch.equal(a, r)
