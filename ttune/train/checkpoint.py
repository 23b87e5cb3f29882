"""Training checkpoints: everything needed to continue a run exactly where it stopped.

A checkpoint is a folder ``<output>/checkpoints/step-N`` holding
- method_config.json + method.safetensors: the method's trainable weights (ttune.methods.save_method),
- train_config.json: the run's TrainConfig (so `ttune predict` can use a checkpoint directly),
- trainer_state.safetensors: optimizer moment tensors and the torch/CUDA RNG states,
- trainer_state.json: step, epoch, position in the epoch, optimizer hyper-parameters, scheduler,
  grad-scaler and Python/NumPy RNG states, early-stopping bookkeeping.
No pickle anywhere. The folder is filled under a temporary name and renamed into place, so a kill
at any instant leaves either the previous checkpoint set or the new one, never half a checkpoint.

The pieces that do not depend on the method (optimizer and RNG state, the trainer_state files,
the step-N folder, :class:`RunFolder`) are public: ``ttune.pretrain.loop`` writes its
checkpoints with them too.
"""

from __future__ import annotations

import json
import random
import re
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Iterator

from ttune.train.io import append_jsonl, atomic_dir, atomic_write_text, remove_stale_temps, truncate_jsonl

STATE_FORMAT = 1
_STEP_DIR = re.compile(r"^step-(\d+)$")


class ResumeError(ValueError):
    """A checkpoint that cannot be resumed (corrupt, or from another configuration). One line."""


@dataclass
class TrainState:
    """Where a run stands. ``batch_in_epoch`` counts micro-batches of ``epoch`` already consumed."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    best_score: float | None = None
    best_step: int | None = None
    bad_evals: int = 0
    stopped_early: bool = False
    last_valid: dict[str, float] = field(default_factory=dict)


def json_safe(x: Any) -> Any:
    """Tuples -> lists, tensors -> numbers, recursively (scheduler/optimizer states)."""
    import torch

    if isinstance(x, dict):
        return {str(k): json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_safe(v) for v in x]
    if isinstance(x, torch.Tensor):
        return x.item() if x.numel() == 1 else x.tolist()
    return x


def rng_state() -> tuple[dict[str, Any], dict[str, Any]]:
    """(tensors, JSON) of every RNG a training step may draw from."""
    import numpy as np
    import torch

    tensors = {"rng.torch": torch.get_rng_state().clone()}
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s.clone()
    np_state = np.random.get_state()
    js = {"python": json_safe(random.getstate()),
          "numpy": [np_state[0], np_state[1].tolist(), int(np_state[2]), int(np_state[3]),
                    float(np_state[4])]}
    return tensors, js


def set_rng_state(tensors: dict[str, Any], js: dict[str, Any]) -> None:
    import numpy as np
    import torch

    torch.set_rng_state(tensors["rng.torch"])
    if torch.cuda.is_available():
        cuda = [tensors[k] for k in sorted((k for k in tensors if k.startswith("rng.cuda.")),
                                           key=lambda k: int(k.rsplit(".", 1)[1]))]
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
    import torch

    opt = optimizer.state_dict()
    tensors: dict[str, Any] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, st in opt["state"].items():
        for k, v in st.items():
            if isinstance(v, torch.Tensor):
                tensors[f"opt.{pid}.{k}"] = v.detach().to("cpu").contiguous().clone()
            else:
                scalars.setdefault(str(pid), {})[k] = v
    js = {"param_groups": json_safe(opt["param_groups"]), "scalars": scalars,
          "num_states": len(opt["state"])}
    return tensors, js


def optimizer_from_tensors(optimizer, tensors: dict[str, Any], js: dict[str, Any], path: Path,
                           device=None, error: type[ValueError] = ResumeError) -> None:
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
    from safetensors.torch import save_file

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

    ``config``: a :class:`ttune.train.config.JsonConfig` with ``output_dir`` and
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
                raise self.resume_error(f"{self.out} holds {self.run_kind} with other {', '.join(diff)}; "
                                        "use another --output or the same options to resume")
        self.out.mkdir(parents=True, exist_ok=True)
        self.config.save(cfg_path)

    def _log(self, entry: dict[str, Any]) -> None:
        append_jsonl(self.out / "log.jsonl", entry)

    def _truncate_log(self, step: int) -> None:
        """Drop log lines written after the checkpoint we resume from (those steps are redone)."""
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


def save_checkpoint(root: Path, adapted, optimizer, scheduler, scaler, state: TrainState,
                    config_dict: dict, meta: dict, keep: int) -> Path:
    """Write ``root/step-<state.step>`` atomically and delete all but the newest ``keep``."""
    from ttune.methods import save_method

    with new_checkpoint(root, state.step, keep) as tmp:
        save_method(adapted, tmp, meta=meta)
        atomic_write_text(tmp / "train_config.json", json.dumps(config_dict, indent=2, sort_keys=True) + "\n")
        write_trainer_state(tmp, optimizer, state.__dict__.copy(),
                            scheduler=json_safe(scheduler.state_dict()),
                            scaler=json_safe(scaler.state_dict()) if scaler is not None else None)
    return Path(root) / f"step-{state.step}"


def load_checkpoint(path: Path, adapted, optimizer, scheduler, scaler) -> TrainState:
    """Restore weights, optimizer, scheduler, scaler and RNG states from ``path``; return the state.
    Raises ResumeError (one line) for anything missing, corrupt or of the wrong shape."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    try:
        js = json.loads((path / "trainer_state.json").read_text(encoding="utf-8"))
        tensors = load_file(str(path / "trainer_state.safetensors"))
        weights = load_file(str(path / "method.safetensors"))
    except (OSError, json.JSONDecodeError, SafetensorError, ValueError) as e:
        raise ResumeError(f"cannot resume from {path}: {str(e).splitlines()[0]} "
                          "(delete that folder to resume from an earlier checkpoint)") from None
    if not isinstance(js, dict) or js.get("format") != STATE_FORMAT:
        raise ResumeError(f"cannot resume from {path}: unknown trainer_state format")
    try:
        adapted.load_method_state_dict(weights)
    except (RuntimeError, KeyError, ValueError) as e:
        raise ResumeError(f"cannot resume from {path}: method weights do not fit "
                          f"({str(e).splitlines()[0]})") from None

    o = js["optimizer"]
    n_params = sum(len(g["params"]) for g in optimizer.param_groups)
    if sum(len(g["params"]) for g in o["param_groups"]) != n_params:
        raise ResumeError(f"cannot resume from {path}: optimizer has another number of parameters")
    optimizer_from_tensors(optimizer, tensors, o, path)
    scheduler.load_state_dict(js["scheduler"])
    if scaler is not None and js.get("scaler"):
        scaler.load_state_dict(js["scaler"])
    set_rng_state(tensors, js["rng"])
    st = TrainState()
    for k, v in js["state"].items():
        if hasattr(st, k):
            setattr(st, k, v)
    return st


def latest_checkpoint(root: Path) -> Path | None:
    """The newest complete checkpoint (leftovers of an interrupted write are cleaned up first)."""
    remove_stale_temps(Path(root))
    found = list_checkpoints(root)
    return found[-1][1] if found else None
