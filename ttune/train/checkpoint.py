"""Training checkpoints: everything needed to continue a run exactly where it stopped.

A checkpoint is a folder ``<output>/checkpoints/step-N`` holding
- method_config.json + method.safetensors: the method's trainable weights
(ttune.methods.save_method),
- train_config.json: the run's TrainConfig (so `ttune predict` can use a checkpoint directly),
- trainer_state.safetensors: optimizer moment tensors and the torch/CUDA RNG states,
- trainer_state.json: step, epoch, position in the epoch, optimizer hyper-parameters, scheduler,
  grad-scaler and Python/NumPy RNG states, early-stopping bookkeeping.
No pickle anywhere. The folder is filled under a temporary name and renamed into place, so a kill
at any instant leaves either the previous checkpoint set or the new one, never half a checkpoint.

The pieces that do not depend on the method (optimizer and RNG state, the trainer_state files,
the step-N folders, :class:`ttune.runs.RunFolder`) live in :mod:`ttune.runs`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file

from ttune.io import atomic_write_text
from ttune.methods import save_method
from ttune.runs import (
    STATE_FORMAT,
    ResumeError,
    json_safe,
    new_checkpoint,
    optimizer_from_tensors,
    set_rng_state,
    write_trainer_state,
)


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


def save_checkpoint(
    root: Path,
    adapted,
    optimizer,
    scheduler,
    scaler,
    state: TrainState,
    config_dict: dict,
    meta: dict,
    keep: int,
) -> Path:
    """Write ``root/step-<state.step>`` atomically and delete all but the newest ``keep``."""
    with new_checkpoint(root, state.step, keep) as tmp:
        save_method(adapted, tmp, meta=meta)
        atomic_write_text(
            tmp / "train_config.json", json.dumps(config_dict, indent=2, sort_keys=True) + "\n"
        )
        write_trainer_state(
            tmp,
            optimizer,
            state.__dict__.copy(),
            scheduler=json_safe(scheduler.state_dict()),
            scaler=json_safe(scaler.state_dict()) if scaler is not None else None,
        )
    return Path(root) / f"step-{state.step}"


def load_checkpoint(path: Path, adapted, optimizer, scheduler, scaler) -> TrainState:
    """Restore weights, optimizer, scheduler, scaler and RNG states from ``path``; return the state.
    Raises ResumeError (one line) for anything missing, corrupt or of the wrong shape."""
    path = Path(path)
    try:
        js = json.loads((path / "trainer_state.json").read_text(encoding="utf-8"))
        tensors = load_file(str(path / "trainer_state.safetensors"))
        weights = load_file(str(path / "method.safetensors"))
    except (OSError, json.JSONDecodeError, SafetensorError, ValueError) as e:
        raise ResumeError(
            f"cannot resume from {path}: {str(e).splitlines()[0]} "
            "(delete that folder to resume from an earlier checkpoint)"
        ) from None
    if not isinstance(js, dict) or js.get("format") != STATE_FORMAT:
        raise ResumeError(f"cannot resume from {path}: unknown trainer_state format")
    try:
        adapted.load_method_state_dict(weights)
    except (RuntimeError, KeyError, ValueError) as e:
        raise ResumeError(
            f"cannot resume from {path}: method weights do not fit ({str(e).splitlines()[0]})"
        ) from None

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
