"""Training and evaluation in two processes (torchrun, gloo on the CPU) against one process.

With the same global batch, 2 processes follow the loss curve of 1 process (transducer, LoRA); a
checkpoint written by 2 processes resumes in 1 and the reverse; a killed process fails the job
without half a checkpoint and the same command resumes; evaluation in 2 processes writes the
predictions of 1, in record order. Dropout is 0 (the tiny backbone's, and LoRA's here): the
processes draw other dropout masks than one process would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from safetensors.torch import load_file

from ttune.dist import launch_command
from ttune.train.engine import Trainer
from ttune.train.evaluate import evaluate

ROOT = Path(__file__).resolve().parents[2]
STEPS = 5


def _env() -> dict[str, str]:
    path = [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(path))


def accelerate_launch(args: list[str], nproc: int = 2) -> list[str]:
    """The same with ``accelerate launch`` (its multi-process launcher; gloo on a CPU machine)."""
    return [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",
        f"--num_processes={nproc}",
        "--num_machines=1",
        "--mixed_precision=no",
        "--dynamo_backend=no",
        "-m",
        "ttune.cli.main",
        *args,
    ]


def run(cmd: list[str], timeout: float = 240, **env: str) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, env={**_env(), **env}, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


# fp32: under bf16 autocast (the CPU default where it is native) a batch cut in two differs from
# the whole one by bf16 rounding (~1e-3), not 1e-5.
OPTIONS = dict(
    batch_size=6, lr=1e-2, schedule="constant", save_every=3, log_every=1, mixed_precision="no"
)
METHOD_OPTIONS = {"transducer": {}, "lora": {"dropout": 0.0}, "prompt": {}}


def train_args(cfg: dict, method: str, out: Path, max_steps: int) -> list[str]:
    args = [
        "train",
        "--train",
        cfg["train_file"],
        "--output",
        str(out),
        "--model",
        cfg["model"],
        "--method",
        method,
        "--max-steps",
        str(max_steps),
        "--max-source-len",
        str(cfg["max_source_len"]),
        "--max-target-len",
        str(cfg["max_target_len"]),
        "--cache-dir",
        cfg["cache_dir"],
        "--seed",
        str(cfg["seed"]),
        "--no-progress",
    ]
    for k, v in OPTIONS.items():
        args += [f"--{k.replace('_', '-')}", str(v)]
    for k, v in METHOD_OPTIONS[method].items():
        args += ["-m", f"{k}={v}"]
    return args


def losses(out: Path) -> dict[int, float]:
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    return {e["step"]: e["loss"] for e in log if "loss" in e and "event" not in e}


def one_process(make_config, method: str, out: Path, max_steps: int) -> Path:
    cfg = make_config(
        method=method,
        output_dir=str(out),
        max_steps=max_steps,
        method_options=METHOD_OPTIONS[method],
        **OPTIONS,
    )
    return Trainer(cfg).run()


@pytest.fixture
def base(make_config) -> dict:
    return make_config().to_dict()


@pytest.mark.parametrize(
    "method,launcher",
    [("transducer", launch_command), ("lora", launch_command), ("transducer", accelerate_launch)],
)
def test_two_processes_follow_one_process(make_config, base, method, launcher, tmp_path):
    """Same global batch (6 = 3 + 3): the 5 logged losses agree within 1e-5, so do the weights."""
    ref = one_process(make_config, method, tmp_path / "one", STEPS)
    r = run(launcher(train_args(base, method, tmp_path / "two", STEPS)))
    assert r.stdout.count("trained ") == 1  # rank 0 prints the result, rank 1 nothing
    one, two = losses(ref), losses(tmp_path / "two")
    assert sorted(one) == sorted(two) == list(range(1, STEPS + 1))
    for s in one:
        assert abs(one[s] - two[s]) < 1e-5, (s, one[s], two[s])
    w1 = load_file(str(ref / "method.safetensors"))
    w2 = load_file(str(tmp_path / "two" / "method.safetensors"))
    assert w1.keys() == w2.keys()
    assert max(float((w1[k] - w2[k]).abs().max()) for k in w1) < 1e-4
    assert len(set(one.values())) > 1  # it trains


def test_checkpoints_resume_across_process_counts(make_config, base, tmp_path):
    """2 processes -> checkpoint at step 3 -> 1 process to step 5, and 1 -> 2: both equal the
    uninterrupted single-process curve."""
    ref = losses(one_process(make_config, "transducer", tmp_path / "ref", STEPS))

    a = tmp_path / "two-then-one"
    run(launch_command(train_args(base, "transducer", a, 3)))
    assert (a / "checkpoints" / "step-3" / "trainer_state.json").is_file()
    one_process(make_config, "transducer", a, STEPS)

    b = tmp_path / "one-then-two"
    one_process(make_config, "transducer", b, 3)
    run(launch_command(train_args(base, "transducer", b, STEPS)))

    for out in (a, b):
        got = losses(out)
        assert sorted(got) == list(range(1, STEPS + 1))
        assert all(abs(got[s] - ref[s]) < 1e-5 for s in ref), (out.name, got, ref)
        events = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
        assert [e["step"] for e in events if e.get("event") == "resume"] == [3]


def _worker(launcher: psutil.Process, local_rank: str) -> psutil.Process | None:
    for p in launcher.children(recursive=True):
        try:
            if p.environ().get("LOCAL_RANK") == local_rank:
                return p
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return None


def test_killed_process_fails_the_job_and_the_command_resumes(base, tmp_path):
    out = tmp_path / "run"
    cmd = launch_command(train_args(base, "transducer", out, 40))
    cmd[cmd.index("--save-every") + 1] = "2"
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ckpts = out / "checkpoints"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and proc.poll() is None:
            if list(ckpts.glob("step-*/trainer_state.json")):
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        victim = _worker(psutil.Process(proc.pid), "1")
        assert victim is not None
        victim.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = err.decode(errors="replace")
    assert proc.returncode != 0
    # torchrun names the process that died and why
    assert "local_rank: 1" in err and "SIGKILL" in err, err[-3000:]
    assert not (out / "method.safetensors").exists()
    done = sorted(int(p.name.split("-")[1]) for p in ckpts.iterdir() if p.name.startswith("step-"))
    assert done and all((ckpts / f"step-{s}" / "trainer_state.json").is_file() for s in done)
    assert all(s % 2 == 0 and s < 40 for s in done)

    cmd[cmd.index("--max-steps") + 1] = str(max(done) + 2)  # the same run, a little further
    run(cmd)
    log = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log if e.get("event") == "resume"] == [max(done)]
    assert sorted(losses(out)) == list(range(1, max(done) + 3))
    assert [p.name for p in ckpts.iterdir() if not p.name.startswith("step-")] == []
    assert (out / "method.safetensors").is_file()


def test_eval_in_two_processes_writes_the_predictions_of_one(
    make_config, base, data_files, cache_dir, tmp_path
):
    trained = one_process(make_config, "transducer", tmp_path / "run", 2)
    test = tmp_path / "test.jsonl"  # 13 records: batches of 4 -> 4 batches, the last of 1
    lines = Path(data_files["train"]).read_text().splitlines()[:13]
    test.write_text("\n".join(lines) + "\n")
    evaluate(trained, "summarize", test, tmp_path / "one.json", batch_size=4, cache_dir=cache_dir)
    args = ["eval", "--checkpoint", str(trained), "--task", "summarize", "--test", str(test)]
    args += ["--batch-size", "4", "--output", str(tmp_path / "two.json")]
    run(launch_command(args), TTUNE_CACHE=str(cache_dir))
    one = [json.loads(x) for x in (tmp_path / "one.predictions.jsonl").read_text().splitlines()]
    two = [json.loads(x) for x in (tmp_path / "two.predictions.jsonl").read_text().splitlines()]
    assert [r["id"] for r in two] == [json.loads(x)["id"] for x in lines]
    assert one == two
    assert len({r["prediction"] for r in one}) > 1


# ------------------------------------------------------------------ FSDP (the backbone sharded)
SHARD_CHECK = """
import json, sys, torch
from torch.distributed.tensor import DTensor
from ttune import dist
from ttune.backbone import blocks, load_backbone
dist.init("cpu", fsdp=True)
model, _ = load_backbone(sys.argv[1])
ids = torch.tensor([[5, 6, 7, 8, 1]])
with torch.no_grad():
    ref = model(input_ids=ids, decoder_input_ids=ids).logits
