"""cpg-prompt: the prompt is generated from the CPG, and its generator/fusion really train."""

from __future__ import annotations

import pytest
import torch

from methods.conftest import SOURCES, graphs


def _model(make_backbone, tok, **kw):
    from ttune.methods import apply_method, make_config

    return apply_method(
        make_backbone(), make_config("cpg-prompt", num_virtual_tokens=3, hidden=8, **kw), tok
    )


@pytest.mark.parametrize("fuse", [False, True])
def test_changing_the_graph_changes_the_prompt(fuse, make_backbone, batch, tok):
    adapted = _model(make_backbone, tok, fuse=fuse)
    adapted.eval()
    kw = {"token_spans": batch["token_spans"]}
    base = adapted.prepare_inputs(batch["input_ids"], batch["attention_mask"], batch["graph"], **kw)
    other_graph = graphs(tok, [SOURCES[2], SOURCES[1]])
    other = adapted.prepare_inputs(batch["input_ids"], batch["attention_mask"], other_graph, **kw)
    assert base["inputs_embeds"].shape[1] == 3 + batch["input_ids"].shape[1]
    assert not torch.allclose(base["inputs_embeds"][0, :3], other["inputs_embeds"][0, :3])
    assert torch.equal(base["inputs_embeds"][1], other["inputs_embeds"][1])
    tokens_same = torch.equal(base["inputs_embeds"][0, 3:], other["inputs_embeds"][0, 3:])
    assert tokens_same == (not fuse)  # the fusion MLP makes the token embeddings graph-dependent
    assert torch.equal(base["attention_mask"][:, :3], torch.ones(2, 3, dtype=torch.long))


def test_prompt_matches_generator_formula(make_backbone, batch, tok):
    adapted = _model(make_backbone, tok)
    g = adapted.pooled(batch["graph"])
    lin1, lin2 = adapted.generator[0], adapted.generator[2]
    expected = torch.tanh(lin2(torch.tanh(lin1(g)))).view(2, 3, 64)
    torch.testing.assert_close(adapted.prompt(g), expected)
    assert g.shape == (2, 128)


def test_count_on_tiny_backbone(make_backbone, tok):
    adapted = _model(make_backbone, tok, fuse=True)
    d, g, h, m, b = 64, 128, 8, 3, 8
    gve = d + d * b + (b * b * 2 + b) + b * g  # RMSNorm, down, GATv2 (lin_l, lin_r, att), up
    expected = gve + (g * h + h + h * m * d + m * d) + ((d + g) * h + h + h * d + d)
    assert adapted.num_trainable() == expected


def test_generator_and_fusion_are_in_the_trainers_optimizer_and_get_gradients(tmp_path, run_files):
    """The released CPTPP code never gives these parameters to its optimizer; ttune's must."""
    from ttune.train.config import TrainConfig
    from ttune.train.engine import Trainer

    cfg = TrainConfig(
        model=str(run_files["model"]),
        train_file=str(run_files["train"]),
        output_dir=str(tmp_path / "run"),
        method="cpg-prompt",
        method_options={"fuse": True, "hidden": 8},
        batch_size=3,
        max_steps=1,
        cache_dir=str(tmp_path / "cache"),
        progress=False,
    )
    trainer = Trainer(cfg)
    trainer._setup()
    in_optimizer = {id(p) for group in trainer.optimizer.param_groups for p in group["params"]}
    named = dict(trainer.adapted.trainable_parameters())
    for prefix in ("generator.", "fusion."):
        mine = [n for n in named if n.startswith(prefix)]
        assert len(mine) == 4 and all(id(named[n]) in in_optimizer for n in mine)
    batch = trainer.collate(trainer.train_examples)
    before = {n: p.detach().clone() for n, p in named.items()}
    trainer.model(**batch).loss.backward()
    for n, p in named.items():
        assert p.grad is not None and p.grad.abs().sum() > 0, n
    trainer.optimizer.step()
    assert all(not torch.equal(named[n], before[n]) for n in named if n.startswith(("gen", "fus")))


def test_needs_graph_and_validates(make_backbone, batch, tok):
    from ttune.methods import MethodConfigError, MethodError, make_config

    adapted = _model(make_backbone, tok)
    with pytest.raises(MethodError, match="needs the code graph"):
        adapted(batch["input_ids"], batch["attention_mask"], labels=batch["labels"])
    with pytest.raises(MethodConfigError, match="hidden must be"):
        make_config("cpg-prompt", hidden=0)
    with pytest.raises(MethodConfigError, match="unknown gnn"):
        make_config("cpg-prompt", gnn="gin")
