"""The two pretraining objectives besides span corruption, and the per-step choice between them.

**Prefix LM** (as in UL2's S-denoiser / CodeT5+'s causal LM stage): a corpus window's first
``L - T`` tokens and a sentinel go to the encoder, the decoder writes the next ``T`` tokens. Span
corruption supervises only 15 % of the tokens it reads; this supervises a quarter of them, and it is
the one objective where the decoder writes long stretches of code, as translation and assert
generation ask of it.

**Docstring generation** (CodeT5's bimodal dual generation, one direction): the encoder reads a
function with its docstring or Javadoc removed, the decoder writes the doc's first sentence. The
pairs come only from this machine's Python standard library, site-packages and JDK sources, made by
the same extractor as ``ttune data build summarize`` (:func:`ttune.data.build.summarize_from_file`),
and never from a research data set; a pair whose code equals a test record of one is dropped.

Which objective step ``s`` trains is a pure function of (seed, s), so a resumed run replays the
same sequence. Shapes of every batch: inputs int64 [B, Li], attention mask int64 [B, Li] (or None
when nothing is padded), labels int64 [B, Lt] with -100 at padding.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ttune.data.build import summarize_from_file

OBJECTIVES = ("span", "prefix", "docstring")
IGNORE = -100


def objective_of(step: int, seed: int, shares: dict[str, float]) -> str:
    """The objective trained at optimizer step ``step`` (deterministic in seed and step)."""
    u = np.random.default_rng([seed, 5, step]).random()
    acc = 0.0
    for name in OBJECTIVES:
        acc += shares.get(name, 0.0)
        if u < acc:
            return name
    return "span"


def prefix_lm(windows: np.ndarray, target_length: int, sentinel_id: int, eos_id: int
              ) -> tuple[np.ndarray, np.ndarray]:
    """Split each window into an encoder prefix (ending in a sentinel) and the decoder's
    continuation.

    Shapes: windows int [B, L] -> inputs int [B, L - T + 2] (prefix, sentinel, </s>),
    targets int [B, T + 1] (continuation, </s>), with T = ``target_length``.
    """
    B, L = windows.shape
    cut = L - target_length
    col = lambda v: np.full((B, 1), v, dtype=windows.dtype)  # noqa: E731
    inputs = np.concatenate([windows[:, :cut], col(sentinel_id), col(eos_id)], axis=1)
    targets = np.concatenate([windows[:, cut:], col(eos_id)], axis=1)
    return inputs, targets


# ------------------------------------------------------------------ docstring pairs
@dataclass
class Pairs:
    """Tokenized (code, doc) pairs, packed: ``src`` / ``tgt`` int32 flat ids, ``*_off`` int64
    offsets [N + 1] (pair i's code is ``src[src_off[i]:src_off[i+1]]``, each ending in </s>)."""

    src: np.ndarray
    src_off: np.ndarray
    tgt: np.ndarray
    tgt_off: np.ndarray

    def __len__(self) -> int:
        return len(self.src_off) - 1

    def batch(self, idx: np.ndarray, max_source: int, max_target: int, pad_id: int, eos_id: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(inputs, attention mask, labels) of pairs ``idx``, truncated (keeping the final </s>)
        and right-padded to the longest in the batch.

        Shapes: -> int64 [B, <= max_source], int64 [B, <= max_source], int64 [B, <= max_target].
        """
        srcs = [
            _cut(self.src[self.src_off[i] : self.src_off[i + 1]], max_source, eos_id) for i in idx
        ]
        tgts = [
            _cut(self.tgt[self.tgt_off[i] : self.tgt_off[i + 1]], max_target, eos_id) for i in idx
        ]
        li, lt = max(map(len, srcs)), max(map(len, tgts))
        x = np.full((len(idx), li), pad_id, dtype=np.int64)
        mask = np.zeros((len(idx), li), dtype=np.int64)
        y = np.full((len(idx), lt), IGNORE, dtype=np.int64)
        for r, (s, t) in enumerate(zip(srcs, tgts)):
            x[r, :len(s)], mask[r, :len(s)], y[r, :len(t)] = s, 1, t
        return x, mask, y


def _cut(ids: np.ndarray, limit: int, eos_id: int) -> np.ndarray:
    return (
        ids if len(ids) <= limit else np.concatenate([ids[: limit - 1], [eos_id]]).astype(ids.dtype)
    )


def pack_pairs(tok, pairs: list[tuple[str, str]]) -> Pairs:
    """Tokenize (code, doc) pairs with the backbone tokenizer (each side ending in </s>)."""
    backend = tok.backend_tokenizer

    def packed(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        parts = []
        for i in range(0, len(texts), 2000):
            parts.extend(
                np.asarray(e.ids, dtype=np.int32) for e in backend.encode_batch(texts[i : i + 2000])
            )
        off = np.zeros(len(parts) + 1, dtype=np.int64)
        off[1:] = np.cumsum([len(p) for p in parts])
        flat = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
        return flat, off

    src, src_off = packed([p[0] for p in pairs])
    tgt, tgt_off = packed([p[1] for p in pairs])
    return Pairs(src, src_off, tgt, tgt_off)


def collect_pairs(
    entries: dict[str, list],
    max_pairs: int,
    seed: int,
    excluded: set[str],
    norm: Callable[[str], str],
    say: Callable[[str], None],
) -> tuple[list[tuple[str, str]], dict]:
    """(code, doc) pairs from local source files, an equal share per source, in seeded file order.

    ``entries``: source name -> [(path, size, load)] as the corpus lists them (python-stdlib,
    site-packages, jdk); ``excluded``: normalized-code hashes (test records) whose pairs are
    dropped. Returns the pairs and per-source counts.
    """
    lang = {"python-stdlib": "python", "site-packages": "python", "jdk": "java"}
    names = [s for s in entries if s in lang]
    stats: dict[str, dict] = {}
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for k, s in enumerate(names):
        share = (max_pairs - len(out)) // (len(names) - k)
        order = list(entries[s])
        random.Random(f"{seed}:pairs:{s}").shuffle(order)
        got, files, dropped = 0, 0, 0
        for path, _size, load in order:
            if got >= share:
                break
            text = load()
            if not text:
                continue
            files += 1
            for rec in summarize_from_file(path, text.encode("utf-8"), lang[s]):
                h = norm(rec["source"])
                if h in excluded:
                    dropped += 1
                    continue
                if h in seen:
                    continue
                seen.add(h)
                out.append((rec["source"], rec["target"]))
                got += 1
                if got >= share:
                    break
        stats[s] = {"pairs": got, "files": files, "dropped_as_test": dropped}
        say(f"corpus: {got:,} docstring pairs from {files:,} {s} files")
    random.Random(f"{seed}:pairs").shuffle(out)
    return out, stats


__all__ = ["OBJECTIVES", "objective_of", "prefix_lm", "Pairs", "pack_pairs", "collect_pairs"]
