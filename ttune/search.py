"""``ttune search``: the hybrid method search of MambaPEFT (Yoshimura, Hayashi & Maeda, ICLR 2025)
with Optuna's TPE sampler, for any backbone and any registered candidate methods.

Two steps, each a fixed number of trials; a trial trains the composed method (``hybrid``,
:mod:`ttune.methods.hybrid`) for ``max_steps`` optimizer steps and its objective is the validation
loss at that step (lower is better):

1. every candidate is switched on or off (``use:<method>``), each at its smallest size (the low
   end of its ``search_space``, :attr:`ttune.methods.MethodConfig.search_space`), all at the run's
   learning rate. A trial that switches nothing on is recorded as pruned, without training.
2. starting from step 1's best set (enqueued as the first trial: smallest sizes, multipliers 1,
   nothing dropped), TPE tunes each chosen method's sizes (``<method>.<field>``, integers on a log
   scale), its learning-rate multiplier (``lr_scale:<method>``, log scale in ``lr_scale_range``)
   and whether to drop one of the chosen methods (``drop``).

Output folder::

    search_config.json        the settings (a rerun with another budget is refused)
    study.db                  Optuna's SQLite storage: studies ttune-search-step1 and -step2
    trials/step<S>-<NNN>/     each trial's training run (ttune.train.engine) + result.json
    singles/<method>/         each candidate alone at its defaults, same budget (single_baselines)
    best.json                 the best composed config: ttune train --method hybrid --method-config
    report.md, objective_vs_params.png

Resuming and reproducibility: the sampler of the trial in slot ``i`` of step ``S`` is a fresh
TPESampler seeded from (seed, S, i), so the trials depend only on the finished trials before them,
never on how many processes ran them. A rerun continues where the last one stopped; a trial left
running by an interrupted process is marked failed and asked again (same slot, same seed, same
history, hence the same parameters), and its training resumes from its own checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ttune.cpg.cache import default_cache_dir
from ttune.io import atomic_write_text
from ttune.options import check_device
from ttune.runs import JsonConfig
from ttune.train.config import Precision, TrainConfig

STUDY_NAMES = {1: "ttune-search-step1", 2: "ttune-search-step2"}
STORAGE_FILE = "study.db"
CONFIG_FILE = "search_config.json"
BEST_FILE = "best.json"
RESULT_FILE = "result.json"
NO_DROP = "none"

# Settings that must match for a rerun to continue a search folder (trial counts may grow).
BUDGET_KEYS = (
    "task",
    "model",
    "train_file",
    "valid_file",
    "candidates",
    "method_options",
    "space",
    "max_steps",
    "batch_size",
    "lr",
    "lr_scale_range",
    "startup_trials",
    "seed",
    "max_source_len",
    "max_target_len",
    "max_train_records",
)


class SearchError(ValueError):
    """A search that cannot run as asked. The message is one line."""


@dataclass
class SearchConfig(JsonConfig):
    """One hybrid method search: candidates, trials per step and the training budget of a trial.
    ``to_dict`` / ``from_dict``: JSON (search_config.json, written by the search)."""

    config_error = SearchError
    options_name = "search"
    file_label = "search config"

    model: str
    """Backbone: a local folder or a hub id; the same for every trial."""
    train_file: str
    """Training data (JSON lines)."""
    valid_file: str
    """Validation data (JSON lines): the objective is the validation loss on it."""
    output_dir: str
    """Search folder (study.db, trials/, best.json, report.md, the plot)."""
    task: str = "summarize"
    """Task name (summarize, assert, translate, custom, types)."""
    candidates: tuple[str, ...] = ("lora", "prefix", "prompt", "adapter", "transducer")
    """Methods the search switches on and off (registered names; T5 default shown)."""
    method_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Fixed config fields per candidate, e.g. {"lora": {"target_modules": ["q", "k", "v"]}}."""
    space: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    """Size ranges per candidate overriding its own search_space, e.g. {"lora": {"r": [2, 32]}}:
    step 1 uses the low end, step 2 samples between the ends (log scale)."""
    step1_trials: int = 20
    """Trials of step 1 (which candidates are on)."""
    step2_trials: int = 20
    """Trials of step 2 (sizes, learning-rate multipliers, dropping one method)."""
    max_steps: int = 100
    """Optimizer steps of every trial; the objective is the validation loss after them."""
    batch_size: int = 8
    """Examples per micro-batch."""
    lr: float = 1e-3
    """Learning rate every multiplier scales."""
    lr_scale_range: tuple[float, float] = (0.1, 5.0)
    """Range of the per-method learning-rate multipliers of step 2 (log scale)."""
    startup_trials: int = 10
    """Trials of each step sampled at random before TPE models the results (Optuna's default)."""
    seed: int = 0
    """Seed of the samplers and of every trial's training: the same command gives the same
    trials."""
    single_baselines: bool = True
    """Also train every candidate alone (its defaults and method_options) with the same budget,
    for the report's best-against-best-single comparison."""
    max_source_len: int | None = None
    """Source tokens per example (default: the task's)."""
    max_target_len: int | None = None
    """Target tokens per example (default: the task's)."""
    max_train_records: int | None = None
    """Use only the first N training records."""
    mixed_precision: Precision = "auto"
    """no, bf16 or fp16; auto = bf16 where the device computes it natively, otherwise no."""
    device: str = "auto"
    """Device of every trial: auto, cpu, cuda, cuda:N or mps."""
    cache_dir: str = field(default_factory=default_cache_dir)
    """CPG cache folder (graphs are extracted once for every trial)."""
    num_workers: int = 1
    """Processes extracting CPGs."""
    progress: bool = False
    """Show each trial's training progress bar."""
    command: str = ""
    """The command line that started the search (recorded in the report)."""

    def __post_init__(self) -> None:
        def bad(name: str, why: str) -> SearchError:
            return SearchError(f"{name}: {why} (got {getattr(self, name)!r})")

        check_device(self.device)
        if isinstance(self.candidates, str):
            self.candidates = tuple(m.strip() for m in self.candidates.split(",") if m.strip())
        self.candidates = tuple(self.candidates)
        if not self.candidates or not all(isinstance(m, str) and m for m in self.candidates):
            raise bad("candidates", "must name at least one method")
        if len(set(self.candidates)) != len(self.candidates):
            raise bad("candidates", "lists a method twice")
        if "hybrid" in self.candidates:
            raise bad("candidates", "cannot hold hybrid itself")
        for name in ("task", "model", "train_file", "valid_file", "output_dir"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise bad(name, "must be a non-empty string")
        for name in ("step1_trials", "step2_trials", "max_steps", "batch_size", "num_workers"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise bad(name, "must be an integer >= 1")
        if isinstance(self.startup_trials, bool) or not (
            isinstance(self.startup_trials, int) and self.startup_trials >= 0
        ):
            raise bad("startup_trials", "must be an integer >= 0")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise bad("lr", "must be > 0")
        self.lr_scale_range = tuple(self.lr_scale_range)  # type: ignore[assignment]
        lo_hi = self.lr_scale_range
        if not (
            len(lo_hi) == 2
            and all(isinstance(x, (int, float)) and x > 0 for x in lo_hi)
            and lo_hi[0] <= lo_hi[1]
        ):
            raise bad("lr_scale_range", "must be two numbers 0 < low <= high")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise bad("seed", "must be an integer")
        for name in ("method_options", "space"):
            d = getattr(self, name)
            if not isinstance(d, dict) or not all(isinstance(v, dict) for v in d.values()):
                raise bad(name, "must map candidate names to objects")
            unknown = sorted(set(d) - set(self.candidates))
            if unknown:
                raise SearchError(f"{name} names methods that are not candidates: {unknown}")
        for m, ranges in self.space.items():
            for f, r in ranges.items():
                if not (
                    isinstance(r, (list, tuple))
                    and len(r) == 2
                    and all(isinstance(x, int) and not isinstance(x, bool) and x >= 1 for x in r)
                    and r[0] <= r[1]
                ):
                    raise SearchError(
                        f"space of {m}: {f} must be [low, high], integers 1 <= low <= high "
                        f"(got {r!r})"
                    )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["candidates"], d["lr_scale_range"] = list(self.candidates), list(self.lr_scale_range)
        return d

    def sizes(self, method: str) -> dict[str, tuple[int, int]]:
        """The size fields of ``method`` and their (low, high) ranges: its search_space, changed by
        ``space``."""
        from ttune.methods import get_method  # lazy: loads torch; the CLI's help does not

        own = dict(get_method(method).config_cls.search_space)
        own.update({f: (int(r[0]), int(r[1])) for f, r in self.space.get(method, {}).items()})
        return own


# ------------------------------------------------------------------------------ trials -> configs
def hybrid_options(config: SearchConfig, params: dict[str, Any], chosen: list[str] | None) -> dict:
    """The hybrid method options of a trial's parameters: ``{"parts": [...], "lr_scale": {...}}``.
    ``chosen`` None: a step-1 trial (``use:<m>`` parameters, smallest sizes); else step 2's
    chosen set (sizes, multipliers and ``drop`` from ``params``). Empty parts: nothing is on."""
    if chosen is None:
        on = [m for m in config.candidates if params.get(f"use:{m}")]
    else:
        on = [m for m in chosen if params.get("drop", NO_DROP) != m]
    parts, scale = [], {}
    for m in on:
        sizes = {
            f: int(params.get(f"{m}.{f}", lo)) if chosen is not None else lo
            for f, (lo, _hi) in config.sizes(m).items()
        }
        parts.append({"method": m, **config.method_options.get(m, {}), **sizes})
        if chosen is not None and f"lr_scale:{m}" in params:
            scale[m] = float(params[f"lr_scale:{m}"])
    return {"parts": parts, "lr_scale": scale}


def check_candidates(config: SearchConfig) -> None:
    """Every candidate is a registered method whose fixed options and size fields are valid (one
    line naming the problem otherwise), before anything is trained."""
    from ttune.methods import (  # lazy: loads torch; the CLI's help does not
        MethodConfigError,
        UnknownMethodError,
        get_method,
        make_config,
    )

    for m in config.candidates:
        try:
            spec = get_method(m)
        except UnknownMethodError as e:
            raise SearchError(f"candidates: {e}") from None
        fields = {f for f in spec.config_cls.__dataclass_fields__}
        for f in config.sizes(m):
            if f not in fields:
                raise SearchError(f"space of {m}: {m} has no field {f!r}")
        try:
            for pick in (0, 1):  # both ends of every range make a valid config
                sizes = {f: r[pick] for f, r in config.sizes(m).items()}
                make_config(m, **{**config.method_options.get(m, {}), **sizes})
        except MethodConfigError as e:
            raise SearchError(f"candidate {m}: {e}") from None


def _slot_seed(seed: int, step: int, slot: int) -> int:
    digest = hashlib.sha256(f"ttune-search/{seed}/{step}/{slot}".encode()).hexdigest()
    return int(digest[:8], 16)


# ------------------------------------------------------------------------------ the search
class Search:
    """Runs a :class:`SearchConfig`. ``Search(cfg).run()`` returns the summary dict (also written
    as best.json, report.md and the plot). ``on_trial`` sees every finished trial record."""

    def __init__(
        self,
        config: SearchConfig,
        on_trial: Callable[[dict[str, Any]], None] | None = None,
        stop_after: int | None = None,
    ) -> None:
        self.config = config
        self.out = Path(config.output_dir)
        self.on_trial = on_trial or (lambda rec: None)
        self.stop_after = stop_after
        """Stop (as an interruption would) after this many trials run by this call."""
        self._ran = 0

    # ------------------------------------------------------------------ folder
    def _check_output(self) -> None:
        path = self.out / CONFIG_FILE
        now = self.config.to_dict()
        if path.is_file():
            before = SearchConfig.load(path).to_dict()
            diff = [k for k in BUDGET_KEYS if before.get(k) != now.get(k)]
            if diff:
                raise SearchError(
                    f"{self.out} holds a search with other {', '.join(diff)}; "
                    "use another --output or the same settings"
                )
        self.out.mkdir(parents=True, exist_ok=True)
        self.config.save(path)

    def _study(self, step: int):
        import optuna  # lazy: loads sqlalchemy; the config and the CLI's help do not need it

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        storage = f"sqlite:///{(self.out / STORAGE_FILE).resolve()}"
        return optuna.create_study(
            storage=storage,
            study_name=STUDY_NAMES[step],
            direction="minimize",
            load_if_exists=True,
        )

    # ------------------------------------------------------------------ one training
    def train_config(self, out: Path, method: str, options: dict[str, Any]) -> TrainConfig:
        c = self.config
        return TrainConfig(
            model=c.model,
            train_file=c.train_file,
            valid_file=c.valid_file,
            output_dir=str(out),
            task=c.task,
            method=method,
            method_options=options,
            max_steps=c.max_steps,
            batch_size=c.batch_size,
            lr=c.lr,
            seed=c.seed,
            eval_every=c.max_steps,  # one validation, after the last step: the objective
            max_source_len=c.max_source_len,
            max_target_len=c.max_target_len,
            max_train_records=c.max_train_records,
            mixed_precision=c.mixed_precision,
            device=c.device,
            num_workers=c.num_workers,
            cache_dir=c.cache_dir,
            keep_checkpoints=1,
            progress=c.progress,
        )

    def train_one(self, out: Path, method: str, options: dict[str, Any]) -> dict[str, Any]:
        """Train one configuration (or read its result.json); {objective, trainable_parameters,
        steps}."""
        if (out / RESULT_FILE).is_file():
            return json.loads((out / RESULT_FILE).read_text(encoding="utf-8"))
        from ttune.train.engine import Trainer  # lazy: loads torch and transformers

        trainer = Trainer(self.train_config(out, method, options))
        trainer.run()
        loss = trainer.state.last_valid.get("loss")
        if loss is None or not math.isfinite(loss):
            raise SearchError(f"{out}: no finite validation loss after training")
        result = {
            "objective": float(loss),
            "trainable_parameters": int(trainer.adapted.num_trainable()),
            "steps": int(trainer.state.step),
        }
        atomic_write_text(out / RESULT_FILE, json.dumps(result, indent=2) + "\n")
        return result

    # ------------------------------------------------------------------ one step
    def _ask(self, study, step: int, slot: int, chosen: list[str] | None):
        import optuna  # lazy: see _study

        c = self.config
        study.sampler = optuna.samplers.TPESampler(
            seed=_slot_seed(c.seed, step, slot), n_startup_trials=c.startup_trials
        )
        trial = study.ask()
        if chosen is None:
            for m in c.candidates:
                trial.suggest_categorical(f"use:{m}", [True, False])
        else:
            lo, hi = c.lr_scale_range
            for m in chosen:
                for f, (a, b) in c.sizes(m).items():
                    trial.suggest_int(f"{m}.{f}", a, b, log=True)
                trial.suggest_float(f"lr_scale:{m}", lo, hi, log=True)
            if len(chosen) > 1:
                trial.suggest_categorical("drop", [NO_DROP, *chosen])
        return trial

    def _run_step(self, step: int, n_trials: int, chosen: list[str] | None) -> bool:
        """Run step ``step`` up to ``n_trials`` finished trials; False if stopped early."""
        import optuna  # lazy: see _study

        from ttune.methods import MethodConfigError, MethodError  # lazy: loads torch
        from ttune.methods.hybrid import HybridConfig  # lazy: the registry loads torch
        from ttune.train.engine import TrainingError  # lazy: loads torch and transformers

        study = self._study(step)
        State = optuna.trial.TrialState
        for t in study.get_trials(deepcopy=False, states=(State.RUNNING,)):
            study.tell(t.number, state=State.FAIL)  # left by an interrupted process
        if chosen is not None and not study.get_trials(deepcopy=False):
            base = {f"{m}.{f}": lo for m in chosen for f, (lo, _) in self.config.sizes(m).items()}
            lo, hi = self.config.lr_scale_range
            base.update({f"lr_scale:{m}": min(max(1.0, lo), hi) for m in chosen})
            if len(chosen) > 1:
                base["drop"] = NO_DROP
            study.enqueue_trial(base)
            study.set_user_attr("base", chosen)
        if chosen is not None and study.user_attrs.get("base") != chosen:
            raise SearchError(
                f"{self.out}: step 2 started from {study.user_attrs.get('base')}, step 1's best "
                f"is now {chosen}; use another --output"
            )
        while True:
            done = study.get_trials(deepcopy=False, states=(State.COMPLETE, State.PRUNED))
            slot = len(done)
            if slot >= n_trials:
                return True
            if self.stop_after is not None and self._ran >= self.stop_after:
                return False
            trial = self._ask(study, step, slot, chosen)
            options = hybrid_options(self.config, trial.params, chosen)
            out = self.out / "trials" / f"step{step}-{slot:03d}"
            record = {"step": step, "slot": slot, "trial": trial.number, "params": trial.params}
            try:
                if not options["parts"]:
                    raise MethodConfigError("no method switched on")
                HybridConfig.from_fields(**options)  # refused compositions fail here or in apply
                # done[i] is slot i of this step
                again = next((i for i, t in enumerate(done) if t.params == trial.params), None)
                same = done[again] if again is not None else None
                if same is not None and same.state == State.PRUNED:
                    raise MethodConfigError(same.user_attrs.get("skipped", "pruned before"))
                if same is not None:  # TPE asked again: every trial trains with one seed, so
                    # training it again would give the same result
                    result = {k: same.user_attrs[k] for k in ("trainable_parameters", "steps")}
                    result["objective"] = same.value
                    trial.set_user_attr("repeat_of", again)
                    record["repeat_of"] = again
                else:
                    result = self.train_one(out, "hybrid", options)
            except (MethodConfigError, MethodError, TrainingError) as e:
                # A composition the hybrid refuses, or a diverged training: a failed trial
                reason = str(e).splitlines()[0]
                trial.set_user_attr("skipped", reason)
                study.tell(trial, state=State.PRUNED)
                record.update(state="pruned", reason=reason)
            else:
                for k, v in result.items():
                    trial.set_user_attr(k, v)
                trial.set_user_attr("options", options)
                study.tell(trial, result["objective"])
                record.update(state="complete", options=options, **result)
            self._ran += 1
            self.on_trial(record)

    # ------------------------------------------------------------------ records
    def trial_records(self) -> list[dict[str, Any]]:
        """Every finished trial of both steps (complete and pruned), in order."""
        import optuna  # lazy: see _study

        State = optuna.trial.TrialState
        records = []
        for step in (1, 2):
            if not (self.out / STORAGE_FILE).is_file():
                break
            study = self._study(step)
            done = study.get_trials(deepcopy=False, states=(State.COMPLETE, State.PRUNED))
            for slot, t in enumerate(done):
                rec = {
                    "step": step,
                    "slot": slot,
                    "trial": t.number,
                    "params": dict(t.params),
                    "state": "complete" if t.state == State.COMPLETE else "pruned",
                }
                if t.state == State.COMPLETE:
                    rec.update(
                        objective=t.value,
                        trainable_parameters=t.user_attrs["trainable_parameters"],
                        steps=t.user_attrs["steps"],
                        options=t.user_attrs["options"],
                    )
                    if "repeat_of" in t.user_attrs:
                        rec["repeat_of"] = t.user_attrs["repeat_of"]
                else:
                    rec["reason"] = t.user_attrs.get("skipped", "")
                records.append(rec)
        return records

    def _best_set(self) -> list[str]:
        complete = [r for r in self.trial_records() if r["step"] == 1 and r["state"] == "complete"]
        if not complete:
            raise SearchError("step 1 finished without a trial that trained; more step1_trials?")
        best = min(complete, key=lambda r: (r["objective"], r["slot"]))
        return [p["method"] for p in best["options"]["parts"]]

    def singles(self) -> list[dict[str, Any]]:
        """Each candidate alone at its defaults (and method_options), trained with the same
        budget; a candidate that fails is listed with its reason."""
        from ttune.methods import MethodConfigError, MethodError  # lazy: loads torch
        from ttune.train.engine import TrainingError  # lazy: loads torch and transformers

        out = []
        for m in self.config.candidates:
            try:
                res = self.train_one(
                    self.out / "singles" / m, m, dict(self.config.method_options.get(m, {}))
                )
            except (MethodConfigError, MethodError, TrainingError) as e:
                out.append({"method": m, "state": "failed", "reason": str(e).splitlines()[0]})
            else:
                out.append({"method": m, "state": "complete", **res})
        return out

    # ------------------------------------------------------------------ all
    def run(self) -> dict[str, Any] | None:
        """Both steps (resuming), the single-method baselines, then best.json, the report and the
        plot. Returns the summary, or None when ``stop_after`` stopped it first."""
        c = self.config
        for what, name in (("training", c.train_file), ("validation", c.valid_file)):
            if not Path(name).is_file():
                raise SearchError(f"{what} file not found: {name}")
        check_candidates(c)
        self.train_config(self.out / "trials" / "check", "hybrid", {})  # budget checked now
        self._check_output()
        if not self._run_step(1, c.step1_trials, None):
            return None
        if not self._run_step(2, c.step2_trials, self._best_set()):
            return None
        singles = self.singles() if c.single_baselines else []
        return write_results(c, self.trial_records(), singles)


# ------------------------------------------------------------------------------ results
def write_results(
    config: SearchConfig, records: list[dict[str, Any]], singles: list[dict[str, Any]]
) -> dict[str, Any]:
    """best.json, report.md and objective_vs_params.png from the trial records; the summary."""
    out = Path(config.output_dir)
    complete = [r for r in records if r["state"] == "complete"]
    if not complete:
        raise SearchError("no trial trained; nothing to report")
    best = min(complete, key=lambda r: (r["objective"], r["step"], r["slot"]))
    from ttune.methods import make_config  # lazy: loads torch (already loaded by the trials)

    best_config = make_config("hybrid", **best["options"]).to_dict()  # every field, as saved
    atomic_write_text(out / BEST_FILE, json.dumps(best_config, indent=2) + "\n")
    ok_singles = [s for s in singles if s["state"] == "complete"]
    best_single = min(ok_singles, key=lambda s: s["objective"]) if ok_singles else None
    if best_single is None:  # no baselines run: the best one-method trial stands in
        one = [r for r in complete if len(r["options"]["parts"]) == 1]
        if one:
            b = min(one, key=lambda r: r["objective"])
            best_single = {
                "method": b["options"]["parts"][0]["method"] + f" (trial {b['step']}-{b['slot']})",
                "objective": b["objective"],
                "trainable_parameters": b["trainable_parameters"],
            }
    summary = {
        "best": {
            k: best[k] for k in ("step", "slot", "objective", "trainable_parameters", "options")
        },
        "best_config": best_config,
        "best_single": best_single,
        "trials": records,
        "singles": singles,
    }
    plots, notes = _plot(out, complete, ok_singles, best)
    atomic_write_text(out / "report.md", _report(config, summary, plots, notes))
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary


def _describe(options: dict[str, Any]) -> str:
    parts = []
    for p in options["parts"]:
        sizes = ", ".join(
            f"{k}={v}"
            for k, v in p.items()
            if k not in ("method", "version") and isinstance(v, int)
        )
        scale = options.get("lr_scale", {}).get(p["method"])
        extra = [s for s in (sizes, f"lr x{scale:.3g}" if scale is not None else "") if s]
        parts.append(p["method"] + (f" ({'; '.join(extra)})" if extra else ""))
    return " + ".join(parts)


def _report(config: SearchConfig, summary: dict, plots: list[str], notes: list[str]) -> str:
    c, best = config, summary["best"]
    lines = [
        f"# Hybrid method search: {c.task} on `{c.model}`",
        "",
        f"- candidates: {', '.join(c.candidates)}",
        f"- trials: {c.step1_trials} (step 1) + {c.step2_trials} (step 2); TPE, "
        f"{c.startup_trials} random start-up trials per step, seed {c.seed}",
        f"- objective: validation loss on `{c.valid_file}` after {c.max_steps} optimizer steps "
        f"(batch {c.batch_size}, lr {c.lr}) on `{c.train_file}`",
    ]
    if c.command:
        lines.append(f"- command: `{c.command}`")
    lines += [
        "",
        "## Best against the best single method",
        "",
        "| | configuration | trainable parameters | validation loss |",
        "|---|---|---:|---:|",
        f"| best (trial {best['step']}-{best['slot']}) | "
        f"{_describe(best['options'])} | {best['trainable_parameters']:,} | "
        f"{best['objective']:.4f} |",
    ]
    bs = summary["best_single"]
    if bs is not None:
        lines.append(
            f"| best single method | {bs['method']} | {bs['trainable_parameters']:,} | "
            f"{bs['objective']:.4f} |"
        )
    else:
        lines.append("| best single method | (none trained) | | |")
    lines += [
        "",
        f"`{BEST_FILE}` holds the best configuration: "
        f"`ttune train --method hybrid --method-config {Path(c.output_dir) / BEST_FILE} ...`.",
        "",
        "## Trials",
        "",
        "| step | trial | configuration | trainable parameters | validation loss |",
        "|---:|---:|---|---:|---:|",
    ]
    for r in summary["trials"]:
        if r["state"] == "complete":
            mark = " **best**" if (r["step"], r["slot"]) == (best["step"], best["slot"]) else ""
            if "repeat_of" in r:
                mark += f" (as trial {r['repeat_of']}: not trained again)"
            lines.append(
                f"| {r['step']} | {r['slot']} | {_describe(r['options'])}{mark} | "
                f"{r['trainable_parameters']:,} | {r['objective']:.4f} |"
            )
        else:
            lines.append(f"| {r['step']} | {r['slot']} | pruned: {r['reason']} | | |")
    if summary["singles"]:
        lines += [
            "",
            "## Single methods (defaults, same budget)",
            "",
            "| method | trainable parameters | validation loss |",
            "|---|---:|---:|",
        ]
        for s in summary["singles"]:
            if s["state"] == "complete":
                lines.append(
                    f"| {s['method']} | {s['trainable_parameters']:,} | {s['objective']:.4f} |"
                )
            else:
                lines.append(f"| {s['method']} | failed: {s['reason']} | |")
    lines += [""] + [f"![{p}]({p})" for p in plots] + [f"_{n}_" for n in notes]
    return "\n".join(lines).rstrip() + "\n"


def _plot(
    out: Path, complete: list[dict], singles: list[dict], best: dict
) -> tuple[list[str], list[str]]:
    """objective_vs_params.png; (files written, notes). No matplotlib -> no plot, one note."""
    try:
        import matplotlib  # lazy: optional dependency (the compare extra)

        matplotlib.use("Agg")  # files only; never needs a display
        import matplotlib.pyplot as plt  # lazy: optional dependency (the compare extra)
    except ImportError:
        return [], ["plot skipped: matplotlib is not installed (pip install 'ttune[compare]')"]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for step, marker in ((1, "o"), (2, "s")):
        pts = [r for r in complete if r["step"] == step]
        if pts:
            ax.scatter(
                [max(r["trainable_parameters"], 1) for r in pts],
                [r["objective"] for r in pts],
                marker=marker,
                label=f"step {step} trials",
                alpha=0.8,
            )
    for i, s in enumerate(singles):
        x = max(s["trainable_parameters"], 1)
        label = "single methods (defaults)" if i == 0 else None
        ax.scatter([x], [s["objective"]], marker="x", color="black", label=label)
        ax.annotate(
            s["method"], (x, s["objective"]), textcoords="offset points", xytext=(4, 3), fontsize=8
        )
    ax.scatter(
        [max(best["trainable_parameters"], 1)],
        [best["objective"]],
        s=160,
        facecolors="none",
        edgecolors="red",
        label="best",
    )
    ax.set_xscale("log")
    ax.set_xlabel("trainable parameters (log scale)")
    ax.set_ylabel("validation loss")
    ax.set_title("Hybrid search: objective against trainable parameters")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "objective_vs_params.png", dpi=120)
    plt.close(fig)
    return ["objective_vs_params.png"], []


def run_search(
    config: SearchConfig, on_trial: Callable[[dict[str, Any]], None] | None = None
) -> dict[str, Any]:
    """Run (or resume) the search of ``config``; returns the summary (best configuration, best
    single method, every trial) and writes best.json, report.md and the plot."""
    summary = Search(config, on_trial).run()
    assert summary is not None  # only stop_after stops early
    return summary


__all__ = [
    "SearchConfig",
    "SearchError",
    "Search",
    "check_candidates",
    "hybrid_options",
    "run_search",
    "write_results",
]
