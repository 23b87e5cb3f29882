"""Side-by-side comparison of adaptation methods (``ttune compare``).

- :mod:`ttune.compare.runner`: :class:`CompareConfig` and :func:`run_comparison`, which trains and
  evaluates every method x seed on the same data, budget and generation settings (resumable).
- :mod:`ttune.compare.report`: results.csv, results.json, Wilcoxon tests, plots and report.md.

Importing this package loads neither torch nor transformers (training and evaluation load them
when a run starts).
"""

from ttune.compare.runner import (
    CompareConfig,
    CompareError,
    CompareRunner,
    PhaseTimes,
    ProgressEvent,
    estimate_seconds_left,
    rebuild_report,
    run_comparison,
)

__all__ = [
    "CompareConfig",
    "CompareError",
    "CompareRunner",
    "PhaseTimes",
    "ProgressEvent",
    "estimate_seconds_left",
    "rebuild_report",
    "run_comparison",
]
