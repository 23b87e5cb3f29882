"""ttune compare on a tiny backbone: the results files, the report, resuming, refusals."""

from __future__ import annotations

import csv
import json
import shutil
import statistics
from pathlib import Path

import pytest

from compare.conftest import METHODS, SEEDS
from ttune.metrics.results import source_revision

COLUMNS_MEASURED = (
    "best_valid_loss",
    "distinct_predictions",
    "peak_rss_mb",
    "train_seconds_per_step",
    "inference_ms_per_example",
)


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_results_csv_has_a_row_per_run_and_mean_std_rows(comparison, backbone_dir):
    from ttune.backbone import load_backbone
    from ttune.methods import apply_method, make_config

    cfg, results, _ = comparison
    rows = read_csv(Path(cfg.output_dir) / "results.csv")
    runs = [r for r in rows if r["seed"] not in ("mean", "std")]
    assert [(r["method"], int(r["seed"])) for r in runs] == [(m, s) for m in METHODS for s in SEEDS]
    assert all(r["status"] == "ok" for r in runs)
    metrics = ["smooth_bleu4", "sacrebleu", "chrf", "exact_match"]  # the summarize task's
    assert list(rows[0]) == [
        "method",
        "seed",
        "status",
        "trainable_parameters",
        *metrics,
        "best_valid_loss",
        "distinct_predictions",
        "peak_rss_mb",
        "train_seconds_per_step",
        "inference_ms_per_example",
        "steps",
    ]
    for r in runs:  # from the run's own files
        d = Path(cfg.output_dir) / "runs" / r["method"] / f"seed-{r['seed']}"
        log = [json.loads(x) for x in (d / "log.jsonl").read_text(encoding="utf-8").splitlines()]
        losses = [e["valid"]["loss"] for e in log if "valid" in e]
        assert len(losses) == 2 and float(r["best_valid_loss"]) == pytest.approx(min(losses))
        preds = [
            json.loads(x)["prediction"]
            for x in (d / "eval.predictions.jsonl").read_text(encoding="utf-8").splitlines()
        ]
        assert float(r["distinct_predictions"]) == pytest.approx(100 * len(set(preds)) / len(preds))
    for method in METHODS:
        backbone, tok = load_backbone(str(backbone_dir))
        expected = apply_method(backbone, make_config(method), tok).num_trainable()
        mine = [r for r in runs if r["method"] == method]
        assert {int(float(r["trainable_parameters"])) for r in mine} == {expected}
        assert {int(r["steps"]) for r in mine} == {2}
        mean = next(r for r in rows if r["method"] == method and r["seed"] == "mean")
        std = next(r for r in rows if r["method"] == method and r["seed"] == "std")
        for col in ("trainable_parameters", *metrics, *COLUMNS_MEASURED):
            vals = [float(r[col]) for r in mine]
            assert float(mean[col]) == pytest.approx(statistics.fmean(vals), abs=2e-6), (
                method,
                col,
            )
            assert float(std[col]) == pytest.approx(statistics.stdev(vals), abs=2e-6), (method, col)
    assert {r["method"]: float(r["trainable_parameters"]) for r in rows if r["seed"] == "mean"}[
        "none"
    ] == 0


def test_results_json_matches_the_runs(comparison):
    cfg, results, _ = comparison
    on_disk = json.loads((Path(cfg.output_dir) / "results.json").read_text(encoding="utf-8"))
    assert on_disk["primary_metric"] == results["primary_metric"] == "smooth_bleu4"
    assert on_disk["header"]["seeds"] == list(SEEDS) and on_disk["header"]["n_records"] == 8
    assert on_disk["header"]["command"] == "pytest tests/compare"
    assert [(r["method"], r["seed"]) for r in on_disk["runs"]] == [
        (m, s) for m in METHODS for s in SEEDS
    ]
    for rec in on_disk["runs"]:
        run = json.loads((Path(rec["dir"]) / "run.json").read_text(encoding="utf-8"))
        eval_ = json.loads((Path(rec["dir"]) / "eval.json").read_text(encoding="utf-8"))
        assert run["scores"] == eval_["scores"] == rec["scores"]
        assert run["test_records"] == 8 and run["steps"] == 2
        assert run["peak_rss_mb"] >= run["rss_before_mb"] > 0
        assert run["train_seconds_per_step"] > 0 and run["inference_seconds_per_example"] > 0
        assert run["ttune_revision"] == source_revision()  # the revision this process loaded
    assert on_disk["header"]["ttune_revision_of_runs"] == [str(source_revision())]
    for method in METHODS:
        s = on_disk["summary"][method]["smooth_bleu4"]
        vals = [r["scores"]["smooth_bleu4"] for r in on_disk["runs"] if r["method"] == method]
        assert s["n"] == 2 and s["mean"] == pytest.approx(statistics.fmean(vals))
        assert s["std"] == pytest.approx(statistics.stdev(vals))


