"""Paired significance: the Wilcoxon signed-rank test with the matched-pairs rank-biserial effect
size.

Implemented with math only (scipy is not a dependency).

For paired scores a_i, b_i: d_i = a_i - b_i; zero differences are dropped (Wilcoxon's method); the
remaining |d_i| are ranked with mid-ranks for ties. W+ = sum of ranks of positive d_i, W- of
negative ones, n = number of non-zero d_i.

- exact (default when n <= 50): the null distribution of W+ is enumerated by dynamic programming
  over the actual (mid-)ranks, each rank being in W+ with probability 1/2; this is the exact
  permutation distribution even with ties. Two-sided p = min(1, 2 * min(P(W+ <= w), P(W+ >= w))).
- normal approximation (n > 50): mean n(n+1)/4, variance n(n+1)(2n+1)/24 - sum(t^3 - t)/48 over
  tie groups of size t, continuity correction 0.5 toward the mean; two-sided p from the normal.

Effect size: matched-pairs rank-biserial correlation r = (W+ - W-) / (W+ + W-) in [-1, 1]
(Kerby 2014); positive when ``a`` tends to be larger.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class WilcoxonResult:
    n: int
    """Pairs with a non-zero difference (used by the test)."""
    n_zero: int
    """Pairs with zero difference (dropped)."""
    w_plus: float
    w_minus: float
    statistic: float
    """min(W+, W-), the classic two-sided statistic."""
    z: float | None
    """Normal-approximation z (None for the exact method)."""
    p_value: float
    method: str
    """"exact" or "normal" ("none" when n == 0)."""
    rank_biserial: float
    """Matched-pairs rank-biserial correlation (W+ - W-) / (W+ + W-)."""

    def to_dict(self) -> dict:
        return asdict(self)


def _midranks(values: list[float]) -> tuple[list[float], list[int]]:
    """Mid-ranks (1-based) of ``values`` and the sizes of the tie groups."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    ties: list[int] = []
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        rank = (i + j + 2) / 2.0
        for k in range(i, j + 1):
            ranks[order[k]] = rank
        ties.append(j - i + 1)
        i = j + 1
    return ranks, ties


def _exact_p(ranks: list[float], w_plus: float) -> float:
    # Doubled mid-ranks are integers, so the distribution of 2*W+ lives on 0..sum(2*ranks).
    doubled = [int(round(2 * r)) for r in ranks]
    total = sum(doubled)
    counts = [0] * (total + 1)
    counts[0] = 1
    for r in doubled:
        for s in range(total, r - 1, -1):
            counts[s] += counts[s - r]
    w = int(round(2 * w_plus))
    all_ = 2 ** len(ranks)
    lower = sum(counts[: w + 1]) / all_
    upper = sum(counts[w:]) / all_
    return min(1.0, 2.0 * min(lower, upper))


def wilcoxon(
    a: list[float], b: list[float], exact: bool | None = None, correction: bool = True
) -> WilcoxonResult:
    """Two-sided Wilcoxon signed-rank test of paired samples ``a`` vs ``b`` (same length).

    ``exact=None`` picks the exact distribution for n <= 50, else the normal approximation;
    ``correction`` applies the continuity correction in the normal approximation.
    """
    if len(a) != len(b):
        raise ValueError(f"paired samples differ in length: {len(a)} vs {len(b)}")
    diffs = [float(x) - float(y) for x, y in zip(a, b)]
    nonzero = [d for d in diffs if d != 0.0]
    n, n_zero = len(nonzero), len(diffs) - len(nonzero)
    if n == 0:
        return WilcoxonResult(0, n_zero, 0.0, 0.0, 0.0, None, 1.0, "none", 0.0)
    ranks, ties = _midranks([abs(d) for d in nonzero])
    w_plus = sum(r for r, d in zip(ranks, nonzero) if d > 0)
    w_minus = sum(r for r, d in zip(ranks, nonzero) if d < 0)
    r_rb = (w_plus - w_minus) / (w_plus + w_minus)
    use_exact = n <= 50 if exact is None else exact
    if use_exact:
        p = _exact_p(ranks, w_plus)
        return WilcoxonResult(
            n, n_zero, w_plus, w_minus, min(w_plus, w_minus), None, p, "exact", r_rb
        )
    mean = n * (n + 1) / 4.0
    var = n * (n + 1) * (2 * n + 1) / 24.0 - sum(t**3 - t for t in ties) / 48.0
    diff = w_plus - mean
    if correction and diff != 0:
        diff -= math.copysign(0.5, diff)
    z = diff / math.sqrt(var) if var > 0 else 0.0
    p = min(1.0, math.erfc(abs(z) / math.sqrt(2.0)))
    return WilcoxonResult(n, n_zero, w_plus, w_minus, min(w_plus, w_minus), z, p, "normal", r_rb)
