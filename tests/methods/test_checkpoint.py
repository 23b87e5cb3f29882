"""save_method / load_method: identical logits after reload, and one-line CheckpointErrors."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from methods.conftest import METHODS, make_trainable_nonzero


def _logits(adapted, batch):
    adapted.eval()
    with torch.no_grad():
        return adapted(
            batch["input_ids"],
            batch["attention_mask"],
            labels=batch["labels"],
            graph=batch["graph"],
            token_spans=batch["token_spans"],
        ).logits


def _perturb(adapted):
    make_trainable_nonzero(adapted)
    g = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for _, p in adapted.trainable_parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.01)


@pytest.fixture
def saved(tmp_path, make_backbone, tok):
    """A saved (perturbed) LoRA method folder."""
    from ttune.methods import apply_method, make_config, save_method

    adapted = apply_method(make_backbone(), make_config("lora"), tok)
    _perturb(adapted)
    save_method(adapted, tmp_path / "m", meta={"task": "summarize"})
    return tmp_path / "m"


@pytest.mark.parametrize("name", METHODS)
def test_save_then_load_gives_identical_logits(name, tmp_path, make_backbone, batch, tok):
    from ttune.methods import apply_method, load_method, make_config, save_method

    adapted = apply_method(make_backbone(), make_config(name), tok)
    _perturb(adapted)
    out = save_method(adapted, tmp_path / name, meta={"note": "x"})
    assert sorted(p.name for p in out.iterdir()) == ["method.safetensors", "method_config.json"]
    doc = json.loads((out / "method_config.json").read_text())
    assert (
        doc["format_version"] == 1
        and doc["config"]["method"] == name
        and doc["meta"] == {"note": "x"}
    )
    assert doc["backbone"]["d_model"] == 64
    assert set(load_file(out / "method.safetensors")) == set(adapted.method_state_dict())
    loaded = load_method(out, make_backbone(), tok)
    assert type(loaded) is type(adapted) and loaded.num_trainable() == adapted.num_trainable()
    assert torch.equal(_logits(loaded, batch), _logits(adapted, batch))


def test_other_backbone_shape_is_refused(saved, make_backbone, tok):
    from ttune.methods import CheckpointError, load_method

    with pytest.raises(CheckpointError, match="another backbone: d_model 64 != 32"):
        load_method(saved, make_backbone(d_model=32, num_heads=4), tok)


@pytest.mark.parametrize(
    "damage, match",
    [
        (
            lambda d: (d / "method_config.json").write_text("{not json"),
            "corrupt .*method_config.json",
        ),
        (lambda d: (d / "method_config.json").unlink(), "no method_config.json"),
        (lambda d: (d / "method.safetensors").unlink(), "no method.safetensors"),
        (
            lambda d: (d / "method.safetensors").write_bytes(b"\x00garbage" * 5),
            "corrupt .*method.safetensors",
        ),
        (
            lambda d: (d / "method.safetensors").write_bytes(
                (d / "method.safetensors").read_bytes()[:100]
            ),
            "corrupt .*method.safetensors",
        ),
    ],
)
def test_damaged_files_raise_checkpoint_error(saved, damage, match, make_backbone, tok):
    from ttune.methods import CheckpointError, load_method

    damage(saved)
    with pytest.raises(CheckpointError, match=match) as e:
        load_method(saved, make_backbone(), tok)
    assert "\n" not in str(e.value)


def _edit_config(d, fn):
    path = d / "method_config.json"
    doc = json.loads(path.read_text())
    fn(doc)
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize(
    "edit, match",
    [
        (
            lambda doc: doc["config"].update(method="nope"),
            "unknown method 'nope'; known: adapter, additional-scan, affix, cpg-prompt",
        ),
        (lambda doc: doc["config"].update(version=2), "version 2 is not supported"),
        (lambda doc: doc.update(format_version=99), "format_version 99"),
        (lambda doc: doc["config"].update(r=4), "has shape"),
        (lambda doc: doc["config"].update(target_modules=["q"]), "unexpected"),
    ],
)
def test_bad_config_raises_checkpoint_error(saved, edit, match, make_backbone, tok):
    from ttune.methods import CheckpointError, load_method

    _edit_config(saved, edit)
    with pytest.raises(CheckpointError, match=match):
        load_method(saved, make_backbone(), tok)


def test_missing_tensor_key_raises_checkpoint_error(saved, make_backbone, tok):
    from ttune.methods import CheckpointError, load_method

    sd = load_file(saved / "method.safetensors")
    sd.pop(sorted(sd)[0])
    save_file(sd, saved / "method.safetensors")
    with pytest.raises(CheckpointError, match="missing"):
        load_method(saved, make_backbone(), tok)


def test_save_leaves_no_temporary_files(saved):
    assert sorted(p.name for p in saved.iterdir()) == ["method.safetensors", "method_config.json"]