def test_wilcoxon_of_the_transducer_against_each_other_method(comparison):
    from ttune.metrics.significance import wilcoxon

    cfg, results, _ = comparison
    assert sorted(results["wilcoxon"]) == ["lora", "none"]

    def per_example(method):  # seed-averaged per-example scores, by record id
        by_seed = []
        for seed in SEEDS:
            path = (
                Path(cfg.output_dir) / "runs" / method / f"seed-{seed}" / "eval.predictions.jsonl"
            )
            by_seed.append(
                {
                    json.loads(x)["id"]: json.loads(x)["smooth_bleu4"]
                    for x in path.read_text(encoding="utf-8").splitlines()
                }
            )
        return {i: statistics.fmean(s[i] for s in by_seed) for i in by_seed[0]}

    base = per_example("transducer")
    for method in ("lora", "none"):
        other = per_example(method)
        ids = sorted(base)
        want = wilcoxon([base[i] for i in ids], [other[i] for i in ids])
        got = results["wilcoxon"][method]
        assert got["n_records"] == 8 and got["baseline"] == "transducer"
        assert got["p_value"] == pytest.approx(want.p_value) and got["n"] == want.n
        assert sorted(got["per_seed"]) == sorted(str(s) for s in SEEDS)


def test_report_embeds_the_plots(comparison):
    cfg, results, _ = comparison
    out = Path(cfg.output_dir)
    report = (out / "report.md").read_text(encoding="utf-8")
    assert results["plots"] == ["score_vs_params.png", "validation_curves.png"]
    for png in results["plots"]:
        assert f"]({png})" in report
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| `transducer` |" in report and "| `lora` |" in report and "Wilcoxon" in report
    assert "psutil" in report  # says how memory was measured


def test_validation_curves_come_from_the_logs(comparison):
    from ttune.compare.report import validation_curves

    cfg, results, _ = comparison
    curves = validation_curves(results["runs"])
    assert sorted(curves) == sorted(METHODS)
    for method in METHODS:  # eval_every=1 and 2 steps: a validation after each step
        assert [[s for s, _ in pts] for pts in curves[method].values()] == [[1, 2], [1, 2]]


def test_progress_events_name_each_run_and_estimate_time_left(comparison):
    _, _, events = comparison
    starts = [e for e in events if e.kind == "start"]
    dones = [e for e in events if e.kind == "done"]
    assert [(e.method, e.seed) for e in starts] == [(m, s) for m in METHODS for s in SEEDS]
    assert [e.index for e in starts] == list(range(1, 7)) and {e.total for e in events} == {6}
    assert starts[0].seconds_left is None  # nothing finished yet: no estimate
    assert all(e.seconds_left is not None and e.seconds_left > 0 for e in starts[1:])
    assert dones[-1].seconds_left == 0.0 and all(e.elapsed > 0 for e in dones)


def test_estimate_uses_each_methods_own_mean_then_the_overall_mean():
    from ttune.compare import estimate_seconds_left

    assert estimate_seconds_left({}, ["a"]) is None
    assert estimate_seconds_left({}, []) == 0.0
    # a: mean 10; b: mean 30; c has no finished run: overall mean (10 + 20 + 30... ) = 20
    assert estimate_seconds_left({"a": [5.0, 15.0], "b": [30.0]}, ["a", "b", "c"]) == pytest.approx(
        10 + 30 + (5 + 15 + 30) / 3
    )


def test_rerun_keeps_finished_runs(comparison, make_compare_config, tmp_path):
    from ttune.compare import run_comparison

    cfg, results, _ = comparison
    out = tmp_path / "moved"
    shutil.copytree(cfg.output_dir, out)
    weights = {p: p.stat().st_mtime_ns for p in out.glob("runs/*/seed-*/method.safetensors")}
    assert len(weights) == 6
    events = []
    again = run_comparison(make_compare_config(out), on_event=events.append)
    assert [e.kind for e in events] == ["skip"] * 6
    assert {p: p.stat().st_mtime_ns for p in weights} == weights
    assert again["summary"] == results["summary"]
    assert all(
        Path(r["dir"]).parent.parent.parent == out for r in again["runs"]
    )  # the moved folder


