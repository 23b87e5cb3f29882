"""The processes of one run: who they are, which data each reads, how their gradients and results
meet, and who writes.

A command runs unchanged as one process or as N processes started by ``torchrun`` or
``accelerate launch`` (they set ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
``MASTER_PORT``). Everything that depends on the number of processes lives here:

- **rank and world size**: :func:`init` joins the process group the launcher describes (gloo on
  the CPU, NCCL on CUDA); :func:`rank`, :func:`world_size`, :func:`is_main`.
- **sharding**: every process computes the same global order of micro-batches (a pure function of
  seed and epoch); :func:`shard` cuts one micro-batch into ``world_size`` contiguous slices and
  returns this process's slice. Training state counts global micro-batches, so a run resumes with
  any number of processes.
- **gradient sync**: :func:`sync_gradients` sums the gradients of the trainable parameters over the
  processes (one flat all-reduce per optimizer step). Each process scales its loss by its share of
  the micro-batch's target tokens, so the sum is the gradient of the global mean -- the same as
  one process reading the whole micro-batch.
- **evaluation**: batch ``b`` of a validation or generation pass goes to process
  ``b % world_size`` (:func:`owned`); :func:`gather_in_order` puts the results back in record
  order on every process.
- **writes**: only the main process writes checkpoints, logs and reports (:func:`is_main`);
  :func:`barrier` and :func:`main_first` make the others wait for what it wrote.

- **FSDP** (``ttune train --fsdp``, ``TTUNE_FSDP=1`` or an Accelerate config with
  ``distributed_type: FSDP``, see :func:`fsdp_requested`): :func:`shard_modules` shards the
  frozen backbone's blocks over the processes with torch's ``fully_shard`` (FSDP2). Every process
  then runs every forward pass: :func:`owned` gives each process all batches of an evaluation
  pass and :func:`gather_in_order` only sorts its own results. Commands other than ``ttune train``
  refuse FSDP in :func:`init`.

One process (no launcher): no process group, :func:`shard` returns the whole micro-batch and the
collectives return their input. A lost peer (a process killed or crashed) turns a collective into
:class:`DistributedError`, one line that says how to resume.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

_LAUNCH_VARS = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
_TRUE = ("1", "true", "yes")
_sharded = False  # set by shard_modules: every process computes every batch


class DistributedError(RuntimeError, ValueError):
    """A collective failed: another process of the run died or cannot be reached. One line."""


def _group():
    """torch.distributed when this process has joined a group, else None (torch itself is not
    imported: light modules -- run folders, comparisons -- ask who writes)."""
    td = sys.modules.get("torch.distributed")
    return td if td is not None and td.is_available() and td.is_initialized() else None


def launched() -> bool:
    """Whether a launcher started this process as one of several (``WORLD_SIZE`` > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def launch_command(args: Sequence[str], nproc: int = 2) -> list[str]:
    """The command line that runs ``ttune ARGS`` in ``nproc`` processes on this machine with
    ``torchrun`` (``python -m torch.distributed.run --standalone``); ``nproc=1`` gives the plain
    one-process command."""
    cli = ["-m", "ttune.cli.main", *args]
    if nproc == 1:
        return [sys.executable, *cli]
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={nproc}",
        *cli,
    ]


def fsdp_requested(flag: bool = False) -> bool:
    """Whether this run shards its backbone: ``flag`` (``TrainConfig.fsdp``), ``TTUNE_FSDP`` or
    ``ACCELERATE_USE_FSDP`` (what ``accelerate launch`` sets for ``distributed_type: FSDP``)."""
    return flag or any(
        os.environ.get(v, "").lower() in _TRUE for v in ("TTUNE_FSDP", "ACCELERATE_USE_FSDP")
    )


def init(device: str = "cpu", fsdp: bool = False) -> None:
    """Join the process group the launcher describes (no-op for one process or when joined).
    ``device``: where the run computes; "cuda..." selects NCCL and this process's GPU
    (``LOCAL_RANK``), anything else gloo. ``fsdp``: whether the command can shard its backbone;
    a command that cannot refuses an FSDP request (:func:`fsdp_requested`) with one line."""
    if not fsdp and fsdp_requested():
        raise DistributedError(
            "FSDP (TTUNE_FSDP or the Accelerate config's distributed_type) is supported by ttune "
            "train only; unset TTUNE_FSDP or use distributed_type MULTI_GPU (docs/distributed.md)"
        )
    if not launched() or _group() is not None:
        return
    import torch  # lazy: ttune.dist is imported by light modules (run folders, comparisons)
    import torch.distributed as tdist  # lazy: as torch

    missing = [v for v in _LAUNCH_VARS if v not in os.environ]
    if missing:
        raise DistributedError(
            f"WORLD_SIZE is {os.environ['WORLD_SIZE']} but {', '.join(missing)} is not set; "
            "start several processes with torchrun or accelerate launch"
        )
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.set_device(local_rank())
    with _collective("joining the process group"):
        tdist.init_process_group(backend="nccl" if cuda else "gloo")


def rank() -> int:
    """This process's index in the run (0 for one process; the launcher's ``RANK`` before the
    group is joined)."""
    g = _group()
    return g.get_rank() if g is not None else int(os.environ.get("RANK", "0"))


