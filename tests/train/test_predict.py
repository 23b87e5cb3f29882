"""Prediction sees the source only; bad checkpoints fail with one line; `ttune info` describes a
run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner


@pytest.fixture(scope="module")
def trained(tmp_path_factory, backbone_dir, data_files, cache_dir) -> Path:
    """A transducer trained for a few steps with validation (so the best checkpoint is picked)."""
    from ttune.train.config import TrainConfig
    from ttune.train.engine import train

    cfg = TrainConfig(
        model=str(backbone_dir),
        train_file=str(data_files["train"]),
        valid_file=str(data_files["valid"]),
        output_dir=str(tmp_path_factory.mktemp("trained") / "run"),
        method="transducer",
        max_steps=6,
        eval_every=3,
        batch_size=8,
        lr=2e-2,
        max_source_len=128,
        max_target_len=24,
        max_new_tokens=10,
        cache_dir=str(cache_dir),
        progress=False,
    )
    return train(cfg)


def test_predictions_ignore_the_references(trained, records):
    from ttune.train.predict import predict

    test = [dict(r) for r in records[32:40]]
    preds = predict(trained, test, num_beams=2, max_new_tokens=10)
    corrupted = [dict(r, target="corrupted reference " * (i + 1)) for i, r in enumerate(test)]
    assert predict(trained, corrupted, num_beams=2, max_new_tokens=10) == preds
    no_target = [{k: v for k, v in r.items() if k != "target"} for r in test]
    assert predict(trained, no_target, num_beams=2, max_new_tokens=10) == preds
    assert len(preds) == 8 and all(isinstance(p, str) for p in preds)


def test_predict_file_writes_ids_predictions_and_targets(trained, data_files, tmp_path):
    from ttune.train.predict import predict_file

    out = tmp_path / "pred.jsonl"
    res = predict_file(trained, data_files["test"], out, num_beams=1, max_new_tokens=8)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    src = [json.loads(line) for line in data_files["test"].read_text().splitlines()]
    assert res["records"] == len(rows) == 8
    assert [r["id"] for r in rows] == [s["id"] for s in src]
    assert [r["target"] for r in rows] == [s["target"] for s in src]
    assert all(set(r) == {"id", "prediction", "target"} for r in rows)


def test_best_checkpoint_becomes_the_final_method(trained):
    from safetensors.torch import load_file

    log = [json.loads(line) for line in (trained / "log.jsonl").read_text().splitlines()]
    valid = [(e["step"], e["valid"]["loss"]) for e in log if "valid" in e]
    assert [s for s, _ in valid] == [3, 6]
    best_step = min(valid, key=lambda x: x[1])[0]
    final = load_file(str(trained / "method.safetensors"))
    best = load_file(str(trained / "checkpoints" / "best" / "method.safetensors"))
    assert final.keys() == best.keys() and all((final[k] == best[k]).all() for k in final)
    info = json.loads((trained / "method_config.json").read_text())
    assert info["meta"]["step"] == best_step


def test_info_reports_backbone_method_parameters_data_scores(trained, backbone_dir):
    from ttune.train.predict import checkpoint_info

    d = checkpoint_info(trained)
    assert d["backbone"] == str(backbone_dir)
    assert d["method"] == "transducer"
    assert isinstance(d["trainable_parameters"], int) and d["trainable_parameters"] > 0
    assert d["data"]["train_records"] == 32 and d["data"]["valid_records"] == 8
    assert set(d["scores"]) >= {"loss"}
    card = (trained / "model_card.md").read_text()
    assert "transducer" in card and str(backbone_dir) in card and "loss" in card


def test_info_gives_old_field_names_under_their_current_names(trained, tmp_path):
    """A method saved with a renamed field (transducer's max_nodes, now max_graph_nodes) is
    described with the current name; a method this ttune cannot read is shown as saved."""
    import json
    import shutil

    from ttune.train.predict import checkpoint_info

    old = tmp_path / "old"
    shutil.copytree(trained, old)
    doc = json.loads((old / "method_config.json").read_text())
    doc["config"]["max_nodes"] = doc["config"].pop("max_graph_nodes")
    (old / "method_config.json").write_text(json.dumps(doc))
    cfg = checkpoint_info(old)["method_config"]
    assert "max_nodes" not in cfg and cfg == checkpoint_info(trained)["method_config"]
    doc["config"]["method"] = "not-installed-plugin"
    (old / "method_config.json").write_text(json.dumps(doc))
    assert checkpoint_info(old)["method_config"]["max_nodes"] == doc["config"]["max_nodes"]


def _corrupt_copy(trained: Path, dst: Path) -> Path:
    dst.mkdir()
    for name in ("method_config.json", "train_config.json"):
        (dst / name).write_bytes((trained / name).read_bytes())
    (dst / "method.safetensors").write_bytes(b"\x00garbage" * 10)
    return dst


def test_predict_with_a_corrupt_checkpoint_is_a_clear_error(trained, records, tmp_path):
    from ttune.train.predict import predict

    bad = _corrupt_copy(trained, tmp_path / "bad")
    with pytest.raises(ValueError, match="corrupt"):
        predict(bad, records[:2])
    with pytest.raises(ValueError, match="not found"):
        predict(tmp_path / "nowhere", records[:2])


def assert_one_line_error(stderr: str, pattern: str) -> None:
    """A failed command says one `error: ...` line (and no traceback)."""
    import re

    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert "Traceback" not in stderr
    errors = [ln for ln in lines if ln.startswith("error: ")]
    assert len(errors) == 1 and re.search(pattern, errors[0]), stderr
    assert lines[-1] == errors[0]


def test_cli_train_predict_info_and_errors(trained, backbone_dir, data_files, cache_dir, tmp_path):
    from ttune.cli.main import app

    runner = CliRunner()
    out = tmp_path / "pred.jsonl"
    r = runner.invoke(
        app,
        [
            "predict",
            "--checkpoint",
            str(trained),
            "--input",
            str(data_files["test"]),
            "--output",
            str(out),
            "--num-beams",
            "1",
            "--max-new-tokens",
            "6",
        ],
    )
    assert r.exit_code == 0, r.output
    assert len(out.read_text().splitlines()) == 8

    r = runner.invoke(app, ["info", str(trained)])
    assert r.exit_code == 0 and "transducer" in r.output and "trainable" in r.output

    # corrupt checkpoint: one line on stderr, exit 1, and the earlier output file is untouched
    before = out.read_bytes()
    bad = _corrupt_copy(trained, tmp_path / "bad")
    r = runner.invoke(
        app,
        [
            "predict",
            "--checkpoint",
            str(bad),
            "--input",
            str(data_files["test"]),
            "--output",
            str(out),
        ],
    )
    assert r.exit_code == 1
    assert_one_line_error(r.stderr, "corrupt")
    assert out.read_bytes() == before

    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    r = runner.invoke(
        app,
        [
            "train",
            "--train",
            str(empty),
            "--output",
            str(tmp_path / "run"),
            "--model",
            str(backbone_dir),
            "--cache-dir",
            str(cache_dir),
            "--no-progress",
        ],
    )
    assert r.exit_code == 1
    assert_one_line_error(r.stderr, "no usable record|empty")

    r = runner.invoke(
        app,
        [
            "train",
            "--train",
            str(data_files["train"]),
            "--output",
            str(tmp_path / "r2"),
            "--model",
            str(backbone_dir),
            "--method",
            "nope",
            "--no-progress",
        ],
    )
    assert r.exit_code == 2  # a usage error: refused while the options are parsed
    assert_one_line_error(r.stderr, "unknown method 'nope'")
    assert not (tmp_path / "r2").exists()


def test_predict_on_another_backbone_is_refused(trained, records, tmp_path):
    from ttune.backbone import build_tokenizer, save_backbone, tiny_backbone
    from ttune.train.predict import predict

    tok = build_tokenizer([r["source"] for r in records], vocab_size=600)
    other = save_backbone(
        tiny_backbone(tok, d_model=32, d_ff=64, num_heads=4), tok, tmp_path / "other"
    )
    with pytest.raises(ValueError, match="another backbone"):
        predict(trained, records[:2], model=str(other))


def test_info_checks_the_weights_file(trained, tmp_path):
    """Issue 11 defect 9: `ttune info` called a checkpoint with a truncated method.safetensors
    fine, because it read the JSON files only."""
    import shutil

    from typer.testing import CliRunner

    from ttune.cli.main import app

    copy = tmp_path / "copy"
    shutil.copytree(trained, copy)
    assert CliRunner().invoke(app, ["info", str(copy)]).exit_code == 0
    weights = copy / "method.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[:-100])
    r = CliRunner().invoke(app, ["info", str(copy)])
    assert r.exit_code == 1
    assert_one_line_error(r.stderr, r"method\.safetensors is truncated or corrupt")
    weights.write_bytes(data[:5])
    info = ["info", str(copy)]
    assert_one_line_error(CliRunner().invoke(app, info).stderr, "truncated or corrupt")
    weights.unlink()
    assert_one_line_error(CliRunner().invoke(app, info).stderr, "no method.safetensors")


def test_the_task_line_follows_the_backbone_and_is_saved(trained, backbone_dir, records, tmp_path):
    """A backbone pretrained on task-line inputs gets them in training ("auto"), the resolved
    choice is saved with the method, and prediction builds its inputs the same way."""
    import shutil

    from ttune.train.config import ConfigError, TrainConfig
    from ttune.train.predict import Predictor

    tagged_backbone = tmp_path / "tagged-backbone"
    shutil.copytree(backbone_dir, tagged_backbone)
    (tagged_backbone / "pretrain_config.json").write_text(json.dumps({"summarize_share": 0.2}))
    base = {"train_file": "train.jsonl", "output_dir": str(tmp_path / "run")}
    assert TrainConfig(model=str(tagged_backbone), **base).task_line == "on"
    assert TrainConfig(model=str(backbone_dir), **base).task_line == "off"
    assert TrainConfig(model=str(tagged_backbone), task_line="off", **base).task_line == "off"
    with pytest.raises(ConfigError, match="task_line: must be one of auto, on, off"):
        TrainConfig(model=str(backbone_dir), task_line="yes", **base)

    assert json.loads((trained / "train_config.json").read_text())["task_line"] == "off"
    plain = Predictor(trained)
    assert plain.task.format_input(records[0]) == records[0]["source"]
    on = tmp_path / "on"
    shutil.copytree(trained, on)
    cfg = json.loads((on / "train_config.json").read_text())
    (on / "train_config.json").write_text(json.dumps({**cfg, "task_line": "on"}))
    tagged = Predictor(on)
    assert tagged.task.format_input(records[0]).startswith("summarize: ")
    assert tagged.task.format_input(records[0]).endswith(records[0]["source"])


def test_decoding_options_reach_generation_and_the_results_header(tmp_path):
    from ttune import api
    from ttune.builtin import models_dir
    from ttune.lite.predict import predictor
    from ttune.options import GenerationOptions, OptionError

    ckpt = models_dir() / "summarize-python"
    sample = Path(__file__).resolve().parents[2] / "datasets" / "python-summarize" / "sample.jsonl"
    runs = {}
    for name, kw in {"task": {}, "plain": {"copy_bias": 0.0, "repeat_penalty": 0.0}}.items():
        res = api.evaluate(ckpt, "summarize", sample, tmp_path / f"{name}.json", limit=6, **kw)
        preds = [
            json.loads(x)["prediction"]
            for x in (tmp_path / f"{name}.predictions.jsonl").read_text().splitlines()
        ]
        runs[name] = (res["header"], preds)
    assert (runs["task"][0]["copy_bias"], runs["task"][0]["repeat_penalty"]) == (5.0, 2.0)
    assert (runs["plain"][0]["copy_bias"], runs["plain"][0]["repeat_penalty"]) == (0.0, 0.0)
    assert runs["task"][1] != runs["plain"][1]
    records = [json.loads(x) for x in sample.read_text().splitlines()][:6]
    plain = predictor(ckpt, model=str(models_dir() / "ttune-tiny"), copy_bias=0, repeat_penalty=0)
    assert not plain.task.steers and plain(records) == runs["plain"][1]
    for bad in (-1.0, float("nan"), True):
        with pytest.raises(OptionError, match="copy_bias"):
            GenerationOptions(copy_bias=bad)


def test_a_model_folder_decoding_file_sets_its_decoding_and_options_override_it(tmp_path):
    """decoding.json in a trained method folder: both predictors and ttune eval's header use it,
    --follow-bias overrides it, and a bad file is one DataError naming it."""
    import shutil

    from ttune import api
    from ttune.builtin import models_dir
    from ttune.data.io import DataError
    from ttune.data.syntax import parses
    from ttune.lite.predict import predictor
    from ttune.options import GenerationOptions, OptionError
    from ttune.train.predict import Predictor

    model = models_dir() / "translate-java-csharp"
    ckpt = tmp_path / "translate"
    shutil.copytree(model, ckpt)
    (ckpt / "decoding.json").unlink(missing_ok=True)
    backbone = str(models_dir() / "ttune-tiny")
    records = [
        {"source": "public int add(int a, int b) {return a + b;}", "target": "x"},
        {"source": "public boolean isEmpty() {return size == 0;}", "target": "x"},
    ]
    for r in records:
        r.update(source_lang="java", target_lang="csharp")
    raw = predictor(ckpt, model=backbone, task="translate")
    assert raw.task.follow_bias == 0.0
    (ckpt / "decoding.json").write_text(json.dumps({"follow_bias": 30.0, "chosen_on": "a note"}))
    followed = predictor(ckpt, model=backbone, task="translate")
    assert followed.task.follow_bias == 30.0 and followed.task.copy_bias == 1.0
    # A bias this strong copies the source token for token (the tokenizer keeps spacing).
    assert followed(records) == [r["source"] for r in records]
    off = predictor(ckpt, model=backbone, task="translate", follow_bias=0.0)
    assert off.task.follow_bias == 0.0 and off(records) == raw(records)
    test = tmp_path / "test.jsonl"
    test.write_text("".join(json.dumps(r) + "\n" for r in records))
    res = api.evaluate(ckpt, "translate", test, tmp_path / "eval.json", metrics=["exact_match"])
    assert res["header"]["follow_bias"] == 30.0 and res["header"]["copy_from"] == "source"
    # Trained under a follow bias (ttune train --follow-bias): it decodes with it; the file wins.
    cfg = json.loads((ckpt / "train_config.json").read_text())
    (ckpt / "train_config.json").write_text(json.dumps({**cfg, "follow_bias": 5.0}))
    assert predictor(ckpt, model=backbone, task="translate").task.follow_bias == 30.0
    (ckpt / "decoding.json").write_text(json.dumps({"no_repeat_ngram_size": 6}))
    trained = predictor(ckpt, model=backbone, task="translate")
    assert trained.task.follow_bias == 5.0 and trained.task.no_repeat_ngram_size == 6
    # A syntax fallback: a raw output that does not parse as C# becomes its source (which does).
    (ckpt / "decoding.json").write_text(json.dumps({"syntax_fallback": True}))
    plain = predictor(
        ckpt, model=backbone, task="translate", follow_bias=0.0, syntax_fallback=False
    )
    outputs = plain(records)
    want = [o if parses(o, "csharp") else r["source"] for o, r in zip(outputs, records)]
    assert want != outputs  # at least one output is replaced
    for make in (predictor, Predictor):
        fb = make(ckpt, model=backbone, task="translate", follow_bias=0.0)
        assert fb.task.syntax_fallback and fb(records) == want
    (ckpt / "decoding.json").write_text(json.dumps({"follow_bias": -1}))
    with pytest.raises(DataError, match="decoding.json: .*follow_bias"):
        predictor(ckpt, model=backbone, task="translate")
    (ckpt / "decoding.json").write_text("{not json")
    with pytest.raises(DataError, match="decoding.json: not readable JSON"):
        predictor(ckpt, model=backbone, task="translate")
    with pytest.raises(OptionError, match="follow_bias"):
        GenerationOptions(follow_bias=-2.0)


def test_rerank_answers_with_the_most_likely_candidate_in_both_predictors(tmp_path):
    """Task.rerank: each record with candidates gets the candidate whose log-probability (the
    full forward pass, scored here apart) is highest; both predictors agree; a record without
    candidates is generated as without reranking."""
    import shutil

    import torch

    from ttune.builtin import models_dir
    from ttune.data.candidates import assert_candidates
    from ttune.lite.predict import predictor
    from ttune.tasks.decoding import sequence_logprob
    from ttune.train.predict import Predictor

    # The shipped folder without its ranker: the log-probability alone chooses.
    model, backbone = tmp_path / "assert-java", str(models_dir() / "ttune-tiny")
    shutil.copytree(models_dir() / "assert-java", model)
    (model / "ranker.json").unlink()
    test = (
        'testAdd ( ) { Calc c = new Calc ( ) ; int sum = c . add ( 2 , 3 ) ; "<AssertPlaceHolder>"'
        " ; } add ( int a , int b ) { return a + b ; }"
    )
    records = [
        {"source": test, "source_lang": "java", "target_lang": "java"},
        {"source": 'testRun ( ) { run ( ) ; "<AssertPlaceHolder>" ; }', "source_lang": "java"},
    ]
    lite = predictor(model, model=backbone, task="assert", rerank=True)
    plain = predictor(model, model=backbone, task="assert", rerank=False)
    got, generated = lite(records), plain(records)
    cands = [c.text for c in assert_candidates(test, "java")]
    assert got[0] in cands and got[1] == generated[1]
    # The same choice from the lite model's full forward pass over every candidate.
    [ex] = lite.examples(records[:1])
    batch = lite.collator()([ex])
    with torch.no_grad():
        embeds = lite.transducer(
            lite.t5.shared(batch["input_ids"]),
            batch["attention_mask"],
            batch["graph"],
            batch["token_spans"],
        )
        scores = []
        for c in cands:
            labels = torch.tensor([lite.tokenizer(c)["input_ids"]])
            start = torch.full_like(labels[:, :1], lite.t5.cfg.decoder_start_token_id)
            logits = lite.t5(embeds, batch["attention_mask"], torch.cat([start, labels[:, :-1]], 1))
            scores.append(float(sequence_logprob(logits, labels)))
    assert got[0] == cands[max(range(len(cands)), key=scores.__getitem__)]
    assert Predictor(model, model=backbone, task="assert", rerank=True)(records) == got


def test_a_folders_ranker_shortlists_and_chooses_in_both_predictors(tmp_path):
    """A method folder's ranker.json: the prefilter keeps its shortlist, the weights choose among
    it (here features only, so the answer is known without the model); both predictors agree."""
    import shutil

    from ttune.builtin import models_dir
    from ttune.data.candidates import assert_candidates
    from ttune.lite.predict import predictor
    from ttune.tasks.ranker import Ranker
    from ttune.train.predict import Predictor

    folder, backbone = tmp_path / "assert-java", str(models_dir() / "ttune-tiny")
    shutil.copytree(models_dir() / "assert-java", folder)
    test = (
        'testAdd ( ) { Calc c = new Calc ( ) ; int sum = c . add ( 2 , 3 ) ; "<AssertPlaceHolder>"'
        " ; } add ( int a , int b ) { return a + b ; }"
    )
    records = [{"source": test, "source_lang": "java", "target_lang": "java"}]
    # The prefilter keeps the three assertEquals of `sum` with the test's literals and 0 (most
    # recent literal first); the weights then prefer the one whose expected value is 0.
    ranker = Ranker({"expected:default:number": 5.0}, {"assertEquals:local:number": 1.0}, 3)
    ranker.save(folder / "ranker.json")
    kept = ranker.shortlisted(assert_candidates(test, "java"))
    assert [c.text.split("( ", 1)[1] for c in kept] == ["3 , sum )", "2 , sum )", "0 , sum )"]
    want = ["org . junit . Assert . assertEquals ( 0 , sum )"]
    assert predictor(folder, model=backbone, task="assert", rerank=True)(records) == want
    assert Predictor(folder, model=backbone, task="assert", rerank=True)(records) == want
