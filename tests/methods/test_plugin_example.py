"""docs/plugins.md's example works as written: the ``scale`` method of examples/plugins/scale is
built and installed offline as a package of its own, found through the ``ttune.methods`` entry
point, trained by ``ttune train``, and its saved method loads and predicts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers import save_tiny_backbone, write_splits
from safetensors.torch import load_file

from methods.conftest import SOURCES, TARGETS

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "plugins" / "scale"
CLI = "from ttune.cli.main import main; main()"


def _run(args: list[str], env: dict, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """The example built from a copy (nothing written into the repository) and installed with pip,
    offline and without build isolation, into a folder of its own that is removed afterwards."""
    tmp = tmp_path_factory.mktemp("plugin")
    src = tmp / "src"
    shutil.copytree(EXAMPLE, src)
    target = tmp / "site"
    r = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--quiet",
            "--target",
            str(target),
            str(src),
        ],
        dict(os.environ),
        tmp,
    )
    assert r.returncode == 0, r.stderr
    assert (target / "ttune_scale.py").is_file()
    entry_points = next(target.glob("ttune_scale-0.1.0.dist-info")) / "entry_points.txt"
    assert "[ttune.methods]\nscale = ttune_scale" in entry_points.read_text()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(target), str(ROOT)]),
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "TTUNE_CACHE": str(tmp / "cache"),
    }
    yield {"target": target, "env": env, "tmp": tmp}
    shutil.rmtree(target)


def test_the_example_trains_through_ttune_train_and_its_method_loads_and_predicts(
    installed, monkeypatch, request
):
    tmp, env = installed["tmp"], installed["env"]
    records = [
        {"id": f"r{i}", "source": s, "target": t, "source_lang": "python", "target_lang": "en"}
        for i, (s, t) in enumerate(zip(SOURCES * 4, TARGETS * 4))
    ]
    backbone = save_tiny_backbone(
        records, tmp / "backbone", vocab_size=400, d_model=32, d_ff=64, num_layers=1, num_heads=2
    )
    files = write_splits(tmp, train=records, valid=records[:3])
    run = tmp / "run"
    r = _run(
        [
            sys.executable,
            "-c",
            CLI,
            "train",
            "--task",
            "summarize",
            "--method",
            "scale",
            "--model",
            str(backbone),
            "--train",
            str(files["train"]),
            "--valid",
            str(files["valid"]),
            "--output",
            str(run),
            "--max-steps",
            "4",
            "--batch-size",
            "4",
            "--lr",
            "0.05",
            "--no-progress",
            "-m",
            "shift=true",
        ],
        env,
        tmp,
    )
    assert r.returncode == 0, r.stderr
    assert f"trained scale -> {run}" in r.stdout
    saved = json.loads((run / "method_config.json").read_text())
    assert saved["config"] == {"method": "scale", "version": 1, "shift": True, "init_scale": 1.0}
    weights = load_file(str(run / "method.safetensors"))
    assert sorted(weights) == ["scale", "shift"]
    assert weights["scale"].shape == weights["shift"].shape == (32,)
    assert saved["meta"]["trainable_parameters"] == 64
    # It trained: four AdamW steps moved every scale away from 1 and every shift away from 0.
    assert (weights["scale"] != 1).all() and (weights["shift"] != 0).all()

    r = _run(
        [
            sys.executable,
            "-c",
            CLI,
            "predict",
            "--checkpoint",
            str(run),
            "--input",
            str(files["valid"]),
            "--output",
            str(tmp / "pred.jsonl"),
            "--num-beams",
            "1",
        ],
        env,
        tmp,
    )
    assert r.returncode == 0, r.stderr
    preds = [json.loads(x) for x in (tmp / "pred.jsonl").read_text().splitlines()]
    assert [p["id"] for p in preds] == ["r0", "r1", "r2"]

    # In this process too: the entry point is found once the folder is on sys.path, the method
    # loads with the trained weights, and generation matches the CLI's predictions.
    from ttune.backbone import load_backbone
    from ttune.methods import load_method, method_names, registry
    from ttune.train.predict import predict

    monkeypatch.syspath_prepend(str(installed["target"]))
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    monkeypatch.setitem(registry._loaded, "entry_points", False)
    request.addfinalizer(lambda: sys.modules.pop("ttune_scale", None))
    assert "scale" in method_names()
    model, tok = load_backbone(str(backbone))
    adapted = load_method(run, model, tok)
    assert type(adapted).__name__ == "ScaleModel" and adapted.num_trainable() == 64
    assert torch.equal(adapted.scale.detach(), weights["scale"])
    texts = predict(run, records[:3], model=str(backbone), num_beams=1, progress=False)
    assert texts == [p["prediction"] for p in preds]