def world_size() -> int:
    """How many processes the run has (1 until a launched process joins its group)."""
    g = _group()
    return g.get_world_size() if g is not None else 1


def local_rank() -> int:
    """This process's index on its machine (picks its GPU)."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_main() -> bool:
    """Whether this process writes the run's files (rank 0)."""
    return rank() == 0


def device_for(device: str) -> str:
    """The device of this process: a bare "cuda" becomes this process's GPU under a launcher."""
    if world_size() > 1 and device == "cuda":
        return f"cuda:{local_rank()}"
    return device


@contextlib.contextmanager
def _collective(what: str) -> Iterator[None]:
    try:
        yield
    except (RuntimeError, ConnectionError) as e:  # torch's DistBackendError is a RuntimeError
        if isinstance(e, DistributedError):
            raise
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
        raise DistributedError(
            f"process {rank()} of {world_size()} lost the other processes while {what} ({first}); "
            "run the same command again to resume from the last checkpoint"
        ) from None


def _device():
    import torch  # lazy: as in init

    g = _group()
    if g is not None and g.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def shard(items: Sequence[T]) -> list[T]:
    """This process's contiguous slice of ``items`` (one global micro-batch). The first
    ``len(items) % world_size`` processes take one item more; a process may get none."""
    n, k = world_size(), rank()
    base, extra = divmod(len(items), n)
    start = k * base + min(k, extra)
    return list(items[start : start + base + (k < extra)])


def owned(n_batches: int) -> range:
    """The batch indices of an evaluation pass that this process computes (``b % world_size``;
    all of them once :func:`shard_modules` has sharded the model)."""
    if _sharded:
        return range(n_batches)
    return range(rank(), n_batches, world_size())


def sharded() -> bool:
    """Whether :func:`shard_modules` sharded this process's model (every process then runs every
    forward pass)."""
    return _sharded


def shard_modules(modules: Sequence, device: str = "cpu") -> None:
    """Shard the parameters of each of ``modules`` (the frozen backbone's blocks) over the
    processes with ``fully_shard`` (FSDP2) on a 1-D mesh of all processes; every other parameter
    stays whole on every process. From then on (for the rest of the process) every process runs
    every forward pass (:func:`owned`): each block's forward all-gathers its weights from all."""
    global _sharded
    if world_size() == 1:
        return
    from torch.distributed.device_mesh import init_device_mesh  # lazy: as torch in init
    from torch.distributed.fsdp import fully_shard  # lazy: as torch in init

    mesh = init_device_mesh("cuda" if device.startswith("cuda") else "cpu", (world_size(),))
    for m in modules:  # each block is its own root: reshard explicitly, else it stays gathered
        fully_shard(m, mesh=mesh, reshard_after_forward=True)
    _sharded = True


def barrier(what: str = "waiting for the main process") -> None:
    """Wait until every process gets here (no-op for one process)."""
    if world_size() > 1:
        with _collective(what):
            _group().barrier()


@contextlib.contextmanager
def main_first(what: str = "waiting for the main process") -> Iterator[None]:
    """Run the block on the main process first, then on the others (files the block writes, a CPG
    cache for example, are then read by the others instead of made again)."""
    if not is_main():
        barrier(what)
    yield
    if is_main():
        barrier(what)


def all_sum(values: Sequence[float], what: str = "summing values") -> list[float]:
    """Element-wise sum of ``values`` over the processes (float64; identity for one process)."""
    if world_size() == 1:
        return [float(v) for v in values]
    import torch  # lazy: as in init

    t = torch.tensor(list(values), dtype=torch.float64, device=_device())
    with _collective(what):
        _group().all_reduce(t)
    return t.tolist()


def sync_gradients(params: Iterable) -> None:
    """Sum the gradients of ``params`` over the processes, in place (a parameter without a
    gradient counts as zeros, so a process whose slice of the batch was empty still takes part).
    """
    if world_size() == 1:
        return
    import torch  # lazy: as in init

    params = list(params)
    if not params:
        return
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1).to(torch.float32) for g in grads]).to(_device())
    with _collective("synchronising gradients"):
        _group().all_reduce(flat)
    offset = 0
    for p, g in zip(params, grads):
        n = g.numel()
        p.grad = flat[offset : offset + n].view_as(g).to(device=p.device, dtype=g.dtype)
        offset += n


def gather_in_order(items: Sequence[tuple[int, Any]], what: str = "gathering results") -> list:
    """All processes' ``(key, value)`` pairs, values sorted by key (record or batch index), on
    every process. For one process: the values of ``items`` sorted by key."""
    if world_size() == 1 or _sharded:
        return [v for _, v in sorted(items, key=lambda kv: kv[0])]
    parts: list[Any] = [None] * world_size()
    with _collective(what):
        _group().all_gather_object(parts, list(items))
    merged = [kv for part in parts for kv in part]
    return [v for _, v in sorted(merged, key=lambda kv: kv[0])]


__all__ = [
    "DistributedError",
    "all_sum",
    "barrier",
    "device_for",
    "fsdp_requested",
    "gather_in_order",
    "init",
    "is_main",
    "launched",
    "local_rank",
    "main_first",
    "owned",
    "rank",
    "shard",
    "shard_modules",
    "sharded",
    "sync_gradients",
    "world_size",
]
