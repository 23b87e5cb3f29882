"""The MambaPEFT methods on tiny random Mamba / Mamba2 models: forward, backward and generate,
identity at initialisation, only the intended parameters change, left padding, bad configs."""

from __future__ import annotations

import pytest
import torch

MAMBA_METHODS = [
    ("mamba", "mamba-lora", {}),
    ("mamba", "mamba-partial", {"conv1d": True, "bias": True}),
    ("mamba", "affix", {}),
    ("mamba", "additional-scan", {}),
    ("mamba", "parallel-adapter", {}),
    ("mamba", "prompt", {"num_virtual_tokens": 3}),
    ("mamba2", "mamba-lora", {"x_proj": False}),
    ("mamba2", "mamba-partial", {"conv1d": True, "bias": True}),
    ("mamba2", "affix", {}),
    ("mamba2", "parallel-adapter", {}),
]
ZERO_INIT = ["mamba-lora", "mamba-partial", "additional-scan", "parallel-adapter"]


@pytest.fixture
def mamba(tok):
    from ttune.backbone import tiny_causal_backbone

    return lambda family="mamba": tiny_causal_backbone(tok, family, hidden=16)


def _run(adapted, batch, labels=None):
    return adapted(
        batch["input_ids"],
        batch["attention_mask"],
        labels=batch["labels"] if labels is None else labels,
    )


def _perturb(adapted, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in adapted.trainable_parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.2)


@pytest.mark.parametrize("family, name, overrides", MAMBA_METHODS)
def test_forward_backward_generate(family, name, overrides, mamba, batch, tok):
    """Cached greedy generation equals the argmax of the full teacher-forced forward pass (so the
    affix and the extra scan states carry over from the prefill to the decoding steps)."""
    from ttune.methods import apply_method, make_config

    adapted = apply_method(mamba(family), make_config(name, **overrides), tok)
    _perturb(adapted)
    out = _run(adapted, batch)
    assert torch.isfinite(out.loss) and out.logits.shape[:2] == batch["labels"].shape
    out.loss.backward()
    for n, p in adapted.trainable_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, n
    adapted.eval()
    gen = adapted.generate(batch["input_ids"], batch["attention_mask"], max_new_tokens=5)
    labels = gen.clone()
    for b, row in enumerate(gen.tolist()):
        if tok.eos_token_id in row:
            labels[b, row.index(tok.eos_token_id) + 1 :] = -100
    with torch.no_grad():
        pred = _run(adapted, batch, labels=labels).logits.argmax(-1)
    assert pred[labels != -100].tolist() == gen[labels != -100].tolist()
    beams = adapted.generate(
        batch["input_ids"], batch["attention_mask"], max_new_tokens=3, num_beams=2
    )
    assert beams.shape[0] == gen.shape[0]


@pytest.mark.parametrize("name", ZERO_INIT)
def test_identity_at_init(name, mamba, batch, tok):
    from ttune.methods import apply_method, make_config

    with torch.no_grad():
        ref = _run(apply_method(mamba(), make_config("none"), tok), batch).logits
        got = _run(apply_method(mamba(), make_config(name), tok).eval(), batch).logits
    assert torch.allclose(got, ref, atol=1e-6)


def _expected_backbone_changes(name, overrides, backbone) -> set[str]:
    """Names of the backbone's own parameters the method may change."""
    if name != "mamba-partial":
        return set()
    from ttune.methods import make_config

    groups = make_config(name, **overrides).groups()
    suffixes = {
        "a_log": ("mixer.A_log",),
        "d": ("mixer.D",),
        "conv1d": ("mixer.conv1d.weight", "mixer.conv1d.bias"),
        "bias": ("mixer.dt_proj.bias", "mixer.dt_bias"),
    }
    ends = tuple(s for g in groups for s in suffixes[g])
    return {n for n, _ in backbone.named_parameters() if n.endswith(ends)}


@pytest.mark.parametrize(
    "name, overrides",
    [
        ("mamba-lora", {"x_proj": False}),
        ("mamba-lora", {"in_proj": False, "out_proj": False}),
        ("mamba-partial", {}),
        ("mamba-partial", {"a_log": False, "d": False, "conv1d": True}),
        ("mamba-partial", {"a_log": False, "d": False, "bias": True}),
        ("affix", {}),
        ("additional-scan", {}),
        ("parallel-adapter", {}),
    ],
)
def test_only_the_intended_parameters_change(name, overrides, mamba, batch, tok):
    """Three Adam steps: every trainable tensor moves, and of the backbone's own parameters
    exactly the intended ones (none, or partial tuning's selected groups)."""
    from ttune.methods import apply_method, make_config

    backbone = mamba()
    adapted = apply_method(backbone, make_config(name, **overrides), tok)
    before_bb = {n: p.detach().clone() for n, p in backbone.named_parameters()}
    before = {n: p.detach().clone() for n, p in adapted.trainable_parameters()}
    opt = torch.optim.Adam([p for _, p in adapted.trainable_parameters()], lr=1e-2)
    for _ in range(3):
        opt.zero_grad()
        _run(adapted, batch).loss.backward()
        opt.step()
    changed_bb = {n for n, p in backbone.named_parameters() if not torch.equal(p, before_bb[n])}
    assert changed_bb == _expected_backbone_changes(name, overrides, backbone)
    for n, p in adapted.trainable_parameters():
        assert not torch.equal(p, before[n]), f"{n} did not train"
    if name == "mamba-lora":
        targets = make_config(name, **overrides).targets()
        assert {k.split("_", 2)[2] for k in adapted.lora} == set(targets)


