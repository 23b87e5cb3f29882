"""The training loop: AdamW over a method's trainable parameters on HF accelerate, with checkpoints
that make a killed run continue where it stopped and end with the same weights.

Order of one optimizer step: `grad_accum` micro-batches (forward, finite-loss check, backward of
loss / micro-batches), gradient clipping, AdamW, scheduler. The data order is a pure function of
(seed, epoch) (data.batch_order), and every RNG is saved with the checkpoint, so resuming replays
the very same sequence of batches and dropout masks. ``mixed_precision`` goes to accelerate.

Several processes (``torchrun`` / ``accelerate launch``, see :mod:`ttune.dist` and
docs/distributed.md): ``batch_size`` stays the global micro-batch; each process reads its slice of
every micro-batch of the same global order, the gradients are summed over the processes before
clipping, and only the main process writes. The state counts global micro-batches, so a run
resumes with any number of processes. With FSDP (``fsdp``, :func:`ttune.dist.fsdp_requested`)
the frozen backbone's blocks are sharded over the processes and the method's weights stay whole;
a process whose slice of a micro-batch is empty runs a zero-weighted pass to keep in step.

Output folder:
    train_config.json          the run's TrainConfig (checked when a run resumes)
    log.jsonl                  one JSON line per log/validation event
    checkpoints/step-N/        the last `keep_checkpoints` checkpoints (see checkpoint.py)
    checkpoints/best/          the best method weights by validation
    method_config.json, method.safetensors, model_card.md   the final method (best, else last)
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState
from accelerate.utils import set_seed
from tqdm.auto import tqdm

from ttune import dist
from ttune.backbone import blocks, load_backbone
from ttune.io import atomic_dir, atomic_write_bytes, atomic_write_text
from ttune.methods import apply_method, make_config, save_method
from ttune.metrics import check_metric_name, score
from ttune.options import resolve_device
from ttune.runs import (
    ResumeError,
    RunFolder,
    latest_checkpoint,
    list_checkpoints,
    lr_multiplier,
    resolve_precision,
)
from ttune.tasks import trained_task
from ttune.train.checkpoint import TrainState, load_checkpoint, save_checkpoint
from ttune.train.config import ConfigError, TrainConfig
from ttune.train.data import DataError, attach_copy_ids, batch_order, load_records
from ttune.train.inference import (
    batch_loss,
    dataset_loss,
    generate_texts,
    method_collator,
    method_examples,
    to_device,
)

log = logging.getLogger(__name__)


class TrainingError(RuntimeError, ValueError):
    """Training stopped (non-finite loss, ...). The message is one line and names the step."""


class TrainerCallback:
    """Hooks the training loop calls at fixed points; every method is a no-op here, so a callback
    overrides only what it needs. Pass instances as ``Trainer(config, callbacks=[...])``."""

    def on_phase(self, phase: str, seconds: float) -> None:
        """A phase outside the optimizer steps ended: "setup" (data, model, CPGs), "validate",
        "save" (checkpoints and the best weights) or "finalize"; ``seconds``: its wall time."""

    def on_resume(self, step: int) -> None:
        """The run continues from its checkpoint at optimizer step ``step``."""


def _is_better(metric: str, new: float, best: float | None) -> bool:
    if best is None:
        return True
    return new < best if metric == "loss" else new > best


class Trainer(RunFolder):
    """One training run. ``Trainer(config).run()`` returns the output folder.
    The run folder's config check (``_check_output``), ``_log`` and ``_truncate_log`` come from
    :class:`ttune.runs.RunFolder`; ``callbacks`` (:class:`TrainerCallback`) see its phases."""

    config: TrainConfig
    config_file = "train_config.json"

    def __init__(self, config: TrainConfig, callbacks: Sequence[TrainerCallback] = ()) -> None:
        super().__init__(config)
        self.callbacks = list(callbacks)

    @contextlib.contextmanager
    def _phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            seconds = time.perf_counter() - started
            for cb in self.callbacks:
                cb.on_phase(name, seconds)

    # ------------------------------------------------------------------ setup
    def _setup(self) -> None:
        c = self.config
        try:  # the layout (and a follow bias) prediction will use
            self.task = trained_task(c.task, c.to_dict())
        except ValueError as e:
            raise ConfigError(f"follow_bias: {e}") from None
        self.max_src = c.max_source_len or self.task.max_source_len
        self.max_tgt = c.max_target_len or self.task.max_target_len
        if c.early_stopping_metric != "loss":
            try:
                check_metric_name(c.early_stopping_metric)
            except ValueError as e:
                raise ConfigError(
                    f"early_stopping_metric: {str(e).splitlines()[0]} "
                    f"(or 'loss'; the task's: {', '.join(self._metric_names())})"
                ) from None
        device = resolve_device(c.device)
        dist.init(device, fsdp=True)
        self.fsdp = dist.fsdp_requested(c.fsdp)
        device = dist.device_for(device)
        # Data, method and backbone first: a missing file, an unknown method or a bad model path
        # fails before the run folder is written.
        self.train_records = load_records(c.train_file, "training", c.max_train_records)
        self.valid_records = load_records(c.valid_file, "validation") if c.valid_file else None
        method_cfg = make_config(c.method, **c.method_options)
        created, had_config = not self.out.exists(), (self.out / self.config_file).exists()
        with dist.main_first("waiting for the main process to check the output folder"):
            self._check_output()
        try:
            self._setup_model(method_cfg, device)
        except BaseException:
            # A run that never got going leaves nothing behind (not a lone train_config.json).
            if dist.is_main() and not list_checkpoints(self.ckpt_root):
                if created:
                    shutil.rmtree(self.out, ignore_errors=True)
                elif not had_config:
                    (self.out / self.config_file).unlink(missing_ok=True)
            raise

    def _setup_model(self, method_cfg, device: str) -> None:
        c = self.config
        set_seed(c.seed)
        if device.startswith("cuda:"):
            torch.cuda.set_device(int(device.split(":")[1]))
        precision = resolve_precision(c.mixed_precision, device.split(":")[0])
        self.precision = precision
        # accelerate keeps one precision per process: a run after another one in the same process
        # (tests, a long-lived process) may ask for another precision.
        AcceleratorState._reset_state()
        self.accelerator = Accelerator(
            mixed_precision="no" if precision == "fp32" else precision, cpu=device == "cpu"
        )
        backbone, self.tokenizer = load_backbone(c.model)
        self.adapted = apply_method(backbone, method_cfg, self.tokenizer)
        self.method_config = method_cfg
        self.params = [p for _, p in self.adapted.trainable_parameters()]
        if self.fsdp:
            self.blocks = blocks(self.adapted.backbone)
            if not self.blocks:
                raise ConfigError(
                    f"FSDP found no repeated blocks to shard in the backbone {c.model}; "
                    "train it without FSDP"
                )
            inside = {id(p) for b in self.blocks for p in b.parameters()}
            if any(id(p) in inside for p in self.params):
                raise ConfigError(
                    f"method {c.method} trains weights inside the backbone's blocks, which FSDP "
                    "shards; use it without FSDP (see docs/distributed.md for the methods FSDP "
                    "supports)"
                )
        # what the model reads: the method may decompose records (topro: one per identifier)
        self.valid_source_records = self.valid_records
        self.train_records = self.adapted.expand_records(self.train_records, self.task)
        if self.valid_records:
            self.valid_records = self.adapted.expand_records(self.valid_records, self.task)

        common = dict(
            max_source_len=self.max_src,
            max_target_len=self.max_tgt,
            with_labels=True,
            cache_dir=c.cache_dir,
            num_workers=c.num_workers,
            progress=c.progress,
        )
        # The main process extracts the CPGs into the cache; the others then read them from it.
        with dist.main_first("waiting for the main process to extract the CPGs"):
            if not dist.is_main():
                common["progress"] = False
            self.train_examples = method_examples(
                self.adapted,
                self.train_records,
                self.task,
                self.tokenizer,
                desc="training CPGs",
                **common,
            )
            self.valid_examples = (
                method_examples(
                    self.adapted,
                    self.valid_records,
                    self.task,
                    self.tokenizer,
                    desc="validation CPGs",
                    **common,
                )
                if self.valid_records
                else None
            )
        if c.follow_bias:  # the loss is taken on the steered scores (batch_loss)
            attach_copy_ids(self.train_examples, self.train_records, self.task, self.tokenizer)
            if self.valid_examples:
                attach_copy_ids(self.valid_examples, self.valid_records, self.task, self.tokenizer)
        self.collate = method_collator(self.adapted, self.tokenizer, with_labels=True)
        self.gen_collate = method_collator(self.adapted, self.tokenizer, with_labels=False)

        n_micro = math.ceil(len(self.train_examples) / c.batch_size)
        self.steps_per_epoch = math.ceil(n_micro / c.grad_accum)
        self.total_steps = c.max_steps or c.epochs * self.steps_per_epoch
        warmup = int(c.warmup_ratio * self.total_steps)
        total, schedule = self.total_steps, c.schedule

        if self.params:  # one group per part of a hybrid, each at lr x its multiplier
            groups = [
                {"params": g["params"], "lr": c.lr * g["lr_scale"], "name": g["name"]}
                for g in self.adapted.parameter_groups()
            ]
            optimizer = torch.optim.AdamW(groups, lr=c.lr, weight_decay=c.weight_decay)
        else:  # method "none": nothing to train, but the loop still validates and saves
            optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=c.lr)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: lr_multiplier(s, total, warmup, schedule)
        )
        if dist.world_size() > 1:
            # ttune.dist sums the gradients itself (a process may hold none of a short last batch,
            # which DDP's hooks do not allow), so the model is not wrapped in DDP.
            self.model = self.adapted.to(self.accelerator.device)
            if self.fsdp:  # the frozen blocks sharded; the method's weights stay whole
                dist.shard_modules(self.blocks, device)
            self.optimizer = self.accelerator.prepare(optimizer)
        else:
            self.model, self.optimizer = self.accelerator.prepare(self.adapted, optimizer)
        self.scaler = getattr(self.accelerator, "scaler", None)

    def _metric_names(self) -> list[str]:
        return list(getattr(self.task, "metrics", ()))

    def _meta(self, scores: dict[str, float] | None = None) -> dict[str, Any]:
        c = self.config
        return {
            "task": c.task,
            "backbone": c.model,
            "trainable_parameters": self.adapted.num_trainable(),
            "precision": self.precision,
            "train_file": c.train_file,
            "train_records": len(self.train_examples),
            "valid_file": c.valid_file,
            "valid_records": len(self.valid_examples) if self.valid_examples else 0,
            "step": self.state.step,
            "epoch": self.state.epoch,
            "scores": scores or {},
        }

    # ------------------------------------------------------------------ validation
    def evaluate(self) -> dict[str, float]:
        """Validation loss (mean over target tokens) and, if early stopping watches a metric,
        the task's metrics on text generated from the source only."""
        c = self.config
        scores = {
            "loss": dataset_loss(
                self.adapted,
                self.valid_examples,
                self.collate,
                c.batch_size,
                self.accelerator,
                self.task,
            )
        }
        if c.early_stopping_metric != "loss":
            preds = self.adapted.merge_predictions(
                self.valid_source_records, self.generate(self.valid_examples), self.task
            )
            refs = [r["target"] for r in self.valid_source_records]
            names = list(dict.fromkeys(self._metric_names() + [c.early_stopping_metric]))
            lang = self.valid_source_records[0].get("target_lang")
            got, unavailable = score(names, preds, refs, lang)
            if c.early_stopping_metric in unavailable:
                raise ConfigError(
                    f"early_stopping_metric {c.early_stopping_metric}: "
                    f"{unavailable[c.early_stopping_metric]}"
                )
            scores.update(got)
        return scores

    def generate(self, examples) -> list[str]:
        return generate_texts(
            self.adapted,
            examples,
            self.gen_collate,
            self.tokenizer,
            self.config.batch_size,
            self.config.num_beams,
            self.config.max_new_tokens or self.max_tgt,
            self.accelerator,
            self.task,
        )

    # ------------------------------------------------------------------ saving
    def _save(self) -> Path | None:
        if not dist.is_main():
            return None
        return save_checkpoint(
            self.ckpt_root,
            self.adapted,
            self.optimizer,
            self.scheduler,
            self.scaler,
            self.state,
            self.config.to_dict(),
            self._meta(),
            self.config.keep_checkpoints,
        )

    def _save_best(self, scores: dict[str, float]) -> None:
        if not dist.is_main():
            return
        with atomic_dir(self.ckpt_root / "best") as tmp:
            save_method(self.adapted, tmp, meta=self._meta(scores))
            self.config.save(tmp / "train_config.json")
            atomic_write_text(
                tmp / "scores.json",
                json.dumps({"step": self.state.step, "scores": scores}, indent=2) + "\n",
            )

    def _finalize(self) -> Path:
        """Copy the best (else the last) method weights to the output folder with a model card."""
        if not dist.is_main():
            dist.barrier("waiting for the main process to write the final method")
            return self.out
        best = self.ckpt_root / "best"
        last = latest_checkpoint(self.ckpt_root)
        src = best if (best / "method.safetensors").is_file() else last
        if src is None:
            raise TrainingError(f"no checkpoint to finalize in {self.ckpt_root}")
        scores = {}
        if (src / "scores.json").is_file():
            scores = json.loads((src / "scores.json").read_text(encoding="utf-8"))["scores"]
        for name in ("method_config.json", "method.safetensors"):
            atomic_write_bytes(self.out / name, (src / name).read_bytes())
        cfg = json.loads((src / "method_config.json").read_text(encoding="utf-8"))
        atomic_write_text(
            self.out / "model_card.md", model_card(self.config, cfg, scores, src.name)
        )
        dist.barrier("waiting for the other processes to finish")
        return self.out

    # ------------------------------------------------------------------ the loop
    def run(self) -> Path:
        c = self.config
        with self._phase("setup"):
            self._setup()
        self.state = TrainState()
        with dist.main_first("waiting for the main process to find the last checkpoint"):
            latest = latest_checkpoint(self.ckpt_root)  # the main one removes leftovers first
        if latest is not None:
            self.state = load_checkpoint(
                latest, self.adapted, self.optimizer, self.scheduler, self.scaler
            )
            self._truncate_log(self.state.step)
            for cb in self.callbacks:
                cb.on_resume(self.state.step)
            log.info("resuming from %s (step %d)", latest, self.state.step)
            self._log({"event": "resume", "step": self.state.step, "checkpoint": str(latest)})
            # A rerun resumes: say so, or it looks like a suspiciously fast training.
            if c.progress and dist.is_main():
                done = self.state.step >= self.total_steps
                tqdm.write(
                    f"{self.out} already holds this run at step {self.state.step}: "
                    + (
                        "nothing left to train; writing the final method again (another "
                        "--output, or removing the folder, trains from scratch)"
                        if done
                        else f"resuming towards step {self.total_steps}"
                    ),
                    file=sys.stderr,
                )
        st = self.state
        if self.fsdp and dist.sharded():
            blocks_n, procs = len(self.blocks), dist.world_size()
            self._log({"event": "fsdp", "step": st.step, "blocks": blocks_n, "processes": procs})
        model = self.model
        model.train()
        n = len(self.train_examples)
        bar = tqdm(
            total=self.total_steps,
            initial=min(st.step, self.total_steps),
            disable=not c.progress or not dist.is_main(),
            desc="training",
            unit="step",
        )
        every = c.checkpoint_every
        last_saved = st.step if latest is not None else -1
        t0, seen, loss_sum, loss_n, paused = time.perf_counter(), 0, 0.0, 0, 0.0

        def checkpoint_and_validate() -> None:
            nonlocal last_saved, paused
            started = time.perf_counter()
            if self.valid_examples:
                # The bar would otherwise stand still without a word while validation runs.
                bar.set_description_str(f"validating {len(self.valid_examples)} examples")
                with self._phase("validate"):
                    scores = self.evaluate()
                bar.set_description_str("training")
                st.last_valid = scores
                value = scores[c.early_stopping_metric]
                if _is_better(c.early_stopping_metric, value, st.best_score):
                    st.best_score, st.best_step, st.bad_evals = value, st.step, 0
                    with self._phase("save"):
                        self._save_best(scores)
                else:
                    st.bad_evals += 1
                self._log({"step": st.step, "epoch": st.epoch, "valid": scores})
                if c.early_stopping_patience and st.bad_evals >= c.early_stopping_patience:
                    st.stopped_early = True
            with self._phase("save"):
                self._save()
            last_saved = st.step
            paused += time.perf_counter() - started  # examples/s counts training time only

        while st.step < self.total_steps and not st.stopped_early:
            micro = batch_order(n, c.batch_size, c.seed, st.epoch)
            groups = [micro[i : i + c.grad_accum] for i in range(0, len(micro), c.grad_accum)]
            for group in groups[st.batch_in_epoch // c.grad_accum :]:
                self.optimizer.zero_grad(set_to_none=True)
                for idx in group:
                    loss, part = self._micro_step(idx, len(group))
                    if not math.isfinite(part):
                        where = (
                            f"last good checkpoint: {self.ckpt_root / f'step-{last_saved}'}"
                            if last_saved >= 0
                            else "no checkpoint was written yet"
                        )
                        self._log({"event": "non-finite loss", "step": st.step + 1, "loss": part})
                        bar.close()
                        raise TrainingError(
                            f"loss became {part} at step {st.step + 1} "
                            f"(epoch {st.epoch}); training stopped; {where}"
                        )
                    loss_sum += part
                    loss_n += 1
                    seen += len(idx)
                if self.params:
                    dist.sync_gradients(self.params)
                if c.max_grad_norm > 0 and self.params:
                    self.accelerator.clip_grad_norm_(self.params, c.max_grad_norm)
                self.optimizer.step()
                self.scheduler.step()
                st.step += 1
                self.adapted.after_optimizer_step(st.step, self.optimizer)
                st.batch_in_epoch += len(group)
                bar.update(1)
                if st.step % c.log_every == 0 or st.step == self.total_steps:
                    dt = time.perf_counter() - t0 - paused
                    entry = {
                        "step": st.step,
                        "epoch": st.epoch,
                        "loss": loss_sum / max(1, loss_n),
                        "lr": self.scheduler.get_last_lr()[0],
                        "examples_per_s": seen / dt if dt > 0 else 0.0,
                    }
                    self._log(entry)
                    bar.set_postfix(
                        loss=f"{entry['loss']:.4f}", ex_s=f"{entry['examples_per_s']:.1f}"
                    )
                    t0, seen, loss_sum, loss_n, paused = time.perf_counter(), 0, 0.0, 0, 0.0
                if every and st.step % every == 0 and st.step < self.total_steps:
                    checkpoint_and_validate()
                if st.step >= self.total_steps or st.stopped_early:
                    break
            else:
                st.epoch += 1
                st.batch_in_epoch = 0
                if not every and st.step < self.total_steps and last_saved != st.step:
                    checkpoint_and_validate()
        if last_saved != st.step:
            checkpoint_and_validate()
        bar.close()
        with self._phase("finalize"):
            return self._finalize()

    def _micro_step(self, idx: list[int], n_micro: int) -> tuple[Any, float]:
        """Forward and backward of this process's slice of the global micro-batch ``idx`` (one of
        ``n_micro`` of the step). Returns (the local loss or None, the micro-batch's loss over all
        processes: the mean per target token of the whole micro-batch)."""
        device = self.accelerator.device
        if dist.world_size() == 1:
            batch = to_device(self.collate([self.train_examples[j] for j in idx]), device)
            loss = batch_loss(self.model, batch, self.task)
            part = float(loss.detach())
            if self.params and math.isfinite(part):  # method "none" has nothing to differentiate
                self.accelerator.backward(loss / n_micro)
            return loss, part
        # Each process's loss is its mean times its share of the micro-batch's target tokens, so
        # the sum over processes (of the losses and of the gradients) is the global mean.
        mine = dist.shard(idx)
        tokens = sum(len(self.train_examples[j].labels) for j in mine)
        total = sum(len(self.train_examples[j].labels) for j in idx)
        share = tokens / max(1, total)
        loss = None
        if not mine and self.fsdp:  # FSDP: every process runs every forward and backward
            mine, share = idx[:1], 0.0
        if mine:
            batch = to_device(self.collate([self.train_examples[j] for j in mine]), device)
            with self.accelerator.autocast():
                loss = batch_loss(self.model, batch, self.task) * share
        local = float(loss.detach()) if loss is not None else 0.0
        part = dist.all_sum([local], "summing the loss")[0]
        if self.params and loss is not None and math.isfinite(part):
            self.accelerator.backward(loss / n_micro)
        return loss, part


def model_card(
    config: TrainConfig, method_cfg: dict[str, Any], scores: dict[str, float], source: str
) -> str:
    """A short markdown card: backbone, method, trainable parameters, data, scores."""
    meta = method_cfg.get("meta", {}) if isinstance(method_cfg.get("meta"), dict) else {}
    method = (
        method_cfg.get("config")
        if isinstance(method_cfg.get("config"), dict)
        else {
            k: v for k, v in method_cfg.items() if k not in ("meta", "backbone", "format_version")
        }
    )
    lines = [
        f"# {config.method} on {config.task}",
        "",
        f"- backbone: `{config.model}`",
        f"- method: `{config.method}` {json.dumps(method, sort_keys=True)}",
        f"- trainable parameters: {meta.get('trainable_parameters', 'unknown')}",
        f"- training data: `{config.train_file}` ({meta.get('train_records', '?')} records)",
        f"- validation data: `{config.valid_file}` ({meta.get('valid_records', 0)} records)"
        if config.valid_file
        else "- validation data: none (final = last weights)",
        f"- weights from: {source} (step {meta.get('step', '?')})"
        + (f", best validation {config.early_stopping_metric}" if source == "best" else ""),
        f"- optimisation: AdamW lr {config.lr}, batch {config.batch_size} x {config.grad_accum}, "
        f"{config.schedule} schedule, warm-up {config.warmup_ratio}, seed {config.seed}",
        "",
        "## Scores (validation)",
        "",
    ]
    if scores:
        lines += [
            f"| {k} | {v:.4f} |" if isinstance(v, (int, float)) else f"| {k} | {v} |"
            for k, v in sorted(scores.items())
        ]
        lines.insert(len(lines) - len(scores), "| metric | value |\n|---|---|")
    else:
        lines.append("none (no validation file)")
    return "\n".join(lines) + "\n"


def train(config: TrainConfig) -> Path:
    """Train (or resume) the run described by ``config``; returns the output folder."""
    return Trainer(config).run()


__all__ = [
    "Trainer",
    "TrainerCallback",
    "TrainingError",
    "train",
    "model_card",
    "DataError",
    "ResumeError",
]
