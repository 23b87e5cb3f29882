"""One training step per method on the same backbone and batch: time, peak memory, trainable
parameters.

The batch: 8 real Python functions of the standard library (each at least 256 tokens long, cut to
256 tokens), their first docstring line as target, and their real CPGs (ttune.cpg.extract), so the
transducer reads real graphs. Backbones: a random T5-small-shaped T5 and a random CodeT5+
220M-shaped T5 (ttune.backbone.t5_config("codet5p-220m")). Nothing is downloaded.

A step = forward with labels + backward + gradient clipping + AdamW over the method's trainable
parameters, exactly as ttune.train.engine does it. Step time: the median of --steps timed steps
after
--warmup untimed ones, as wall-clock seconds ("step s") and as this process's CPU seconds ("cpu s",
time.process_time: all its threads; steadier than wall time when other processes share the cores).
Every (backbone, method) runs in a fresh subprocess so peak memory is not polluted by the previous
method:
- CPU: peak resident set size during warm-up and timed steps minus the RSS just before the first
  step (backbone, method and batch already in memory). The peak is
  the process's ru_maxrss when the steps raised it (exact), else the highest RSS sampled every 2 ms
  by a thread (psutil). tracemalloc is not used: it does not see torch's allocator.
- GPU: torch.cuda.max_memory_allocated() after reset_peak_memory_stats(), minus memory_allocated()
  before the first step (tensors only, not the caching allocator's reserve).
The memory of "none" (no backward) is its forward's activations only.
Trainable parameters: AdaptedModel.num_trainable() (parameters actually used); the optimizer steps
every one of them (none is excluded), which the worker checks: each receives a gradient.

    python benchmarks/train_step.py            # small T5 and CodeT5+ 220M shape, all methods
    python benchmarks/train_step.py --quick    # small T5 only
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import statistics
import subprocess
import sys
import sysconfig
import textwrap
import threading
import time
from pathlib import Path

SHAPES = {  # benchmark name -> ttune.backbone.t5_config shape (random weights, dropout off)
    "t5-small-random": "small",  # d_model 512, 6+6 layers, vocab 32128 (~60 M)
    "codet5p-220m-shape": "codet5p-220m",  # d_model 768, 12+12 layers, vocab 32100 (~220 M)
}
QUICK_SHAPES = ("t5-small-random",)
METHODS = ("lora", "transducer", "prefix", "prompt", "linear", "full", "none")
BATCH, TOKENS = 8, 256


def real_functions(min_chars: int = 1500, n: int = 64) -> list[dict]:
    """Long documented functions of the standard library as summarization records."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    out = []
    for mod in (
        "textwrap",
        "argparse",
        "tarfile",
        "zipfile/__init__",
        "inspect",
        "pathlib/_local",
        "pathlib",
        "shutil",
        "subprocess",
        "tempfile",
        "difflib",
        "pydoc",
        "email/_header_value_parser",
    ):
        f = stdlib / f"{mod}.py"
        if not f.is_file():
            continue
        src = f.read_text(encoding="utf-8")
        lines = src.splitlines()
        for node in ast.walk(ast.parse(src)):
            if not isinstance(node, ast.FunctionDef) or len(node.body) < 2:
                continue
            doc = ast.get_docstring(node)
            if not doc or not doc.strip():
                continue
            ds = node.body[0]
            body = [
                ln
                for i, ln in enumerate(lines[node.lineno - 1 : node.end_lineno], node.lineno - 1)
                if not (ds.lineno - 1 <= i <= ds.end_lineno - 1)
            ]
            code = textwrap.dedent("\n".join(body)) + "\n"
            if len(code) >= min_chars:
                out.append(
                    {
                        "id": f"{mod}.{node.name}",
                        "source": code,
                        "target": doc.strip().splitlines()[0],
                        "source_lang": "python",
                        "target_lang": "en",
                    }
                )
            if len(out) >= n:
                return out
    return out