def test_affix_batched_generation_equals_one_at_a_time(mamba, tok):
    from methods.conftest import SOURCES, encode
    from ttune.methods import apply_method, make_config

    adapted = apply_method(mamba(), make_config("affix", init_std=0.5), tok).eval()
    both = encode(tok, SOURCES[:2])
    batched = adapted.generate(both["input_ids"], both["attention_mask"], max_new_tokens=6)
    for i in range(2):
        one = encode(tok, SOURCES[i : i + 1])
        alone = adapted.generate(one["input_ids"], one["attention_mask"], max_new_tokens=6)
        assert batched[i].tolist()[: alone.shape[1]] == alone[0].tolist()


def test_save_and_load_round_trip(mamba, batch, tok, tmp_path):
    from ttune.methods import apply_method, load_method, make_config, save_method

    for name in ("mamba-partial", "additional-scan", "affix"):
        adapted = apply_method(mamba(), make_config(name), tok)
        _perturb(adapted, seed=1)
        save_method(adapted, tmp_path / name)
        again = load_method(tmp_path / name, mamba(), tok)
        with torch.no_grad():
            assert torch.equal(_run(again.eval(), batch).logits, _run(adapted.eval(), batch).logits)


@pytest.mark.parametrize(
    "name, fields, match",
    [
        ("mamba-lora", {"r": 0}, "r must be an integer >= 1"),
        (
            "mamba-lora",
            {"in_proj": False, "x_proj": False, "out_proj": False},
            "select at least one",
        ),
        ("mamba-partial", {"a_log": False, "d": False}, "select at least one"),
        ("affix", {"num_tokens": 0}, "num_tokens must be an integer >= 1"),
        ("additional-scan", {"num_states": "4"}, "num_states must be an integer >= 1"),
        ("parallel-adapter", {"activation": "swish"}, "activation must be one of"),
    ],
)
def test_bad_configs(name, fields, match):
    from ttune.methods import MethodConfigError, make_config

    with pytest.raises(MethodConfigError, match=match):
        make_config(name, **fields)


def test_mamba_methods_refuse_other_backbones(make_backbone, mamba, tok):
    from ttune.methods import MethodConfigError, apply_method, make_config

    with pytest.raises(MethodConfigError, match="affix: needs a mamba or mamba2 backbone, not t5"):
        apply_method(make_backbone(), make_config("affix"), tok)
    with pytest.raises(MethodConfigError, match="additional-scan: needs a mamba backbone"):
        apply_method(mamba("mamba2"), make_config("additional-scan"), tok)
    with pytest.raises(MethodConfigError, match="no x_proj; set x_proj=false"):
        apply_method(mamba("mamba2"), make_config("mamba-lora"), tok)


def test_search_space_of_each_mamba_method():
    from ttune.methods import make_config
    from ttune.methods.mamba_common import MAMBA_METHODS

    sizes = {name: dict(make_config(name).search_space) for name in MAMBA_METHODS}
    assert {name: list(space) for name, space in sizes.items()} == {
        "mamba-lora": ["r"],
        "mamba-partial": [],
        "prompt": ["num_virtual_tokens"],
        "affix": ["num_tokens"],
        "additional-scan": ["num_states"],
        "parallel-adapter": ["bottleneck"],
    }
    for name, space in sizes.items():
        cfg = make_config(name)
        for field, (low, high) in space.items():
            assert isinstance(getattr(cfg, field), int) and 1 <= low <= getattr(cfg, field) <= high


def test_the_mamba_methods_compose_in_one_hybrid(mamba, batch, tok):
    """All six MambaPEFT methods on one backbone: the hybrid trains the sum of their parameters,
    each part gets gradients, and it generates (the candidates of `ttune search` on Mamba)."""
    from ttune.methods import apply_method, make_config
    from ttune.methods.mamba_common import MAMBA_METHODS

    alone = {m: apply_method(mamba(), make_config(m), tok).num_trainable() for m in MAMBA_METHODS}
    hybrid = apply_method(mamba(), make_config("hybrid", parts=list(MAMBA_METHODS)), tok)
    assert hybrid.num_trainable() == sum(alone.values())
    _perturb(hybrid)
    _run(hybrid, batch).loss.backward()
    for group in hybrid.parameter_groups():
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in group["params"]), group
    hybrid.eval()
    gen = hybrid.generate(batch["input_ids"], batch["attention_mask"], max_new_tokens=4)
    assert gen.shape[0] == batch["input_ids"].shape[0]
