"""The pretraining objectives besides span corruption, and the per-step choice between them.

**Prefix LM** (as in UL2's S-denoiser / CodeT5+'s causal LM stage): a corpus window's first
``L - T`` tokens and a sentinel go to the encoder, the decoder writes the next ``T`` tokens. Span
corruption supervises only 15 % of the tokens it reads; this supervises a quarter of them.

**Supervised tasks** (CodeT5's bimodal dual generation and CodeT5+'s multi-task stage), each a
(model input, target) pair made from TRAINING records only:

- ``summarize``: ``get_task("summarize").format_input(record)`` (the task line with the function
  name's words, then the code without its doc) -> the doc's first sentence;
- ``generate``: :func:`generate_input` (the language, the name's words, the doc's first sentence)
  -> the code without its doc, from the same records;
- ``translate``: ``get_task("translate").format_input(record)`` -> the other language's code, for
  every CodeXGLUE (Java <-> C#) and AVATAR (Java <-> Python) training pair in both directions;
- ``assert``: ``get_task("assert").format_input(record)`` -> the assertion (ATLAS).

So a pretrained backbone has already seen the exact inputs the transducers are later trained on.

**Decoder-only archs** (``--arch mamba`` / ``llama``) train next-token prediction (``lm``) on the
corpus windows instead of span corruption and prefix LM, and the same pairs in ttune's causal
prompt layout (:mod:`ttune.tasks`, as ``ttune.train.data`` encodes it with ``causal=True``): the
input without its ``</s>`` and cut to leave room for the task's instruction
(:meth:`ttune.tasks.Task.causal_instruction`; generate: :data:`GENERATE_INSTRUCTION`), then the
target ending in ``</s>``, in one right-padded sequence whose labels are -100 except on the target
tokens (:meth:`Pairs.causal_batch`).
Where the records come from (and what is never read) is in :mod:`ttune.pretrain.corpus`.

Which objective step ``s`` trains is a pure function of (seed, s), and so is the batch of a
supervised step (:class:`PairOrder`), so a resumed run replays the same sequence. Shapes of every
batch: inputs int64 [B, Li], attention mask int64 [B, Li] (or None when nothing is padded), labels
int64 [B, Lt] with -100 at padding.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ttune.data.build import summarize_from_file
from ttune.tasks import function_name, get_task, identifier_words

OBJECTIVES = ("span", "prefix", "summarize", "generate", "translate", "assert")
CAUSAL_OBJECTIVES = ("lm", "summarize", "generate", "translate", "assert")
IGNORE = -100
GENERATE_INSTRUCTION = "\n# Write the {lang} code described above:\n"
"""The causal layout's instruction of a docstring -> code step (``{lang}``: the language)."""
BUCKET_POOL = 64
"""Batches per length-sorted pool when ``bucket_pairs`` is on."""


def objective_of(step: int, seed: int, shares: dict[str, float]) -> str:
    """The objective trained at optimizer step ``step`` (deterministic in seed and step);
    ``shares`` in OBJECTIVES (or CAUSAL_OBJECTIVES) order, its first entry taking what the
    rounding leaves."""
    u = np.random.default_rng([seed, 5, step]).random()
    acc = 0.0
    for name, share in shares.items():
        acc += share
        if u < acc:
            return name
    return next(iter(shares), "span")


