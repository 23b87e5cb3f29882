"""Train and evaluate every method x seed on the same data, budget and generation settings.

Each run goes through the training engine (:class:`ttune.train.engine.Trainer`, the code behind
``ttune train``) and :func:`ttune.train.evaluate.evaluate` (the code behind ``ttune eval``), so a
comparison measures exactly what a user gets from those commands. Output folder::

    compare_config.json               the settings (a rerun with other settings is refused)
    runs/<method>/seed-<seed>/        the run's training folder (see ttune.train.engine) plus
        train_stats.json              trainable parameters, steps, training time, peak memory
        eval.json                     test scores (ttune.train.evaluate.evaluate's results file)
        eval.predictions.jsonl        id, prediction, target, per-example headline score
        run.json                      everything above in one record (written last: "finished")
    results.csv, results.json, report.md, *.png   (see ttune.compare.report)

Resuming: a run whose folder holds run.json (hence the final method and its eval file) is not
redone; a trained run without its evaluation is only evaluated; an interrupted training resumes
from its last checkpoint (the engine's own resume).

Several processes (``torchrun`` / ``accelerate launch``, :mod:`ttune.dist`): every process walks
the same plan; each run trains and evaluates in all of them, and only the main process writes.
Times and memory are the main process's.

Measurements (one process, runs one after another):
    - trainable parameters: ``adapted.num_trainable()`` (parameters actually used by forward);
    - training time per step: wall time of the optimizer steps this process ran, without model
      loading, CPG extraction, validation, checkpoint writing and finalising, divided by the steps;
    - inference time per example: wall time of generation over the test set (graph encoding and
      beam search included; backbone loading and CPG extraction excluded) / test records;
    - peak memory: the process's resident set size (RSS), sampled with psutil every 20 ms while
      the run trains and evaluates; it includes the Python process, the libraries and the frozen
      backbone, so differences between methods are what matters. On CUDA the peak allocated GPU
      memory (torch.cuda.max_memory_allocated) is reported too.
"""

from __future__ import annotations

import gc
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from ttune import dist
from ttune.compare.report import write_report
from ttune.cpg.cache import default_cache_dir
from ttune.io import atomic_write_text
from ttune.metrics import check_metric_name
from ttune.metrics.results import source_revision
from ttune.options import check_device, resolve_device
from ttune.runs import JsonConfig, resolve_precision
from ttune.tasks import DECODING_FIELDS, get_task
from ttune.train.config import TrainConfig


class CompareError(ValueError):
    """A comparison that cannot run as asked. The message is one line."""


# Settings that must match for a rerun to reuse an output folder's finished runs (methods and seeds
# may grow: new runs are added, finished ones are kept).
BUDGET_KEYS = (
    "task",
    "model",
    "train_file",
    "valid_file",
    "test_file",
    "max_steps",
    "epochs",
    "batch_size",
    "grad_accum",
    "lr",
    "method_lr",
    "method_options",
    "max_source_len",
    "max_target_len",
    "max_train_records",
    "test_limit",
    "num_beams",
    "max_new_tokens",
    "eval_every",
    "early_stopping_patience",
    "follow_bias",
)
PER_METHOD_KEYS = (
    "method_lr",
    "method_options",
)  # compared per method run by both (see _check_output)


