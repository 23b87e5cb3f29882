"""The training loop: it learns, resumes exactly, refuses bad input, and stops on a non-finite
loss."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file


def train_set_loss(out_dir: Path | None, config) -> float:
    """Mean per-token training-set loss of the method in ``out_dir`` (None: the untrained method,
    built exactly as the engine builds it, seed included)."""
    from accelerate.utils import set_seed

    from ttune.backbone import load_backbone
    from ttune.methods import apply_method, load_method, make_config
    from ttune.tasks import get_task
    from ttune.train.data import Collator, build_examples, load_records
    from ttune.train.inference import dataset_loss

    set_seed(config.seed)
    backbone, tok = load_backbone(config.model)
    if out_dir is None:
        adapted = apply_method(backbone, make_config(config.method, **config.method_options), tok)
    else:
        adapted = load_method(out_dir, backbone, tok)
    task = get_task(config.task)
    recs = load_records(config.train_file)
    exs = build_examples(
        recs,
        task,
        tok,
        max_source_len=config.max_source_len,
        max_target_len=config.max_target_len,
        with_labels=True,
        needs_graph=adapted.needs_graph,
        cache_dir=config.cache_dir,
        progress=False,
    )
    return dataset_loss(adapted, exs, Collator(tok.pad_token_id, True, adapted.needs_graph), 16)


@pytest.mark.parametrize("method,options", [("transducer", {}), ("lora", {})])
def test_training_lowers_the_training_loss(make_config, method, options):
    from ttune.train.engine import train

    cfg = make_config(method=method, method_options=options, max_steps=12, lr=2e-2)
    before = train_set_loss(None, cfg)
    out = train(cfg)
    after = train_set_loss(out, cfg)
    assert after < before - 0.05, (before, after)
    # the final folder is a complete trained method
    for name in ("method_config.json", "method.safetensors", "model_card.md", "train_config.json"):
        assert (out / name).is_file(), name
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    steps = [e["step"] for e in log if "loss" in e and "event" not in e]
    assert steps == list(range(1, 13))
    assert all({"lr", "examples_per_s", "epoch"} <= set(e) for e in log if "loss" in e)


def test_only_the_method_parameters_change(make_config):
    """AdamW steps the method's weights; the frozen backbone is bit-identical after training."""
    from ttune.train.engine import Trainer

    tr = Trainer(make_config(method="lora", max_steps=3))
    tr.run()
    backbone = tr.adapted.backbone
    saved = load_file(str(Path(tr.config.model) / "model.safetensors"))
    own = {n for n, _ in tr.adapted.trainable_parameters()}
    assert own and all("lora" in n for n in own)
    compared = set()
    for name, p in backbone.named_parameters():
        key = name.replace(".base_layer", "")  # peft moves an adapted Linear's weight here
        if not p.requires_grad:
            assert key in saved, name
            assert torch.equal(p.detach(), saved[key]), name
            compared.add(key)
    assert compared == set(saved) - {"lm_head.weight"} or compared == set(saved)


@pytest.mark.parametrize("method", ["lora", "transducer"])  # lora: dropout draws from the RNG
def test_interrupted_and_resumed_run_ends_with_the_same_weights(make_config, tmp_path, method):
    from ttune.train.engine import train

    common = dict(
        method=method,
        schedule="constant",
        batch_size=6,
        grad_accum=2,
        max_train_records=27,
        save_every=2,
    )
    # 27 records / 6 = 5 micro-batches, 3 steps per epoch: 7 steps cross two epoch boundaries
    whole = train(make_config(output_dir=str(tmp_path / "whole"), max_steps=7, **common))
    part = make_config(output_dir=str(tmp_path / "part"), max_steps=4, **common)
    train(part)
    ckpts = sorted(p.name for p in (tmp_path / "part" / "checkpoints").glob("step-*"))
    assert ckpts == ["step-2", "step-4"]  # keep_checkpoints=2
    resumed = train(make_config(output_dir=str(tmp_path / "part"), max_steps=7, **common))
    a = load_file(str(whole / "method.safetensors"))
    b = load_file(str(resumed / "method.safetensors"))
    assert a.keys() == b.keys() and len(a) > 0
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-6, rtol=0), k
    log = [json.loads(line) for line in (resumed / "log.jsonl").read_text().splitlines()]
    assert any(e.get("event") == "resume" and e["step"] == 4 for e in log)
    steps = [e["step"] for e in log if "loss" in e and "event" not in e]
    assert steps == list(range(1, 8))  # each step logged once, resumed or not
    kept = sorted(p.name for p in (tmp_path / "part" / "checkpoints").glob("step-*"))
    assert kept == ["step-6", "step-7"]


