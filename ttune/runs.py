"""Run folders, resumable state and config files shared by every kind of run.

- :class:`JsonConfig`: the JSON round trip of a run's config dataclass (training, pretraining,
  comparison), refusing unknown keys.
- :class:`RunFolder`: an output folder holding the run's config file (checked when the run
  resumes), ``log.jsonl`` and ``checkpoints/step-N``.
- Checkpoint pieces that do not depend on what is trained: optimizer and RNG state split into
  safetensors + JSON (no pickle), the ``trainer_state`` files, and the ``step-N`` folders, written
  atomically so that a kill leaves either the previous checkpoint set or the new one.
"""

from __future__ import annotations

import json
import math
import random
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import MISSING, asdict, fields
from pathlib import Path
from typing import Any, ClassVar, Self

from ttune import dist
from ttune.io import append_jsonl, atomic_dir, atomic_write_text, remove_stale_temps, truncate_jsonl

STATE_FORMAT = 1
_STEP_DIR = re.compile(r"^step-(\d+)$")


class ResumeError(ValueError):
    """A checkpoint that cannot be resumed (corrupt, or from another configuration). One line."""


def lr_multiplier(
    step: int, total: int, warmup: int, schedule: str, min_ratio: float = 0.0
) -> float:
    """Learning-rate multiplier of optimizer step ``step`` (0-based) of ``total``: linear warm-up
    over ``warmup`` steps (reaching 1 at the last of them), then ``schedule``: "constant",
    "linear" (to 0 at ``total``) or "cosine" (to ``min_ratio`` at ``total``)."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    if schedule == "constant":
        return 1.0
    frac = min(1.0, (step - warmup) / max(1, total - warmup))
    if schedule == "linear":
        return 1.0 - frac
    if schedule == "cosine":
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * frac))
    raise ValueError(f"unknown learning-rate schedule {schedule!r}")


def resolve_precision(precision: str, device_type: str) -> str:
    """The compute precision a run uses: ``precision`` itself unless it is "auto", which becomes
    "bf16" where the device computes bfloat16 natively (a CUDA GPU that supports it; a CPU with
    oneDNN bf16 support, AVX512-BF16 or AMX) and "fp32" elsewhere (emulated bf16 is slow)."""
    if precision != "auto":
        return precision
    import torch  # lazy: ttune.runs is imported by light modules (configs, the CLI)

    if device_type == "cuda":
        return "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "fp32"
    try:
        return "bf16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "fp32"
    except (AttributeError, RuntimeError):
        return "fp32"


class JsonConfig:
    """JSON round trip of a config dataclass (mixed into TrainConfig, PretrainConfig,
    CompareConfig).

    A subclass names the error it raises (``config_error``, one-line messages), what its options
    are called in them (``options_name`` "training" -> "unknown training option(s): ...") and how
    a file of it is named in read errors (``file_label``, default: the path alone).
    """

    config_error: ClassVar[type[ValueError]] = ValueError
    options_name: ClassVar[str] = ""
    file_label: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """The fields that have a default, with it: what a file written before a field existed
        means by leaving it out."""
        out: dict[str, Any] = {}
        for f in fields(cls):
            if f.default is not MISSING:
                out[f.name] = f.default
            elif f.default_factory is not MISSING:
                out[f.name] = f.default_factory()
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Self:
        # Unknown keys are refused rather than dropped: a typo in a hand-written file or a file of
        # another version must not silently fall back to defaults. The values are checked by
        # the dataclass's own __post_init__.
        unknown = sorted(set(d) - {f.name for f in fields(cls)})
        if unknown:
            raise cls.config_error(f"unknown {cls.options_name} option(s): {', '.join(unknown)}")
        return cls(**d)

    def save(self, path: str | Path) -> None:
        """Write as JSON atomically (temp file + os.replace)."""
        atomic_write_text(Path(path), json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read a file written by :meth:`save` (one-line ``config_error`` if unreadable)."""
        name = f"{cls.file_label} {path}" if cls.file_label else str(path)
        try:
            d = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise cls.config_error(f"cannot read {name}: {str(e).splitlines()[0]}") from None
        if not isinstance(d, dict):
            raise cls.config_error(f"{name} is not a JSON object")
        return cls.from_dict(d)


