"""Running a method without training it: its examples and collators, the mean loss over a data
set, and generation from the source only. Validation in the training loop and prediction
(:mod:`ttune.train.predict`) both run through these functions.

``generate_texts`` takes an ``on_generate`` hook that receives the wall time of the generation
(seconds), so a caller can time generation alone (not model loading or CPG extraction).

Under several processes (:mod:`ttune.dist`) both passes split their batches over the processes
(batch ``b`` to process ``b % world_size``) and gather the results in record order, so every
process returns what one process would.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

from ttune import dist
from ttune.tasks.decoding import (
    sequence_logprob,
    steered_cross_entropy,
    task_steer,
    teacher_forced_follow,
)
from ttune.train.data import Collator, Example, build_examples, graph_options

GenerateHook = Callable[[float], None]
"""Called with the seconds one :func:`generate_texts` call spent generating."""


def needs_graph(adapted) -> bool:
    """Whether the method reads the code property graph of each example."""
    return bool(getattr(adapted, "needs_graph", False))


def method_examples(
    adapted,
    records: Sequence[dict],
    task,
    tokenizer,
    *,
    max_source_len: int,
    max_target_len: int | None,
    with_labels: bool,
    cache_dir: str,
    num_workers: int = 1,
    progress: bool = True,
    desc: str = "data",
) -> list[Example]:
    """The examples of ``records`` as the method ``adapted`` reads them (graphs featurized with the
    options it was configured with, only when it reads graphs)."""
    return build_examples(
        records,
        task,
        tokenizer,
        max_source_len=max_source_len,
        max_target_len=max_target_len,
        with_labels=with_labels,
        needs_graph=needs_graph(adapted),
        cache_dir=cache_dir,
        num_workers=num_workers,
        progress=progress,
        desc=desc,
        causal=bool(getattr(adapted, "causal", False)),
        **graph_options(adapted),
    )


def method_collator(adapted, tokenizer, with_labels: bool) -> Collator:
    """The collator of the method's batches (labels for the loss, none for generation)."""
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    return Collator(pad, with_labels=with_labels, with_graph=needs_graph(adapted))


def to_device(batch: dict[str, Any], device) -> dict[str, Any]:
    return {k: v.to(device) for k, v in batch.items()}


@contextlib.contextmanager
def evaluating(model) -> Iterator[None]:
    """Eval mode (no dropout) and no gradients inside the block; afterwards the model is back in
    the mode it was in, so validation in the middle of training leaves it training."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)


def device_of(adapted, accelerator=None):
    """The accelerator's device, else the device of the model's first parameter, else the CPU."""
    if accelerator is not None:
        return accelerator.device
    return next((p.device for p in adapted.parameters()), torch.device("cpu"))


def _autocast(accelerator):
    return accelerator.autocast() if accelerator is not None else contextlib.nullcontext()


def batch_loss(adapted, batch: dict[str, Any], task=None):
    """The loss of one labelled batch: the model's mean cross-entropy per target token or, when
    the batch carries ``copy_ids`` (training under a follow bias, :func:`attach_copy_ids`), that
    of the scores ``task``'s decoding steers (:func:`ttune.tasks.decoding.steered_cross_entropy`).
    Takes ``copy_ids`` out of ``batch`` (the model never sees it)."""
    copy_ids = batch.pop("copy_ids", None)
    out = adapted(**batch)
    if copy_ids is None or task is None:
        return out.loss
    start, eos = decoder_ids(adapted)
    steer = task_steer(task, copy_ids, start, eos)
    if steer is None:
        return out.loss
    labels = batch["labels"]
    follow = None
    if task.follow_bias:  # the follow tokens of every prefix at once (incremental)
        follow = teacher_forced_follow(labels, copy_ids[..., 0].to(labels.device), start, eos)
    return steered_cross_entropy(out.logits, labels, steer, start, follow)


def candidate_scores(adapted, batch: dict[str, Any]) -> torch.Tensor:
    """``[N]``: the log-probability the method gives each labelled example's target
    (:func:`ttune.tasks.decoding.sequence_logprob`; a causal LM's logits are shifted to the
    tokens they predict, virtual tokens in front of them dropped)."""
    labels = batch["labels"]
    with torch.no_grad():
        logits = adapted(**batch).logits
    if getattr(adapted, "causal", False):
        logits = logits[:, -labels.shape[1] :][:, :-1]  # position t predicts token t + 1
        labels = labels[:, 1:]
    return sequence_logprob(logits, labels)


def decoder_ids(adapted) -> tuple[int | None, int | None]:
    """(decoder start id of an encoder-decoder, else None; EOS id or None) of a method's
    backbone: what decoding's steering needs (:func:`ttune.tasks.decoding.task_steer`)."""
    config = getattr(getattr(adapted, "model", None), "config", None)
    start = None
    if not getattr(adapted, "causal", False) and config is not None:
        start = getattr(config, "decoder_start_token_id", None)
    eos = getattr(config, "eos_token_id", None)
    eos = eos[0] if isinstance(eos, (list, tuple)) and eos else eos  # some configs list several
    return start, eos if isinstance(eos, int) else None