def _rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def worker(
    shape: str, method: str, steps: int, warmup: int, device: str, cache_dir: str, threads: int
) -> dict:
    """Runs in its own process: build backbone + method + batch, time `steps` training steps."""
    import resource

    import torch
    from transformers import T5ForConditionalGeneration

    from ttune.backbone import build_tokenizer, freeze, t5_config
    from ttune.methods import apply_method, make_config
    from ttune.tasks import get_task
    from ttune.train.data import Collator, build_examples, graph_options

    torch.manual_seed(0)
    if threads:
        torch.set_num_threads(threads)
    recs = real_functions()
    tok = build_tokenizer(
        [r["source"] for r in recs] + [r["target"] for r in recs], vocab_size=2000
    )
    long_recs = [r for r in recs if len(tok(r["source"])["input_ids"]) >= TOKENS][:BATCH]
    if len(long_recs) < BATCH:
        raise SystemExit(f"only {len(long_recs)} functions of >= {TOKENS} tokens")
    cfg = t5_config(SHAPES[shape])
    cfg.dropout_rate = 0.0
    backbone = freeze(T5ForConditionalGeneration(cfg)).to(device)
    adapted = apply_method(backbone, make_config(method), tok).to(device)
    task = get_task("summarize")
    exs = build_examples(
        long_recs,
        task,
        tok,
        max_source_len=TOKENS,
        max_target_len=32,
        with_labels=True,
        needs_graph=adapted.needs_graph,
        cache_dir=cache_dir,
        progress=False,
        **graph_options(adapted),
    )
    assert all(len(e.input_ids) == TOKENS for e in exs)
    batch = Collator(tok.pad_token_id, True, adapted.needs_graph)(exs)
    batch = {k: v.to(device) for k, v in batch.items()}
    n_nodes = int(batch["graph"].num_nodes) if "graph" in batch else 0
    params = [p for _, p in adapted.trainable_parameters()]
    opt = torch.optim.AdamW(params, lr=1e-4) if params else None
    adapted.train()

    def step() -> None:
        loss = adapted(**batch).loss
        if opt is not None:
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            opt.zero_grad(set_to_none=False)
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    cuda = device.startswith("cuda")
    # Memory baseline: backbone, method and batch in place, before the first step, so the peak
    # covers what training adds (activations, gradients, AdamW moments, allocator overhead).
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = _rss()
        maxrss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        peak = [base]
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], _rss())
                time.sleep(0.002)

        th = threading.Thread(target=sample, daemon=True)
        th.start()
    for _ in range(warmup):
        step()
    if params:  # every trainable parameter is stepped: each got a gradient
        missing = [n for n, p in adapted.trainable_parameters() if p.grad is None]
        assert not missing, f"{method}: parameters without gradient: {missing[:3]}"
    wall, cpu = [], []
    for _ in range(steps):
        t, c = time.perf_counter(), time.process_time()
        step()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    if cuda:
        mem = torch.cuda.max_memory_allocated() - base
    else:
        stop.set()
        th.join()
        maxrss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        mem = (maxrss1 if maxrss1 > maxrss0 else peak[0]) - base
    return {
        "shape": shape,
        "method": method,
        "step_s": statistics.median(wall),
        "wall": wall,
        "cpu_s": statistics.median(cpu),
        "cpu": cpu,
        "peak_mem_bytes": mem,
        "trainable": adapted.num_trainable(),
        "backbone_params": sum(p.numel() for p in backbone.parameters()),
        "graph_nodes": n_nodes,
        "device": device,
        "threads": torch.get_num_threads(),
        "memory": "cuda max_memory_allocated delta" if cuda else "RSS peak delta",
    }