def test_second_run_reads_graphs_from_the_cache(make_config, tmp_path, monkeypatch):
    import ttune.cpg.cache as cache
    from ttune.train.engine import train

    cfg = dict(method="transducer", max_steps=1, cache_dir=str(tmp_path / "fresh_cache"))
    monkeypatch.setattr(cache, "EXTRACTIONS", 0)
    train(make_config(output_dir=str(tmp_path / "r1"), **cfg))
    first = cache.EXTRACTIONS
    assert first == 32  # 32 distinct training functions
    assert len(list((tmp_path / "fresh_cache").rglob("*.json"))) == 32
    train(make_config(output_dir=str(tmp_path / "r2"), **cfg))
    assert cache.EXTRACTIONS == first  # no extraction at all the second time


def test_cache_entries_round_trip_and_parallel_extraction_matches(tmp_path, records):
    from ttune.cpg.cache import extract_all
    from ttune.cpg.export import to_json

    items = [(r["source"], "python") for r in records[:6]] + [(records[0]["source"], "python")]
    serial, s1 = extract_all(items, tmp_path / "a", num_workers=1, progress=False)
    parallel, s2 = extract_all(items, tmp_path / "b", num_workers=2, progress=False)
    assert (s1.total, s1.unique, s1.extracted, s1.hits) == (7, 6, 6, 0)
    assert (s2.extracted, s2.hits) == (6, 0)
    again, s3 = extract_all(items, tmp_path / "b", num_workers=2, progress=False)
    assert (s3.extracted, s3.hits) == (0, 6)

    def dump(g):
        d = to_json(g)
        return d if isinstance(d, str) else json.dumps(d, sort_keys=True)

    assert [dump(g) for g in serial] == [dump(g) for g in parallel] == [dump(g) for g in again]
    assert len(serial[0].nodes) > 5


def test_non_finite_loss_stops_with_the_step_named(make_config, monkeypatch):
    import ttune.train.engine as engine
    from ttune.train.engine import TrainingError, train

    real = engine.apply_method

    def poisoned(backbone, config, tokenizer=None):
        adapted = real(backbone, config, tokenizer)
        with torch.no_grad():
            for _, p in adapted.trainable_parameters():
                p.fill_(float("nan"))
        return adapted

    monkeypatch.setattr(engine, "apply_method", poisoned)
    cfg = make_config(method="lora", max_steps=3)
    with pytest.raises(TrainingError, match=r"loss became nan at step 1 .*no checkpoint"):
        train(cfg)
    assert not list((Path(cfg.output_dir) / "checkpoints").glob("step-*"))


def test_empty_training_file_is_a_clear_error(make_config, tmp_path):
    from ttune.train.engine import train

    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(ValueError, match="empty|no usable record|no record"):
        train(make_config(train_file=str(empty)))
    with pytest.raises(ValueError, match="not found"):
        train(make_config(train_file=str(tmp_path / "missing.jsonl")))


