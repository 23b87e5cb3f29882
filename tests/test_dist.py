"""ttune.dist in one process: the slices of a micro-batch, the evaluation batches of each process,
the collectives as identities, and the one-line refusals (FSDP, an incomplete launcher setup)."""

from __future__ import annotations

import pytest
import torch

from ttune import dist


def as_process(monkeypatch, rank: int, world: int) -> None:
    monkeypatch.setattr(dist, "rank", lambda: rank)
    monkeypatch.setattr(dist, "world_size", lambda: world)


@pytest.mark.parametrize("n,world", [(6, 2), (7, 2), (5, 3), (1, 2), (0, 2), (8, 1)])
def test_shards_cut_a_micro_batch_in_order(monkeypatch, n, world):
    items = list(range(100, 100 + n))
    parts = []
    for r in range(world):
        as_process(monkeypatch, r, world)
        parts.append(dist.shard(items))
    assert [x for p in parts for x in p] == items  # contiguous, in order, complete
    assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_evaluation_batches_go_round_robin(monkeypatch):
    got = []
    for r in range(3):
        as_process(monkeypatch, r, 3)
        got.append(list(dist.owned(8)))
    assert got == [[0, 3, 6], [1, 4, 7], [2, 5]]


def test_one_process_collectives_are_identities():
    assert dist.world_size() == 1 and dist.rank() == 0 and dist.is_main()
    assert dist.gather_in_order([(2, "c"), (0, "a"), (1, "b")]) == ["a", "b", "c"]
    assert dist.all_sum([1.5, 2]) == [1.5, 2.0]
    p = torch.nn.Parameter(torch.ones(3))
    p.grad = torch.tensor([1.0, 2.0, 3.0])
    dist.sync_gradients([p])
    assert p.grad.tolist() == [1.0, 2.0, 3.0]
    dist.barrier()
    with dist.main_first():
        pass
    assert dist.device_for("cuda") == "cuda"


def test_rank_before_joining_is_the_launchers(monkeypatch):
    monkeypatch.setenv("RANK", "1")
    assert dist.rank() == 1 and not dist.is_main() and dist.world_size() == 1


@pytest.mark.parametrize("var", ["ACCELERATE_USE_FSDP", "TTUNE_FSDP"])
def test_fsdp_is_refused_in_one_line_where_a_command_cannot_shard(monkeypatch, var):
    monkeypatch.setenv(var, "true")
    assert dist.fsdp_requested()
    with pytest.raises(dist.DistributedError, match="FSDP .* supported by ttune train only") as e:
        dist.init("cpu")
    assert "\n" not in str(e.value)
    dist.init("cpu", fsdp=True)  # one process: nothing to join


def test_fsdp_is_off_unless_requested(monkeypatch):
    for var in ("ACCELERATE_USE_FSDP", "TTUNE_FSDP"):
        monkeypatch.delenv(var, raising=False)
    assert not dist.fsdp_requested() and dist.fsdp_requested(True)
    monkeypatch.setenv("TTUNE_FSDP", "0")
    assert not dist.fsdp_requested()


def test_incomplete_launcher_setup_is_one_line(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    with pytest.raises(dist.DistributedError, match="MASTER_ADDR") as e:
        dist.init("cpu")
    assert "torchrun" in str(e.value) and "\n" not in str(e.value)
