"""The training loop: AdamW over a method's trainable parameters on HF accelerate, with checkpoints
that make a killed run continue where it stopped and end with the same weights.

Order of one optimizer step: `grad_accum` micro-batches (forward, finite-loss check, backward of
loss / micro-batches), gradient clipping, AdamW, scheduler. The data order is a pure function of
(seed, epoch) (data.batch_order), and every RNG is saved with the checkpoint, so resuming replays
the very same sequence of batches and dropout masks. One process on one device (CPU or one GPU);
``mixed_precision`` goes to accelerate.

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
import time
from pathlib import Path
from typing import Any, Iterator

from ttune.train.checkpoint import (ResumeError, RunFolder, TrainState, latest_checkpoint,
                                    load_checkpoint, save_checkpoint)
from ttune.train.config import ConfigError, TrainConfig
from ttune.train.data import (Collator, DataError, batch_order, build_examples, graph_options,
                              load_records)
from ttune.train.io import atomic_dir, atomic_write_bytes, atomic_write_text

log = logging.getLogger(__name__)


class TrainingError(RuntimeError, ValueError):
    """Training stopped (non-finite loss, ...). The message is one line and names the step."""


def lr_factor(step: int, total: int, warmup: int, schedule: str) -> float:
    """Learning-rate multiplier after ``step`` optimizer steps: linear warm-up over ``warmup``
    steps, then constant or linear decay to 0 at ``total``."""
    if warmup > 0 and step < warmup:
        return (step + 1) / (warmup + 1)
    if schedule == "constant":
        return 1.0
    return max(0.0, (total - step) / max(1, total - warmup))


def _to_device(batch: dict[str, Any], device) -> dict[str, Any]:
    return {k: v.to(device) for k, v in batch.items()}


def _is_better(metric: str, new: float, best: float | None) -> bool:
    if best is None:
        return True
    return new < best if metric == "loss" else new > best


class Trainer(RunFolder):
    """One training run. ``Trainer(config).run()`` returns the output folder.
    The run folder's config check (``_check_output``), ``_log`` and ``_truncate_log`` come from
    :class:`RunFolder`."""

    config: TrainConfig
    config_file = "train_config.json"

    # ------------------------------------------------------------------ setup
    def _setup(self) -> None:
        import torch
        from accelerate import Accelerator
        from accelerate.utils import set_seed

        from ttune.backbone import load_backbone
        from ttune.methods import apply_method, make_config
        from ttune.tasks import get_task

        c = self.config
        self.task = get_task(c.task)
        self.max_src = c.max_source_len or self.task.max_source_len
        self.max_tgt = c.max_target_len or self.task.max_target_len
        if c.early_stopping_metric != "loss":
            from ttune.metrics import check_metric_name

            try:
                check_metric_name(c.early_stopping_metric)
            except ValueError as e:
                raise ConfigError(f"early_stopping_metric: {str(e).splitlines()[0]} "
                                  f"(or 'loss'; the task's: {', '.join(self._metric_names())})") from None
        # Data first: a missing or empty file fails before the model is loaded.
        self.train_records = load_records(c.train_file, "training", c.max_train_records)
        self.valid_records = load_records(c.valid_file, "validation") if c.valid_file else None
        self._check_output()

        set_seed(c.seed)
        self.accelerator = Accelerator(mixed_precision=c.resolved_precision())
        backbone, self.tokenizer = load_backbone(c.model)
        method_cfg = make_config(c.method, **c.method_options)
        self.adapted = apply_method(backbone, method_cfg, self.tokenizer)
        self.method_config = method_cfg
        self.params = [p for _, p in self.adapted.trainable_parameters()]
        # what the model reads: the method may decompose records (topro: one per identifier)
        self.valid_source_records = self.valid_records
        self.train_records = self.adapted.expand_records(self.train_records, self.task)
        if self.valid_records:
            self.valid_records = self.adapted.expand_records(self.valid_records, self.task)

        needs_graph = bool(getattr(self.adapted, "needs_graph", False))
        common = dict(max_source_len=self.max_src, max_target_len=self.max_tgt, with_labels=True,
                      needs_graph=needs_graph, cache_dir=c.cache_dir, num_workers=c.num_workers,
                      progress=c.progress, **graph_options(self.adapted))
        self.train_examples = build_examples(self.train_records, self.task, self.tokenizer,
                                             desc="training CPGs", **common)
        self.valid_examples = (build_examples(self.valid_records, self.task, self.tokenizer,
                                              desc="validation CPGs", **common)
                               if self.valid_records else None)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        self.collate = Collator(pad, with_labels=True, with_graph=needs_graph)
        self.gen_collate = Collator(pad, with_labels=False, with_graph=needs_graph)

        n_micro = math.ceil(len(self.train_examples) / c.batch_size)
        self.steps_per_epoch = math.ceil(n_micro / c.grad_accum)
        self.total_steps = c.max_steps or c.epochs * self.steps_per_epoch
        warmup = int(c.warmup_ratio * self.total_steps)
        total, schedule = self.total_steps, c.schedule

        if self.params:
            optimizer = torch.optim.AdamW(self.params, lr=c.lr, weight_decay=c.weight_decay)
        else:  # method "none": nothing to train, but the loop still validates and saves
            optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=c.lr)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: lr_factor(s, total, warmup, schedule))
        self.model, self.optimizer = self.accelerator.prepare(self.adapted, optimizer)
        self.scaler = getattr(self.accelerator, "scaler", None)

    def _metric_names(self) -> list[str]:
        return list(getattr(self.task, "metrics", ()))

    def _meta(self, scores: dict[str, float] | None = None) -> dict[str, Any]:
        c = self.config
        return {"task": c.task, "backbone": c.model, "trainable_parameters": self.adapted.num_trainable(),
                "train_file": c.train_file, "train_records": len(self.train_examples),
                "valid_file": c.valid_file,
                "valid_records": len(self.valid_examples) if self.valid_examples else 0,
                "step": self.state.step, "epoch": self.state.epoch, "scores": scores or {}}

    # ------------------------------------------------------------------ validation
    def evaluate(self) -> dict[str, float]:
        """Validation loss (mean over target tokens) and, if early stopping watches a metric,
        the task's metrics on text generated from the source only."""
        import torch

        c = self.config
        scores = {"loss": dataset_loss(self.adapted, self.valid_examples, self.collate, c.batch_size,
                                       self.accelerator)}
        if c.early_stopping_metric != "loss":
            preds = self.adapted.merge_predictions(self.valid_source_records,
                                                   self.generate(self.valid_examples), self.task)
            refs = [r["target"] for r in self.valid_source_records]
            names = list(dict.fromkeys(self._metric_names() + [c.early_stopping_metric]))
            lang = self.valid_source_records[0].get("target_lang")
            got, unavailable = score_texts(names, preds, refs, lang)
            if c.early_stopping_metric in unavailable:
                raise ConfigError(f"early_stopping_metric {c.early_stopping_metric}: "
                                  f"{unavailable[c.early_stopping_metric]}")
            scores.update(got)
        return scores

    def generate(self, examples) -> list[str]:
        return generate_texts(self.adapted, examples, self.gen_collate, self.tokenizer,
                              self.config.batch_size, self.config.num_beams,
                              self.config.max_new_tokens or self.max_tgt, self.accelerator,
                              self.task.no_repeat_ngram_size)

    # ------------------------------------------------------------------ saving
    def _save(self) -> Path:
        return save_checkpoint(self.ckpt_root, self.adapted, self.optimizer, self.scheduler,
                               self.scaler, self.state, self.config.to_dict(), self._meta(),
                               self.config.keep_checkpoints)

    def _save_best(self, scores: dict[str, float]) -> None:
        from ttune.methods import save_method

        with atomic_dir(self.ckpt_root / "best") as tmp:
            save_method(self.adapted, tmp, meta=self._meta(scores))
            self.config.save(tmp / "train_config.json")
            atomic_write_text(tmp / "scores.json", json.dumps(
                {"step": self.state.step, "scores": scores}, indent=2) + "\n")

    def _finalize(self) -> Path:
        """Copy the best (else the last) method weights to the output folder with a model card."""
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
        atomic_write_text(self.out / "model_card.md", model_card(self.config, cfg, scores, src.name))
        return self.out

    # ------------------------------------------------------------------ the loop
    def run(self) -> Path:
        import torch
        from tqdm.auto import tqdm

        c = self.config
        self._setup()
        self.state = TrainState()
        latest = latest_checkpoint(self.ckpt_root)
        if latest is not None:
            self.state = load_checkpoint(latest, self.adapted, self.optimizer, self.scheduler,
                                         self.scaler)
            self._truncate_log(self.state.step)
            log.info("resuming from %s (step %d)", latest, self.state.step)
            self._log({"event": "resume", "step": self.state.step, "checkpoint": str(latest)})
        st = self.state
        model, device = self.model, self.accelerator.device
        model.train()
        n = len(self.train_examples)
        bar = tqdm(total=self.total_steps, initial=min(st.step, self.total_steps),
                   disable=not c.progress, desc="training", unit="step")
        every = c.checkpoint_every
        last_saved = st.step if latest is not None else -1
        t0, seen, loss_sum, loss_n, paused = time.perf_counter(), 0, 0.0, 0, 0.0

        def checkpoint_and_validate() -> None:
            nonlocal last_saved, paused
            started = time.perf_counter()
            if self.valid_examples:
                scores = self.evaluate()
                st.last_valid = scores
                score = scores[c.early_stopping_metric]
                if _is_better(c.early_stopping_metric, score, st.best_score):
                    st.best_score, st.best_step, st.bad_evals = score, st.step, 0
                    self._save_best(scores)
                else:
                    st.bad_evals += 1
                self._log({"step": st.step, "epoch": st.epoch, "valid": scores})
                if c.early_stopping_patience and st.bad_evals >= c.early_stopping_patience:
                    st.stopped_early = True
            self._save()
            last_saved = st.step
            paused += time.perf_counter() - started  # examples/s counts training time only

        while st.step < self.total_steps and not st.stopped_early:
            micro = batch_order(n, c.batch_size, c.seed, st.epoch)
            groups = [micro[i:i + c.grad_accum] for i in range(0, len(micro), c.grad_accum)]
            for group in groups[st.batch_in_epoch // c.grad_accum:]:
                self.optimizer.zero_grad(set_to_none=True)
                for idx in group:
                    batch = _to_device(self.collate([self.train_examples[j] for j in idx]), device)
                    loss = model(**batch).loss
                    if not torch.isfinite(loss.detach()).all():
                        where = (f"last good checkpoint: {self.ckpt_root / f'step-{last_saved}'}"
                                 if last_saved >= 0 else "no checkpoint was written yet")
                        self._log({"event": "non-finite loss", "step": st.step + 1,
                                   "loss": float(loss.detach())})
                        bar.close()
                        raise TrainingError(f"loss became {float(loss.detach())} at step {st.step + 1} "
                                            f"(epoch {st.epoch}); training stopped; {where}")
                    if self.params:  # method "none" has nothing to differentiate
                        self.accelerator.backward(loss / len(group))
                    loss_sum += float(loss.detach())
                    loss_n += 1
                    seen += len(idx)
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
                    entry = {"step": st.step, "epoch": st.epoch, "loss": loss_sum / max(1, loss_n),
                             "lr": self.scheduler.get_last_lr()[0],
                             "examples_per_s": seen / dt if dt > 0 else 0.0}
                    self._log(entry)
                    bar.set_postfix(loss=f"{entry['loss']:.4f}", ex_s=f"{entry['examples_per_s']:.1f}")
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
        bar.close()
        if last_saved != st.step:
            checkpoint_and_validate()
        return self._finalize()


def score_texts(names, predictions: list[str], references: list[str], lang: str | None = None
                ) -> tuple[dict[str, float], dict[str, str]]:
    """Corpus scores of each metric that can run here, and {metric: reason} for those that cannot
    (codebleu not installed, no language), so one missing metric never stops a run."""
    from ttune.metrics import MetricUnavailable, compute

    scores, unavailable = {}, {}
    for m in names:
        try:
            scores.update(compute([m], predictions, references, lang=lang))
        except MetricUnavailable as e:
            unavailable[m] = str(e).splitlines()[0]
            log.warning("metric %s skipped: %s", m, unavailable[m])
    return scores, unavailable


@contextlib.contextmanager
def evaluating(model) -> Iterator[None]:
    """Eval mode (no dropout) and no gradients inside the block; afterwards the model is back in
    the mode it was in, so validation in the middle of training leaves it training."""
    import torch

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)