def dataset_loss(adapted, examples, collate, batch_size: int, accelerator=None, task=None) -> float:
    """Mean cross-entropy per target token over ``examples`` (eval mode, no gradients), of the
    steered scores when the examples carry copy sets (:func:`batch_loss`)."""
    device = device_of(adapted, accelerator)
    starts = range(0, len(examples), batch_size)
    mine: list[tuple[int, tuple[float, int]]] = []
    with evaluating(adapted):
        for b in dist.owned(len(starts)):
            i = starts[b]
            batch = to_device(collate(examples[i : i + batch_size]), device)
            n = int((batch["labels"] != -100).sum())
            with _autocast(accelerator):
                loss = batch_loss(adapted, batch, task)
            mine.append((b, (float(loss) * n, n)))
    total_loss, total_tokens = 0.0, 0
    for loss_sum, n in dist.gather_in_order(mine, "gathering the validation loss"):
        total_loss += loss_sum
        total_tokens += n
    return total_loss / max(1, total_tokens)


def decoding_kwargs(adapted, batch: dict[str, Any], task=None) -> dict[str, Any]:
    """The keyword arguments of ``adapted.generate`` beyond the batch that decode as ``task``
    says (None: plain decoding): its ``no_repeat_ngram_size``, and a logits processor for its
    copy bias and repetition penalty (:mod:`ttune.tasks.decoding`). Takes ``copy_ids`` out of
    ``batch`` (the model never sees it)."""
    copy_ids = batch.pop("copy_ids", None)
    extra: dict[str, Any] = {}
    if task is None:
        return extra
    if task.no_repeat_ngram_size:
        extra["no_repeat_ngram_size"] = task.no_repeat_ngram_size
    start, eos = decoder_ids(adapted)
    steer = task_steer(task, copy_ids, start, eos)
    if steer is not None:
        from transformers import LogitsProcessor, LogitsProcessorList  # lazy, as in generate

        class _Steer(LogitsProcessor):
            def __call__(self, input_ids, scores):
                return steer(input_ids, scores)

        extra["logits_processor"] = LogitsProcessorList([_Steer()])
    return extra


def generate_texts(
    adapted,
    examples,
    collate,
    tokenizer,
    batch_size: int,
    num_beams: int,
    max_new_tokens: int,
    accelerator=None,
    task=None,
    on_generate: GenerateHook | None = None,
) -> list[str]:
    """Decode each example from its source alone (the collator is built without labels), with
    ``task``'s decoding settings (:func:`decoding_kwargs`; None: plain greedy or beam search);
    ``on_generate`` gets the seconds spent."""
    sync = {"synced_gpus": True} if dist.sharded() else {}  # FSDP: no process stops early
    device = device_of(adapted, accelerator)
    starts = range(0, len(examples), batch_size)
    mine: list[tuple[int, list[str]]] = []
    started = time.perf_counter()
    try:
        with evaluating(adapted):
            for b in dist.owned(len(starts)):
                i = starts[b]
                batch = to_device(collate(examples[i : i + batch_size]), device)
                assert "labels" not in batch and "decoder_input_ids" not in batch
                extra = decoding_kwargs(adapted, batch, task)
                with _autocast(accelerator):
                    ids = adapted.generate(
                        **batch,
                        num_beams=num_beams,
                        max_new_tokens=max_new_tokens,
                        **extra,
                        **sync,
                    )
                mine.append((b, tokenizer.batch_decode(ids, skip_special_tokens=True)))
    finally:
        if on_generate is not None:
            on_generate(time.perf_counter() - started)
    texts = dist.gather_in_order(mine, "gathering generated text")
    return [s.strip() for part in texts for s in part]
