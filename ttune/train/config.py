"""The training configuration: one dataclass, saved next to every trained method as
train_config.json.

Fields carry attribute docstrings (the CLI's --help text comes from the same words) and are checked
in
``__post_init__`` so that a bad value fails before any model is loaded.
:class:`ttune.runs.JsonConfig` gives
this and the other run configs (pretraining, comparison) the same JSON round trip.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from ttune.cpg.cache import default_cache_dir
from ttune.options import check_device
from ttune.runs import JsonConfig
from ttune.tasks import backbone_task_line


class ConfigError(ValueError):
    """A training option with a bad value. The message is one line and names the option."""


# Options that must match when a run resumes from an output folder that already holds checkpoints:
# changing any of them would silently mix two different trainings in one folder.
RESUME_KEYS = (
    "task",
    "task_line",
    "method",
    "method_options",
    "model",
    "train_file",
    "batch_size",
    "grad_accum",
    "lr",
    "weight_decay",
    "warmup_ratio",
    "schedule",
    "max_grad_norm",
    "max_source_len",
    "max_target_len",
    "seed",
    "max_train_records",
    "follow_bias",
)

Schedule = Literal["linear", "constant"]
Precision = Literal["auto", "no", "bf16", "fp16"]
TaskLine = Literal["auto", "on", "off"]
SCHEDULES: tuple[str, ...] = get_args(Schedule)
TASK_LINES: tuple[str, ...] = get_args(TaskLine)
PRECISIONS: tuple[str, ...] = get_args(Precision)


@dataclass
class TrainConfig(JsonConfig):
    """Everything one training run needs. ``to_dict``/``from_dict`` round-trip it through JSON."""

    config_error = ConfigError
    options_name = "training"
    file_label = "training config"

    model: str
    """Backbone: a local folder (saved with save_pretrained) or a hub id."""
    train_file: str
    """Training data: JSON lines with source, target, source_lang, target_lang (and optionally
    id)."""
    output_dir: str
    """Run folder: checkpoints/, log.jsonl, and at the end the trained method (method_config.json,
    ...)."""
    task: str = "summarize"
    """Task name, registered in ttune.tasks: how a record becomes model input."""
    task_line: TaskLine = "auto"
    """Start each model input with the task line ("summarize: rgb to yiq", ttune.tasks.task_line).
    auto: on when the backbone was pretrained on such inputs (a ttune pretrain backbone with
    supervised objectives), else off. The resolved on/off is saved with the method, and prediction
    uses the same layout."""
    method: str = "transducer"
    """Adaptation method, registered in ttune.methods."""
    method_options: dict[str, Any] = field(default_factory=dict)
    """Overrides of the method's config fields, e.g. {"r": 8} for lora."""
    valid_file: str | None = None
    """Validation data (same format). Without it the last weights become the final method."""
    epochs: int = 3
    """Passes over the training data (ignored when max_steps is set)."""
    max_steps: int | None = None
    """Stop after this many optimizer steps (overrides epochs)."""
    batch_size: int = 8
    """Examples per micro-batch."""
    grad_accum: int = 1
    """Micro-batches per optimizer step (effective batch = batch_size * grad_accum)."""
    lr: float = 1e-3
    """Peak learning rate of AdamW."""
    weight_decay: float = 0.0
    """AdamW decoupled weight decay."""
    warmup_ratio: float = 0.0
    """Fraction of the optimizer steps spent warming the learning rate up linearly from 0."""
    schedule: Schedule = "linear"
    """Learning rate after warm-up: linear (decay to 0 at the last step) or constant."""
    max_grad_norm: float = 1.0
    """Clip the global gradient norm to this value (0 = no clipping)."""
    max_source_len: int | None = None
    """Most source tokens per example (default: the task's, 400 in the paper)."""
    max_target_len: int | None = None
    """Most target tokens per example (default: the task's)."""
    max_train_records: int | None = None
    """Use only the first N training records (quick experiments)."""
    follow_bias: float = 0.0
    """Train under decoding's follow bias (docs/decoding.md; a task that copies from the source,
    such as translate): the loss is taken on the logits plus this bias on the tokens that continue
    a copy of the source, so the model learns only where the target departs from a copy. The
    trained method decodes with the same bias. 0: the plain loss."""
    seed: int = 42
    """Seed of torch, random, numpy and the data order."""
    eval_every: int = 0
    """Validate (and checkpoint) every N optimizer steps; 0 = at the end of every epoch."""
    save_every: int | None = None
    """Checkpoint every N optimizer steps (default: eval_every, or every epoch when that is 0)."""
    early_stopping_patience: int = 0
    """Stop after this many validations without improvement (0 = never stop early)."""
    early_stopping_metric: str = "loss"
    """What picks the best checkpoint: "loss" (validation loss, lower is better) or a metric name of
    ttune.metrics computed on generated text (higher is better)."""
    num_beams: int = 1
    """Beam width when validation generates text for a metric."""
    max_new_tokens: int | None = None
    """Most tokens generated per example during validation (default: max_target_len)."""
    mixed_precision: Precision = "auto"
    """no, bf16 or fp16; auto = bf16 where the device computes it natively, otherwise no
    (ttune.runs.resolve_precision)."""
    device: str = "auto"
    """Device to train on: auto (a CUDA GPU when there is one, else mps, else cpu), cpu, cuda,
    cuda:N or mps."""
    fsdp: bool = False
    """Under torchrun or accelerate launch, shard the frozen backbone's blocks over the processes
    (FSDP2) and keep the method's weights whole on each; also set by TTUNE_FSDP=1 or an Accelerate
    config with distributed_type FSDP. For methods that train no weight inside the blocks
    (docs/distributed.md)."""
    num_workers: int = 1
    """Processes extracting CPGs (the cache makes a second run skip extraction)."""
    cache_dir: str = field(default_factory=default_cache_dir)
    """CPG cache folder (default ~/.cache/ttune/cpg, or $TTUNE_CACHE)."""
    log_every: int = 10
    """Write a log.jsonl line (and update the progress bar's loss) every N optimizer steps."""
    keep_checkpoints: int = 2
    """How many step-N checkpoints to keep (the oldest are deleted)."""
    progress: bool = True
    """Show a tqdm progress bar."""

    def __post_init__(self) -> None:
        def bad(name: str, why: str) -> ConfigError:
            return ConfigError(f"{name}: {why} (got {getattr(self, name)!r})")

        for name in ("model", "train_file", "output_dir", "task", "method"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise bad(name, "must be a non-empty string")
        if not isinstance(self.method_options, dict):
            raise bad("method_options", "must be a dict of method config fields")
        positive = [
            "epochs",
            "batch_size",
            "grad_accum",
            "num_beams",
            "num_workers",
            "log_every",
            "keep_checkpoints",
        ]
        for name in positive:
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise bad(name, "must be an integer >= 1")
        for name in (
            "max_steps",
            "max_source_len",
            "max_target_len",
            "max_train_records",
            "save_every",
            "max_new_tokens",
        ):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or v < 1):
                raise bad(name, "must be an integer >= 1 or unset")
        for name in ("eval_every", "early_stopping_patience"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                raise bad(name, "must be an integer >= 0")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise bad("lr", "must be > 0")
        if not (isinstance(self.weight_decay, (int, float)) and self.weight_decay >= 0):
            raise bad("weight_decay", "must be >= 0")
        if not (isinstance(self.warmup_ratio, (int, float)) and 0 <= self.warmup_ratio < 1):
            raise bad("warmup_ratio", "must be in [0, 1)")
        if not (isinstance(self.max_grad_norm, (int, float)) and self.max_grad_norm >= 0):
            raise bad("max_grad_norm", "must be >= 0")
        if not (isinstance(self.follow_bias, (int, float)) and 0 <= self.follow_bias < math.inf):
            raise bad("follow_bias", "must be a finite number >= 0")
        if self.schedule not in SCHEDULES:
            raise bad("schedule", f"must be one of {', '.join(SCHEDULES)}")
        if self.mixed_precision not in PRECISIONS:
            raise bad("mixed_precision", f"must be one of {', '.join(PRECISIONS)}")
        check_device(self.device)
        if self.task_line not in TASK_LINES:
            raise bad("task_line", f"must be one of {', '.join(TASK_LINES)}")
        if self.task_line == "auto":
            self.task_line = "on" if backbone_task_line(self.model) else "off"
        if not isinstance(self.seed, int):
            raise bad("seed", "must be an integer")
        if not self.early_stopping_metric:
            raise bad("early_stopping_metric", "must be 'loss' or a metric name")
        if self.early_stopping_patience and not self.valid_file:
            raise bad("early_stopping_patience", "needs a valid_file to measure improvement")

    # ------------------------------------------------------------------ derived values
    @property
    def checkpoint_every(self) -> int:
        """Optimizer steps between checkpoints; 0 = at the end of every epoch."""
        if self.save_every is not None:
            return self.save_every
        return self.eval_every

    def resume_mismatch(self, other: TrainConfig) -> list[str]:
        """Names of the options that differ from ``other`` and forbid resuming its checkpoints."""
        a, b = self.to_dict(), other.to_dict()
        return [k for k in RESUME_KEYS if a.get(k) != b.get(k)]


def with_method_config(config: TrainConfig, path: str | Path) -> TrainConfig:
    """``config`` with the method fields of a method config file: a JSON object ``{"method": NAME,
    "version": N, fields...}`` (``ttune search``'s best.json) or a trained method's
    ``method_config.json``. Fields in ``config.method_options`` (``-m``) override the file's; the
    file's method must be ``config.method``. Errors: :class:`ConfigError`, one line."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(f"method config {path}: {str(e).splitlines()[0]}") from None
    if isinstance(doc, dict) and isinstance(doc.get("config"), dict) and "format_version" in doc:
        doc = doc["config"]  # a trained method's method_config.json
    if not isinstance(doc, dict) or not isinstance(doc.get("method"), str):
        raise ConfigError(f"method config {path}: expected a JSON object with a 'method' name")
    if doc["method"] != config.method:
        raise ConfigError(
            f"method config {path} is for method {doc['method']!r}; pass --method {doc['method']}"
        )
    fields = {k: v for k, v in doc.items() if k not in ("method", "version")}
    return dataclasses.replace(config, method_options={**fields, **config.method_options})