def prefix_lm(
    windows: np.ndarray, target_length: int, sentinel_id: int, eos_id: int
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
    """Tokenized (input, target) pairs, packed: ``src`` / ``tgt`` int32 flat ids, ``*_off`` int64
    offsets [N + 1] (pair i's input is ``src[src_off[i]:src_off[i+1]]``, each ending in </s>)."""

    src: np.ndarray
    src_off: np.ndarray
    tgt: np.ndarray
    tgt_off: np.ndarray
    heldout: int = 0
    """The last ``heldout`` pairs are held out of training (their loss is logged)."""

    def __len__(self) -> int:
        return len(self.src_off) - 1

    def causal_batch(
        self, idx: np.ndarray, max_target: int, pad_id: int, eos_id: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(inputs, attention mask, labels) of pairs ``idx`` in the causal layout: each row is the
        prompt (already cut, see :func:`pack_pairs`) then the target (cut keeping its final
        </s>), right-padded; labels are the target tokens at their own positions (the model
        shifts them) and -100 on the prompt and the padding.

        Shapes: -> int64 [B, T], int64 [B, T], int64 [B, T].
        """
        rows, starts = [], []
        for i in idx:
            src = self.src[self.src_off[i] : self.src_off[i + 1]]
            tgt = _cut(self.tgt[self.tgt_off[i] : self.tgt_off[i + 1]], max_target, eos_id)
            rows.append(np.concatenate([src, tgt]))
            starts.append(len(src))
        T = max(map(len, rows))
        x = np.full((len(idx), T), pad_id, dtype=np.int64)
        mask = np.zeros((len(idx), T), dtype=np.int64)
        y = np.full((len(idx), T), IGNORE, dtype=np.int64)
        for r, (row, s) in enumerate(zip(rows, starts)):
            x[r, : len(row)], mask[r, : len(row)] = row, 1
            y[r, s : len(row)] = row[s:]
        return x, mask, y

    def lengths(self) -> np.ndarray:
        """Input plus target tokens of every pair. Shapes: -> int64 [N]."""
        return np.diff(self.src_off) + np.diff(self.tgt_off)

    def batch(
        self, idx: np.ndarray, max_source: int, max_target: int, pad_id: int, eos_id: int
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
            x[r, : len(s)], mask[r, : len(s)], y[r, : len(t)] = s, 1, t
        return x, mask, y


def _cut(ids: np.ndarray, limit: int, eos_id: int) -> np.ndarray:
    return (
        ids if len(ids) <= limit else np.concatenate([ids[: limit - 1], [eos_id]]).astype(ids.dtype)
    )


def pack_pairs(
    tok, pairs: list[tuple[str, ...]], heldout: int = 0, max_source: int | None = None
) -> Pairs:
    """Tokenize (input, target) pairs with the backbone tokenizer (each side ending in </s>).

    Causal layout: (input, target, instruction) triples; the input loses its </s> and is cut to
    ``max_source`` tokens with the instruction (no special tokens) at its end, as
    ``ttune.train.data.encode_records`` does with ``causal=True``."""
    backend = tok.backend_tokenizer

    def encoded(texts: list[str], specials: bool = True) -> list[np.ndarray]:
        parts = []
        for i in range(0, len(texts), 2000):
            parts.extend(
                np.asarray(e.ids, dtype=np.int32)
                for e in backend.encode_batch(texts[i : i + 2000], add_special_tokens=specials)
            )
        return parts

    def packed(parts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        off = np.zeros(len(parts) + 1, dtype=np.int64)
        off[1:] = np.cumsum([len(p) for p in parts])
        flat = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
        return flat, off

    sources = encoded([p[0] for p in pairs])
    if pairs and len(pairs[0]) == 3:
        eos, limit = tok.eos_token_id, max_source or 10**9
        tails = encoded([p[2] for p in pairs], specials=False)
        for k, (ids, tail) in enumerate(zip(sources, tails)):
            if len(ids) > 1 and ids[-1] == eos:
                ids = ids[:-1]
            sources[k] = np.concatenate([ids[: max(1, limit - len(tail))], tail]).astype(np.int32)
    src, src_off = packed(sources)
    tgt, tgt_off = packed(encoded([p[1] for p in pairs]))
    return Pairs(src, src_off, tgt, tgt_off, heldout)


def collect_pairs(
    entries: dict[str, list],
    max_pairs: int,
    seed: int,
    excluded: set[str],
    norm: Callable[[str], str],
    say: Callable[[str], None],
) -> tuple[list[dict], dict]:
    """Summarize records (code without its doc, the doc's first sentence) from local source files,
    an equal share per source, in seeded file order.

    ``entries``: source name -> [(path, size, load)] as the corpus lists them (python-stdlib,
    site-packages, jdk); ``excluded``: normalized-code hashes (test records) whose pairs are
    dropped. Returns the records (``ttune.data`` schema, shuffled with the seed) and per-source
    counts.
    """
    lang = {"python-stdlib": "python", "site-packages": "python", "jdk": "java"}
    names = [s for s in entries if s in lang]
    stats: dict[str, dict] = {}
    out: list[dict] = []
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
                out.append(rec)
                got += 1
                if got >= share:
                    break
        stats[s] = {"pairs": got, "files": files, "dropped_as_test": dropped}
        say(f"corpus: {got:,} docstring pairs from {files:,} {s} files")
    random.Random(f"{seed}:pairs").shuffle(out)
    return out, stats


def generate_input(record: dict) -> str:
    """The input of a docstring -> code step: ``generate LANG: NAME WORDS``, then the doc
    sentence."""
    lang = record.get("source_lang") or "java"
    words = " ".join(identifier_words(function_name(record["source"], lang)))
    return f"generate {lang}: {words}\n{record['target']}"


def reversed_record(record: dict) -> dict:
    """A translation record the other way round (target -> source)."""
    return {
        **record,
        "source": record["target"],
        "target": record["source"],
        "source_lang": record["target_lang"],
        "target_lang": record["source_lang"],
    }


def task_pairs(
    records: dict[str, list[dict]],
    seed: int,
    heldout: dict[str, list[dict]] | None = None,
    causal: bool = False,
) -> dict[str, tuple[list[tuple[str, ...]], int]]:
    """(model input, target) texts of every supervised objective and how many of them, at the end
    of the list, are held out: task -> (pairs, n_heldout). ``causal``: (model input, target,
    causal instruction) triples for :func:`pack_pairs`.

    ``records`` / ``heldout``: training / held-out records of ``summarize`` (code -> English),
    ``translate`` (code -> code, one direction per record; both are used) and ``assert``,
    ``ttune.data`` schema. The training pairs are shuffled with the seed; a held-out record gives
    held-out pairs only (summarize and generate, or both translation directions).
    """
    summarize, translate, assert_ = (
        get_task(name).with_options(tagged=True) for name in ("summarize", "translate", "assert")
    )

    def generate_instruction(r: dict) -> str:
        return GENERATE_INSTRUCTION.format(lang=r.get("source_lang") or "java")

    def pair(task, r: dict, text: str, target: str, instruction=None) -> tuple[str, ...]:
        if not causal:
            return (text, target)
        return (text, target, instruction(r) if instruction else task.causal_instruction(r))

    makers = {
        "summarize": (
            "summarize",
            lambda r: [pair(summarize, r, summarize.format_input(r), r["target"])],
        ),
        "generate": (
            "summarize",
            lambda r: [pair(None, r, generate_input(r), r["source"], generate_instruction)],
        ),
        "translate": (
            "translate",
            lambda r: [
                pair(translate, d, translate.format_input(d), d["target"])
                for d in (r, reversed_record(r))
            ],
        ),
        "assert": ("assert", lambda r: [pair(assert_, r, assert_.format_input(r), r["target"])]),
    }
    out = {}
    for name, (group, make) in makers.items():
        train = [p for r in records.get(group, []) for p in make(r)]
        random.Random(f"{seed}:task-pairs:{name}").shuffle(train)
        held = [p for r in (heldout or {}).get(group, []) for p in make(r)]
        out[name] = (train + held, len(held))
    return out


class PairOrder:
    """The pair indices of batch ``k`` (a pure function of seed and k): epoch ``k // nb`` (``nb`` =
    n // B batches) is a seeded permutation of the ``n`` pairs cut into batches of ``B``; with
    ``lengths`` (bucketing) each run of ``BUCKET_POOL`` batches is first sorted by length, and the
    epoch's batches are then shuffled, so a batch holds pairs of similar length. With fewer than
    ``B`` pairs a batch takes ``B`` consecutive items of repeated permutations."""

    def __init__(
        self, n: int, batch_size: int, seed: int, stream: int, lengths: np.ndarray | None = None
    ) -> None:
        self.n, self.B, self.seed, self.stream, self.lengths = n, batch_size, seed, stream, lengths
        self.nb = n // batch_size
        self._epoch, self._batches = -1, np.zeros((0, batch_size), dtype=np.int64)

    def _epoch_batches(self, epoch: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, self.stream, epoch])
        perm = rng.permutation(self.n)[: self.nb * self.B]
        if self.lengths is not None:
            pool = BUCKET_POOL * self.B
            perm = np.concatenate(
                [
                    p[np.argsort(self.lengths[p], kind="stable")]
                    for p in np.split(perm, range(pool, len(perm), pool))
                ]
            )
        batches = perm.reshape(self.nb, self.B)
        return batches[rng.permutation(self.nb)]

    def __getitem__(self, k: int) -> np.ndarray:
        if self.nb == 0:
            return np.asarray([self._small(k * self.B + j) for j in range(self.B)], dtype=np.int64)
        epoch = k // self.nb
        if epoch != self._epoch:
            self._epoch, self._batches = epoch, self._epoch_batches(epoch)
        return self._batches[k % self.nb]

    def _small(self, g: int) -> int:
        perm = np.random.default_rng([self.seed, self.stream, g // self.n]).permutation(self.n)
        return int(perm[g % self.n])


def padding_stats(
    pairs: "Pairs", order: PairOrder, batches: int, max_source: int, max_target: int
) -> dict[str, float]:
    """Real (non-padding) tokens against computed positions over ``batches`` batches of ``order``:
    ``real`` and ``positions`` per step (inputs + targets) and their ratio ``fill``."""
    real, pos = 0, 0
    for k in range(batches):
        idx = order[k]
        ls = np.minimum(np.diff(pairs.src_off)[idx], max_source)
        lt = np.minimum(np.diff(pairs.tgt_off)[idx], max_target)
        real += int(ls.sum() + lt.sum())
        pos += len(idx) * int(ls.max() + lt.max())
    return {"real": real / batches, "positions": pos / batches, "fill": real / max(1, pos)}


__all__ = [
    "OBJECTIVES",
    "CAUSAL_OBJECTIVES",
    "GENERATE_INSTRUCTION",
    "objective_of",
    "prefix_lm",
    "Pairs",
    "pack_pairs",
    "collect_pairs",
    "generate_input",
    "reversed_record",
    "task_pairs",
    "PairOrder",
    "padding_stats",
]
