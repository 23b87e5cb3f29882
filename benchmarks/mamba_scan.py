"""Training-step time of a Mamba backbone on the CPU: transformers' token loop against ttune's
linear scan (``ttune.scan``), and mambapy's parallel scan when that package is installed.

    python benchmarks/mamba_scan.py [--layers 6] [--batch 4] [--windows 64,128,256] [--repeats 3]

The model is the ``ttune-tiny-mamba`` shape (d_model 384, state 16, expand 2; ``--layers`` of
them, 12,000-token vocabulary), random weights, fp32, one thread. A step is forward, loss and
backward on random ids. For each window the scans run alternately, ``--repeats`` times each after
one warm-up step, and the median per scan is printed with its ratio to ttune's; all scans must
give the same loss (relative difference below 1e-5). The load average is printed beside the
figures: on a busy machine compare ratios, not absolute times.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path

import torch
from transformers import MambaConfig, MambaForCausalLM
from transformers.models.mamba import modeling_mamba

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ttune.scan import TRANSFORMERS_SCAN, selective_scan  # noqa: E402  (this checkout's ttune)


def step(model: MambaForCausalLM, ids: torch.Tensor) -> tuple[float, float]:
    """(seconds, loss) of one forward and backward pass."""
    model.zero_grad(set_to_none=True)
    t = time.perf_counter()
    loss = model(ids, labels=ids).loss
    loss.backward()
    return time.perf_counter() - t, loss.item()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--windows", default="64,128,256")
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    config = MambaConfig(
        vocab_size=12_000, hidden_size=384, num_hidden_layers=a.layers, state_size=16, expand=2
    )
    model = MambaForCausalLM(config).train()
    scans = {
        "ttune linear": (selective_scan, False),
        "transformers loop": (TRANSFORMERS_SCAN, False),
    }
    if importlib.util.find_spec("mambapy"):
        scans["mambapy"] = (TRANSFORMERS_SCAN, True)
    print(
        f"Mamba {a.layers} x d_model 384, batch {a.batch}, fp32, 1 thread, "
        f"torch {torch.__version__}"
    )
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print("| window | " + " | ".join(f"{s} (s/step)" for s in scans) + " | " +
          " | ".join(f"{s} / ttune" for s in list(scans)[1:]) + " |")  # fmt: skip
    print("|---:|" + "---:|" * (2 * len(scans) - 1))
    for window in (int(w) for w in a.windows.split(",")):
        ids = torch.randint(
            0, 12_000, (a.batch, window), generator=torch.Generator().manual_seed(1)
        )
        times: dict[str, list[float]] = {s: [] for s in scans}
        losses: dict[str, float] = {}
        for r in range(a.repeats + 1):
            for name, (fn, mambapy) in scans.items():
                modeling_mamba.mamba_selective_scan = fn
                for m in model.modules():
                    if isinstance(m, modeling_mamba.MambaMixer):
                        m.use_mambapy = mambapy
                seconds, losses[name] = step(model, ids)
                if r:  # the first round warms up
                    times[name].append(seconds)
        ref = losses["ttune linear"]
        for name, loss in losses.items():
            if abs(loss - ref) > 1e-5 * abs(ref):
                raise SystemExit(f"{name} gives loss {loss}, ttune's scan {ref}")
        med = {s: statistics.median(t) for s, t in times.items()}
        base = med["ttune linear"]
        print(f"| {window} | " + " | ".join(f"{v:.2f}" for v in med.values()) + " | " +
              " | ".join(f"{med[s] / base:.1f}x" for s in list(scans)[1:]) + " |")  # fmt: skip
    modeling_mamba.mamba_selective_scan = selective_scan
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
