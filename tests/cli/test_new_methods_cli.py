"""The methods of issue 14 through the command line: train, info, predict, eval, summarize."""

from __future__ import annotations

import pytest
from compare.conftest import tiny_records
from compare.test_new_methods import types_records
from helpers import (  # noqa: F401 (one_torch_thread: autouse)
    cli_train_predict_eval,
    one_torch_thread,
    save_tiny_backbone,
    write_splits,
)
from typer.testing import CliRunner

from ttune.cli.main import app

runner = CliRunner()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    summ, types = tiny_records(), types_records()
    backbone = save_tiny_backbone(
        summ + types, d / "bb", vocab_size=400, d_model=32, d_ff=64, num_layers=1, num_heads=4
    )
    (d / "summarize").mkdir()
    (d / "types").mkdir()
    return {
        "dir": d,
        "backbone": backbone,
        "cache": d / "cache",
        "summarize": write_splits(d / "summarize", train=summ[:8], test=summ[8:10]),
        "types": write_splits(d / "types", train=types[:8], test=types[8:10]),
    }


@pytest.mark.parametrize(
    "method, task, options",
    [
        ("adapter", "summarize", ["bottleneck=4"]),
        ("prompt-adapter", "summarize", ["bottleneck=4", "num_virtual_tokens=2"]),
        ("prompt-attention", "summarize", ["num_virtual_tokens=2"]),
        ("cpg-prompt", "summarize", ["fuse=true", "hidden=4"]),
        ("xprompt", "summarize", ["pieces=4", "stage_a_steps=1", "round_steps=1"]),
        ("topro", "types", ["base=lora", 'base_options={"r": 2}']),
    ],
)
def test_train_info_predict_eval(setup, method, task, options, monkeypatch):
    d, files = setup["dir"], setup[task]
    monkeypatch.setenv("TTUNE_CACHE", str(setup["cache"]))
    out = d / f"run-{method}"
    rows, res = cli_train_predict_eval(out, files, setup["backbone"], task, method, options)
    r = runner.invoke(app, ["info", str(out)])
    assert r.exit_code == 0 and method in r.output, r.output
    assert len(rows) == 2
    scores = res["scores"]
    assert set(scores) >= ({"type_exact", "type_outer"} if task == "types" else {"sacrebleu"})
    if task == "summarize":
        src = d / f"code-{method}.py"
        src.write_text(tiny_records()[0]["source"], encoding="utf-8")
        r = runner.invoke(
            app, ["summarize", str(src), "--transducer", str(out), "--num-beams", "1"]
        )
        assert r.exit_code == 0 and r.output.startswith("add_count (line 1): "), r.output
