"""The pretraining loop on a tiny T5: the loss falls, a killed run resumes to the same weights, the
output is a backbone that load_backbone reads, the model card tells what went in."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from ttune.backbone import load_backbone
from ttune.pretrain.config import SUPERVISED, PretrainConfig, PretrainError
from ttune.pretrain.loop import (
    StepBatches,
    init_model,
    lr_at,
    prepare_data,
    prepare_pairs,
    pretrain,
)
from ttune.pretrain.objectives import OBJECTIVES, objective_of

from .conftest import copy_prepared, make_fake_data_dir, tiny_config

DATA: dict[str, str] = {}  # the fake data sets folder, made once by the ``prepared`` fixture


def tiny(out, **kw) -> PretrainConfig:
    return tiny_config(
        out, DATA["dir"], **{"max_steps": 10, "checkpoint_every": 4, "distinct_sample": 6, **kw}
    )


@pytest.fixture(scope="session")
def prepared(tmp_path_factory):
    """Corpus, tokenizer, token ids and supervised pairs made once; each test copies them."""
    DATA["dir"] = str(make_fake_data_dir(tmp_path_factory.mktemp("data") / "datasets"))
    d = tmp_path_factory.mktemp("prepared")
    tok, _, _ = prepare_data(tiny(d), d)
    prepare_pairs(tiny(d), d, tok)
    return d


def run_dir(prepared, path):
    return copy_prepared(prepared, path)


def log_lines(out):
    return [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]


def test_loss_falls_on_the_held_out_batch(prepared, tmp_path):
    out = run_dir(prepared, tmp_path / "run")
    pretrain(tiny(out, d_model=64, d_ff=128, max_steps=24, checkpoint_every=12, lr=5e-3))
    log = log_lines(out)
    evals = [e for e in log if "heldout_loss" in e]
    assert [e["step"] for e in evals] == [0, 12, 24]
    start, end = evals[0]["heldout_loss"], evals[-1]["heldout_loss"]
    print("held-out loss", start, "->", end)
    assert end < 0.85 * start, (start, end)  # span steps are 30 % of the default mix
    steps = [e for e in log if "loss" in e]
    assert [e["step"] for e in steps] == list(range(1, 25))
    assert all(e["tokens_per_s"] > 0 for e in steps)
    # Each step is logged with the loss of the objective objective_of gives it (log_every=1).
    picked = [objective_of(s, 3, tiny(out).shares()) for s in range(24)]
    assert [[k for k in e if k.startswith("loss_")] for e in steps] == [
        [f"loss_{o}"] for o in picked
    ]
    assert set(picked) == set(OBJECTIVES)  # with this seed every objective runs in 24 steps
    # Window steps read 4 x 64 corpus tokens; task steps the input tokens of 4 pairs (at most 64
    # each).
    gained = [
        b["tokens_seen"] - a["tokens_seen"] for a, b in zip([{"tokens_seen": 0}] + steps, steps)
    ]
    assert all(0 < g <= 4 * 64 and (g == 4 * 64 or o in SUPERVISED) for g, o in zip(gained, picked))
    assert any(g < 4 * 64 for g in gained)
    # Held-out losses per task fall; the distinct-summary share is logged at every evaluation.
    for name in SUPERVISED:
        assert evals[-1][f"heldout_{name}_loss"] < evals[0][f"heldout_{name}_loss"], name
    assert all(0 < e["summarize_distinct"] <= 1 for e in evals)
    # Held out per task: min(eval_windows 8, a quarter) of its data-set records (TL-CodeSum 11 ->
    # 2 functions, CodeXGLUE 12 -> 3 records in both directions, ATLAS 12 -> 3).
    assert log[0]["heldout_pairs"] == {"summarize": 2, "generate": 2, "translate": 6, "assert": 3}


@pytest.mark.parametrize("precision", ["auto", "fp32"])
def test_resume_after_a_kill_gives_the_same_weights(prepared, tmp_path, monkeypatch, precision):
    a = run_dir(prepared, tmp_path / "a")
    pretrain(tiny(a, precision=precision))
    b = run_dir(prepared, tmp_path / "b")
    original = StepBatches.get
    # Steps 0-9 of this seed train several objectives, supervised ones included.
    assert {"span", "summarize", "translate"} <= {
        objective_of(s, 3, tiny(a).shares()) for s in range(10)
    }

    def dying(self, step):
        if step == 6:
            raise KeyboardInterrupt  # killed during step 7, after the step-4 checkpoint
        return original(self, step)

    monkeypatch.setattr(StepBatches, "get", dying)
    with pytest.raises(KeyboardInterrupt):
        pretrain(tiny(b, precision=precision))
    assert sorted(p.name for p in (b / "checkpoints").iterdir()) == ["step-4"]
    assert not (b / "backbone").exists()
    monkeypatch.setattr(StepBatches, "get", original)
    # Budgets may change between invocations.
    pretrain(tiny(b, precision=precision, max_minutes=30.0))
    log = log_lines(b)
    assert {"event": "resume", "step": 4, "checkpoint": "step-4"} in log
    assert [e["step"] for e in log if "loss" in e] == list(range(1, 11))  # step 5, 6 redone once
    wa = load_file(str(a / "backbone" / "model.safetensors"))
    wb = load_file(str(b / "backbone" / "model.safetensors"))
    assert wa.keys() == wb.keys()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    # Running the finished command again trains nothing more and keeps the weights.
    pretrain(tiny(b, precision=precision))
    assert [e["step"] for e in log_lines(b) if "loss" in e] == list(range(1, 11))
    wc = load_file(str(b / "backbone" / "model.safetensors"))
    assert all(torch.equal(wa[k], wc[k]) for k in wa)


def test_other_options_refuse_to_mix_into_a_run(prepared, tmp_path):
    out = run_dir(prepared, tmp_path / "run")
    pretrain(tiny(out, max_steps=4))
    with pytest.raises(PretrainError, match="other lr"):
        pretrain(tiny(out, max_steps=4, lr=1e-3))


def test_output_is_a_loadable_backbone_with_a_model_card(prepared, tmp_path):
    out = run_dir(prepared, tmp_path / "run")
    path = pretrain(tiny(out, max_steps=3, save_dtype="float16"))
    assert path == out / "backbone"
    assert not list(path.glob("*.bin")) and (path / "model.safetensors").is_file()
    model, tok = load_backbone(str(path))
    assert model.config.d_model == 32 and model.config.num_layers == 2
    assert model.get_input_embeddings().weight.shape[0] == len(tok) == 600
    assert not any(p.requires_grad for p in model.parameters())
    ids = tok.convert_tokens_to_ids(["<extra_id_0>", "<extra_id_99>"])
    assert tok.unk_token_id not in ids
    enc = tok(["def f(x):\n    return x <extra_id_0>"], return_tensors="pt")
    gen = model.float().generate(**enc, max_new_tokens=5, do_sample=False)
    assert gen.shape[0] == 1 and gen.shape[1] <= 6
    card = (path / "model_card.md").read_text()
    info = json.loads((out / "corpus.json").read_text())
    assert (
        f"| python-stdlib | {info['sources']['python-stdlib']['documents']:,} | "
        f"{info['sources']['python-stdlib']['bytes']:,} |" in card
    )
    assert "600 tokens" in card and "steps: 3 of 3" in card and "final training loss" in card
    assert json.loads((path / "pretrain_config.json").read_text())["seed"] == 3
    assert info["documents"]["python-stdlib"][0].endswith(".py")
    # The card names the site-packages licences kept with the corpus when it was read (the card
    # may be written on another machine), not the running interpreter's.
    from ttune.pretrain.loop import model_card

    cfg = tiny(out, max_steps=3, sources=("python-stdlib", "site-packages"))
    site = {"documents": 1, "chunks": 1, "bytes": 9, "available_bytes": 9, "note": "here"}
    info = {**info, "sources": {**info["sources"], "site-packages": site}}
    kept = {**info, "site_package_licences": {"somepkg": "MIT"}}
    state = {"step": 3, "tokens_seen": 10, "train_seconds": 1.0, "last_loss": 5.0}
    assert "licences: somepkg (MIT)." in model_card(cfg, kept, state, 1, 600)
    assert "torch (" in model_card(cfg, info, state, 1, 600)  # a corpus.json of before


def test_init_from_a_backbone_starts_from_its_weights_and_tokenizer(prepared, tmp_path):
    a = run_dir(prepared, tmp_path / "a")
    src = pretrain(tiny(a, max_steps=3, checkpoint_every=3))
    last = [e for e in log_lines(a) if e.get("event") == "eval"][-1]
    b = tmp_path / "b"  # an empty run folder: corpus re-tokenized with the backbone's tokenizer
    cfg = tiny(b, max_steps=2, init_from=str(src), d_model=None, d_ff=None, shape="ttune-tiny")
    out = pretrain(cfg)
    assert (b / "tokenizer" / "tokenizer.json").read_text() == (src / "tokenizer.json").read_text()
    start = log_lines(b)[0]
    assert start["event"] == "start" and start["init_from"] == str(src)
    # Same weights, same tokens, same held-out windows: the losses the first run ended with.
    for k in ("heldout_loss", "heldout_summarize_loss", "heldout_translate_loss"):
        assert start[k] == pytest.approx(last[k], rel=1e-5), k
    m = init_model(cfg, load_backbone(str(src))[1])
    wa = load_file(str(src / "model.safetensors"))
    assert all(torch.equal(m.state_dict()[k], wa[k]) for k in wa)
    model, _ = load_backbone(str(out))  # the shape options were ignored: the backbone's sizes
    assert model.config.d_model == 32 and model.config.d_ff == 64
    assert f"continued from the backbone `{src}`" in (out / "model_card.md").read_text()


def test_schedule():
    c = PretrainConfig(output_dir="x", lr=1.0, warmup_steps=10, max_steps=110, min_lr_ratio=0.1)
    assert lr_at(c, 0) == pytest.approx(0.1) and lr_at(c, 9) == pytest.approx(1.0)
    assert lr_at(c, 10) == pytest.approx(1.0) and lr_at(c, 60) == pytest.approx(0.55)
    assert lr_at(c, 110) == pytest.approx(0.1)
    lin = PretrainConfig(output_dir="x", lr=1.0, warmup_steps=0, max_steps=100, schedule="linear")
    assert lr_at(lin, 50) == pytest.approx(0.5)


def test_cli_bad_option_is_one_line(tmp_path):
    from typer.testing import CliRunner

    from ttune.cli.main import app

    res = CliRunner().invoke(
        app, ["pretrain", "--output", str(tmp_path / "o"), "--schedule", "steps"]
    )
    assert res.exit_code == 2  # refused while the options are parsed: a Literal field is a choice
    assert res.output.strip().splitlines() == [
        "error: Invalid value for '--schedule': "
        "'steps' is not one of 'cosine', 'linear', 'constant'."
    ]


def test_a_non_finite_step_is_skipped_and_many_in_a_row_stop_the_run(
    prepared, tmp_path, monkeypatch
):
    """A step whose gradient (step 3) or loss (step 5) is not finite leaves the weights as they
    were and is logged; MAX_SKIPPED_IN_A_ROW such steps in a row stop the run with one line."""
    from ttune.pretrain import loop

    original = loop.Pretrainer._forward
    calls = {"n": 0, "updates": 0}

    def flaky(model, x, mask, y, device, precision):
        loss, value = original(model, x, mask, y, device, precision)
        calls["n"] += 1
        if calls["n"] == 3:
            return loss * float("nan"), value  # finite loss, NaN gradient
        if calls["n"] == 5:
            return loss, float("nan")
        return loss, value

    step = torch.optim.AdamW.step

    def counted(self, *a, **kw):
        calls["updates"] += 1
        return step(self, *a, **kw)

    monkeypatch.setattr(loop.Pretrainer, "_forward", staticmethod(flaky))
    monkeypatch.setattr(torch.optim.AdamW, "step", counted)
    out = run_dir(prepared, tmp_path / "run")
    pretrain(tiny(out))
    skipped = [e for e in log_lines(out) if e.get("event") == "skipped step"]
    assert [e["step"] for e in skipped] == [3, 5]
    assert skipped[0]["grad_norm"] != skipped[0]["grad_norm"]  # NaN
    assert skipped[1]["grad_norm"] is None
    assert calls["updates"] == 10 - 2
    assert (
        "2 steps skipped for a non-finite loss or gradient"
        in (out / "backbone" / "model_card.md").read_text()
    )
    weights = load_file(str(out / "backbone" / "model.safetensors"))
    assert all(torch.isfinite(w.float()).all() for w in weights.values())

    monkeypatch.setattr(loop.Pretrainer, "_forward", staticmethod(lambda *a: (None, float("inf"))))
    out = run_dir(prepared, tmp_path / "diverged")
    n = loop.MAX_SKIPPED_IN_A_ROW
    with pytest.raises(PretrainError, match=f"^{n} steps in a row up to step {n} had a non-finite"):
        pretrain(tiny(out, max_steps=n + 2))
    assert len([e for e in log_lines(out) if e.get("event") == "skipped step"]) == n


def test_attention_kernel_option(prepared, tmp_path):
    out = run_dir(prepared, tmp_path / "run")
    tok, _, _ = prepare_data(tiny(out), out)
    assert init_model(tiny(out), tok).config._attn_implementation == "sdpa"
    assert init_model(tiny(out, attention="eager"), tok).config._attn_implementation == "eager"
    with pytest.raises(PretrainError, match="attention must be one of sdpa, eager"):
        tiny(out, attention="flash")