def json_safe(x: Any) -> Any:
    """Tuples -> lists, tensors -> numbers, recursively (scheduler/optimizer states)."""
    import torch  # lazy: ttune.runs is imported by light modules (configs, the CLI)

    if isinstance(x, dict):
        return {str(k): json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_safe(v) for v in x]
    if isinstance(x, torch.Tensor):
        return x.item() if x.numel() == 1 else x.tolist()
    return x


def rng_state() -> tuple[dict[str, Any], dict[str, Any]]:
    """(tensors, JSON) of every RNG a training step may draw from."""
    import numpy as np  # lazy: with torch, for the RNG states only
    import torch  # lazy: ttune.runs is imported by light modules (configs, the CLI)

    tensors = {"rng.torch": torch.get_rng_state().clone()}
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s.clone()
    np_state = np.random.get_state()
    js = {
        "python": json_safe(random.getstate()),
        "numpy": [
            np_state[0],
            np_state[1].tolist(),
            int(np_state[2]),
            int(np_state[3]),
            float(np_state[4]),
        ],
    }
    return tensors, js


def set_rng_state(tensors: dict[str, Any], js: dict[str, Any]) -> None:
    import numpy as np  # lazy: with torch, for the RNG states only
    import torch  # lazy: ttune.runs is imported by light modules (configs, the CLI)

    torch.set_rng_state(tensors["rng.torch"])
    if torch.cuda.is_available():
        cuda = [
            tensors[k]
            for k in sorted(
                (k for k in tensors if k.startswith("rng.cuda.")),
                key=lambda k: int(k.rsplit(".", 1)[1]),
            )
        ]
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)
    py = js["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = js["numpy"]
    np.random.set_state((n[0], np.asarray(n[1], dtype=np.uint32), n[2], n[3], n[4]))


def optimizer_to_tensors(optimizer) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split ``optimizer.state_dict()`` into (tensors, JSON) for safetensors + JSON (no pickle).

    tensors: ``opt.<param id>.<name>`` -> a CPU copy (AdamW's moments and step counters);
    JSON: {"param_groups", "scalars" (non-tensor state entries by param id), "num_states"}.
    """
    import torch  # lazy: ttune.runs is imported by light modules (configs, the CLI)

    opt = optimizer.state_dict()
    tensors: dict[str, Any] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, st in opt["state"].items():
        for k, v in st.items():
            if isinstance(v, torch.Tensor):
                tensors[f"opt.{pid}.{k}"] = v.detach().to("cpu").contiguous().clone()
            else:
                scalars.setdefault(str(pid), {})[k] = v
    js = {
        "param_groups": json_safe(opt["param_groups"]),
        "scalars": scalars,
        "num_states": len(opt["state"]),
    }
    return tensors, js


def optimizer_from_tensors(
    optimizer,
    tensors: dict[str, Any],
    js: dict[str, Any],
    path: Path,
    device=None,
    error: type[ValueError] = ResumeError,
) -> None:
    """Load what :func:`optimizer_to_tensors` split (``tensors`` may hold other keys) into
    ``optimizer``; ``device``: move the moments there (step counters stay on the CPU, as torch
    keeps them). Raises ``error`` (one line naming ``path``) for a state that does not fit."""
    state: dict[int, dict[str, Any]] = {}
    for k, v in tensors.items():
        if k.startswith("opt."):
            _, pid, name = k.split(".", 2)
            move = device is not None and name != "step"
            state.setdefault(int(pid), {})[name] = v.to(device) if move else v
    for pid, sc in js["scalars"].items():
        state.setdefault(int(pid), {}).update(sc)
    if len(state) != js["num_states"]:
        raise error(f"cannot resume from {path}: optimizer state is incomplete")
    try:
        optimizer.load_state_dict({"state": state, "param_groups": js["param_groups"]})
    except (ValueError, KeyError, RuntimeError) as e:
        raise error(f"cannot resume from {path}: optimizer state does not fit ({e})") from None


def write_trainer_state(folder: Path, optimizer, state: dict[str, Any], **extra: Any) -> None:
    """``folder``/trainer_state.safetensors (optimizer and RNG tensors) and trainer_state.json
    (format, ``state``, optimizer JSON, the JSON-safe ``extra`` entries, Python/NumPy RNGs)."""
    from safetensors.torch import save_file  # lazy: loads torch

    tensors, rng_js = rng_state()
    opt_tensors, opt_js = optimizer_to_tensors(optimizer)
    tensors.update(opt_tensors)
    save_file(tensors, str(Path(folder) / "trainer_state.safetensors"))
    js = {"format": STATE_FORMAT, "state": state, "optimizer": opt_js, **extra, "rng": rng_js}
    atomic_write_text(Path(folder) / "trainer_state.json", json.dumps(js) + "\n")


@contextmanager
def new_checkpoint(root: Path, step: int, keep: int) -> Iterator[Path]:
    """The temporary folder to fill with checkpoint ``root/step-<step>``: it is renamed into place
    when the block ends (deleted if it raises), then all but the newest ``keep`` are deleted."""
    with atomic_dir(Path(root) / f"step-{step}") as tmp:
        yield tmp
    for _, old in list_checkpoints(root)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


class RunFolder:
    """The output folder of a resumable run: its config file (checked when the run resumes),
    ``log.jsonl`` and ``checkpoints/``. The training and the pretraining loops derive from it.
    Of several processes (:mod:`ttune.dist`) only the main one writes the config file and the log.

    ``config``: a :class:`JsonConfig` with ``output_dir`` and
    ``resume_mismatch(other)`` (the options that differ and forbid resuming).
    """

    config_file: ClassVar[str] = "config.json"
    resume_error: ClassVar[type[ValueError]] = ResumeError
    run_kind: ClassVar[str] = "a run"
    """What the folder holds, for the refusal message ("<out> holds a run with other ...")."""

    def __init__(self, config) -> None:
        self.config = config
        self.out = Path(config.output_dir)
        self.ckpt_root = self.out / "checkpoints"

    def _check_output(self) -> None:
        """Refuse to mix two different runs in one folder, then write this run's config there.

        The config of an earlier invocation counts only while its checkpoints exist: a run killed
        before its first checkpoint restarts from scratch and may change any option."""
        cfg_path = self.out / self.config_file
        if cfg_path.is_file() and list_checkpoints(self.ckpt_root):
            diff = self.config.resume_mismatch(type(self.config).load(cfg_path))
            if diff:
                raise self.resume_error(
                    f"{self.out} holds {self.run_kind} with other {', '.join(diff)}; "
                    "use another --output or the same options to resume"
                )
        if dist.is_main():
            self.out.mkdir(parents=True, exist_ok=True)
            self.config.save(cfg_path)

    def _log(self, entry: dict[str, Any]) -> None:
        if dist.is_main():
            append_jsonl(self.out / "log.jsonl", entry)

    def _truncate_log(self, step: int) -> None:
        """Drop log lines written after the checkpoint we resume from (those steps are redone)."""
        if dist.is_main():
            truncate_jsonl(self.out / "log.jsonl", step)


def list_checkpoints(root: Path) -> list[tuple[int, Path]]:
    """(step, folder) of the complete step-N checkpoints under ``root``, oldest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = []
    for p in root.iterdir():
        m = _STEP_DIR.match(p.name)
        if m and p.is_dir() and (p / "trainer_state.json").is_file():
            found.append((int(m.group(1)), p))
    return sorted(found)


def latest_checkpoint(root: Path) -> Path | None:
    """The newest complete checkpoint (leftovers of an interrupted write are cleaned up first, by
    the main process: another one could remove what the main process is writing)."""
    if dist.is_main():
        remove_stale_temps(Path(root))
    found = list_checkpoints(root)
    return found[-1][1] if found else None
