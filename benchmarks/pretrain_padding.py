"""Padding and step time of the supervised pretraining batches, random against length-bucketed.

    python benchmarks/pretrain_padding.py RUN_DIR [--steps 8] [--no-timing]

RUN_DIR is a ``ttune pretrain`` run folder that holds its corpus and supervised pairs
(``pairs_tokens.safetensors``). For every task it prints the real (non-padding) tokens and the
positions a batch of 32 computes over the first 10 and 100 batches of the task's order (seed 0),
for random and bucketed batches; then, unless ``--no-timing``, the time of ``steps`` optimizer
steps (forward, backward, AdamW) of a randomly initialised ttune-tiny on one thread in bf16 for
each order, interleaved so load changes hit both alike, and of span-corruption steps for scale.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    import numpy as np
    import torch
    from safetensors.numpy import load_file

    from ttune.pretrain.config import PretrainConfig
    from ttune.pretrain.loop import NUM_SENTINELS, Windows, autocast, init_model, prepare_data
    from ttune.pretrain.objectives import PairOrder, Pairs, padding_stats

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--no-timing", action="store_true")
    args = ap.parse_args()
    run = args.run_dir
    t = load_file(str(run / "pairs_tokens.safetensors"))
    info = json.loads((run / "pairs.json").read_text(encoding="utf-8"))
    fields = ("src", "src_off", "tgt", "tgt_off")
    pairs = {
        k: Pairs(*(t[f"{k}.{f}"] for f in fields), heldout=st["heldout"])
        for k, st in info["tasks"].items()
    }

    def orders(p: Pairs) -> dict[str, PairOrder]:
        n = len(p) - p.heldout
        return {
            "random": PairOrder(n, 32, 0, 10),
            "bucketed": PairOrder(n, 32, 0, 10, p.lengths()[:n]),
        }

    cut = {"summarize": 48}
    for name, p in pairs.items():
        for batches in (10, 100):
            r, b = (
                padding_stats(p, o, batches, 256, cut.get(name, 256)) for o in orders(p).values()
            )
            print(
                f"{name}: {len(p) - p.heldout} training pairs, {batches * 32} measured: real/step "
                f"{r['real']:.0f}; positions/step random {r['positions']:.0f} "
                f"(fill {r['fill']:.1%}), "
                f"bucketed {b['positions']:.0f} (fill {b['fill']:.1%}): "
                f"{r['positions'] / b['positions']:.2f} x fewer",
                flush=True,
            )
    if args.no_timing:
        return 0

    torch.set_num_threads(1)
    cfg = PretrainConfig.load(run / "pretrain_config.json")
    cfg = PretrainConfig.from_dict(
        {
            **cfg.to_dict(),
            "shape": "ttune-tiny",
            "d_model": None,
            "d_ff": None,
            "num_layers": None,
            "num_heads": None,
            "init_from": None,
        }
    )
    tok, ids, _ = prepare_data(cfg, run)
    model = init_model(cfg, tok).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    cpu = torch.device("cpu")

    def step(x, m, y) -> float:
        t0 = time.perf_counter()
        with autocast(cpu, "bf16"):
            loss = model(
                input_ids=torch.from_numpy(x),
                labels=torch.from_numpy(y),
                attention_mask=None if m is None else torch.from_numpy(m),
            ).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        return time.perf_counter() - t0

    sentinels = tok.convert_tokens_to_ids([f"<extra_id_{k}>" for k in range(NUM_SENTINELS)])
    windows = Windows(cfg, ids, sentinels, tok.eos_token_id)
    span = [step(x, None, y) for x, y in (windows.batch(k) for k in range(args.steps + 1))][
        1:
    ]  # 1st warms up
    print(f"span: {np.mean(span):.2f} s/step", flush=True)
    for name, p in pairs.items():
        got: dict[str, list[float]] = {}
        os_ = orders(p)
        for k in range(args.steps):
            for label, o in os_.items():
                x, m, y = p.batch(o[k], 256, cut.get(name, 256), tok.pad_token_id, tok.eos_token_id)
                got.setdefault(label, []).append(step(x, m, y))
        print(
            f"{name}: random {np.mean(got['random']):.2f} s/step, "
            f"bucketed {np.mean(got['bucketed']):.2f} "
            f"s/step ({args.steps} steps each, interleaved)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
