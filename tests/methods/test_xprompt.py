"""xprompt: the three stages, importance scores, masks, rewinding, and a resumable run."""

from __future__ import annotations

import shutil

import pytest
import torch
from safetensors.torch import load_file

SMALL = dict(
    num_virtual_tokens=4,
    pieces=4,
    stage_a_steps=2,
    round_steps=2,
    token_rounds=1,
    piece_rounds=1,
    token_prune_ratio=0.5,
    piece_prune_ratio=0.5,
)


def _model(make_backbone, tok, **kw):
    from ttune.methods import apply_method, make_config

    return apply_method(make_backbone(), make_config("xprompt", **{**SMALL, **kw}), tok)


def _loss(adapted, batch):
    return adapted(batch["input_ids"], batch["attention_mask"], labels=batch["labels"]).loss


def test_stages_masks_and_rewinding(make_backbone, batch, tok):
    adapted = _model(make_backbone, tok)
    adapted.train()
    w = adapted.prompt.weight
    opt = torch.optim.AdamW([w], lr=1e-2, weight_decay=0.1)
    history = {}
    for step in range(1, 9):
        opt.zero_grad()
        _loss(adapted, batch).backward()
        if int(adapted.stage) >= 1 and adapted.token_mask.min() == 0:
            pruned = adapted.full_mask() == 0
            assert (w.grad[pruned] == 0).all()  # pruned entries: zero gradient
        opt.step()
        adapted.after_optimizer_step(step, opt)
        history[step] = (adapted.stage_name, w.detach().clone(), adapted.full_mask().clone())
        if step == 2:
            assert adapted.stage_name == "pruning" and torch.equal(adapted.snapshot, w.detach())
            snapshot = w.detach().clone()
    assert [history[s][0] for s in range(1, 9)] == (
        ["prompt-tuning"] + ["pruning"] * 4 + ["rewinding"] * 3
    )
    assert adapted.token_mask.tolist().count(0.0) == 2  # token round: 4 -> 2 tokens
    assert int(adapted.piece_mask.sum()) == 4  # piece round: 8 -> 4 pieces
    assert adapted.num_trainable() == 4 * (64 // 4)  # surviving pieces x d/k
    for _, _, mask in history.values():  # masks are binary
        assert set(mask.unique().tolist()) <= {0.0, 1.0}
    # (c) starts from the stage-(a) values of the survivors, masks fixed from then on
    _, w6, mask6 = history[6]
    assert torch.equal(w6, snapshot * mask6)
    for s in (7, 8):
        assert torch.equal(history[s][2], mask6)
        assert (history[s][1][mask6 == 0] == 0).all()  # pruned entries stay zero
    assert not torch.equal(history[8][1], w6)  # survivors keep training


def test_importance_is_mean_absolute_mask_gradient(make_backbone, batch, tok):
    adapted = _model(make_backbone, tok)
    adapted.stage.fill_(1)
    adapted.train()
    _loss(adapted, batch).backward()
    _loss(adapted, batch).backward()
    # the same gradient by hand: explicit mask variables on the prompt
    gamma = torch.ones(4, requires_grad=True)
    zeta = torch.ones(4, 4, requires_grad=True)
    embeds = adapted.embed(batch["input_ids"])
    prompt = adapted.prompt.weight * gamma[:, None] * zeta.repeat_interleave(16, 1)
    x = torch.cat([prompt.unsqueeze(0).expand(2, -1, -1), embeds], 1)
    mask = torch.cat([torch.ones(2, 4, dtype=torch.long), batch["attention_mask"]], 1)
    adapted.backbone(inputs_embeds=x, attention_mask=mask, labels=batch["labels"]).loss.backward()
    assert int(adapted.batches) == 2
    torch.testing.assert_close(adapted.token_importance / 2, gamma.grad.abs())
    torch.testing.assert_close(adapted.piece_importance / 2, zeta.grad.abs())


def test_lowest_importance_tokens_are_pruned(make_backbone, tok):
    adapted = _model(make_backbone, tok)
    adapted.stage.fill_(1)
    adapted.token_importance.copy_(torch.tensor([3.0, 0.5, 2.0, 0.1]))
    adapted.after_optimizer_step(4)
    assert adapted.token_mask.tolist() == [1.0, 0.0, 1.0, 0.0]
    assert (adapted.prompt.weight[[1, 3]] == 0).all() and (adapted.prompt.weight[[0, 2]] != 0).any()
    assert int(adapted.round) == 1 and float(adapted.token_importance.sum()) == 0.0


def test_state_survives_save_and_load(make_backbone, batch, tok, tmp_path):
    from ttune.methods import load_method, save_method

    adapted = _model(make_backbone, tok)
    adapted.stage.fill_(2)
    adapted.token_mask[1] = 0
    adapted.piece_mask[1] = 0
    save_method(adapted, tmp_path / "x")
    loaded = load_method(tmp_path / "x", make_backbone(), tok)
    assert loaded.stage_name == "rewinding" and torch.equal(loaded.token_mask, adapted.token_mask)
    assert loaded.num_trainable() == 3 * 4 * 16


def test_count_and_validation(make_backbone, tok):
    from ttune.methods import MethodConfigError, make_config

    assert _model(make_backbone, tok).num_trainable() == 4 * 64
    with pytest.raises(MethodConfigError, match="pieces 5 does not divide d_model 64"):
        _model(make_backbone, tok, pieces=5)
    with pytest.raises(MethodConfigError, match=r"token_prune_ratio must be in \[0, 1\)"):
        make_config("xprompt", token_prune_ratio=1.0)


def test_one_resumable_run_through_the_three_stages(tmp_path, run_files):
    """A run stopped in stage (b) and resumed ends with the same weights as one never stopped."""
    from ttune.train.config import TrainConfig
    from ttune.train.engine import train

    opts = dict(SMALL, round_steps=1)

    def run(out):
        cfg = TrainConfig(
            model=str(run_files["model"]),
            train_file=str(run_files["train"]),
            output_dir=str(out),
            method="xprompt",
            method_options=opts,
            batch_size=2,
            max_steps=6,
            save_every=1,
            keep_checkpoints=10,
            lr=1e-2,
            cache_dir=str(tmp_path / "cache"),
            progress=False,
            seed=3,
        )
        return train(cfg)

    whole = run(tmp_path / "a")
    stages = [
        int(load_file(whole / f"checkpoints/step-{s}/method.safetensors")["xprompt_state.stage"])
        for s in range(1, 7)
    ]
    assert stages == [0, 1, 1, 2, 2, 2]
    out = run(tmp_path / "b")
    for s in (4, 5, 6):
        shutil.rmtree(out / f"checkpoints/step-{s}")
    resumed = run(out)
    a, b = load_file(whole / "method.safetensors"), load_file(resumed / "method.safetensors")
    assert sorted(a) == sorted(b) and all(torch.equal(a[k], b[k]) for k in a)
    assert int(b["xprompt_state.stage"]) == 2 and int(b["xprompt_state.piece_mask"].sum()) == 4