def _device_of(adapted, accelerator):
    import torch

    if accelerator is not None:
        return accelerator.device
    return next((p.device for p in adapted.parameters()), torch.device("cpu"))


def dataset_loss(adapted, examples, collate, batch_size: int, accelerator=None) -> float:
    """Mean cross-entropy per target token over ``examples`` (eval mode, no gradients)."""
    device = _device_of(adapted, accelerator)
    total_loss, total_tokens = 0.0, 0
    with evaluating(adapted):
        for i in range(0, len(examples), batch_size):
            batch = _to_device(collate(examples[i:i + batch_size]), device)
            ctx = accelerator.autocast() if accelerator is not None else contextlib.nullcontext()
            with ctx:
                loss = adapted(**batch).loss
            n = int((batch["labels"] != -100).sum())
            total_loss += float(loss) * n
            total_tokens += n
    return total_loss / max(1, total_tokens)


def generate_texts(adapted, examples, collate, tokenizer, batch_size: int, num_beams: int,
                   max_new_tokens: int, accelerator=None, no_repeat_ngram_size: int = 0) -> list[str]:
    """Decode each example from its source alone (the collator is built without labels);
    ``no_repeat_ngram_size`` as the task sets it (0 = off)."""
    extra = {"no_repeat_ngram_size": no_repeat_ngram_size} if no_repeat_ngram_size else {}
    device = _device_of(adapted, accelerator)
    out: list[str] = []
    with evaluating(adapted):
        for i in range(0, len(examples), batch_size):
            batch = _to_device(collate(examples[i:i + batch_size]), device)
            assert "labels" not in batch and "decoder_input_ids" not in batch
            ctx = accelerator.autocast() if accelerator is not None else contextlib.nullcontext()
            with ctx:
                ids = adapted.generate(**batch, num_beams=num_beams, max_new_tokens=max_new_tokens, **extra)
            out.extend(tokenizer.batch_decode(ids, skip_special_tokens=True))
    return [s.strip() for s in out]


