"""Wilcoxon signed-rank test against known values (Darwin's Zea mays data, as in scipy's docs)."""

from __future__ import annotations

import math

import pytest

from ttune.metrics.significance import wilcoxon

# Differences in height between cross- and self-fertilised plants (Fisher 1935 / Darwin).
DARWIN = [6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75]


def test_exact_small_sample():
    r = wilcoxon(DARWIN, [0] * 15)
    assert (r.n, r.w_plus, r.w_minus, r.statistic, r.method) == (15, 96.0, 24.0, 24.0, "exact")
    assert r.p_value == pytest.approx(0.041259765625, abs=1e-12)  # = 1352 / 32768
    assert r.rank_biserial == pytest.approx(0.6)
    # All five differences positive: p = 2 / 2^5.
    r5 = wilcoxon([2, 3, 4, 5, 6], [1, 1, 1, 1, 1])
    assert r5.p_value == pytest.approx(0.0625) and r5.rank_biserial == 1.0


def test_normal_approximation_hand_computed():
    r = wilcoxon(DARWIN, [0] * 15, exact=False, correction=False)
    z = (96 - 60) / math.sqrt(15 * 16 * 31 / 24)
    assert r.z == pytest.approx(z)
    assert r.p_value == pytest.approx(math.erfc(z / math.sqrt(2)))
    assert r.p_value == pytest.approx(0.040888132911855925, rel=1e-9)
    rc = wilcoxon(DARWIN, [0] * 15, exact=False)
    assert rc.z == pytest.approx((96 - 60 - 0.5) / math.sqrt(310))


def test_ties_and_zeros():
    a = [1, 2, 3, 4, 5, 6]
    b = [0, 0, 3, 2, 7, 5]  # d = 1, 2, 0, 2, -2, 1
    r = wilcoxon(a, b, exact=False, correction=False)
    # non-zero |d| = 1,2,2,2,1 -> mid-ranks 1.5, 4, 4, 4, 1.5; W+ = 1.5 + 4 + 4 + 1.5 = 11, W- = 4.
    assert (r.n, r.n_zero, r.w_plus, r.w_minus) == (5, 1, 11.0, 4.0)
    var = 5 * 6 * 11 / 24 - ((2**3 - 2) + (3**3 - 3)) / 48
    assert r.z == pytest.approx((11 - 7.5) / math.sqrt(var))
    ex = wilcoxon(a, b)
    # Exact over the 32 sign patterns of ranks (1.5, 1.5, 4, 4, 4): W+ >= 11 for all three 4s (4
    # patterns of the 1.5s) or two 4s and both 1.5s (3 patterns): P = 7/32 -> two-sided p = 14/32.
    assert ex.p_value == pytest.approx(14 / 32)
    assert ex.rank_biserial == pytest.approx((11 - 4) / 15)


def test_large_sample_uses_normal_and_degenerate_cases():
    a = [float(i % 7) for i in range(120)]
    b = [float((i * 3) % 7) for i in range(120)]
    r = wilcoxon(a, b)
    assert r.method == "normal" and 0.0 <= r.p_value <= 1.0
    same = wilcoxon([1, 2], [1, 2])
    assert (same.n, same.p_value, same.method) == (0, 1.0, "none")
    with pytest.raises(ValueError, match="differ in length"):
        wilcoxon([1], [1, 2])