def test_trained_run_without_eval_is_only_evaluated(comparison, make_compare_config, tmp_path):
    from ttune.compare import run_comparison

    cfg, results, _ = comparison
    out = tmp_path / "partial"
    shutil.copytree(cfg.output_dir, out)
    run = out / "runs" / "lora" / "seed-99"
    (run / "run.json").unlink()
    (run / "eval.json").unlink()
    stats = (run / "train_stats.json").read_text(encoding="utf-8")
    mtime = (run / "method.safetensors").stat().st_mtime_ns
    events = []
    again = run_comparison(make_compare_config(out), on_event=events.append)
    assert [(e.kind, e.method, e.seed) for e in events if e.kind != "skip"] == [
        ("start", "lora", 99),
        ("done", "lora", 99),
    ]
    assert (run / "method.safetensors").stat().st_mtime_ns == mtime
    assert (run / "train_stats.json").read_text(encoding="utf-8") == stats
    redone = next(r for r in again["runs"] if (r["method"], r["seed"]) == ("lora", 99))
    before = next(r for r in results["runs"] if (r["method"], r["seed"]) == ("lora", 99))
    assert redone["scores"] == before["scores"]


def test_other_budget_in_the_same_folder_is_refused(comparison, make_compare_config):
    from ttune.compare import CompareError, run_comparison

    cfg, _, _ = comparison
    with pytest.raises(CompareError, match="holds a comparison with other max_steps"):
        run_comparison(make_compare_config(cfg.output_dir, max_steps=3))


def test_method_subsets_with_their_own_lrs_share_a_folder(
    comparison, make_compare_config, tmp_path
):
    """Two processes may split the methods of one comparison: per-method settings need only agree
    on the methods both run."""
    from ttune.compare import CompareError, run_comparison

    cfg, _, _ = comparison
    out = tmp_path / "shared"
    shutil.copytree(cfg.output_dir, out)
    path = out / "compare_config.json"
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["method_lr"] == {} and "full" not in saved["methods"]
    saved["methods"].append("full")  # as if another process ran full at 1e-4
    saved["method_lr"] = {"full": 1e-4}
    path.write_text(json.dumps(saved), encoding="utf-8")
    events = []
    run_comparison(make_compare_config(out), on_event=events.append)
    assert {e.kind for e in events} == {"skip"}
    merged = json.loads(path.read_text(encoding="utf-8"))
    assert merged["method_lr"] == {"full": 1e-4} and merged["methods"][-1] == "full"
    with pytest.raises(
        CompareError, match="holds a comparison with other method_lr of transducer;"
    ):
        run_comparison(make_compare_config(out, method_lr={"transducer": 5e-2}))


def test_a_folder_written_before_a_setting_existed_resumes(
    comparison, make_compare_config, tmp_path
):
    """compare_config.json without follow_bias (written before it existed) means its default;
    a comparison under a follow bias trains every run under it."""
    from ttune.compare import CompareError, run_comparison
    from ttune.compare.runner import CompareRunner

    cfg, _, _ = comparison
    out = tmp_path / "older"
    shutil.copytree(cfg.output_dir, out)
    path = out / "compare_config.json"
    saved = json.loads(path.read_text(encoding="utf-8"))
    del saved["follow_bias"]
    path.write_text(json.dumps(saved), encoding="utf-8")
    events = []
    run_comparison(make_compare_config(out), on_event=events.append)
    assert {e.kind for e in events} == {"skip"}
    with pytest.raises(CompareError, match="holds a comparison with other follow_bias"):
        run_comparison(make_compare_config(out, follow_bias=4.0))
    runner = CompareRunner(make_compare_config(tmp_path / "new", follow_bias=4.0))
    assert runner.train_config("transducer", 0).follow_bias == 4.0
    with pytest.raises(CompareError, match="follow_bias"):
        make_compare_config(tmp_path / "bad", follow_bias=-1.0)