def model_card(config: TrainConfig, method_cfg: dict[str, Any], scores: dict[str, float],
               source: str) -> str:
    """A short markdown card: backbone, method, trainable parameters, data, scores."""
    meta = method_cfg.get("meta", {}) if isinstance(method_cfg.get("meta"), dict) else {}
    method = method_cfg.get("config") if isinstance(method_cfg.get("config"), dict) else {
        k: v for k, v in method_cfg.items() if k not in ("meta", "backbone", "format_version")}
    lines = [f"# {config.method} on {config.task}", "",
             f"- backbone: `{config.model}`",
             f"- method: `{config.method}` {json.dumps(method, sort_keys=True)}",
             f"- trainable parameters: {meta.get('trainable_parameters', 'unknown')}",
             f"- training data: `{config.train_file}` ({meta.get('train_records', '?')} records)",
             f"- validation data: `{config.valid_file}` ({meta.get('valid_records', 0)} records)"
             if config.valid_file else "- validation data: none (final = last weights)",
             f"- weights from: {source} (step {meta.get('step', '?')})"
             + (f", best validation {config.early_stopping_metric}" if source == "best" else ""),
             f"- optimisation: AdamW lr {config.lr}, batch {config.batch_size} x {config.grad_accum}, "
             f"{config.schedule} schedule, warm-up {config.warmup_ratio}, seed {config.seed}", "",
             "## Scores (validation)", ""]
    if scores:
        lines += [f"| {k} | {v:.4f} |" if isinstance(v, (int, float)) else f"| {k} | {v} |"
                  for k, v in sorted(scores.items())]
        lines.insert(len(lines) - len(scores), "| metric | value |\n|---|---|")
    else:
        lines.append("none (no validation file)")
    return "\n".join(lines) + "\n"


def train(config: TrainConfig) -> Path:
    """Train (or resume) the run described by ``config``; returns the output folder."""
    return Trainer(config).run()


__all__ = ["Trainer", "TrainingError", "train", "generate_texts", "dataset_loss", "evaluating",
           "lr_factor", "DataError", "ResumeError"]
