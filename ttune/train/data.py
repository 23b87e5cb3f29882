"""From JSON-lines records to model batches: tokens with byte spans onto the CPG, labels, graphs.

A record becomes one :class:`Example`: the token ids of ``task.format_input(record)``, for each
token
its (start, end) byte span inside the code whose CPG the transducer reads (``task.graph_code``), the
tokenized target (training/validation only) and the featurized graph (only for methods that read
graphs). :class:`Collator` pads a list of examples into one batch; labels are padded with -100 so
padding never enters the loss (the paper's code padded with EOS and trained on it).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ttune.cpg.cache import extract_all
from ttune.tasks import read_jsonl
from ttune.tasks.decoding import copy_token_ids, pad_copy_ids, source_copy_ids
from ttune.transducer import collate_graphs, featurize, graph_features

log = logging.getLogger(__name__)

IGNORE_INDEX = -100
"""Label value the loss skips (PyTorch cross-entropy's ignore_index)."""


class DataError(ValueError):
    """Unusable data (missing or empty file, no valid record). The message is one line."""


def load_records(path: str | Path, what: str = "data", limit: int | None = None) -> list[dict]:
    """Records of a JSON-lines file via ttune.tasks.read_jsonl; malformed lines are skipped with a
    warning naming the first few; no record at all -> DataError."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{what} file not found: {p}")
    try:
        records, bad = read_jsonl(p)
    except ValueError as e:
        # args[0], not str(e): a KeyError-based error would quote its message; the reader's
        # message may already start with the path.
        msg = str(e.args[0]) if e.args else type(e).__name__
        msg = msg.splitlines()[0] if msg else type(e).__name__
        raise DataError(
            f"{what} file {msg}" if msg.startswith(f"{p}:") else f"{what} file {p}: {msg}"
        ) from None
    if bad:
        shown = "; ".join(f"line {n}: {why}" for n, why in list(bad)[:3])
        log.warning("%s file %s: skipped %d malformed line(s) (%s)", what, p, len(bad), shown)
    if limit is not None:
        records = records[:limit]
    if not records:
        raise DataError(f"{what} file {p} holds no usable record")
    return list(records)


def char_to_byte_offsets(text: str) -> list[int] | None:
    """Prefix array: UTF-8 byte offset of each character index of ``text`` (length len(text)+1),
    or None for ASCII text where the two coincide. Tokenizer offsets are character offsets into
    the Python str; CPG spans are UTF-8 byte offsets."""
    if text.isascii():
        return None
    out = [0] * (len(text) + 1)
    acc = 0
    for i, ch in enumerate(text):
        out[i] = acc
        acc += len(ch.encode("utf-8", "surrogatepass"))
    out[len(text)] = acc
    return out


def token_byte_spans(
    text: str,
    offsets: Sequence[tuple[int, int]],
    code_offset: int,
    code_len: int,
    special: Sequence[int] | None = None,
) -> list[tuple[int, int]]:
    """Each token's byte span inside the graph's code, or (-1, -1) if it has none.

    ``offsets``: the tokenizer's (start, end) character offsets into ``text``; ``code_offset``: byte
    offset of the graph's code inside ``text``'s UTF-8 encoding; ``code_len``: its length in bytes.
    Spans are clipped to the code; tokens outside it, empty tokens and special tokens get (-1, -1).
    """
    b = char_to_byte_offsets(text)
    spans: list[tuple[int, int]] = []
    for i, (s, e) in enumerate(offsets):
        if (special is not None and special[i]) or e <= s:
            spans.append((-1, -1))
            continue
        bs, be = (s, e) if b is None else (b[s], b[e])
        bs = min(max(bs - code_offset, 0), code_len)
        be = min(max(be - code_offset, 0), code_len)
        spans.append((bs, be) if be > bs else (-1, -1))
    return spans


@dataclass
class Example:
    """One encoded record. Lengths: input_ids and token_spans T, labels L."""

    index: int
    input_ids: list[int]
    token_spans: list[tuple[int, int]]
    labels: list[int] | None = None
    graph: Any = None  # torch_geometric Data (ttune.transducer.featurize), or a dict (plain)
    copy_ids: list[list[int]] | None = None  # per name word, ttune.tasks.decoding.copy_token_ids


def encode_records(
    records: Sequence[dict],
    task,
    tokenizer,
    max_source_len: int,
    max_target_len: int | None,
    with_labels: bool,
    causal: bool = False,
) -> list[Example]:
    """Tokenize sources (with byte spans) and, if ``with_labels``, targets. Never reads the target
    otherwise: prediction must not see it.

    ``causal`` (a decoder-only backbone): the source loses a trailing EOS, the task's instruction
    (:meth:`ttune.tasks.Task.causal_instruction`, spans (-1, -1)) follows it within
    ``max_source_len``, and the target ends with EOS (the model must learn to stop)."""
    examples = []
    for i, rec in enumerate(records):
        try:
            text = task.format_input(rec)
            code, _lang, code_offset = task.graph_code(rec)
        except (KeyError, TypeError, AttributeError) as e:
            raise DataError(
                f"record {i} ({rec.get('id', 'no id') if isinstance(rec, dict) else rec!r}) "
                f"does not fit task {getattr(task, 'name', '?')!r}: "
                f"{type(e).__name__} {e}"
            ) from None
        tail: list[int] = []
        if causal:
            tail = tokenizer(task.causal_instruction(rec), add_special_tokens=False)["input_ids"]
        enc = tokenizer(
            text,
            truncation=not causal,
            max_length=None if causal else max_source_len,
            return_offsets_mapping=True,
            return_special_tokens_mask=True,
        )
        ids = list(enc["input_ids"])
        spans = token_byte_spans(
            text,
            enc["offset_mapping"],
            code_offset,
            len(code.encode("utf-8", "surrogatepass")),
            enc.get("special_tokens_mask"),
        )
        if causal:  # the source without a trailing EOS, cut to leave room for the instruction
            if len(ids) > 1 and ids[-1] == tokenizer.eos_token_id:
                ids, spans = ids[:-1], spans[:-1]
            keep = max(1, max_source_len - len(tail))
            ids, spans = ids[:keep] + tail, spans[:keep] + [(-1, -1)] * len(tail)
        labels, copy = None, None
        if not with_labels and (getattr(task, "copy_bias", 0) or getattr(task, "follow_bias", 0)):
            copy = example_copy_ids(rec, ids, spans, task, tokenizer)
        if with_labels:
            target = rec.get("target")
            if not isinstance(target, str):
                raise DataError(f"record {i} ({rec.get('id', 'no id')}) has no string 'target'")
            if causal:
                n = max(0, (max_target_len or 10**9) - 1)
                labels = tokenizer(target, add_special_tokens=False)["input_ids"][:n]
                labels.append(tokenizer.eos_token_id)
            else:
                labels = target_ids(tokenizer, [target], max_target_len)[0]
        examples.append(Example(i, ids, spans, labels, copy_ids=copy))
    return examples


def target_ids(tokenizer, targets: Sequence[str], max_target_len: int | None) -> list[list[int]]:
    """The label ids of an encoder-decoder's targets (EOS included, cut at ``max_target_len``)."""
    return tokenizer(list(targets), truncation=True, max_length=max_target_len)["input_ids"]


def with_targets(
    example: Example, targets: Sequence[str], tokenizer, max_target_len: int | None
) -> list[Example]:
    """One labelled copy of an encoder-decoder's ``example`` per target (its input, spans and
    graph shared; labels from :func:`target_ids`): the candidates a task reranks, scored without
    encoding the record again for each."""
    return [
        Example(example.index, example.input_ids, example.token_spans, ids, example.graph)
        for ids in target_ids(tokenizer, targets, max_target_len)
    ]


def example_copy_ids(rec: dict, ids, spans, task, tokenizer) -> list[list[int]]:
    """The copy sets decoding steers with for one record (:mod:`ttune.tasks.decoding`): the
    source's tokens (``copy_from="source"``; under ``copy_rewrite`` those of the source as
    :meth:`ttune.tasks.Task.copy_source` rewrites it, tokenized alone) or its name words' first
    tokens."""
    if task.copy_from == "source":
        copied = task.copy_source(rec) if getattr(task, "copy_rewrite", False) else None
        if copied is not None and copied != rec.get("source"):
            return [[t] for t in tokenizer([copied], add_special_tokens=False)["input_ids"][0]]
        return source_copy_ids(ids, spans)
    return copy_token_ids(task.copy_words(rec), tokenizer)


def attach_copy_ids(examples: Sequence[Example], records: Sequence[dict], task, tokenizer) -> None:
    """Give labelled ``examples`` (of ``records``, in order) their copy sets, for a training
    loss taken under decoding's steering (``ttune train --follow-bias``); the collator then
    puts them in the batch beside the labels."""
    for e in examples:
        e.copy_ids = example_copy_ids(records[e.index], e.input_ids, e.token_spans, task, tokenizer)


def graph_options(adapted) -> dict[str, Any]:
    """featurize() options of a method, as its config declares them
    (:meth:`ttune.methods.MethodConfig.graph_options`; saved with the method, so training and
    prediction featurize alike): ``max_graph_nodes`` and ``max_label_tokens``."""
    return dataclasses.asdict(adapted.config.graph_options())


def attach_graphs(
    examples: list[Example],
    records: Sequence[dict],
    task,
    tokenizer,
    cache_dir: str,
    num_workers: int = 1,
    max_graph_nodes: int | None = None,
    progress: bool = True,
    desc: str = "CPGs",
    max_label_tokens: int = 16,
    plain: bool = False,
) -> None:
    """Extract (or read from the cache) each record's CPG and featurize it onto its example
    (``plain``: as a dict of tensors, :func:`ttune.transducer.graph_features`, not a PyG
    ``Data``)."""
    items = []
    for rec in records:
        code, lang, _ = task.graph_code(rec)
        items.append((code, lang))
    cpgs, stats = extract_all(
        items, cache_dir, num_workers=num_workers, progress=progress, desc=desc
    )
    log.log(
        logging.WARNING if stats.errors else logging.INFO,
        "%s: %d graphs, %d from cache, %d extracted, %d failed (empty graph used)",
        desc,
        stats.total,
        stats.hits,
        stats.extracted,
        stats.errors,
    )
    for ex, cpg in zip(examples, cpgs):
        ex.graph = (graph_features if plain else featurize)(
            cpg, tokenizer, max_label_tokens=max_label_tokens, max_graph_nodes=max_graph_nodes
        )


def build_examples(
    records: Sequence[dict],
    task,
    tokenizer,
    *,
    max_source_len: int,
    max_target_len: int | None,
    with_labels: bool,
    needs_graph: bool,
    cache_dir: str,
    num_workers: int = 1,
    max_graph_nodes: int | None = None,
    max_label_tokens: int = 16,
    progress: bool = True,
    desc: str = "data",
    causal: bool = False,
    plain_graphs: bool = False,
) -> list[Example]:
    """:func:`encode_records` plus, for graph-reading methods, :func:`attach_graphs`
    (``plain_graphs``: its ``plain``)."""
    examples = encode_records(
        records, task, tokenizer, max_source_len, max_target_len, with_labels, causal
    )
    if needs_graph:
        attach_graphs(
            examples,
            records,
            task,
            tokenizer,
            cache_dir,
            num_workers,
            max_graph_nodes,
            progress,
            desc,
            max_label_tokens,
            plain_graphs,
        )
    return examples


class Collator:
    """Pads examples into a batch.

    Shapes:
        input_ids, attention_mask: [B, T] (T = longest source in the batch; pad id / 0)
        token_spans:               [B, T, 2] long, (-1, -1) on padding
        labels:                    [B, L] padded with -100 (only when every example has labels)
        copy_ids:                  [B, W, K] long, -1 pads: the copy sets of decoding's steering
                                   (prediction for a task that steers, and training under a
                                   follow bias: ttune.tasks.decoding, attach_copy_ids)
        graph:                     torch_geometric Batch of B graphs (only for graph methods);
                                   a ttune.transducer.GraphBatch with ``plain_graphs``
    """

    def __init__(
        self, pad_token_id: int, with_labels: bool, with_graph: bool, plain_graphs: bool = False
    ) -> None:
        self.pad = pad_token_id
        self.with_labels = with_labels
        self.with_graph = with_graph
        self.plain_graphs = plain_graphs

    def __call__(self, examples: Sequence[Example]) -> dict[str, Any]:
        B = len(examples)
        T = max(len(e.input_ids) for e in examples)
        input_ids = torch.full((B, T), self.pad, dtype=torch.long)
        attention_mask = torch.zeros((B, T), dtype=torch.long)
        spans = torch.full((B, T, 2), -1, dtype=torch.long)
        for i, e in enumerate(examples):
            n = len(e.input_ids)
            input_ids[i, :n] = torch.tensor(e.input_ids, dtype=torch.long)
            attention_mask[i, :n] = 1
            spans[i, :n] = torch.tensor(e.token_spans, dtype=torch.long).view(n, 2)
        batch: dict[str, Any] = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "token_spans": spans,
        }
        if self.with_labels:
            L = max(len(e.labels) for e in examples)
            labels = torch.full((B, L), IGNORE_INDEX, dtype=torch.long)
            for i, e in enumerate(examples):
                labels[i, : len(e.labels)] = torch.tensor(e.labels, dtype=torch.long)
            batch["labels"] = labels
        if any(e.copy_ids is not None for e in examples):
            batch["copy_ids"] = pad_copy_ids([e.copy_ids or [] for e in examples])
        if self.with_graph and self.plain_graphs:
            batch["graph"] = collate_graphs([e.graph for e in examples])
        elif self.with_graph:
            from torch_geometric.data import Batch  # lazy: for graph-reading methods only

            batch["graph"] = Batch.from_data_list([e.graph for e in examples])
        return batch


def batch_order(
    n: int, batch_size: int, seed: int, epoch: int, shuffle: bool = True
) -> list[list[int]]:
    """The micro-batches of one epoch, a pure function of (n, batch_size, seed, epoch), so a resumed
    run can skip exactly the batches it already consumed without touching any global RNG."""
    if shuffle:
        g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
        order = torch.randperm(n, generator=g).tolist()
    else:
        order = list(range(n))
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]
