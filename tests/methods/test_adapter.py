"""adapter / prompt-adapter: identity at initialisation, placement, own parameters only."""

from __future__ import annotations

import pytest
import torch

from methods.conftest import make_trainable_nonzero


def _forward(adapted, batch):
    return adapted(batch["input_ids"], batch["attention_mask"], labels=batch["labels"])


def test_adapter_is_exact_identity_at_init(make_backbone, batch, tok):
    from ttune.methods import apply_method, make_config

    ref = make_backbone()(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]
    ).logits
    adapted = apply_method(make_backbone(), make_config("adapter", bottleneck=4), tok)
    assert torch.equal(_forward(adapted, batch).logits, ref)
    make_trainable_nonzero(adapted)
    assert not torch.allclose(_forward(adapted, batch).logits, ref)


def test_prompt_adapter_at_init_equals_prompt_tuning(make_backbone, batch, tok):
    """Zero up-projections: prompt-adapter computes exactly what the same soft prompt alone does."""
    from ttune.methods import apply_method, make_config

    prompt = apply_method(make_backbone(), make_config("prompt", num_virtual_tokens=3), tok)
    both = apply_method(make_backbone(), make_config("prompt-adapter", num_virtual_tokens=3), tok)
    assert torch.equal(both.prompt.weight, prompt.prompt.weight)
    assert torch.equal(_forward(both, batch).logits, _forward(prompt, batch).logits)


@pytest.mark.parametrize("cross, sites", [(True, 2 * 2 + 3 * 2), (False, 2 * 2 + 2 * 2)])
def test_one_adapter_per_sublayer(cross, sites, make_backbone, tok):
    """Tiny backbone: 2 encoder layers (self, ff) and 2 decoder layers (self, cross, ff)."""
    from ttune.methods import apply_method, make_config

    adapted = apply_method(
        make_backbone(), make_config("adapter", bottleneck=4, cross_attention=cross), tok
    )
    assert len(adapted.adapters) == sites
    assert ("decoder_1_cross" in adapted.adapters) == cross
    assert adapted.num_trainable() == sites * (2 * 64 * 4 + 4 + 64)


@pytest.mark.parametrize(
    "name, own",
    [
        ("adapter", lambda n: n.startswith("adapters.")),
        ("prompt-adapter", lambda n: n.startswith("adapters.") or n == "prompt.weight"),
    ],
)
def test_only_adapter_and_prompt_parameters_change(name, own, make_backbone, batch, tok):
    from ttune.methods import apply_method, make_config

    adapted = apply_method(make_backbone(), make_config(name, bottleneck=4), tok)
    mine = dict(adapted.trainable_parameters())
    assert mine and all(own(n) for n in mine)
    frozen = {n: p.detach().clone() for n, p in adapted.named_parameters() if n not in mine}
    before = {n: p.detach().clone() for n, p in mine.items()}
    opt = torch.optim.AdamW(list(mine.values()), lr=1e-2)
    for _ in range(3):
        opt.zero_grad()
        _forward(adapted, batch).loss.backward()
        opt.step()
    assert all(torch.equal(p, frozen[n]) for n, p in adapted.named_parameters() if n in frozen)
    assert all(not torch.equal(p, before[n]) for n, p in mine.items())


def test_backbone_takes_one_adapter_method(make_backbone, tok):
    from ttune.methods import MethodConfigError, apply_method, make_config

    backbone = make_backbone()
    apply_method(backbone, make_config("adapter"), tok)
    with pytest.raises(MethodConfigError, match="already carries adapters"):
        apply_method(backbone, make_config("adapter"), tok)


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"bottleneck": 0}, "bottleneck must be"),
        ({"activation": "swish"}, "activation must be one of relu, gelu, tanh"),
        ({"cross_attention": "yes"}, "cross_attention must be"),
    ],
)
def test_validation(bad, match):
    from ttune.methods import MethodConfigError, make_config

    with pytest.raises(MethodConfigError, match=match):
        make_config("adapter", **bad)
    with pytest.raises(MethodConfigError, match="num_virtual_tokens"):
        make_config("prompt-adapter", num_virtual_tokens=0)