def test_resuming_with_other_options_is_refused(make_config, tmp_path):
    from ttune.runs import ResumeError
    from ttune.train.engine import train

    out = str(tmp_path / "run")
    train(make_config(output_dir=out, method="lora", max_steps=1))
    with pytest.raises(ResumeError, match="other lr"):
        train(make_config(output_dir=out, method="lora", max_steps=2, lr=0.5))
    # nothing written by the first run is lost
    assert (Path(out) / "method.safetensors").is_file()


def test_config_validation_names_the_option(backbone_dir, data_files):
    from ttune.train.config import ConfigError, TrainConfig

    with pytest.raises(ConfigError, match="batch_size"):
        TrainConfig(
            model=str(backbone_dir),
            train_file=str(data_files["train"]),
            output_dir="x",
            batch_size=0,
        )
    with pytest.raises(ConfigError, match="schedule"):
        TrainConfig(model="m", train_file="t", output_dir="x", schedule="cosine")
    with pytest.raises(ConfigError, match="early_stopping_patience"):
        TrainConfig(model="m", train_file="t", output_dir="x", early_stopping_patience=2)


def test_early_stopping_keeps_the_best_validation_checkpoint(make_config, data_files, monkeypatch):
    from ttune.train.engine import Trainer

    # validation loss: 3.0 at step 2 (best), then worse: patience 2 stops at step 6
    fake = iter([3.0, 3.5, 4.0, 9.9])
    monkeypatch.setattr(Trainer, "evaluate", lambda self: {"loss": next(fake)})
    tr = Trainer(
        make_config(
            method="lora",
            valid_file=str(data_files["valid"]),
            max_steps=20,
            eval_every=2,
            early_stopping_patience=2,
        )
    )
    out = tr.run()
    assert tr.state.stopped_early and tr.state.step == 6 and tr.state.best_step == 2
    valid = [
        (e["step"], e["valid"]["loss"])
        for e in map(json.loads, (out / "log.jsonl").read_text().splitlines())
        if "valid" in e
    ]
    assert valid == [(2, 3.0), (4, 3.5), (6, 4.0)]
    meta = json.loads((out / "method_config.json").read_text())["meta"]
    assert meta["step"] == 2 and meta["scores"] == {"loss": 3.0}
    best = load_file(str(out / "checkpoints" / "best" / "method.safetensors"))
    last = load_file(str(out / "checkpoints" / "step-6" / "method.safetensors"))
    final = load_file(str(out / "method.safetensors"))
    assert all(torch.equal(final[k], best[k]) for k in final)
    assert any(not torch.equal(final[k], last[k]) for k in final)


def test_validation_by_a_metric_generates_and_scores(make_config, data_files):
    from ttune.tasks import get_task
    from ttune.train.engine import train

    out = train(
        make_config(
            method="transducer",
            valid_file=str(data_files["valid"]),
            max_steps=2,
            eval_every=1,
            early_stopping_metric="exact_match",
            max_new_tokens=4,
        )
    )
    valid = [
        e for e in map(json.loads, (out / "log.jsonl").read_text().splitlines()) if "valid" in e
    ]
    assert [e["step"] for e in valid] == [1, 2]
    names = set(get_task("summarize").metrics) | {"loss"}
    assert all(set(e["valid"]) == names for e in valid)
    assert all(0.0 <= e["valid"]["exact_match"] <= 100.0 for e in valid)
    assert "best validation exact_match" in (out / "model_card.md").read_text()


def test_unwritable_cache_is_a_clear_error(tmp_path, records):
    from ttune.cpg.cache import CacheError, extract_all

    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(CacheError, match="cannot write the CPG cache .*TTUNE_CACHE"):
        extract_all([(records[0]["source"], "python")], blocker / "cache", progress=False)


def test_unknown_validation_metric_fails_before_training(make_config, data_files):
    from ttune.train.engine import train

    cfg = make_config(
        method="lora", valid_file=str(data_files["valid"]), early_stopping_metric="blue"
    )
    with pytest.raises(ValueError, match="early_stopping_metric: unknown metric 'blue'"):
        train(cfg)
    assert not (Path(cfg.output_dir) / "checkpoints").exists()


