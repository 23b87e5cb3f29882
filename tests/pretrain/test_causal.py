"""``ttune pretrain --arch mamba / llama``: next-token prediction and the supervised pairs in the
causal prompt layout on a tiny Mamba and a tiny Llama; the result trains on with ``ttune train``;
a killed run resumes to the same losses and weights; T5-only options are refused."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from compare.conftest import tiny_records
from helpers import one_torch_thread, write_splits  # noqa: F401
from safetensors.torch import load_file
from typer.testing import CliRunner

from ttune.backbone import build_tokenizer, load_backbone
from ttune.cli.main import app
from ttune.pretrain.config import SUPERVISED, PretrainConfig, PretrainError
from ttune.pretrain.loop import StepBatches, prepare_data, pretrain
from ttune.pretrain.objectives import (
    CAUSAL_OBJECTIVES,
    GENERATE_INSTRUCTION,
    objective_of,
    pack_pairs,
    task_pairs,
)
from ttune.tasks import get_task
from ttune.train.data import encode_records

from .conftest import copy_prepared, make_fake_data_dir, tiny_config

runner = CliRunner()
DATA: dict[str, str] = {}


def tiny(out, arch: str, **kw) -> PretrainConfig:
    return tiny_config(
        out,
        DATA["dir"],
        arch,
        **{"max_steps": 4, "checkpoint_every": 2, "distinct_sample": 4, **kw},
    )


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """Corpus, tokenizer and token ids made once (the causal archs share them with T5)."""
    DATA["dir"] = str(make_fake_data_dir(tmp_path_factory.mktemp("data") / "datasets"))
    d = tmp_path_factory.mktemp("prepared")
    prepare_data(tiny(d, "mamba"), d)
    return d


def run_dir(prepared, path):
    return copy_prepared(prepared, path)


def log_lines(out):
    return [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]


def test_pair_labels_cover_only_the_target_in_the_train_layout():
    """A causal pair is the prompt ttune.train.data encodes (causal=True) then the target and
    </s>; only the target positions carry labels."""
    recs = tiny_records()[:3]
    tok = build_tokenizer([r["source"] for r in recs] + [r["target"] for r in recs], 400)
    task = get_task("summarize").with_options(tagged=True)
    texts = task_pairs({"summarize": recs}, seed=0, causal=True)
    pairs = pack_pairs(tok, texts["summarize"][0], max_source=40)
    order = [
        next(i for i, r in enumerate(recs) if task.format_input(r) == t[0])
        for t in texts["summarize"][0]
    ]
    encoded = encode_records([recs[i] for i in order], task, tok, 40, 12, True, causal=True)
    x, mask, y = pairs.causal_batch(np.arange(3), 12, tok.pad_token_id, tok.eos_token_id)
    assert x.shape == mask.shape == y.shape
    for r, ex in enumerate(encoded):
        n, m = len(ex.input_ids), len(ex.labels)
        assert x[r, :n].tolist() == ex.input_ids  # the prompt ends with the instruction, no </s>
        assert x[r, n : n + m].tolist() == ex.labels and ex.labels[-1] == tok.eos_token_id
        assert (y[r, :n] == -100).all() and y[r, n : n + m].tolist() == ex.labels
        assert (y[r, n + m :] == -100).all() and (x[r, n + m :] == tok.pad_token_id).all()
        assert mask[r].tolist() == [1] * (n + m) + [0] * (x.shape[1] - n - m)
    # docstring -> code reads the generate input, then its instruction, then the code.
    gen = texts["generate"][0][0]
    assert gen[2] == GENERATE_INSTRUCTION.format(lang="python")
    assert gen[1] in {r["source"] for r in recs}


@pytest.mark.parametrize("arch", ["mamba", "llama"])
def test_pretrain_then_train_on_with_causal_methods(prepared, tmp_path, arch, monkeypatch):
    out = run_dir(prepared, tmp_path / "run")
    path = pretrain(tiny(out, arch))
    log = log_lines(out)
    evals = [e for e in log if "heldout_loss" in e]
    assert [e["step"] for e in evals] == [0, 2, 4]
    for e in evals:
        assert all(f"heldout_{t}_loss" in e for t in SUPERVISED)
        assert e["heldout_loss"] > 0 and 0 < e["summarize_distinct"] <= 1
    picked = [objective_of(s, 3, tiny(out, arch).shares()) for s in range(4)]
    steps = [e for e in log if "loss" in e]
    assert [[k[5:] for k in e if k.startswith("loss_")] for e in steps] == [[o] for o in picked]
    assert set(picked) <= set(CAUSAL_OBJECTIVES)
    assert log[0].get("scan") == ("linear" if arch == "mamba" else None)
    card = (path / "model_card.md").read_text(encoding="utf-8").splitlines()[0]
    assert card.endswith(f"backbone (ttune-mini-{arch})")  # the shape's full name
    model, tok = load_backbone(str(path))
    assert model.config.model_type == arch and not model.config.is_encoder_decoder
    assert model.get_input_embeddings().weight.shape[0] == len(tok) == 600
    assert tok.pad_token_id == 0 and tok.eos_token_id == 1
    card = (path / "model_card.md").read_text()
    assert f"pretrained {arch.capitalize()} backbone" in card and "next-token" in card
    # The backbone trains on with the causal methods, through the CLI.
    recs = tiny_records()
    files = write_splits(tmp_path, train=recs[:8])
    monkeypatch.setenv("TTUNE_CACHE", str(tmp_path / "cache"))
    methods = [("prompt", ["num_virtual_tokens=2"]), ("transducer", [])]
    methods.append(("mamba-lora", ["r=2"]) if arch == "mamba" else ("lora", ["r=2"]))
    for method, options in methods:
        run = tmp_path / f"train-{method}"
        r = runner.invoke(
            app,
            ["train", "--train", str(files["train"]), "--output", str(run), "--model", str(path)]
            + ["--task", "summarize", "--method", method, "--max-steps", "2", "--batch-size", "4"]
            + [x for o in options for x in ("-m", o)]
            + ["--cache-dir", str(tmp_path / "cache"), "--no-progress"],
        )
        assert r.exit_code == 0, r.output
        saved = json.loads((run / "method_config.json").read_text())
        assert saved["backbone"]["model_type"] == arch


@pytest.mark.parametrize("arch, precision", [("mamba", "fp32"), ("llama", "bf16")])
def test_resume_continues_with_the_same_losses_and_weights(
    prepared, tmp_path, monkeypatch, arch, precision
):
    a = run_dir(prepared, tmp_path / "a")
    pretrain(tiny(a, arch, max_steps=5, precision=precision))
    b = run_dir(prepared, tmp_path / "b")
    original = StepBatches.get

    def dying(self, step):
        if step == 3:
            raise KeyboardInterrupt  # killed during step 4, after the step-2 checkpoint
        return original(self, step)

    monkeypatch.setattr(StepBatches, "get", dying)
    with pytest.raises(KeyboardInterrupt):
        pretrain(tiny(b, arch, max_steps=5, precision=precision))
    assert sorted(p.name for p in (b / "checkpoints").iterdir()) == ["step-2"]
    monkeypatch.setattr(StepBatches, "get", original)
    pretrain(tiny(b, arch, max_steps=5, precision=precision))
    log_a, log_b = log_lines(a), log_lines(b)
    assert {"event": "resume", "step": 2, "checkpoint": "step-2"} in log_b
    la = [(e["step"], e["loss"]) for e in log_a if "loss" in e]
    lb = [(e["step"], e["loss"]) for e in log_b if "loss" in e]
    assert [s for s, _ in lb] == [1, 2, 3, 4, 5] and lb == la  # step 3 on: same losses
    wa = load_file(str(a / "backbone" / "model.safetensors"))
    wb = load_file(str(b / "backbone" / "model.safetensors"))
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def test_init_from_a_causal_backbone(prepared, tmp_path):
    """--init-from continues a backbone of the same arch (its weights at step 0) and refuses
    another arch's in one line."""
    a = run_dir(prepared, tmp_path / "a")
    src = pretrain(tiny(a, "llama", max_steps=2))
    last = [e for e in log_lines(a) if e.get("event") == "eval"][-1]
    b = run_dir(prepared, tmp_path / "b")
    pretrain(tiny(b, "llama", max_steps=2, init_from=str(src)))
    first = log_lines(b)[0]
    assert first["init_from"] == str(src)
    assert first["heldout_loss"] == pytest.approx(last["heldout_loss"], rel=1e-6)
    assert first["heldout_summarize_loss"] == pytest.approx(
        last["heldout_summarize_loss"], rel=1e-6
    )
    with pytest.raises(PretrainError, match="it is a llama model, not mamba"):
        pretrain(tiny(run_dir(prepared, tmp_path / "c"), "mamba", init_from=str(src)))


