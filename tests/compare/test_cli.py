"""`ttune compare` on the command line: parsing, progress lines, one-line errors, a real run."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner


def invoke(*args):
    from ttune.cli.main import app

    return CliRunner().invoke(app, ["compare", *args])


def test_progress_lines():
    from ttune.cli.compare import progress_line
    from ttune.compare import ProgressEvent

    assert (
        progress_line(ProgressEvent("start", 1, 6, "lora", 18))
        == "[1/6] lora seed 18: training and evaluating (time left: known after the first run)"
    )
    assert (
        progress_line(ProgressEvent("start", 3, 6, "lora", 99, seconds_left=125.2))
        == "[3/6] lora seed 99: training and evaluating (2m05s left)"
    )
    assert (
        progress_line(ProgressEvent("done", 6, 6, "none", 99, seconds_left=0.0, elapsed=3700))
        == "[6/6] none seed 99: done in 1h01m (0s left)"
    )
    assert (
        progress_line(ProgressEvent("fail", 2, 6, "full", 18, message="loss became nan"))
        == "[2/6] full seed 18: FAILED: loss became nan"
    )


def test_option_parsing():
    from ttune.cli.compare import parse_method_lr, parse_method_options, parse_seeds

    assert parse_seeds("18,99") == (18, 99)
    assert parse_method_lr(["full=1e-4"]) == {"full": 1e-4}
    assert parse_method_options(
        ["lora.r=4", 'lora.target_modules=["q"]', "transducer.gnn=gcn"]
    ) == {"lora": {"r": 4, "target_modules": ["q"]}, "transducer": {"gnn": "gcn"}}
    with pytest.raises(ValueError, match="expected METHOD.KEY=VALUE"):
        parse_method_options(["r=4"])


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--seeds", "1,x"], "error: --seeds '1,x': expected integers separated by commas"),
        (["--methods", "transducer,nope"], "error: unknown method 'nope'; known: "),
        (
            ["--method-lr", "lora=fast"],
            "error: --method-lr lora=fast: the learning rate is not a number",
        ),
    ],
)
def test_bad_input_is_a_one_line_error(data_files, backbone_dir, tmp_path, extra, message):
    r = invoke(
        "--task",
        "summarize",
        "--model",
        str(backbone_dir),
        "--train",
        str(data_files["train"]),
        "--test",
        str(data_files["test"]),
        "--output",
        str(tmp_path / "out"),
        *extra,
    )
    assert r.exit_code == 1
    assert r.output.strip().startswith(message) and len(r.output.strip().splitlines()) == 1


def test_cli_runs_a_small_comparison(data_files, backbone_dir, tmp_path):
    out = tmp_path / "out"
    r = invoke(
        "--task",
        "summarize",
        "--methods",
        "none,transducer-paper",
        "--model",
        str(backbone_dir),
        "--train",
        str(data_files["train"]),
        "--test",
        str(data_files["test"]),
        "--seeds",
        "5",
        "--max-steps",
        "1",
        "--batch-size",
        "4",
        "--max-source-len",
        "96",
        "--max-target-len",
        "8",
        "--max-new-tokens",
        "4",
        "--baseline",
        "transducer-paper",
        "--cache-dir",
        str(tmp_path / "cache"),
        "--output",
        str(out),
    )
    assert r.exit_code == 0, r.output
    assert "[1/2] none seed 5: training and evaluating" in r.output
    assert "[2/2] transducer-paper seed 5: done in" in r.output
    assert f"report: {out / 'report.md'}" in r.output
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert [(x["method"], x["seed"], x["steps"]) for x in results["runs"]] == [
        ("none", 5, 1),
        ("transducer-paper", 5, 1),
    ]
    assert list(results["wilcoxon"]) == ["none"]
