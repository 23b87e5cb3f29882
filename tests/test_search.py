"""ttune search: 3 trials x 2 steps on a tiny T5 made here; the same seed gives the same trials
and objectives, an interrupted search resumes without repeating a trial, best.json trains with
``ttune train --method hybrid --method-config``, bad input is one line."""

from __future__ import annotations

import json

import pytest
from helpers import one_torch_thread, save_tiny_backbone, write_splits  # noqa: F401 (autouse fixture)
from typer.testing import CliRunner

from ttune.cli.main import app
from ttune.search import Search, SearchConfig, SearchError, hybrid_options

runner = CliRunner()
CANDIDATES = ("lora", "prompt", "adapter", "transducer")
OPS = [("+", "add"), ("-", "subtract"), ("*", "multiply"), ("//", "divide")]


def _records(n: int) -> list[dict]:
    recs = []
    for i in range(n):
        op, word = OPS[i % len(OPS)]
        src = f"def f{i}(x, y):\n    z = x {op} y\n    if z > {i}:\n        return z\n"
        src += f"    return {i}\n"
        recs.append(
            {
                "id": f"r{i}",
                "source": src,
                "target": f"{word} two numbers, at least {i}",
                "source_lang": "python",
                "target_lang": "en",
            }
        )
    return recs


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("search_files")
    recs = _records(16)
    model = save_tiny_backbone(
        recs, d / "bb", vocab_size=300, d_model=32, d_ff=64, num_layers=1, num_heads=4
    )
    return {
        "model": model,
        "cache": d / "cache",
        **write_splits(d, train=recs[:12], valid=recs[12:]),
    }


def _config(files, out, **kw) -> SearchConfig:
    base = dict(
        model=str(files["model"]),
        train_file=str(files["train"]),
        valid_file=str(files["valid"]),
        output_dir=str(out),
        candidates=CANDIDATES,
        step1_trials=3,
        step2_trials=3,
        max_steps=2,
        batch_size=4,
        startup_trials=2,
        seed=3,
        single_baselines=False,
        cache_dir=str(files["cache"]),
        device="cpu",
    )
    return SearchConfig(**{**base, **kw})


def _trials(records: list[dict]) -> list[tuple]:
    return [
        (r["step"], r["slot"], r["params"], r["state"], r.get("objective"), r.get("options"))
        for r in records
    ]


@pytest.fixture(scope="module")
def reference(files, tmp_path_factory) -> dict:
    """One whole search, with the single-method baselines."""
    out = tmp_path_factory.mktemp("ref")
    seen: list[dict] = []
    cfg = _config(files, out / "s", single_baselines=True)
    summary = Search(cfg, on_trial=seen.append).run()
    return {"summary": summary, "out": out / "s", "seen": seen, "config": cfg}


def test_two_steps_of_three_trials(reference):
    trials = reference["summary"]["trials"]
    assert [(t["step"], t["slot"]) for t in trials] == [(s, i) for s in (1, 2) for i in range(3)]
    assert len(reference["seen"]) == 6
    step1 = [t for t in trials if t["step"] == 1]
    for t in step1:
        assert set(t["params"]) == {f"use:{m}" for m in CANDIDATES}
        if t["state"] == "complete":  # every part at its smallest size, no multiplier
            assert t["options"]["lr_scale"] == {}
            for p in t["options"]["parts"]:
                lows = {f: lo for f, (lo, _) in reference["config"].sizes(p["method"]).items()}
                assert {k: p[k] for k in lows} == lows
        else:
            assert t["reason"] == "no method switched on"
            assert not any(t["params"].values())
    best1 = min((t for t in step1 if t["state"] == "complete"), key=lambda t: t["objective"])
    chosen = [p["method"] for p in best1["options"]["parts"]]
    step2 = [t for t in trials if t["step"] == 2]
    first = step2[0]  # step 2 starts from step 1's best: smallest sizes, multipliers 1
    assert [p["method"] for p in first["options"]["parts"]] == chosen
    assert first["options"]["lr_scale"] == {m: 1.0 for m in chosen}
    assert first["objective"] == pytest.approx(best1["objective"])
    for t in step2:
        assert {p["method"] for p in t["options"]["parts"]} <= set(chosen)
        assert all(0.1 <= v <= 5.0 for v in t["options"]["lr_scale"].values())


