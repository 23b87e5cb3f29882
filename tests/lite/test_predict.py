"""The lite prediction path gives the engine's texts, is picked only where it applies, and keeps
transformers' model code and torch_geometric out of ``ttune summarize``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ttune.builtin import resolve_model
from ttune.lite.predict import ENV, LitePredictor, lite_unsupported, load_lite, predictor
from ttune.methods import CheckpointError
from ttune.train.predict import Predictor
from ttune.use import function_record, functions_of_file

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def _records(path: Path, target_lang: str) -> list[dict]:
    lang, functions = functions_of_file(path)
    return [function_record(f, lang, target_lang) for f in functions]


@pytest.mark.parametrize(
    ("file", "task", "target", "max_new_tokens", "num_beams"),
    [
        ("inventory.py", "summarize", None, None, 1),
        ("inventory.py", "summarize", None, None, 4),
        ("Stack.java", "summarize", None, None, 1),
        ("Stack.java", "summarize", None, None, 3),
        ("Stack.java", "translate", "csharp", 40, 1),
        ("Stack.java", "translate", "csharp", 24, 2),
    ],
)
def test_same_texts_as_the_engine_on_the_examples(file, task, target, max_new_tokens, num_beams):
    path = EXAMPLES / file
    lang = "python" if file.endswith(".py") else "java"
    resolved = resolve_model(task, lang, target_lang=target)
    records = _records(path, target or "en")
    kw = dict(model=resolved.backbone, task=task, batch_size=3, device="cpu", num_beams=num_beams)
    lite = LitePredictor(resolved.transducer, max_new_tokens=max_new_tokens, **kw)
    engine = Predictor(resolved.transducer, max_new_tokens=max_new_tokens, **kw)
    out, ref = lite(records), engine(records)
    assert out == ref
    assert len(out) == len(records) >= 4 and all(out)


def test_a_full_fine_tuning_runs_on_the_lite_path_with_the_engines_texts(tmp_path):
    """A ``full`` method folder (the whole fine-tuned T5) runs on the lite path, without graphs,
    and gives the engine's texts; its weights, not the backbone's, are the ones used."""
    import torch

    from ttune.backbone import load_backbone
    from ttune.methods import apply_method, make_config, save_method

    resolved = resolve_model("translate", "java", target_lang="csharp")
    backbone, tok = load_backbone(resolved.backbone)
    adapted = apply_method(backbone, make_config("full"), tok)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():  # a "fine-tuning": the decoder's last feed-forward layer moves
        for name, p in adapted.trainable_parameters():
            if "decoder.block.3.layer.2" in name:
                p.add_(0.5 * torch.randn(p.shape, generator=g))
    folder = save_method(adapted, tmp_path / "full")
    (folder / "train_config.json").write_text(json.dumps({"task": "translate"}))
    assert lite_unsupported(folder, resolved.backbone) == ""
    records = _records(EXAMPLES / "Stack.java", "csharp")
    kw = dict(model=resolved.backbone, task="translate", device="cpu", max_new_tokens=24)
    kw.update(follow_bias=0.0)
    lite, engine = LitePredictor(folder, **kw), Predictor(folder, **kw)
    assert lite.transducer is None and isinstance(predictor(folder, **kw), LitePredictor)
    out = lite(records)
    assert out == engine(records) and len(out) == len(records) >= 4  # the engine loads its weights


def test_the_lite_path_is_picked_only_where_it_applies(tmp_path, monkeypatch):
    resolved = resolve_model("summarize", "python")
    kw = dict(model=resolved.backbone, task="summarize", device="cpu")
    assert lite_unsupported(resolved.transducer, resolved.backbone) == ""
    assert isinstance(predictor(resolved.transducer, **kw), LitePredictor)
    assert isinstance(predictor(resolved.transducer, num_beams=2, **kw), LitePredictor)
    monkeypatch.setenv(ENV, "hf")
    assert lite_unsupported(resolved.transducer, resolved.backbone) == f"{ENV}=hf"
    assert isinstance(predictor(resolved.transducer, num_beams=2, **kw), Predictor)
    monkeypatch.delenv(ENV)
    # A GNN without a plain layer, and a backbone of another shape.
    method = tmp_path / "typed"
    shutil.copytree(resolved.transducer, method)
    doc = json.loads((method / "method_config.json").read_text())
    doc["config"]["gnn"] = "typed"
    (method / "method_config.json").write_text(json.dumps(doc))
    assert lite_unsupported(method, resolved.backbone) == "gnn typed"
    doc["config"]["gnn"] = "gatv2"
    doc["backbone"]["d_model"] = 512
    (method / "method_config.json").write_text(json.dumps(doc))
    assert lite_unsupported(method, resolved.backbone) == "backbone shape differs from the method's"
    assert lite_unsupported(resolved.transducer, tmp_path).startswith("backbone is not")
    # A backbone whose generation_config.json changes decoding.
    backbone = tmp_path / "backbone"
    shutil.copytree(resolved.backbone, backbone)
    gen = json.loads((backbone / "generation_config.json").read_text())
    (backbone / "generation_config.json").write_text(json.dumps({**gen, "suppress_tokens": [1]}))
    why = lite_unsupported(resolved.transducer, backbone)
    assert why == "generation_config.json sets suppress_tokens"
    (backbone / "generation_config.json").write_text(json.dumps({**gen, "eos_token_id": 5}))
    assert lite_unsupported(resolved.transducer, backbone).endswith("differ from config.json's")
    (backbone / "generation_config.json").write_text(json.dumps(gen))
    assert lite_unsupported(resolved.transducer, backbone) == ""


def test_a_folder_that_fails_to_load_gets_the_engines_error(tmp_path):
    resolved = resolve_model("summarize", "python")
    method = tmp_path / "truncated"
    shutil.copytree(resolved.transducer, method)
    data = (method / "method.safetensors").read_bytes()
    (method / "method.safetensors").write_bytes(data[: len(data) // 2])
    assert lite_unsupported(method, resolved.backbone) == ""  # only loading finds it
    assert load_lite(method, resolved.backbone, device="cpu") is None
    with pytest.raises(CheckpointError, match="corrupt"):
        predictor(method, model=resolved.backbone, device="cpu")


def test_summarize_imports_neither_transformers_models_nor_torch_geometric():
    code = (
        "import sys\n"
        "from ttune.cli.main import main\n"
        f"sys.argv = ['ttune', 'summarize', {str(EXAMPLES / 'inventory.py')!r}]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "heavy = ('torch_geometric', 'transformers', 'transformers.modeling_utils')\n"
        "print(sorted(m for m in heavy if m in sys.modules), 'torch' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[-1] == "[] True"
    assert lines[0].startswith("Inventory.add (line 17): ") and len(lines) == 6