def table(rows: list[dict]) -> str:
    out = []
    for shape in dict.fromkeys(r["shape"] for r in rows):
        rs = [r for r in rows if r["shape"] == shape and "error" not in r]
        lora = next((r for r in rs if r["method"] == "lora"), None)
        nodes = next((r["graph_nodes"] for r in rs if r["graph_nodes"]), 0)
        out.append(
            f"\n{shape}  (backbone {rs[0]['backbone_params'] / 1e6:.1f} M params, batch {BATCH} x "
            f"{TOKENS} tokens, {rs[0]['device']}, {rs[0]['threads']} thread(s), memory = "
            f"{rs[0]['memory']}, {nodes} CPG nodes in the batch)"
            if rs
            else f"\n{shape}"
        )
        out.append(
            f"{'method':<12}{'step s':>9}{'x LoRA':>8}{'cpu s':>9}{'x LoRA':>8}{'peak MiB':>10}"
            f"{'x LoRA':>8}{'trainable':>13}{'x LoRA':>10}"
        )
        for r in rs:

            def ratio(k, r=r, lora=lora):
                return f"{r[k] / lora[k]:.3f}" if lora and lora[k] else "-"

            out.append(
                f"{r['method']:<12}{r['step_s']:>9.3f}{ratio('step_s'):>8}"
                f"{r['cpu_s']:>9.3f}{ratio('cpu_s'):>8}"
                f"{r['peak_mem_bytes'] / 2**20:>10.1f}{ratio('peak_mem_bytes'):>8}"
                f"{r['trainable']:>13,}{ratio('trainable'):>10}"
            )
        for r in rows:
            if r["shape"] == shape and "error" in r:
                out.append(f"{r['method']:<12}failed: {r['error']}")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="only the small T5")
    ap.add_argument("--methods", default=",".join(METHODS), help="comma-separated methods")
    ap.add_argument(
        "--shapes", default=None, help=f"comma-separated backbones of {', '.join(SHAPES)}"
    )
    ap.add_argument("--steps", type=int, default=None, help="timed steps (default 5; 2 for 220M)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    ap.add_argument("--device", default="cuda" if _has_cuda() else "cpu")
    ap.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch intra-op threads (0 = torch's default); 1 is steadier on a busy machine",
    )
    ap.add_argument("--json", type=Path, default=None, help="also write the rows here")
    ap.add_argument("--worker", nargs=2, metavar=("SHAPE", "METHOD"), help=argparse.SUPPRESS)
    ap.add_argument("--cache-dir", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    cache = args.cache_dir or os.path.join(os.environ.get("TMPDIR", "/tmp"), "ttune-bench-cpg")
    if args.worker:
        shape, method = args.worker
        print(
            json.dumps(
                worker(
                    shape, method, args.steps or 5, args.warmup, args.device, cache, args.threads
                )
            )
        )
        return
    shapes = QUICK_SHAPES if args.quick else tuple(SHAPES)
    if args.shapes:
        shapes = tuple(args.shapes.split(","))
        unknown = [s for s in shapes if s not in SHAPES]
        if unknown:
            ap.error(f"unknown shape(s) {', '.join(unknown)}; known: {', '.join(SHAPES)}")
    rows = []
    for shape in shapes:
        steps = args.steps or (2 if "220m" in shape else 5)
        for method in args.methods.split(","):
            cmd = [
                sys.executable,
                __file__,
                "--worker",
                shape,
                method,
                "--steps",
                str(steps),
                "--warmup",
                str(args.warmup),
                "--device",
                args.device,
                "--cache-dir",
                cache,
                "--threads",
                str(args.threads),
            ]
            t0 = time.perf_counter()
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                err = (r.stderr.strip().splitlines() or ["?"])[-1]
                rows.append({"shape": shape, "method": method, "error": err})
                print(f"{shape} {method}: failed: {err}", file=sys.stderr)
                continue
            row = json.loads(r.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(
                f"{shape} {method}: {row['step_s']:.3f} s/step, "
                f"{row['peak_mem_bytes'] / 2**20:.0f} MiB, "
                f"{row['trainable']:,} trainable ({time.perf_counter() - t0:.0f} s)",
                file=sys.stderr,
            )
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


def _has_cuda() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:
        return False


if __name__ == "__main__":
    main()