def test_same_seed_gives_the_same_trials_and_objectives(files, reference, tmp_path):
    summary = Search(_config(files, tmp_path / "again")).run()
    assert _trials(summary["trials"]) == _trials(reference["summary"]["trials"])
    again = json.loads((tmp_path / "again" / "best.json").read_text())
    assert again == json.loads((reference["out"] / "best.json").read_text())


def test_an_interrupted_search_resumes_without_repeating_a_trial(files, reference, tmp_path):
    import optuna

    out = tmp_path / "cut"
    first: list[dict] = []
    assert Search(_config(files, out), on_trial=first.append, stop_after=2).run() is None
    assert [(r["step"], r["slot"]) for r in first] == [(1, 0), (1, 1)]
    # a process killed in the middle of a trial leaves it RUNNING in the storage
    study = optuna.load_study(study_name="ttune-search-step1", storage=f"sqlite:///{out}/study.db")
    study.ask()
    rest: list[dict] = []
    summary = Search(_config(files, out), on_trial=rest.append).run()
    assert [(r["step"], r["slot"]) for r in rest] == [(1, 2)] + [(2, i) for i in range(3)]
    assert _trials(summary["trials"]) == _trials(reference["summary"]["trials"])
    states = [t.state.name for t in study.get_trials()]
    assert states.count("FAIL") == 1 and len(states) == 4  # the killed trial, asked again
    # a finished search run again trains nothing
    again: list[dict] = []
    Search(_config(files, out), on_trial=again.append).run()
    assert again == []


def test_report_plot_and_best_json(reference):
    from ttune.methods import make_config

    out, summary = reference["out"], reference["summary"]
    best = json.loads((out / "best.json").read_text())
    complete = [t for t in summary["trials"] if t["state"] == "complete"]
    top = min(complete, key=lambda t: t["objective"])
    assert best == make_config("hybrid", **top["options"]).to_dict()
    assert best["parts"][0]["version"] == 1  # every field of every part, as a saved method
    report = (out / "report.md").read_text()
    assert "## Best against the best single method" in report and "## Trials" in report
    singles = summary["singles"]
    assert [s["method"] for s in singles] == list(CANDIDATES)
    best_single = min(singles, key=lambda s: s["objective"])
    assert summary["best_single"] == best_single
    assert (
        f"| best single method | {best_single['method']} | "
        f"{best_single['trainable_parameters']:,} | {best_single['objective']:.4f} |"
    ) in report
    for t in complete:
        assert f"{t['trainable_parameters']:,} | {t['objective']:.4f} |" in report
    assert (out / "objective_vs_params.png").stat().st_size > 1000
    assert "![objective_vs_params.png](objective_vs_params.png)" in report


def test_best_json_trains_with_method_hybrid(files, reference, tmp_path):
    out = tmp_path / "run"
    r = runner.invoke(
        app,
        [
            "train",
            "--method",
            "hybrid",
            "--method-config",
            str(reference["out"] / "best.json"),
            "--model",
            str(files["model"]),
            "--train",
            str(files["train"]),
            "--output",
            str(out),
            "--max-steps",
            "1",
            "--batch-size",
            "4",
            "--device",
            "cpu",
            "--cache-dir",
            str(files["cache"]),
            "--no-progress",
        ],
    )
    assert r.exit_code == 0, r.output
    saved = json.loads((out / "method_config.json").read_text())
    best = json.loads((reference["out"] / "best.json").read_text())
    assert saved["config"] == best
    top = reference["summary"]["best"]
    assert saved["meta"]["trainable_parameters"] == top["trainable_parameters"]
    r = runner.invoke(
        app,
        ["train", "--method", "lora", "--method-config", str(reference["out"] / "best.json")]
        + ["--model", "m", "--train", "t", "--output", str(tmp_path / "x")],
    )
    assert r.exit_code == 1
    assert r.stderr.strip().splitlines() == [
        f"error: method config {reference['out'] / 'best.json'} is for method 'hybrid'; "
        "pass --method hybrid"
    ]


