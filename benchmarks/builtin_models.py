"""Re-measure the test scores in the built-in models' cards, on the same records.

    python benchmarks/builtin_models.py [--build-dir runs/builtin] [--only NAME] [--tolerance 0.5]

For every transducer in ttune/models/ (or $TTUNE_MODELS_DIR) with an ``eval.json``, this runs
``ttune.train.evaluate.evaluate`` on the test file, split and record count that file names
(greedy decoding, the built-in backbone) and prints, per metric, the card's score, the score
measured now and the difference. Exit status 1 when a difference exceeds the tolerance (in
score points).

The test files are the cleaned data sets that step 1 of scripts/build-builtin-models.sh makes under
the build folder (``$BUILD/data/...``); the script says which command to run when one is missing.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    from ttune.builtin import BUILTIN_BACKBONE, models_dir

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--build-dir",
        type=Path,
        default=ROOT / "runs" / "builtin",
        help="Folder of scripts/build-builtin-models.sh (holds data/).",
    )
    ap.add_argument("--only", action="append", help="Check only this model (repeatable).")
    ap.add_argument(
        "--tolerance",
        type=float,
        default=0.5,
        help="Largest accepted difference in score points (greedy decoding is deterministic "
        "on one machine; another CPU may flip a few tokens).",
    )
    ap.add_argument("--batch-size", type=int, default=16)
    a = ap.parse_args()

    import torch

    torch.set_num_threads(1)  # the built-in backbone is small; see ttune.use._threads_for
    from ttune.api import evaluate

    root = models_dir()
    folders = (
        sorted(p for p in root.iterdir() if (p / "eval.json").is_file()) if root.is_dir() else []
    )
    if a.only:
        folders = [p for p in folders if p.name in a.only]
    if not folders:
        print(f"no built-in transducer with an eval.json in {root}", file=sys.stderr)
        return 1
    worst, rows = 0.0, []
    for folder in folders:
        card = json.loads((folder / "eval.json").read_text(encoding="utf-8"))
        h = card["header"]
        test = Path(h["dataset"].replace("$BUILD", str(a.build_dir)))
        if not test.is_file():
            print(
                f"{folder.name}: {test} is missing; make it with step 1 of "
                f"scripts/build-builtin-models.sh "
                f"(TTUNE_BUILD_DIR={a.build_dir})",
                file=sys.stderr,
            )
            return 1
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            now = evaluate(
                folder,
                h["task"],
                test,
                Path(tmp) / "eval.json",
                limit=h["n_records"],
                num_beams=h.get("num_beams", 1),
                batch_size=a.batch_size,
                model=str(root / BUILTIN_BACKBONE),
                metrics=list(card["scores"]),
            )
        dt = time.perf_counter() - t0
        if now["header"]["n_records"] != h["n_records"]:
            print(
                f"{folder.name}: {now['header']['n_records']} records now, {h['n_records']} in the "
                f"card",
                file=sys.stderr,
            )
            return 1
        for m, v in card["scores"].items():
            got = now["scores"].get(m)
            diff = abs(got - v) if isinstance(got, (int, float)) else float("inf")
            worst = max(worst, diff)
            rows.append((folder.name, m, v, got, diff, h["n_records"], dt))
    print(
        f"{'model':24} {'metric':20} {'card':>8} {'now':>8} {'diff':>7} {'records':>8} "
        f"{'seconds':>8}"
    )
    for name, m, v, got, diff, n, dt in rows:
        print(f"{name:24} {m:20} {v:8.2f} {got:8.2f} {diff:7.3f} {n:8d} {dt:8.0f}")
    ok = worst <= a.tolerance
    print(
        f"largest difference {worst:.3f} points: {'within' if ok else 'OVER'} the tolerance "
        f"{a.tolerance}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