@pytest.mark.parametrize(
    "args, message",
    [
        (["--noise-density", "0.3"], "--noise-density is a T5 span-corruption"),
        (["--prefix-share", "0.1"], "--prefix-share is a T5 span-corruption"),
        (["--d-ff", "64"], "--d-ff: a mamba model has no d_ff"),
        (["--shape", "ttune-tiny-llama"], "unknown mamba shape 'ttune-tiny-llama'"),
    ],
)
def test_t5_only_options_are_refused_in_one_line(tmp_path, args, message):
    r = runner.invoke(app, ["pretrain", "--arch", "mamba", "-o", str(tmp_path / "x"), *args])
    assert r.exit_code != 0
    lines = [x for x in r.output.splitlines() if x.strip()]
    assert len(lines) == 1 and message in lines[0], r.output
    assert not (tmp_path / "x").exists()


def test_causal_shapes_are_ttune_tiny_sized():
    """About ttune-tiny's 10.4M parameters with the default 12,000-token vocabulary (meta
    device)."""
    from transformers import AutoModelForCausalLM

    from ttune.pretrain.loop import causal_model_config

    class Tok:
        pad_token_id, eos_token_id = 0, 1

        def __len__(self):
            return 12_000

    counts = {}
    for arch in ("mamba", "llama"):
        cfg = PretrainConfig(output_dir="unused", arch=arch)
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(causal_model_config(cfg, Tok()))
        counts[arch] = sum(p.numel() for p in model.parameters())
    V, d, L, di, N, R, K = 12_000, 384, 6, 768, 16, 24, 4  # mamba: dt rank = ceil(d / 16)
    mixer = d + di * N + di + di * K + di + d * 2 * di + di * (R + 2 * N) + R * di + di + di * d
    assert counts["mamba"] == V * d + L * mixer + d == 10_393_728
    d, L, ff = 256, 7, 1024
    assert counts["llama"] == V * d + L * (4 * d * d + 3 * d * ff + 2 * d) + d == 10_415_872


def test_arch_is_part_of_the_run():
    with pytest.raises(PretrainError, match="arch must be one of t5, mamba, llama"):
        PretrainConfig(output_dir="x", arch="gpt")
    assert PretrainConfig(output_dir="x").arch == "t5"
    assert PretrainConfig(output_dir="x", arch="llama").resume_mismatch(
        PretrainConfig(output_dir="x")
    ) == ["arch"]
