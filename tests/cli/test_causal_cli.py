"""A tiny causal LM (Llama-style) and a tiny Mamba, saved locally, through ``ttune train``,
``predict`` and ``eval`` (the MambaPEFT methods included); predictions of a causal LM never see
the references."""

from __future__ import annotations

import json

import pytest
from compare.conftest import tiny_records
from helpers import (  # noqa: F401 (one_torch_thread: autouse)
    cli_train_predict_eval,
    one_torch_thread,
    save_tiny_causal_backbone,
    write_splits,
)
from typer.testing import CliRunner

from ttune.cli.main import app

runner = CliRunner()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("causal_cli")
    recs = tiny_records()
    return {
        "dir": d,
        "llama": save_tiny_causal_backbone(recs, d / "llama", "llama", vocab_size=400),
        "mamba": save_tiny_causal_backbone(recs, d / "mamba", "mamba", vocab_size=400, hidden=16),
        "files": write_splits(d, train=recs[:8], test=recs[8:12]),
    }


@pytest.mark.parametrize(
    "family, method, options",
    [
        ("llama", "lora", ["r=2"]),
        ("llama", "transducer", []),
        ("llama", "prefix", ["num_virtual_tokens=2"]),
        ("mamba", "prompt", ["num_virtual_tokens=2"]),
        ("mamba", "transducer", []),
        ("mamba", "mamba-lora", ["r=2", "x_proj=false"]),
        ("mamba", "mamba-partial", ["conv1d=true"]),
        ("mamba", "affix", ["num_tokens=2"]),
        ("mamba", "additional-scan", ["num_states=2"]),
        ("mamba", "parallel-adapter", ["bottleneck=4"]),
    ],
)
def test_train_predict_eval(setup, family, method, options, monkeypatch):
    d, files = setup["dir"], setup["files"]
    monkeypatch.setenv("TTUNE_CACHE", str(d / "cache"))
    out = d / f"run-{family}-{method}"
    rows, res = cli_train_predict_eval(out, files, setup[family], "summarize", method, options)
    saved = json.loads((out / "method_config.json").read_text())
    assert saved["backbone"]["model_type"] == family and saved["config"]["method"] == method
    assert len(rows) == 4 and all(isinstance(x["prediction"], str) for x in rows)
    assert "smooth_bleu4" in res["scores"]
    if method == "transducer":  # the end-user command on a run with a causal backbone
        src = d / f"code-{family}.py"
        src.write_text(tiny_records()[0]["source"], encoding="utf-8")
        r = runner.invoke(app, ["summarize", str(src), "--transducer", str(out)])
        assert r.exit_code == 0 and r.output.startswith("add_count (line 1): "), r.output


@pytest.mark.parametrize("family", ["llama", "mamba"])
def test_causal_predictions_ignore_the_references(setup, family, tmp_path, monkeypatch):
    """The no-leak guarantee on a causal LM: corrupting or removing the references leaves every
    prediction identical."""
    from ttune.train.config import TrainConfig
    from ttune.train.engine import train
    from ttune.train.predict import predict

    d = setup["dir"]
    monkeypatch.setenv("TTUNE_CACHE", str(d / "cache"))
    cfg = TrainConfig(
        model=str(setup[family]),
        train_file=str(setup["files"]["train"]),
        output_dir=str(tmp_path / "run"),
        method="transducer",
        max_steps=3,
        batch_size=4,
        lr=5e-2,
        max_source_len=96,
        max_target_len=12,
        max_new_tokens=6,
        cache_dir=str(d / "cache"),
        progress=False,
    )
    run = train(cfg)
    test = tiny_records()[8:14]
    preds = predict(run, test, num_beams=2, max_new_tokens=6)
    corrupted = [dict(r, target="corrupted reference " * (i + 1)) for i, r in enumerate(test)]
    assert predict(run, corrupted, num_beams=2, max_new_tokens=6) == preds
    no_target = [{k: v for k, v in r.items() if k != "target"} for r in test]
    assert predict(run, no_target, num_beams=2, max_new_tokens=6) == preds
    assert len(preds) == 6