bl = blocks(model)
full = [sum(p.numel() for p in b.parameters()) for b in bl]
dist.shard_modules(bl)
inside = {id(p) for b in bl for p in b.parameters()}
with torch.no_grad():
    got = model(input_ids=ids, decoder_input_ids=ids).logits
print(json.dumps({
    "rank": dist.rank(),
    "full": full,
    "local": [sum(p.to_local().numel() for p in b.parameters()) for b in bl],
    "dtensor": all(isinstance(p, DTensor) for b in bl for p in b.parameters()),
    "outside_whole": not any(isinstance(p, DTensor) for p in model.parameters()
                             if id(p) not in inside),
    "diff": float((got - ref).abs().max()),
}))
"""


def _json_objects(text: str) -> list[dict]:
    """Every JSON object printed in ``text``: two processes share one stdout pipe, so one
    process's line can land inside the other's."""
    decoder, out, i = json.JSONDecoder(), [], text.find("{")
    while i >= 0:
        try:
            obj, end = decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            i = text.find("{", i + 1)
            continue
        if isinstance(obj, dict) and "rank" in obj:
            out.append(obj)
        i = text.find("{", end)
    return out


def test_fsdp_shards_every_block_across_the_processes(backbone_dir, tmp_path):
    """Each of 2 processes holds about half of every block's weights (DTensor shards); the
    embeddings stay whole; the sharded forward equals the unsharded one."""
    script = tmp_path / "shard_check.py"
    script.write_text(SHARD_CHECK)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2"]
    r = run([*cmd, str(script), str(backbone_dir)])
    rows = sorted(_json_objects(r.stdout), key=lambda d: d["rank"])
    assert [d["rank"] for d in rows] == [0, 1]
    full = rows[0]["full"]
    assert len(full) == 4  # 2 encoder + 2 decoder blocks of the tiny T5
    for d in rows:
        assert d["dtensor"] and d["outside_whole"] and d["diff"] < 1e-5
        assert all(abs(loc - n / 2) <= 0.05 * n for loc, n in zip(d["local"], full))
    assert [a + b for a, b in zip(rows[0]["local"], rows[1]["local"])] == full


def _predictions(run_dir: Path, test: Path, out: Path, cache_dir: Path) -> list[dict]:
    evaluate(run_dir, "summarize", test, out, batch_size=4, cache_dir=cache_dir)
    lines = out.with_name(out.stem + ".predictions.jsonl").read_text().splitlines()
    return [json.loads(x) for x in lines]


@pytest.mark.parametrize("method,select", [("transducer", "accelerate"), ("prompt", "flag")])
def test_fsdp_follows_one_process_and_its_weights_predict(
    make_config, base, data_files, cache_dir, method, select, tmp_path
):
    """The backbone sharded over 2 processes (selected by --fsdp, or by the variable an
    Accelerate FSDP config sets): the 5 losses, the validation (loss and generated text, every
    process running every batch) and the saved weights equal 1 process's; they load and predict."""
    extra = dict(valid_file=str(data_files["valid"]), early_stopping_metric="sacrebleu")
    ref = Trainer(
        make_config(
            method=method,
            output_dir=str(tmp_path / "one"),
            max_steps=STEPS,
            method_options=METHOD_OPTIONS[method],
            **OPTIONS,
            **extra,
        )
    ).run()
    out = tmp_path / "fsdp"
    args = train_args(base, method, out, STEPS) + ["--valid", str(data_files["valid"])]
    args += [
        "--metric",
        "sacrebleu",
        "--max-new-tokens",
        str(base["max_new_tokens"]),
    ]
    env = {"ACCELERATE_USE_FSDP": "true"} if select == "accelerate" else {}
    run(launch_command(args + (["--fsdp"] if select == "flag" else [])), **env)
    one, two = losses(ref), losses(out)
    assert sorted(one) == sorted(two) == list(range(1, STEPS + 1))
    assert all(abs(one[s] - two[s]) < 1e-5 for s in one), (one, two)
    events = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    assert [e for e in events if e.get("event") == "fsdp"] == [
        {"event": "fsdp", "step": 0, "blocks": 4, "processes": 2}
    ]
    valid = [
        [json.loads(x)["valid"] for x in (d / "log.jsonl").read_text().splitlines() if "valid" in x]
        for d in (ref, out)
    ]
    assert [v["sacrebleu"] for v in valid[0]] == [v["sacrebleu"] for v in valid[1]]
    assert all(abs(a["loss"] - b["loss"]) < 1e-5 for a, b in zip(*valid)) and len(valid[0]) == 2
    w1 = load_file(str(ref / "method.safetensors"))
    w2 = load_file(str(out / "method.safetensors"))
    assert w1.keys() == w2.keys()
    assert max(float((w1[k] - w2[k]).abs().max()) for k in w1) < 1e-4
    p1 = _predictions(ref, Path(data_files["test"]), tmp_path / "p1.json", cache_dir)
    p2 = _predictions(out, Path(data_files["test"]), tmp_path / "p2.json", cache_dir)
    assert p1 == p2 and len(p2) == 8 and len({r["prediction"] for r in p2}) > 1