@dataclass
class CompareConfig(JsonConfig):
    """One comparison: methods x seeds, all on the same data, budget and generation settings.
    ``to_dict`` / ``from_dict``: JSON (compare_config.json, written by the runner)."""

    config_error = CompareError
    options_name = "comparison"

    task: str
    """Task name (summarize, assert, translate, custom)."""
    methods: tuple[str, ...]
    """Methods to compare (registered names, e.g. transducer, lora, none, transducer-no-ddg)."""
    model: str
    """Backbone: a local folder or a hub id; the same for every run."""
    train_file: str
    """Training data (JSON lines)."""
    test_file: str
    """Test data (JSON lines); every run is scored on it with the task's metrics."""
    output_dir: str
    """Comparison folder (runs/, results.csv, results.json, report.md, plots)."""
    valid_file: str | None = None
    """Validation data (picks each run's best checkpoint and gives the validation curves)."""
    seeds: tuple[int, ...] = (18, 99)
    """Seeds; every method runs once per seed."""
    max_steps: int | None = None
    """Optimizer steps per run (overrides epochs)."""
    epochs: int = 3
    """Passes over the training data when max_steps is unset."""
    batch_size: int = 8
    """Examples per micro-batch (training and generation)."""
    grad_accum: int = 1
    """Micro-batches per optimizer step."""
    lr: float = 1e-3
    """Peak learning rate of every method without an entry in method_lr."""
    method_lr: dict[str, float] = field(default_factory=dict)
    """Learning rate per method, e.g. {"full": 1e-4} (full fine-tuning diverges at 1e-3)."""
    method_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Method config overrides per method, e.g. {"lora": {"r": 8}}."""
    max_source_len: int | None = None
    """Source tokens per example (default: the task's)."""
    max_target_len: int | None = None
    """Target tokens per example in training (default: the task's)."""
    max_train_records: int | None = None
    """Use only the first N training records."""
    test_limit: int | None = None
    """Score only the first N test records."""
    num_beams: int = 1
    """Beam width of test generation (and of validation generation)."""
    max_new_tokens: int | None = None
    """Most tokens generated per test example (default: the task's target length)."""
    eval_every: int = 0
    """Validate every N optimizer steps (0 = every epoch); more points on the validation curves."""
    early_stopping_patience: int = 0
    """Stop a run after this many validations without improvement (0 = never)."""
    follow_bias: float = 0.0
    """Train and decode every method under decoding's follow bias (ttune train --follow-bias; a
    task that copies from the source, such as translate; docs/decoding.md). 0: the plain loss."""
    baseline: str = "transducer"
    """The method the Wilcoxon tests compare every other method with."""
    test_metrics: tuple[str, ...] = ()
    """Metrics of the Wilcoxon tests (the first also gives the score plot); empty = the task's
    headline metric. Per-example scores are recomputed from each run's predictions, so this can
    change on a finished comparison (e.g. smooth_bleu4 for assert, where exact match is all
    zero)."""
    mixed_precision: str = "auto"
    """no, bf16 or fp16; auto = bf16 where a CUDA GPU supports it."""
    device: str = "auto"
    """Device of every run: auto (a CUDA GPU when there is one, else mps, else cpu), cpu, cuda,
    cuda:N or mps."""
    cache_dir: str = field(default_factory=default_cache_dir)
    """CPG cache folder (shared by every run: graphs are extracted once)."""
    num_workers: int = 1
    """Processes extracting CPGs."""
    log_every: int = 10
    """Training log line every N optimizer steps."""
    progress: bool = False
    """Show each run's own training progress bar."""
    command: str = ""
    """The command line that started the comparison (recorded in the results)."""

    def __post_init__(self) -> None:
        def bad(name: str, why: str) -> CompareError:
            return CompareError(f"{name}: {why} (got {getattr(self, name)!r})")

        check_device(self.device)

        if isinstance(self.methods, str):
            self.methods = tuple(m.strip() for m in self.methods.split(",") if m.strip())
        self.methods = tuple(self.methods)
        if not self.methods or not all(isinstance(m, str) and m for m in self.methods):
            raise bad("methods", "must name at least one method")
        if len(set(self.methods)) != len(self.methods):
            raise bad("methods", "lists a method twice")
        self.seeds = tuple(self.seeds)
        if not self.seeds or not all(
            isinstance(s, int) and not isinstance(s, bool) for s in self.seeds
        ):
            raise bad("seeds", "must be one or more integers")
        if len(set(self.seeds)) != len(self.seeds):
            raise bad("seeds", "lists a seed twice")
        for name in ("task", "model", "train_file", "test_file", "output_dir"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise bad(name, "must be a non-empty string")
        for name in (
            "max_steps",
            "max_source_len",
            "max_target_len",
            "max_train_records",
            "test_limit",
            "max_new_tokens",
        ):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or v < 1):
                raise bad(name, "must be an integer >= 1 or unset")
        if not (
            isinstance(self.follow_bias, (int, float)) and 0 <= self.follow_bias < float("inf")
        ):
            raise bad("follow_bias", "must be a finite number >= 0")
        for name in ("epochs", "batch_size", "grad_accum", "num_beams", "num_workers", "log_every"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise bad(name, "must be an integer >= 1")
        if isinstance(self.test_metrics, str):
            self.test_metrics = (self.test_metrics,)
        self.test_metrics = tuple(self.test_metrics)
        if len(set(self.test_metrics)) != len(self.test_metrics):
            raise bad("test_metrics", "lists a metric twice")
        for m in self.test_metrics:
            try:
                check_metric_name(m)
            except ValueError as e:
                raise CompareError(f"test_metrics: {e}") from None
        unknown = sorted((set(self.method_lr) | set(self.method_options)) - set(self.methods))
        if unknown:
            raise CompareError(
                f"method_lr/method_options name methods not compared: {', '.join(unknown)}"
            )
        for m, v in self.method_lr.items():
            if not (isinstance(v, (int, float)) and v > 0):
                raise CompareError(f"method_lr: the learning rate of {m} must be > 0 (got {v!r})")
        # The remaining options (lr, precision, patience, ...) are checked by TrainConfig when the
        # run configs are built, before anything is trained: see CompareRunner.train_configs.

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["methods"], d["seeds"] = list(self.methods), list(self.seeds)
        d["test_metrics"] = list(self.test_metrics)
        return d


@dataclass
class ProgressEvent:
    """What the runner is doing, for a progress display.

    ``kind``: "start" (run ``index`` of ``total`` begins), "done", "skip" (already finished) or
    "fail" (``message`` says why). ``seconds_left``: estimate of the time the remaining runs need,
    from the runs this process finished (None before the first one finishes).
    """

    kind: str
    index: int
    total: int
    method: str
    seed: int
    seconds_left: float | None = None
    elapsed: float | None = None
    message: str = ""


def estimate_seconds_left(durations: dict[str, list[float]], remaining: list[str]) -> float | None:
    """Time the ``remaining`` runs (their method names) should take: each the mean duration of the
    finished runs of its method, else of all finished runs. None while no run has finished."""
    if not remaining:
        return 0.0
    every = [d for ds in durations.values() for d in ds]
    if not every:
        return None
    overall = sum(every) / len(every)
    return sum(
        (sum(durations[m]) / len(durations[m])) if durations.get(m) else overall for m in remaining
    )


class PeakRSS:
    """Peak resident set size of this process while the ``with`` block runs (psutil, every 20 ms).

    Attributes after the block: ``before`` and ``peak`` in bytes.
    """

    def __init__(self, interval: float = 0.02) -> None:
        self._proc = psutil.Process()
        self.interval = interval
        self.before = self.peak = 0
        self._stop = threading.Event()

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def __enter__(self) -> PeakRSS:
        self.before = self.peak = self._proc.memory_info().rss
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)


class PhaseTimes:
    """A training callback (:class:`ttune.train.engine.TrainerCallback` protocol) that adds up the
    wall time of the phases outside the optimizer steps and notes the step a run resumed from, so
    the loop's own time per step can be separated."""

    def __init__(self) -> None:
        self.seconds = {"setup": 0.0, "validate": 0.0, "save": 0.0, "finalize": 0.0}
        self.resumed_step = 0

    def on_phase(self, phase: str, seconds: float) -> None:
        self.seconds[phase] = self.seconds.get(phase, 0.0) + seconds

    def on_resume(self, step: int) -> None:
        self.resumed_step = step


def _write_json(path: Path, obj: Any) -> None:
    if dist.is_main():  # of several processes, the main one writes
        atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise CompareError(f"cannot read {path}: {e}") from None


class CompareRunner:
    """Runs a :class:`CompareConfig`. ``CompareRunner(cfg).run()`` returns the results dict."""

    def __init__(
        self, config: CompareConfig, on_event: Callable[[ProgressEvent], None] | None = None
    ) -> None:
        self.config = config
        self.out = Path(config.output_dir)
        self.on_event = on_event or (lambda e: None)
        source_revision()  # the code this process loaded, before anyone commits while it runs

    # ------------------------------------------------------------------ layout
    def run_dir(self, method: str, seed: int) -> Path:
        return self.out / "runs" / method / f"seed-{seed}"

    def is_finished(self, method: str, seed: int) -> bool:
        d = self.run_dir(method, seed)
        return all(
            (d / n).is_file()
            for n in ("method_config.json", "method.safetensors", "eval.json", "run.json")
        )

    def new_tokens(self) -> int:
        """Most tokens generated per example: max_new_tokens, else the target length."""
        c = self.config
        return c.max_new_tokens or c.max_target_len or get_task(c.task).max_target_len

    def finished_record(self, method: str, seed: int) -> dict[str, Any]:
        """The run.json of a finished run, its folder as it is now (the comparison may have
        moved)."""
        return {
            **_read_json(self.run_dir(method, seed) / "run.json"),
            "dir": str(self.run_dir(method, seed)),
        }

    # ------------------------------------------------------------------ checks
    def _check_methods(self) -> None:
        from ttune.methods import make_config  # lazy: loads torch; --report runs without it

        for m in self.config.methods:
            # UnknownMethodError names the known methods; MethodConfigError the bad option
            make_config(m, **self.config.method_options.get(m, {}))

    def _check_output(self) -> None:
        """Refuse to mix comparisons with other budgets in one folder; record this one's
        settings."""
        path = self.out / "compare_config.json"
        now = self.config.to_dict()
        if path.is_file():  # a setting added since it was written has its default there
            before = {**CompareConfig.defaults(), **_read_json(path)}
            diff = [
                k for k in BUDGET_KEYS if k not in PER_METHOD_KEYS and before.get(k) != now.get(k)
            ]
            # A method's own lr and options must match where both comparisons run it; methods run
            # by only one of them may differ (two processes can share a folder, methods split).
            shared = set(before.get("methods", [])) & set(now["methods"])
            for k in PER_METHOD_KEYS:
                old, new = before.get(k) or {}, now.get(k) or {}
                diff += [f"{k} of {m}" for m in sorted(shared) if old.get(m) != new.get(m)]
                now[k] = {**old, **new}
            if diff:
                raise CompareError(
                    f"{self.out} holds a comparison with other {', '.join(diff)}; "
                    "use another --output or the same settings"
                )
            now["methods"] = list(dict.fromkeys(list(before.get("methods", [])) + now["methods"]))
            now["seeds"] = list(dict.fromkeys(list(before.get("seeds", [])) + now["seeds"]))
        if dist.is_main():
            self.out.mkdir(parents=True, exist_ok=True)
        _write_json(path, now)

    def train_config(self, method: str, seed: int):
        """The TrainConfig of one run: the shared budget, the method's lr and options, the seed."""
        c = self.config
        return TrainConfig(
            model=c.model,
            train_file=c.train_file,
            output_dir=str(self.run_dir(method, seed)),
            task=c.task,
            method=method,
            method_options=dict(c.method_options.get(method, {})),
            valid_file=c.valid_file,
            epochs=c.epochs,
            max_steps=c.max_steps,
            batch_size=c.batch_size,
            grad_accum=c.grad_accum,
            lr=c.method_lr.get(method, c.lr),
            max_source_len=c.max_source_len,
            max_target_len=c.max_target_len,
            max_train_records=c.max_train_records,
            seed=seed,
            eval_every=c.eval_every,
            early_stopping_patience=c.early_stopping_patience,
            follow_bias=c.follow_bias,
            num_beams=c.num_beams,
            max_new_tokens=self.new_tokens(),
            mixed_precision=c.mixed_precision,
            device=c.device,
            num_workers=c.num_workers,
            cache_dir=c.cache_dir,
            log_every=c.log_every,
            progress=c.progress,
        )

    # ------------------------------------------------------------------ one run
    def _train(self, method: str, seed: int) -> dict[str, Any]:
        import torch  # lazy: loads torch; config checks and --report run without it

        from ttune.train.engine import Trainer  # lazy: loads torch and transformers

        d = self.run_dir(method, seed)
        stats_path = d / "train_stats.json"
        if (
            stats_path.is_file()
            and (d / "method.safetensors").is_file()
            and (d / "method_config.json").is_file()
        ):
            return _read_json(stats_path)
        cfg = self.train_config(method, seed)
        cuda = resolve_device(self.config.device).startswith("cuda")  # the device runs use
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        times = PhaseTimes()
        trainer = Trainer(cfg, callbacks=[times])
        t0 = time.perf_counter()
        with PeakRSS() as rss:
            trainer.run()
        total = time.perf_counter() - t0
        steps = trainer.state.step - times.resumed_step
        loop = max(0.0, total - sum(times.seconds.values()))
        stats = {
            "trainable_parameters": int(trainer.adapted.num_trainable()),
            "steps": int(trainer.state.step),
            "steps_this_process": int(steps),
            "train_seconds_total": total,
            "train_loop_seconds": loop,
            "train_seconds_per_step": loop / steps if steps else None,
            "phase_seconds": dict(times.seconds),
            "train_peak_rss_mb": rss.peak / 2**20,
            "rss_before_mb": rss.before / 2**20,
            "train_peak_cuda_mb": torch.cuda.max_memory_allocated() / 2**20 if cuda else None,
            "train_examples": len(trainer.train_examples),
            "stopped_early": bool(trainer.state.stopped_early),
        }
        del trainer
        gc.collect()
        if cuda:
            torch.cuda.empty_cache()  # the next run's peak starts from what it allocates itself
        _write_json(stats_path, stats)
        return stats

    def _evaluate(self, method: str, seed: int) -> dict[str, Any]:
        import torch  # lazy: loads torch; config checks and --report run without it

        from ttune.train.evaluate import evaluate  # lazy: loads torch and transformers

        c = self.config
        d = self.run_dir(method, seed)
        cuda = resolve_device(self.config.device).startswith("cuda")  # the device runs use
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        gen: list[float] = []
        with PeakRSS() as rss:
            results = evaluate(
                d,
                c.task,
                c.test_file,
                d / "eval.json",
                limit=c.test_limit,
                num_beams=c.num_beams,
                batch_size=c.batch_size,
                command=c.command,
                max_new_tokens=self.new_tokens(),
                cache_dir=c.cache_dir,
                num_workers=c.num_workers,
                device=c.device,
                on_generate=gen.append,
            )
        n = int(results["header"]["n_records"])
        gc.collect()
        return {
            "scores": results["scores"],
            "unavailable_metrics": results["unavailable_metrics"],
            "test_records": n,
            "decoding": {
                k: results["header"].get(k) for k in ("no_repeat_ngram_size", *DECODING_FIELDS)
            },
            "inference_seconds": sum(gen),
            "inference_seconds_per_example": sum(gen) / n if n else None,
            "eval_peak_rss_mb": rss.peak / 2**20,
            "eval_peak_cuda_mb": torch.cuda.max_memory_allocated() / 2**20 if cuda else None,
        }

    def run_one(self, method: str, seed: int) -> dict[str, Any]:
        """Train (or resume) and evaluate one run; write and return its run.json record."""
        d = self.run_dir(method, seed)
        t0 = time.perf_counter()
        stats = self._train(method, seed)
        ev = self._evaluate(method, seed)
        import torch  # lazy: loads torch; config checks and --report run without it

        # Wall-clock timings depend on the machine's state: record what they were measured under.
        machine = {
            "device": resolve_device(self.config.device),
            # "auto" resolves per machine (bf16 on CPUs that compute it natively): what ran
            "precision": resolve_precision(
                self.config.mixed_precision, resolve_device(self.config.device).split(":")[0]
            ),
            "torch_threads": torch.get_num_threads(),
            "ttune_revision": source_revision(),  # read when this process started
            "load_average_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        }
        record = {
            "method": method,
            "seed": seed,
            "status": "ok",
            "dir": str(d),
            **stats,
            **ev,
            **machine,
            "peak_rss_mb": max(stats["train_peak_rss_mb"], ev["eval_peak_rss_mb"]),
            "run_seconds": time.perf_counter() - t0,
        }
        _write_json(d / "run.json", record)
        return record

    # ------------------------------------------------------------------ all runs
    def run(self) -> dict[str, Any]:
        """Every method x seed (finished ones read back), then the results files and the report."""
        c = self.config
        self._check_methods()
        for m in c.methods:  # every option checked before the first run starts
            self.train_config(m, c.seeds[0])
        dist.init(resolve_device(c.device))
        with dist.main_first("waiting for the main process to check the output folder"):
            self._check_output()
        plan = [(m, s) for m in c.methods for s in c.seeds]
        durations: dict[str, list[float]] = {}
        records: list[dict[str, Any]] = []
        for i, (m, s) in enumerate(plan, 1):
            remaining = [pm for pm, ps in plan[i - 1 :] if not self.is_finished(pm, ps)]
            if self.is_finished(m, s):
                records.append(self.finished_record(m, s))
                self.on_event(
                    ProgressEvent(
                        "skip", i, len(plan), m, s, estimate_seconds_left(durations, remaining)
                    )
                )
                continue
            self.on_event(
                ProgressEvent(
                    "start", i, len(plan), m, s, estimate_seconds_left(durations, remaining)
                )
            )
            t0 = time.perf_counter()
            try:
                rec = self.run_one(m, s)
            except ValueError as e:  # every ttune error is a ValueError with a one-line message
                msg = str(e).splitlines()[0] if str(e) else type(e).__name__
                rec = {
                    "method": m,
                    "seed": s,
                    "status": "failed",
                    "error": msg,
                    "dir": str(self.run_dir(m, s)),
                }
                self.on_event(
                    ProgressEvent("fail", i, len(plan), m, s, None, time.perf_counter() - t0, msg)
                )
            else:
                durations.setdefault(m, []).append(time.perf_counter() - t0)
                self.on_event(
                    ProgressEvent(
                        "done",
                        i,
                        len(plan),
                        m,
                        s,
                        estimate_seconds_left(durations, remaining[1:]),
                        time.perf_counter() - t0,
                    )
                )
            records.append(rec)
        if not dist.is_main():
            dist.barrier("waiting for the main process to write the report")
            return _read_json(self.out / "results.json")
        results = write_report(c, records)
        dist.barrier("waiting for the other processes to finish")
        return results


def run_comparison(
    config: CompareConfig, on_event: Callable[[ProgressEvent], None] | None = None
) -> dict[str, Any]:
    """Train and evaluate every method x seed of ``config``; write results.csv, results.json, the
    plots and report.md into ``config.output_dir``; return the results dict. A missing data file
    fails at once (CompareError), not once per run."""
    for what, name in (
        ("training", config.train_file),
        ("test", config.test_file),
        ("validation", config.valid_file),
    ):
        if name is not None and not Path(name).is_file():
            raise CompareError(f"{what} file not found: {name}")
    return CompareRunner(config, on_event).run()


def rebuild_report(output_dir: str | Path) -> dict[str, Any]:
    """Rewrite the results files, plots and report of a comparison folder from the run.json of its
    finished runs (nothing is trained); unfinished runs are listed as not finished."""
    out = Path(output_dir)
    path = out / "compare_config.json"
    if not path.is_file():
        raise CompareError(f"{out} is not a comparison folder (no compare_config.json)")
    saved = _read_json(path)
    saved["output_dir"] = str(out)  # the folder may have moved since the runs
    config = CompareConfig.from_dict(saved)
    runner = CompareRunner(config)
    records = []
    for m in config.methods:
        for s in config.seeds:
            if runner.is_finished(m, s):
                records.append(runner.finished_record(m, s))
            else:
                records.append(
                    {
                        "method": m,
                        "seed": s,
                        "status": "not finished",
                        "error": "not finished",
                        "dir": str(runner.run_dir(m, s)),
                    }
                )
    return write_report(config, records)
