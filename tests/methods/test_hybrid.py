"""hybrid: parameters are the sum of the parts, only theirs get gradients, the input pipeline
keeps fusion before prompts, save/load round trip, lr multipliers, refusals."""

from __future__ import annotations

import pytest
import torch

T5_CANDIDATES = ["lora", "prefix", "prompt", "adapter", "transducer"]
COMBOS = [
    ["lora", "prompt"],
    ["prefix", "prompt"],
    ["lora", "prefix"],
    ["adapter", "transducer"],
    T5_CANDIDATES,
]


def _hybrid(make_backbone, tok, parts, **kw):
    from ttune.methods import apply_method, make_config

    return apply_method(make_backbone(), make_config("hybrid", parts=parts, **kw), tok)


def _perturb(adapted, scale: float = 0.1) -> None:
    """Noise on every trainable tensor: the zero-initialised ones (LoRA's B, adapters' up, the
    transducer's output) stop being zero, so every part changes the output and gets gradients."""
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for _, p in adapted.trainable_parameters():
            p.add_(torch.randn(p.shape, generator=g) * scale)


def _run(adapted, batch):
    return adapted(
        batch["input_ids"],
        batch["attention_mask"],
        labels=batch["labels"],
        graph=batch["graph"],
        token_spans=batch["token_spans"],
    )


@pytest.mark.parametrize("parts", COMBOS, ids="+".join)
def test_trainable_parameters_are_the_sum_of_the_parts(parts, make_backbone, tok):
    from ttune.methods import apply_method, make_config

    alone = {p: apply_method(make_backbone(), make_config(p), tok).num_trainable() for p in parts}
    hybrid = _hybrid(make_backbone, tok, parts)
    assert hybrid.num_trainable() == sum(alone.values())
    groups = {g["name"]: sum(p.numel() for p in g["params"]) for g in hybrid.parameter_groups()}
    assert groups == alone


@pytest.mark.parametrize("parts", [["lora", "prompt"], T5_CANDIDATES], ids="+".join)
def test_only_the_parts_parameters_get_gradients(parts, make_backbone, tok, batch):
    hybrid = _hybrid(make_backbone, tok, parts)
    _perturb(hybrid)
    hybrid.train()
    _run(hybrid, batch).loss.backward()
    owned = {id(p) for g in hybrid.parameter_groups() for p in g["params"]}
    for name, p in hybrid.named_parameters():
        if id(p) in owned:
            assert p.requires_grad and p.grad is not None, name
            assert p.grad.abs().sum() > 0, name
        else:
            assert not p.requires_grad and p.grad is None, name
    # the backbone's own weights stay frozen
    assert all(p.grad is None for p in hybrid.backbone.get_input_embeddings().parameters())


def test_save_then_load_gives_identical_logits(make_backbone, tok, batch, tmp_path):
    from ttune.methods import load_method, save_method

    hybrid = _hybrid(make_backbone, tok, T5_CANDIDATES, lr_scale={"lora": 2.0})
    _perturb(hybrid)
    hybrid.eval()
    with torch.no_grad():
        before = _run(hybrid, batch).logits
    save_method(hybrid, tmp_path / "h")
    loaded = load_method(tmp_path / "h", make_backbone(), tok).eval()
    assert loaded.config.to_dict() == hybrid.config.to_dict()
    with torch.no_grad():
        after = _run(loaded, batch).logits
    assert torch.equal(before, after)
    fresh = _hybrid(make_backbone, tok, T5_CANDIDATES).eval()
    with torch.no_grad():
        assert not torch.equal(_run(fresh, batch).logits, after)  # the weights were loaded


def test_transducer_fuses_the_source_before_the_prompt_is_prepended(make_backbone, tok, batch):
    hybrid = _hybrid(make_backbone, tok, ["prompt", "transducer"])  # prompt named first
    assert hybrid.pipeline == ["transducer", "prompt"]
    _perturb(hybrid)
    ids, mask = batch["input_ids"], batch["attention_mask"]
    with torch.no_grad():
        out = hybrid.prepare_inputs(ids, mask, batch["graph"], batch["token_spans"])
        prompt = hybrid.parts["prompt"].prompt.weight
        fused = hybrid.parts["transducer"].transducer(
            hybrid.backbone.get_input_embeddings()(ids), mask, batch["graph"], batch["token_spans"]
        )
    P = prompt.shape[0]
    assert out["inputs_embeds"].shape[1] == P + ids.shape[1]
    assert torch.equal(out["inputs_embeds"][:, :P], prompt.expand(ids.shape[0], -1, -1))
    assert torch.equal(out["inputs_embeds"][:, P:], fused)
    assert torch.equal(out["attention_mask"][:, P:], mask) and out["attention_mask"][:, :P].all()


