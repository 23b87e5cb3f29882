"""ttune.runs: the learning-rate schedule and precision shared by training and pretraining, and
the JSON round trip of run configs."""

from dataclasses import dataclass

import pytest

from ttune.runs import JsonConfig, lr_multiplier, resolve_precision


def test_warm_up_reaches_the_peak_then_linear_decays_to_zero():
    f = [lr_multiplier(s, total=10, warmup=2, schedule="linear") for s in range(11)]
    assert f[:3] == pytest.approx([0.5, 1.0, 1.0])
    assert f[9] == pytest.approx(1 / 8) and f[10] == 0.0
    assert all(a >= b for a, b in zip(f[1:], f[2:]))
    assert lr_multiplier(7, total=10, warmup=0, schedule="constant") == 1.0


def test_cosine_ends_at_the_floor():
    f = [
        lr_multiplier(s, total=110, warmup=10, schedule="cosine", min_ratio=0.1)
        for s in (9, 10, 60, 110)
    ]
    assert f == pytest.approx([1.0, 1.0, 0.55, 0.1])
    with pytest.raises(ValueError, match="unknown learning-rate schedule 'step'"):
        lr_multiplier(50, total=100, warmup=0, schedule="step")


def test_an_explicit_precision_is_kept_and_auto_resolves_to_a_real_one():
    assert resolve_precision("fp16", "cuda") == "fp16"
    assert resolve_precision("no", "cpu") == "no"
    assert resolve_precision("auto", "cpu") in ("bf16", "fp32")


@dataclass
class _Config(JsonConfig):
    config_error = KeyError
    options_name = "test"
    name: str = "a"
    steps: int = 1


def test_json_config_round_trip_refuses_unknown_keys(tmp_path):
    c = _Config(name="b", steps=3)
    c.save(tmp_path / "c.json")
    assert _Config.load(tmp_path / "c.json") == c
    with pytest.raises(KeyError, match="unknown test option\\(s\\): stpes"):
        _Config.from_dict({"name": "b", "stpes": 3})