def test_unknown_method_fails_before_anything_is_written(make_compare_config, tmp_path):
    from ttune.compare import run_comparison
    from ttune.methods import UnknownMethodError

    with pytest.raises(
        UnknownMethodError, match="unknown method 'nope'; known: .*transducer-no-ddg"
    ):
        run_comparison(make_compare_config(tmp_path / "x", methods=("transducer", "nope")))
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(methods=()), "methods: must name at least one method"),
        (dict(methods=("lora", "lora")), "methods: lists a method twice"),
        (dict(seeds=(1, 1)), "seeds: lists a seed twice"),
        (dict(max_steps=0), "max_steps: must be an integer >= 1 or unset"),
        (
            dict(method_lr={"full": 1e-4}),
            "method_lr/method_options name methods not compared: full",
        ),
        (dict(test_metrics=("bleu5",)), "test_metrics: unknown metric 'bleu5'"),
        (dict(test_metrics=("chrf", "chrf")), "test_metrics: lists a metric twice"),
    ],
)
def test_bad_settings_are_one_line_errors(make_compare_config, tmp_path, kw, message):
    from ttune.compare import CompareError

    with pytest.raises(CompareError) as e:
        make_compare_config(tmp_path, **kw)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_other_test_metrics_are_recomputed_from_the_predictions(
    comparison, make_compare_config, tmp_path
):
    """chrf is not stored in the predictions files (only the headline smooth_bleu4 is): the tests
    recompute it per example from prediction and target, on a finished comparison, training
    nothing."""
    from ttune.compare import run_comparison
    from ttune.metrics import per_example
    from ttune.metrics.significance import wilcoxon

    cfg, results, _ = comparison
    out = tmp_path / "metrics"
    shutil.copytree(cfg.output_dir, out)
    events = []
    again = run_comparison(
        make_compare_config(out, test_metrics=("chrf", "smooth_bleu4")), on_event=events.append
    )
    assert {e.kind for e in events} == {"skip"}
    assert again["test_metrics"] == ["chrf", "smooth_bleu4"]
    assert again["wilcoxon"] == again["wilcoxon_by_metric"]["chrf"]
    assert again["wilcoxon_by_metric"]["smooth_bleu4"] == results["wilcoxon"]

    def chrf(method):  # seed-averaged per-example chrF, in record order
        by_seed = []
        for seed in SEEDS:
            rows = [
                json.loads(x)
                for x in (out / "runs" / method / f"seed-{seed}" / "eval.predictions.jsonl")
                .read_text(encoding="utf-8")
                .splitlines()
            ]
            assert "chrf" not in rows[0]
            by_seed.append(
                per_example("chrf", [r["prediction"] for r in rows], [r["target"] for r in rows])
            )
        return [statistics.fmean(v) for v in zip(*by_seed)]

    want = wilcoxon(chrf("transducer"), chrf("lora"))
    got = again["wilcoxon_by_metric"]["chrf"]["lora"]
    assert (
        got["metric"] == "chrf"
        and got["p_value"] == pytest.approx(want.p_value)
        and got["n"] == want.n
    )
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "## Wilcoxon signed-rank tests: `transducer` against each method (chrf)" in report
    assert (
        "## Wilcoxon signed-rank tests: `transducer` against each method (smooth_bleu4)" in report
    )


def test_rebuild_report_from_finished_runs(comparison, tmp_path):
    from ttune import api

    cfg, results, _ = comparison
    out = tmp_path / "rebuilt"
    shutil.copytree(cfg.output_dir, out)
    (out / "results.csv").unlink()
    (out / "report.md").unlink()
    again = api.compare_report(out)
    assert (out / "results.csv").read_text(encoding="utf-8") == (
        Path(cfg.output_dir) / "results.csv"
    ).read_text(encoding="utf-8")
    assert (out / "report.md").is_file() and again["summary"] == results["summary"]


def test_without_matplotlib_the_report_says_so(comparison, tmp_path, monkeypatch):
    import sys

    from ttune import api

    cfg, _, _ = comparison
    out = tmp_path / "noplots"
    shutil.copytree(cfg.output_dir, out)
    for png in out.glob("*.png"):
        png.unlink()
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    again = api.compare_report(out)
    assert again["plots"] == [] and not list(out.glob("*.png"))
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "![" not in report and "plots skipped: matplotlib is not installed" in report


def test_bad_method_option_fails_before_any_run(make_compare_config, tmp_path):
    from ttune.compare import run_comparison
    from ttune.methods import MethodConfigError

    with pytest.raises(MethodConfigError, match="unknown field"):
        run_comparison(make_compare_config(tmp_path / "x", method_options={"lora": {"rank": 4}}))
    assert not (tmp_path / "x").exists()