def test_fsdp_refuses_a_method_with_weights_in_the_blocks(base, tmp_path):
    """LoRA trains weights inside the blocks FSDP shards: one line, a non-zero exit, no folder."""
    out = tmp_path / "lora"
    cmd = [sys.executable, "-m", "ttune.cli.main", *train_args(base, "lora", out, STEPS), "--fsdp"]
    r = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "method lora trains weights inside the backbone's blocks" in lines[0]
    assert not out.exists()


def test_fsdp_keeps_in_step_when_a_process_gets_no_examples(make_config, base, tmp_path):
    """Micro-batches of 1 example over 2 processes: one process holds none, runs a zero-weighted
    pass so that both all-gather the same blocks, and the losses still equal 1 process's."""
    ref = Trainer(
        make_config(output_dir=str(tmp_path / "one"), max_steps=3, **{**OPTIONS, "batch_size": 1})
    ).run()
    args = train_args(base, "transducer", tmp_path / "fsdp", 3) + ["--fsdp"]
    args[args.index("--batch-size") + 1] = "1"
    run(launch_command(args))
    one, two = losses(ref), losses(tmp_path / "fsdp")
    assert sorted(one) == sorted(two) == [1, 2, 3]
    assert all(abs(one[s] - two[s]) < 1e-5 for s in one), (one, two)
