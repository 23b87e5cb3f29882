"""Each method trains exactly its own parameters and leaves the frozen backbone untouched."""

from __future__ import annotations

import pytest
import torch

from methods.conftest import make_trainable_nonzero

TRAINABLE = {  # which parameter names a method may train
    "full": lambda n: n.startswith("model."),
    "linear": lambda n: n == "proj.weight",
    "lora": lambda n: ".lora_A." in n or ".lora_B." in n,
    "prefix": lambda n: (
        n in ("model.prompt_encoder.default.embedding.weight", "encoder_prompt.weight")
    ),
    "prompt": lambda n: n == "prompt.weight",
    "transducer": lambda n: n.startswith("transducer."),
    "adapter": lambda n: n.startswith("adapters."),
    "prompt-adapter": lambda n: n.startswith("adapters.") or n == "prompt.weight",
    "prompt-attention": lambda n: n in ("prompt.weight", "scale"),
    "cpg-prompt": lambda n: n.startswith(("gve.", "generator.")),
    "xprompt": lambda n: n == "prompt.weight",
}


def _forward(adapted, batch):
    return adapted(
        batch["input_ids"],
        batch["attention_mask"],
        labels=batch["labels"],
        graph=batch["graph"],
        token_spans=batch["token_spans"],
    )


@pytest.mark.parametrize("name", sorted(TRAINABLE))
def test_only_own_parameters_get_gradients(name, make_backbone, batch, tok):
    from ttune.methods import apply_method, make_config

    backbone = make_backbone()
    adapted = apply_method(backbone, make_config(name), tok)
    own = dict(adapted.trainable_parameters())
    assert own and all(TRAINABLE[name](n) for n in own)
    make_trainable_nonzero(adapted)
    adapted.train()
    _forward(adapted, batch).loss.backward()
    for n, p in adapted.named_parameters():
        if n in own:
            assert p.grad is not None and p.grad.abs().sum() > 0, n
        else:
            assert p.grad is None, n
    own_ids = {id(p) for p in own.values()}
    frozen = [p for p in backbone.parameters() if id(p) not in own_ids]
    assert (len(frozen) == 0) == (name == "full")
    assert all(p.grad is None and not p.requires_grad for p in frozen)


@pytest.mark.parametrize("name", sorted(TRAINABLE))
def test_frozen_weights_unchanged_after_three_adamw_steps(name, make_backbone, batch, tok):
    from ttune.methods import apply_method, make_config

    backbone = make_backbone()
    adapted = apply_method(backbone, make_config(name), tok)
    own = dict(adapted.trainable_parameters())
    before_frozen = {n: p.detach().clone() for n, p in adapted.named_parameters() if n not in own}
    before_own = {n: p.detach().clone() for n, p in own.items()}
    opt = torch.optim.AdamW([p for p in own.values()], lr=1e-2)
    adapted.train()
    for _ in range(3):
        opt.zero_grad()
        _forward(adapted, batch).loss.backward()
        opt.step()
    for n, p in adapted.named_parameters():
        if n in own:
            continue
        assert torch.equal(p, before_frozen[n]), n
    changed = [n for n, p in own.items() if not torch.equal(p, before_own[n])]
    assert len(changed) == len(own), sorted(set(own) - set(changed))


def test_none_trains_nothing(make_backbone, batch, tok):
    from ttune.methods import apply_method, make_config

    adapted = apply_method(make_backbone(), make_config("none"), tok)
    out = _forward(adapted, batch)
    assert adapted.num_trainable() == 0 and adapted.trainable_parameters() == []
    assert not out.loss.requires_grad and adapted.method_state_dict() == {}


@pytest.mark.parametrize("name", ["none", "linear", "transducer"])
def test_untrained_identity_methods_leave_logits_exactly_unchanged(name, make_backbone, batch, tok):
    """linear starts at the identity; the transducer's zero gate leaves the embeddings as they
    were."""
    from ttune.methods import apply_method, make_config

    ref = make_backbone()(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]
    ).logits
    adapted = apply_method(make_backbone(), make_config(name), tok)
    assert torch.equal(_forward(adapted, batch).logits, ref)


def test_transducer_needs_graph(make_backbone, batch, tok):
    from ttune.methods import MethodError, apply_method, make_config

    adapted = apply_method(make_backbone(), make_config("transducer"), tok)
    assert adapted.needs_graph
    with pytest.raises(MethodError, match="needs the code graph"):
        adapted(batch["input_ids"], batch["attention_mask"], labels=batch["labels"])


def test_transducer_graph_changes_logits_once_gate_opens(make_backbone, batch, tok):
    from methods.conftest import SOURCES, graphs
    from ttune.methods import apply_method, make_config

    adapted = apply_method(make_backbone(), make_config("transducer"), tok)
    make_trainable_nonzero(adapted)
    base = _forward(adapted, batch).logits
    other = dict(batch, graph=graphs(tok, [SOURCES[2], SOURCES[1]]))
    changed = _forward(adapted, other).logits
    assert not torch.allclose(base[0], changed[0])  # example 0's graph changed
    assert torch.equal(base[1], changed[1])  # example 1's graph did not
