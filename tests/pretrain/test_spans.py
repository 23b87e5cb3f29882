"""T5 span corruption: sentinel structure, exact reconstruction, noise density and span lengths."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ttune.pretrain.spans import (
    corrupt,
    corrupt_batch,
    corrupted_lengths,
    noise_mask,
    span_counts,
    uncorrupt,
)

EOS = 1
SENT = list(range(3, 103))  # <extra_id_0..99> as build_tokenizer numbers them


def test_worked_example():
    tokens = np.array([210, 211, 212, 213, 214, 215, 216])
    mask = np.array([0, 1, 1, 0, 0, 1, 0], dtype=bool)
    inputs, targets = corrupt(tokens, mask, SENT, EOS)
    assert inputs.tolist() == [210, 3, 213, 214, 4, 216, EOS]
    assert targets.tolist() == [3, 211, 212, 4, 215, EOS]
    assert uncorrupt(inputs, targets, SENT, EOS).tolist() == tokens.tolist()


@settings(max_examples=150, deadline=None)
@given(
    length=st.integers(8, 512),
    seed=st.integers(0, 2**32 - 1),
    density=st.sampled_from([0.1, 0.15, 0.3]),
    mean=st.sampled_from([1.0, 3.0, 5.0]),
)
def test_structure_and_reconstruction(length, seed, density, mean):
    n_noise, n_spans = span_counts(length, density, mean)
    assume(n_spans <= len(SENT))
    rng = np.random.default_rng(seed)
    tokens = rng.integers(200, 5000, size=length)
    mask = noise_mask(length, rng, density, mean)
    assert mask.shape == (length,) and int(mask.sum()) == n_noise
    assert not mask[0]  # a window starts with kept tokens, as in T5
    starts = mask & ~np.concatenate([[False], mask[:-1]])
    assert int(starts.sum()) == n_spans
    inputs, targets = corrupt(tokens, mask, SENT, EOS)
    assert (len(inputs), len(targets)) == corrupted_lengths(length, density, mean)
    # Sentinels appear once each, in order 0, 1, 2, ... in both sequences, and both end in </s>.
    in_s = [t for t in inputs.tolist() if t in SENT]
    tg_s = [t for t in targets.tolist() if t in SENT]
    assert in_s == tg_s == SENT[:n_spans]
    assert inputs[-1] == EOS and targets[-1] == EOS and targets[0] == SENT[0]
    # Inputs keep exactly the non-noise tokens; targets exactly the noise tokens, in order.
    assert [t for t in inputs[:-1].tolist() if t not in SENT] == tokens[~mask].tolist()
    assert [t for t in targets[:-1].tolist() if t not in SENT] == tokens[mask].tolist()
    assert uncorrupt(inputs, targets, SENT, EOS).tolist() == tokens.tolist()


def test_noise_density_and_mean_span_length():
    rng = np.random.default_rng(0)
    length, masks = 256, []
    for _ in range(300):
        masks.append(noise_mask(length, rng, 0.15, 3.0))
    m = np.stack(masks)
    assert abs(m.mean() - 0.15) < 0.5 / length  # round(256 * 0.15) = 38 noise tokens every time
    n_spans = (m & ~np.concatenate([np.zeros((len(m), 1), bool), m[:, :-1]], axis=1)).sum()
    assert abs(m.sum() / n_spans - 3.0) < 0.1  # 38 tokens in 13 spans -> 2.92
    # Spans really vary in length and position (a random segmentation, not a fixed pattern).
    assert len({tuple(np.flatnonzero(x)) for x in masks}) == len(masks)


def test_batch_is_deterministic_per_generator():
    windows = np.arange(4 * 64).reshape(4, 64) + 200
    a = corrupt_batch(windows, [np.random.default_rng([0, j]) for j in range(4)], SENT, EOS)
    b = corrupt_batch(windows, [np.random.default_rng([0, j]) for j in range(4)], SENT, EOS)
    assert a[0].shape == (4, corrupted_lengths(64)[0]) and a[1].shape == (
        4,
        corrupted_lengths(64)[1],
    )
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    for row_in, row_tg, w in zip(*a, windows):
        assert uncorrupt(row_in, row_tg, SENT, EOS).tolist() == w.tolist()


def test_too_many_spans_for_the_sentinels():
    mask = np.tile([False, True], 10)
    with pytest.raises(ValueError, match="sentinels"):
        corrupt(np.arange(20), mask, SENT[:5], EOS)
