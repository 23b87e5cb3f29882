"""T5 span corruption (Raffel et al. 2020, section 3.1.4): mask random spans of a token window,
replace each span in the input by one sentinel, and ask the decoder for the spans.

Example (noise spans "b c" and "f")::

    window   a b c d e f g
    inputs   a <extra_id_0> d e <extra_id_1> g </s>
    targets  <extra_id_0> b c <extra_id_1> f </s>

The noise mask follows T5's ``random_spans_noise_mask``: ``round(length * noise_density)`` noise
tokens in ``round(noise / mean_span_length)`` spans, span and gap lengths drawn as random
segmentations (every span and every gap at least one token), the window starting with a gap. For a
fixed window length the input and target lengths are fixed too, so batches need no padding.
"""

from __future__ import annotations

import numpy as np


def span_counts(
    length: int, noise_density: float = 0.15, mean_span_length: float = 3.0
) -> tuple[int, int]:
    """(noise tokens, noise spans) of a window of ``length`` tokens."""
    num_noise = int(round(length * noise_density))
    num_noise = min(max(num_noise, 1), length - 1)
    num_spans = max(1, int(round(num_noise / mean_span_length)))
    # Every span and every gap between them needs a token.
    num_spans = min(num_spans, num_noise, length - num_noise)
    return num_noise, num_spans


def corrupted_lengths(
    length: int, noise_density: float = 0.15, mean_span_length: float = 3.0
) -> tuple[int, int]:
    """(input length, target length) after corruption, both counting the final </s>."""
    num_noise, num_spans = span_counts(length, noise_density, mean_span_length)
    return length - num_noise + num_spans + 1, num_noise + num_spans + 1


def _random_segmentation(num_items: int, num_segments: int, rng: np.random.Generator) -> np.ndarray:
    """Lengths (each >= 1, summing to ``num_items``) of a uniformly random split into segments."""
    cuts = np.zeros(num_items - 1, dtype=np.int64)
    cuts[: num_segments - 1] = 1
    rng.shuffle(cuts)
    segment_id = np.concatenate([[0], np.cumsum(cuts)])
    return np.bincount(segment_id, minlength=num_segments)


def noise_mask(
    length: int,
    rng: np.random.Generator,
    noise_density: float = 0.15,
    mean_span_length: float = 3.0,
) -> np.ndarray:
    """A boolean mask of ``length`` (True = noise) made of alternating gap/noise runs.

    Shapes: returns bool [length].
    """
    num_noise, num_spans = span_counts(length, noise_density, mean_span_length)
    noise_lengths = _random_segmentation(num_noise, num_spans, rng)
    gap_lengths = _random_segmentation(length - num_noise, num_spans, rng)
    runs = np.stack([gap_lengths, noise_lengths], axis=1).reshape(-1)  # gap, noise, gap, noise ...
    flags = np.tile([False, True], num_spans)
    return np.repeat(flags, runs)


def corrupt(
    tokens: np.ndarray, mask: np.ndarray, sentinel_ids: list[int] | np.ndarray, eos_id: int
) -> tuple[np.ndarray, np.ndarray]:
    """Apply a noise mask: (inputs, targets), the k-th noise span becoming ``sentinel_ids[k]``.

    Shapes: tokens int [L], mask bool [L] -> inputs int [L - noise + spans + 1],
    targets int [noise + spans + 1].
    """
    tokens = np.asarray(tokens)
    mask = np.asarray(mask, dtype=bool)
    starts = mask & ~np.concatenate([[False], mask[:-1]])  # first token of each noise span
    span_index = np.cumsum(starts) - 1  # k for tokens of the k-th span
    if starts.sum() > len(sentinel_ids):
        raise ValueError(f"{int(starts.sum())} noise spans but only {len(sentinel_ids)} sentinels")
    sentinels = np.asarray(sentinel_ids, dtype=tokens.dtype)

    def fold(keep_mask: np.ndarray) -> np.ndarray:
        # Tokens where keep_mask is False collapse: the first of each run becomes its sentinel.
        drop = ~keep_mask
        drop_starts = drop & ~np.concatenate([[False], drop[:-1]])
        out = np.where(drop_starts, sentinels[np.clip(span_index, 0, None)], tokens)
        out = out[keep_mask | drop_starts]
        return np.concatenate([out, np.asarray([eos_id], dtype=tokens.dtype)])

    inputs = fold(~mask)
    # Targets: keep the noise, and put a sentinel before each span in place of the gap before it.
    t_out = []
    for k in range(int(starts.sum())):
        t_out.append(sentinels[k])
        t_out.extend(tokens[(span_index == k) & mask].tolist())
    targets = np.asarray(t_out + [eos_id], dtype=tokens.dtype)
    return inputs, targets


def uncorrupt(
    inputs: np.ndarray, targets: np.ndarray, sentinel_ids: list[int] | np.ndarray, eos_id: int
) -> np.ndarray:
    """The window back from (inputs, targets): each sentinel in the inputs replaced by the tokens
    that follow the same sentinel in the targets. Inverse of :func:`corrupt`."""
    pos = {int(s): k for k, s in enumerate(sentinel_ids)}
    spans: dict[int, list[int]] = {}
    current = None
    for t in np.asarray(targets).tolist():
        if t == eos_id:
            break
        if t in pos:
            current = pos[t]
            spans[current] = []
        elif current is not None:
            spans[current].append(t)
    out: list[int] = []
    for t in np.asarray(inputs).tolist():
        if t == eos_id:
            break
        if t in pos:
            out.extend(spans.get(pos[t], []))
        else:
            out.append(t)
    return np.asarray(out, dtype=np.asarray(inputs).dtype)


def corrupt_batch(
    windows: np.ndarray,
    rngs: list[np.random.Generator],
    sentinel_ids,
    eos_id: int,
    noise_density: float = 0.15,
    mean_span_length: float = 3.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Corrupt every window of a batch, window i with ``rngs[i]``.

    Shapes: windows int [B, L] -> inputs int [B, L - noise + spans + 1], targets int [B, noise +
    spans + 1].
    """
    ins, tgts = [], []
    length = windows.shape[1]
    for w, rng in zip(windows, rngs):
        m = noise_mask(length, rng, noise_density, mean_span_length)
        i, t = corrupt(w, m, sentinel_ids, eos_id)
        ins.append(i)
        tgts.append(t)
    return np.stack(ins), np.stack(tgts)


__all__ = [
    "span_counts",
    "corrupted_lengths",
    "noise_mask",
    "corrupt",
    "uncorrupt",
    "corrupt_batch",
]