def test_another_budget_in_the_same_folder_is_refused(files, reference):
    with pytest.raises(SearchError, match="holds a search with other max_steps"):
        Search(_config(files, reference["out"], max_steps=3)).run()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--candidates", "lora,nope"], "error: candidates: unknown method 'nope'; known: "),
        (["--candidates", ","], "error: candidates: must name at least one method"),
        (["--candidates", "lora,lora"], "error: candidates: lists a method twice"),
        (["--space", "lora.r=0,4"], "error: space of lora: r must be [low, high]"),
        (["--space", "lora.rank=2,4"], "error: space of lora: lora has no field 'rank'"),
        (["--space", "lora.r"], "error: --space 'lora.r': expected METHOD.FIELD=LOW,HIGH"),
        (["--method-option", "prompt.init=zero"], "error: candidate prompt: prompt: init must"),
    ],
)
def test_bad_input_is_one_line(files, tmp_path, args, message):
    r = runner.invoke(
        app,
        ["search", "--model", str(files["model"]), "--train", str(files["train"])]
        + ["--valid", str(files["valid"]), "--output", str(tmp_path / "s"), *args],
    )
    assert r.exit_code == 1, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), lines
    assert not (tmp_path / "s").exists()


def test_hybrid_options_of_a_step2_trial():
    cfg = SearchConfig(model="m", train_file="t", valid_file="v", output_dir="o")
    params = {"lora.r": 4, "lr_scale:lora": 2.0, "prompt.num_virtual_tokens": 3}
    params |= {"lr_scale:prompt": 0.5, "drop": "prompt"}
    assert hybrid_options(cfg, params, ["lora", "prompt"]) == {
        "parts": [{"method": "lora", "r": 4}],
        "lr_scale": {"lora": 2.0},
    }


def test_the_command_on_a_finished_search_reports_it_without_training(files, reference):
    args = ["search", "--model", str(files["model"]), "--train", str(files["train"])]
    args += ["--valid", str(files["valid"]), "--output", str(reference["out"])]
    args += ["--candidates", ",".join(CANDIDATES), "--step1-trials", "3", "--step2-trials", "3"]
    args += ["--max-steps", "2", "--batch-size", "4", "--startup-trials", "2", "--seed", "3"]
    args += ["--cache-dir", str(files["cache"]), "--device", "cpu"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert r.stderr == ""  # no trial line: nothing was trained
    best = reference["summary"]["best"]
    config = json.loads((reference["out"] / "best.json").read_text())
    assert r.stdout.splitlines() == [
        f"best: validation loss {best['objective']:.4f}, {best['trainable_parameters']:,} "
        f"trainable: {json.dumps(config, sort_keys=True)}",
        f"report: {reference['out']}/report.md",
    ]
    assert "- command: `ttune search " in (reference["out"] / "report.md").read_text()


def test_a_combination_asked_again_is_not_trained_again(files, tmp_path):
    """Step 1 with one candidate has two combinations (off: pruned, on: trained), so 4 trials
    must ask one again: a repeat takes the earlier trial's result and trains nothing (every trial
    trains with one seed, so training it again would give the same objective)."""
    out = tmp_path / "s"
    summary = Search(
        _config(files, out, candidates=("prompt",), step1_trials=4, step2_trials=1, seed=0)
    ).run()
    step1 = [t for t in summary["trials"] if t["step"] == 1]
    done = [t for t in step1 if t["state"] == "complete"]
    pruned = [t for t in step1 if t["state"] == "pruned"]
    assert len(done) + len(pruned) == 4 and done and pruned
    assert all(t["reason"] == "no method switched on" for t in pruned)
    first, repeats = done[0], done[1:]
    assert len(repeats) >= 1  # seed 0: TPE switches the method on more than once
    assert all(t["repeat_of"] == first["slot"] for t in repeats) and "repeat_of" not in first
    assert {(t["objective"], t["trainable_parameters"]) for t in done} == {
        (first["objective"], first["trainable_parameters"])
    }
    trained = sorted(p.name for p in (out / "trials").iterdir() if p.name.startswith("step1-"))
    assert trained == [f"step1-{first['slot']:03d}"]
    report = (out / "report.md").read_text(encoding="utf-8")
    assert f"(as trial {first['slot']}: not trained again)" in report