def test_a_failed_run_is_reported_and_retried_next_time(
    comparison, make_compare_config, tmp_path, monkeypatch
):
    from ttune.compare import CompareRunner, run_comparison

    cfg, _, _ = comparison
    out = tmp_path / "failing"
    shutil.copytree(cfg.output_dir, out)
    shutil.rmtree(out / "runs" / "lora" / "seed-18")
    original = CompareRunner.run_one

    def run_one(self, method, seed):
        if method == "lora":
            raise ValueError("loss became nan at step 1 (epoch 0); training stopped")
        return original(self, method, seed)

    monkeypatch.setattr(CompareRunner, "run_one", run_one)
    events = []
    results = run_comparison(make_compare_config(out), on_event=events.append)
    assert [(e.kind, e.method, e.seed, e.message) for e in events if e.kind == "fail"] == [
        ("fail", "lora", 18, "loss became nan at step 1 (epoch 0); training stopped")
    ]
    rows = read_csv(out / "results.csv")
    failed = next(r for r in rows if (r["method"], r["seed"]) == ("lora", "18"))
    assert failed["status"] == "failed" and failed["smooth_bleu4"] == ""
    lora = results["summary"]["lora"]["smooth_bleu4"]
    assert lora["n"] == 1 and lora["std"] is None  # the mean is over the successful seed only
    assert "Failed runs: `lora` seed 18: loss became nan" in (out / "report.md").read_text(
        encoding="utf-8"
    )
    monkeypatch.setattr(CompareRunner, "run_one", original)
    events.clear()
    run_comparison(make_compare_config(out), on_event=events.append)
    assert [(e.kind, e.method, e.seed) for e in events if e.kind != "skip"] == [
        ("start", "lora", 18),
        ("done", "lora", 18),
    ]


def test_results_table_script_summarises_the_reports(comparison, tmp_path):
    """scripts/results_table.py (the docs/results/README tables) reads results.json as written."""
    import subprocess
    import sys

    cfg, results, _ = comparison
    (tmp_path / "sum").mkdir()
    shutil.copy(Path(cfg.output_dir) / "results.json", tmp_path / "sum" / "results.json")
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, str(root / "scripts" / "results_table.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    s = results["summary"]
    t, lora = s["transducer"]["smooth_bleu4"]["mean"], s["lora"]["smooth_bleu4"]["mean"]
    p = results["wilcoxon"]["lora"]["p_value"]
    assert (
        f"| `transducer` | {int(s['transducer']['trainable_parameters']['mean']):,} | {t:.2f}"
        in out
    )
    assert f"| `lora` | {int(s['lora']['trainable_parameters']['mean']):,} | {lora:.2f}" in out
    assert f"(p {p:.2g})" in out
    assert f"{s['transducer']['best_valid_loss']['mean']:.3f} (" in out
    assert f"- sum (smooth_bleu4):\n  transducer {t:.2f} vs LoRA {lora:.2f}" in out


def test_a_cpu_comparison_on_a_cuda_machine_records_the_cpu(
    comparison, make_compare_config, tmp_path, monkeypatch
):
    """--device cpu on a machine with a GPU: the run record names the cpu, and no CUDA memory
    statistics are touched (they used to follow torch.cuda.is_available())."""
    import torch

    from ttune.compare import run_comparison

    cfg, results, _ = comparison
    out = tmp_path / "cpu"
    shutil.copytree(cfg.output_dir, out)
    run = out / "runs" / "lora" / "seed-99"
    (run / "run.json").unlink()
    (run / "eval.json").unlink()

    def no_cuda(*args, **kwargs):
        raise AssertionError("CUDA statistics touched by a --device cpu comparison")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", no_cuda)
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", no_cuda)
    run_comparison(make_compare_config(out, device="cpu"))
    record = json.loads((run / "run.json").read_text(encoding="utf-8"))
    assert record["device"] == "cpu"


def test_copy_baseline_scores_each_source_as_its_own_translation(tmp_path):
    from ttune.compare.report import copy_baseline

    test = tmp_path / "test.jsonl"
    rows = [
        {"source": "int f() { return 1; }", "target": "int f() { return 1; }"},
        {"source": "boolean g() { return x; }", "target": "bool g() { return x; }"},
        {"source": "void h() { }", "target": "void H() { }"},
    ]
    test.write_text("".join(json.dumps({**r, "target_lang": "csharp"}) + "\n" for r in rows))
    got = copy_baseline("translate", str(test), 2, ["exact_match"])
    assert got == {"n_records": 2, "scores": {"exact_match": 50.0}, "unavailable_metrics": {}}
    assert copy_baseline("summarize", str(test), 2, ["exact_match"]) is None
    assert copy_baseline("translate", str(tmp_path / "missing.jsonl"), 2, ["exact_match"]) is None