def test_prefix_and_prompt_together_prepend_both_and_generate(make_backbone, tok, batch):
    from ttune.methods import apply_method, make_config

    hybrid = _hybrid(make_backbone, tok, ["prefix", "prompt"]).eval()
    prefix = make_config("prefix")
    prompt = make_config("prompt")
    ids, mask = batch["input_ids"], batch["attention_mask"]
    out = hybrid.prepare_inputs(ids, mask)
    assert out["inputs_embeds"].shape[1] == (
        ids.shape[1] + prefix.num_virtual_tokens + prompt.num_virtual_tokens
    )
    assert hybrid.owner == "prefix"
    gen = hybrid.generate(ids, mask, max_new_tokens=4)
    assert gen.shape[0] == ids.shape[0] and 1 < gen.shape[1] <= 5
    # the identity-at-init parts (adapters, lora) leave the prompt method's output unchanged
    alone = apply_method(make_backbone(), prompt, tok).eval()
    with_idle = _hybrid(make_backbone, tok, ["prompt", "lora", "adapter"]).eval()
    with torch.no_grad():
        a = alone(ids, mask, labels=batch["labels"]).logits
        b = with_idle(ids, mask, labels=batch["labels"]).logits
    assert torch.allclose(a, b, atol=1e-6)


def test_lr_multipliers_land_in_optimizer_groups(run_files, tmp_path):
    from ttune.train.config import TrainConfig
    from ttune.train.engine import Trainer

    cfg = TrainConfig(
        model=str(run_files["model"]),
        train_file=str(run_files["train"]),
        output_dir=str(tmp_path / "run"),
        method="hybrid",
        method_options={"parts": ["lora", "prompt"], "lr_scale": {"lora": 3.0}},
        lr=1e-3,
        schedule="constant",
        max_steps=1,
        batch_size=3,
        progress=False,
    )
    trainer = Trainer(cfg)
    trainer.run()
    groups = {g["name"]: g for g in trainer.optimizer.param_groups}
    assert set(groups) == {"lora", "prompt"}
    assert groups["lora"]["lr"] == pytest.approx(3e-3) and groups["prompt"]["lr"] == 1e-3
    own = {g["name"]: {id(p) for p in g["params"]} for g in trainer.adapted.parameter_groups()}
    assert {n: {id(p) for p in g["params"]} for n, g in groups.items()} == own


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"parts": []}, "hybrid: parts must name at least one method"),
        ({"parts": ["lora", "nope"]}, "hybrid: unknown method 'nope'; known: "),
        ({"parts": ["lora", "lora"]}, "hybrid: method lora is named twice in parts"),
        ({"parts": ["lora", "hybrid"]}, "hybrid: a hybrid cannot contain another hybrid"),
        ({"parts": ["lora"], "lr_scale": {"prompt": 2}}, "hybrid: lr_scale names prompt"),
        ({"parts": ["lora"], "lr_scale": {"lora": 0}}, "hybrid: lr_scale of lora must be > 0"),
        ({"parts": [{"method": "lora", "r": 0}]}, "hybrid: lora: r must be an integer >= 1"),
    ],
)
def test_bad_configs_fail_with_one_line(options, message):
    from ttune.methods import MethodConfigError, make_config

    with pytest.raises(MethodConfigError) as e:
        make_config("hybrid", **options)
    assert str(e.value).startswith(message) and "\n" not in str(e.value)


def test_compositions_that_cannot_work_are_refused(make_backbone, tok):
    from ttune.methods import MethodConfigError

    with pytest.raises(MethodConfigError, match="^hybrid: prompt-adapter: this backbone already"):
        _hybrid(make_backbone, tok, ["adapter", "prompt-adapter"])
    with pytest.raises(MethodConfigError, match="featurize the code graph differently"):
        _hybrid(
            make_backbone,
            tok,
            [{"method": "transducer", "max_graph_nodes": 5}, {"method": "cpg-prompt"}],
        )


def test_codet5p_220m_shape_counts_the_sum_of_the_five_t5_candidates():
    """On the meta device (shapes only): the published parts' counts, added."""
    from transformers import T5ForConditionalGeneration

    from ttune.backbone import freeze, t5_config
    from ttune.methods import apply_method, make_config

    with torch.device("meta"):
        backbone = freeze(T5ForConditionalGeneration(t5_config("codet5p-220m")))
    hybrid = apply_method(backbone, make_config("hybrid", parts=T5_CANDIDATES))
    lora = 36 * 2 * 8 * (768 + 768)
    prefix = 10 * 24 * 768 + 10 * 768
    prompt = 25 * 768
    adapter = 60 * (2 * 768 * 64 + 64 + 768)
    transducer = 23_306  # tests/methods/test_param_counts.py
    assert hybrid.num_trainable() == lora + prefix + prompt + adapter + transducer
