"""The built-in models shipped in ttune/models/: safetensors and JSON only, within the size aim,
loadable without network, and cards that state what eval.json measured."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest
from safetensors import safe_open

MODELS = Path(__file__).resolve().parents[1] / "ttune" / "models"
TRANSDUCERS = (
    "summarize-python",
    "summarize-java",
    "summarize-csharp",
    "assert-java",
    "assert-python",
    "translate-java-csharp",
)
ALLOWED = {".safetensors", ".json", ".md"}


def test_everything_is_shipped_as_safetensors_json_or_markdown():
    files = [f for f in MODELS.rglob("*") if f.is_file()]
    assert {f.suffix for f in files} <= ALLOWED, sorted({f.suffix for f in files} - ALLOWED)
    assert {p.name for p in MODELS.iterdir() if p.is_dir()} == {"ttune-tiny", *TRANSDUCERS}
    total = sum(f.stat().st_size for f in files)
    assert total < 30_000_000, f"{total:,} bytes: over the 30 MB aim"


def test_weights_load_with_safetensors_alone():
    with safe_open(str(MODELS / "ttune-tiny" / "model.safetensors"), "pt") as f:
        shared = f.get_tensor("shared.weight")
        assert shared.dtype.is_floating_point and shared.element_size() == 2  # stored in float16
        assert shared.shape == (12000, 256)
    for name in TRANSDUCERS:
        meta = json.loads((MODELS / name / "method_config.json").read_text())
        with safe_open(str(MODELS / name / "method.safetensors"), "pt") as f:
            n = sum(f.get_tensor(k).numel() for k in f.keys())
        assert n == meta["meta"]["trainable_parameters"], name
        assert meta["backbone"]["name_or_path"] == "ttune-tiny"


@pytest.mark.parametrize("name", TRANSDUCERS)
def test_card_gives_the_measured_scores_and_the_commands(name):
    ev = json.loads((MODELS / name / "eval.json").read_text())
    card = (MODELS / name / "model_card.md").read_text()
    h = ev["header"]
    assert h["split"] == "test" and h["n_records"] >= 100 and h["command"].startswith("ttune eval")
    for metric, value in ev["scores"].items():
        assert re.search(rf"\| {re.escape(metric)} \| {value:.2f} \|", card), metric
        assert h["metric_variants"][metric]
    assert "ttune train --model" in card and "benchmarks/builtin_models.py" in card


def test_builtin_backbone_by_name_without_network(monkeypatch):
    from ttune.backbone import load_backbone

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("TTUNE_MODELS_DIR", raising=False)

    def refuse(*a, **k):
        raise OSError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    model, tok = load_backbone("ttune-tiny")
    assert model.config.d_model == 256 and len(tok) == 12000
    assert (
        next(model.parameters()).dtype.is_floating_point
        and next(model.parameters()).element_size() == 4
    )


@pytest.mark.parametrize("example", ["inventory.py", "Stack.java"])
def test_builtin_summarize_prints_one_line_per_function_offline(example, monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from ttune.cli.main import app
    from ttune.use import functions_of_file

    monkeypatch.delenv("TTUNE_MODELS_DIR", raising=False)
    monkeypatch.setenv("TTUNE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def refuse(*a, **k):
        raise OSError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    path = MODELS.parents[1] / "examples" / example
    r = CliRunner().invoke(app, ["summarize", str(path)])
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    _, functions = functions_of_file(path)
    assert [re.match(r"^(\S+) \(line (\d+)\): (.+)$", x).group(1, 2) for x in lines] == [
        (f.name, str(f.line)) for f in functions
    ]
    assert all(len(x.split(": ", 1)[1].split()) >= 2 for x in lines), (
        lines
    )  # a few words each, not empty


@pytest.mark.parametrize("name", TRANSDUCERS)
def test_configs_with_the_old_max_nodes_key_still_load(name, tmp_path):
    """Methods saved before the rename max_nodes -> max_graph_nodes (the built-in models shipped
    until 2026-11-30 among them) still load: a shipped folder with its config written the old
    way."""
    import shutil

    from ttune.backbone import load_backbone
    from ttune.methods import load_method

    old = tmp_path / name
    shutil.copytree(MODELS / name, old)
    cfg = json.loads((old / "method_config.json").read_text())
    cfg["config"]["max_nodes"] = cfg["config"].pop("max_graph_nodes")
    (old / "method_config.json").write_text(json.dumps(cfg))
    model, tok = load_backbone(str(MODELS / "ttune-tiny"))
    adapted = load_method(old, model, tok)
    assert adapted.config.max_graph_nodes is None and adapted.config.max_label_tokens == 16
    assert (
        adapted.num_trainable()
        == json.loads((MODELS / name / "method_config.json").read_text())["meta"][
            "trainable_parameters"
        ]
    )