def test_garbled_training_file_is_named_once(make_config, tmp_path):
    """Issue 11 defect 7: the message named the file twice, the second time in stray quotes."""
    from ttune.train.engine import train

    garbled = tmp_path / "garbled.jsonl"
    garbled.write_text('garbage\n{"x": 1\nnot json\n')
    with pytest.raises(ValueError) as e:
        train(make_config(train_file=str(garbled)))
    assert str(e.value) == (
        f"training file {garbled}: all 3 lines are malformed "
        "(line 1: invalid JSON (Expecting value at column 1))"
    )


def test_a_run_that_fails_to_start_leaves_no_folder(make_config, tmp_path):
    """Issue 11 defect 8: a bad model path left an output folder holding only train_config.json."""
    from ttune.train.engine import train

    out = tmp_path / "new-run"
    with pytest.raises(ValueError, match="backbone path not found"):
        train(make_config(output_dir=str(out), model=str(tmp_path / "no-such-model")))
    assert not out.exists()
    with pytest.raises(ValueError, match="unknown method"):
        train(make_config(output_dir=str(out), method="nope"))
    assert not out.exists()
    kept = tmp_path / "users-folder"
    kept.mkdir()
    (kept / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="backbone path not found"):
        train(make_config(output_dir=str(kept), model=str(tmp_path / "no-such-model")))
    assert sorted(p.name for p in kept.iterdir()) == ["notes.txt"]


def test_progress_bar_says_validating_and_a_rerun_says_it_resumes(make_config, data_files, capsys):
    """Issue 11 defects 14 and 16: the bar stalled without a word while validating; a rerun of
    the README's command finished in a fraction of the time because it only resumed, silently."""
    from ttune.train.engine import train

    config = make_config(valid_file=str(data_files["valid"]), progress=True, max_steps=2)
    train(config)
    err = capsys.readouterr().err
    assert "validating" in err and "training" in err
    train(config)
    err = capsys.readouterr().err
    assert f"{config.output_dir} already holds this run at step 2: nothing left to train" in err


def test_training_under_a_follow_bias_takes_the_steered_loss_and_decodes_with_it(
    make_config, records, tmp_path
):
    from ttune.tasks import trained_task
    from ttune.train.config import ConfigError
    from ttune.train.engine import train

    # Python "translated" to Python with one edit: the target is mostly a copy of the source.
    pairs = [
        dict(r, target=r["source"].replace("return ", "return  "), target_lang="python")
        for r in records[:16]
    ]
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps(p) + "\n" for p in pairs), encoding="utf-8")
    common = dict(task="translate", method="lora", train_file=str(data), max_steps=2)

    def first_loss(out: Path) -> float:
        log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
        return next(e["loss"] for e in log if "loss" in e and "event" not in e)

    plain = train(make_config(output_dir=str(tmp_path / "plain"), **common))
    followed = train(make_config(output_dir=str(tmp_path / "followed"), follow_bias=6.0, **common))
    # The same first batch and weights: the bias on the copy lowers the loss the model sees.
    assert first_loss(followed) < first_loss(plain) - 1.0, (first_loss(followed), first_loss(plain))
    cfg = json.loads((followed / "train_config.json").read_text())
    assert cfg["follow_bias"] == 6.0
    assert trained_task("translate", cfg, followed).follow_bias == 6.0  # it decodes as trained
    assert (
        trained_task(
            "translate", json.loads((plain / "train_config.json").read_text()), plain
        ).follow_bias
        == 0
    )

    with pytest.raises(ConfigError, match="follow_bias.*copy_from='source'"):
        train(make_config(output_dir=str(tmp_path / "s"), follow_bias=6.0))  # summarize
    with pytest.raises(ConfigError, match="follow_bias"):
        make_config(follow_bias=-1.0)
