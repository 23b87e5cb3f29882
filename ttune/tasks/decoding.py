"""Decoding steered towards the code's own words (a copy bias), away from repeated tokens.

A small backbone's greedy summary drifts to the sentence most frequent in its training data
("Return a list of the given class.") whatever the code; a good summary reuses the words of the
function's name (``download_zlib`` -> "Downloads zlib, ..."). Two additive terms on the
next-token log-probabilities ``s`` ``[N, V]`` of every decoding step change that:

.. math::
    s'_v = s_v + \\beta \\, [v \\in C_w \\text{ for a word } w \\text{ not yet used}]
               - \\rho \\, [v \\text{ already generated}]

where the copy set :math:`C_w` of a name word ``w`` (:func:`copy_token_ids`) holds the first
token of `` w``, `` W``, ``w`` and ``W`` (``W`` capitalised), a word is *used* once any token of
its copy set has been generated (the bonus is spent: no "block block block"), :math:`\\beta` is
:attr:`ttune.tasks.Task.copy_bias` and :math:`\\rho` :attr:`ttune.tasks.Task.repeat_penalty`.
Words of fewer than three characters and words whose first token is a fragment of fewer than
three characters (``2``, ``d``) get no bonus: copying a fragment makes no word. That is
``copy_from="name"``; with ``copy_from="source"`` (:func:`source_copy_ids`) each token of the
source code is a copy set of its own and is never spent (a translation repeats its
identifiers). Both terms are zero by default; ``summarize`` sets β = 5, ρ = 2 and ``translate``
β = 1 from the source (values chosen on the dev splits, docs/decoding.md).

A third term, the **follow bias** :math:`\\gamma` (:attr:`ttune.tasks.Task.follow_bias`, with
``copy_from="source"``), makes the output continue a copy of the source in order:
:math:`s'_v \\mathrel{+}= \\gamma \\, [v \\in F]`, where :math:`F` (:func:`follow_tokens`) holds the
token after each occurrence in the source of the output's longest suffix found there (up to
:data:`FOLLOW_LONGEST` tokens), the source's first token at the start and the end of the sequence
after its last token; when the output's last few tokens are not in the source (an edit), the
suffix before them is the anchor. A translation between close languages (Java and C#) is mostly
such a copy. It is 0 for every task; a model that needs it says so in its folder's
``decoding.json`` (:func:`ttune.tasks.model_decoding`; the built-in translator does).

**Training under the steering** (:func:`steered_cross_entropy`, ``ttune train --follow-bias``):
the loss is the cross-entropy of the steered scores :math:`s'` at every target position, the
prefix being the target's own tokens (teacher forcing). Under a follow bias the model is then only
taught where the target departs from a copy of the source; the decoder adds the same terms.

Greedy search is unchanged by a constant added to a row, so the terms act the same on logits or
log-probabilities: transformers' ``generate`` (via a logits processor, beam search on
log-probabilities) and the plain-torch decoder of :mod:`ttune.lite.t5` give the same texts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "MIN_WORD_CHARS",
    "copy_token_ids",
    "follow_tokens",
    "pad_copy_ids",
    "source_copy_ids",
    "steer_scores",
    "steered_cross_entropy",
    "task_steer",
    "teacher_forced_follow",
    "sequence_logprob",
]

MIN_WORD_CHARS = 3
"""Shortest name word (and shortest first-token fragment) that gets the copy bonus."""

FOLLOW_LONGEST = 32
"""Longest suffix of the output that :func:`follow_tokens` looks up in the source."""

FOLLOW_SKIP = 3
"""Most trailing output tokens :func:`follow_tokens` steps over to find its anchor."""


def copy_token_ids(words: Sequence[str], tokenizer) -> list[list[int]]:
    """The copy set of each usable word of ``words`` (lower-case name words, duplicates dropped):
    the distinct first tokens of `` w``, `` W``, ``w`` and ``W`` that are a whole word or a
    fragment of at least :data:`MIN_WORD_CHARS` characters. ``tokenizer`` is called as
    ``tokenizer(texts, add_special_tokens=False)["input_ids"]`` and decodes with
    ``batch_decode``."""
    out: list[list[int]] = []
    seen: set[str] = set()
    for w in words:
        if len(w) < MIN_WORD_CHARS or w in seen:
            continue
        seen.add(w)
        variants = [" " + w, " " + w.capitalize(), w, w.capitalize()]
        pieces = tokenizer(variants, add_special_tokens=False)["input_ids"]
        firsts = [p[0] for p in pieces if p]
        texts = tokenizer.batch_decode([[t] for t in firsts])
        ids: list[int] = []
        for p, t, text in zip([p for p in pieces if p], firsts, texts):
            whole = len(p) == 1
            if (whole or len(text.strip()) >= MIN_WORD_CHARS) and t not in ids:
                ids.append(t)
        if ids:
            out.append(ids)
    return out


def source_copy_ids(input_ids: Sequence[int], spans: Sequence[tuple[int, int]]) -> list[list[int]]:
    """The copy sets of ``copy_from="source"``: each token of the input that lies in the source
    code (byte span not (-1, -1)), one set of one token each, in the source's order with
    repeats (the copy bias counts a token once; :func:`follow_tokens` reads the order)."""
    return [[t] for t, (a, _b) in zip(input_ids, spans) if a >= 0]


def pad_copy_ids(rows: Sequence[Sequence[Sequence[int]]]) -> Tensor:
    """Copy sets of a batch as one tensor ``[B, W, K]`` (W words, K variants; -1 pads)."""
    W = max(1, max((len(r) for r in rows), default=0))
    K = max(1, max((len(ids) for r in rows for ids in r), default=0))
    out = torch.full((len(rows), W, K), -1, dtype=torch.long)
    for b, r in enumerate(rows):
        for w, ids in enumerate(r):
            out[b, w, : len(ids)] = torch.tensor(list(ids), dtype=torch.long)
    return out


def follow_tokens(
    generated: Tensor,
    source: Tensor,
    start_id: int | None = None,
    eos_id: int | None = None,
    longest: int = FOLLOW_LONGEST,
    skip: int = FOLLOW_SKIP,
) -> Tensor:
    """The tokens that continue the output as a copy of the source, ``[N, K]`` (-1: none).

    ``generated`` ``[N, L]`` (an encoder-decoder's starting with ``start_id``), ``source`` ``[N,
    S]`` the source tokens in order (-1 pads the end of a row); the source is followed by
    ``eos_id``. The anchor is the longest suffix (up to ``longest`` tokens) of the output that
    occurs in the source; every occurrence's next token continues the copy. When the output's
    last ``o`` tokens (``1 <= o <= skip``) are not in the source (the model inserted or replaced
    something), the anchor is the longest suffix of at least two tokens of the output without
    them, and both the token after it (an insertion) and the token ``o`` further (a
    replacement of ``o`` tokens) continue the copy; the smallest ``o`` with an anchor wins.
    Before the first generated token (only known with ``start_id``): the source's first token."""
    N, S = source.shape
    dev = source.device
    gen = generated[:, 1:] if start_id is not None else generated
    t = gen.shape[1]
    if t == 0 or S == 0:
        first = source[:, :1] if start_id is not None and S else source[:, :0]
        return first.clone()
    ext = _source_then_eos(source, skip, eos_id)
    outs: list[Tensor] = []
    found = torch.zeros(N, dtype=torch.bool, device=dev)
    for o in range(min(skip, t - 1) + 1):
        end = _longest_match_ends(gen[:, : t - o], source, longest, 1 if o == 0 else 2)
        end &= ~found[:, None]  # [N, S]: the anchor's occurrences, by their last position
        outs.append(torch.where(end, ext[:, 1 : S + 1], -1))
        if o:
            outs.append(torch.where(end, ext[:, 1 + o : S + 1 + o], -1))
        found |= end.any(1)
    return torch.cat(outs, 1)


def _source_then_eos(source: Tensor, skip: int, eos_id: int | None) -> Tensor:
    """``[N, S + skip + 1]``: each row's source tokens, then EOS (when given), then -1: the
    token at ``i + o`` continues a copy whose anchor ends at ``i - 1``."""
    N = source.shape[0]
    pad = torch.full((N, skip + 1), -1, dtype=source.dtype, device=source.device)
    ext = torch.cat([source, pad], 1)
    if eos_id is not None:
        ext[torch.arange(N, device=source.device), source.ge(0).sum(1)] = eos_id
    return ext


def _longest_match_ends(out: Tensor, source: Tensor, longest: int, shortest: int) -> Tensor:
    """``[N, S]``: True at the last position of each occurrence in ``source`` of the longest
    suffix of ``out`` ``[N, T]`` of ``shortest`` to ``longest`` tokens found there (all False in
    a row without one). One comparison per suffix length."""
    N, S = source.shape
    T = out.shape[1]
    ends = source == out[:, -1:]  # suffixes of length 1
    best = torch.zeros_like(ends)
    for m in range(1, min(longest, T) + 1):
        if m > 1:  # extend: the token m - 1 before each end matches out's m-th last token
            before = torch.full_like(source, -1)
            before[:, m - 1 :] = source[:, : S - m + 1]
            ends = ends & (before == out[:, T - m : T - m + 1])
        alive = ends.any(1)
        if not alive.any():
            break
        if m >= shortest:
            best = torch.where(alive[:, None], ends, best)
    return best


def steer_scores(
    scores: Tensor,
    generated: Tensor,
    copy_ids: Tensor | None,
    copy_bias: float,
    repeat_penalty: float,
    start_id: int | None = None,
    spend: bool = True,
    follow_bias: float = 0.0,
    eos_id: int | None = None,
    follow: Tensor | None = None,
) -> Tensor:
    """``scores`` ``[N, V]`` with the copy bonus and the repetition penalty applied (formula in the
    module docstring). ``generated`` ``[N, L]``: the tokens so far, an encoder-decoder's starting
    with its decoder start token ``start_id``, which is never penalised. ``copy_ids`` ``[B, W,
    K]`` (-1 pads) with N a multiple of B: each row's beams follow it (``repeat_interleave``).
    ``spend``: a word's bonus ends once one of its tokens has been generated (``copy_from="name"``);
    False keeps every bonus (``copy_from="source"``). ``follow_bias``: added to the tokens of
    :func:`follow_tokens` (``copy_ids`` then holds the source's tokens in order, ``K = 1``);
    ``follow`` ``[N, K]``: those tokens when already known (:func:`teacher_forced_follow`)."""
    N, V = scores.shape
    out = scores
    if repeat_penalty and generated.shape[1]:
        seen = torch.zeros(N, V + 1, dtype=torch.bool, device=scores.device)
        seen.scatter_(1, generated.clamp(0, V), True)
        if start_id is not None and 0 <= start_id < V:
            seen[:, start_id] = False
        out = out - repeat_penalty * seen[:, :V].to(out.dtype)
    ids = None
    if (copy_bias or follow_bias) and copy_ids is not None and copy_ids.numel():
        ids = copy_ids.to(scores.device)
        if ids.shape[0] != N:
            ids = ids.repeat_interleave(N // ids.shape[0], 0)  # [N, W, K]: beams follow their row
    if copy_bias and ids is not None:
        give = ids.ge(0)  # [N, W, K]
        if spend:  # used[n, w]: some token of word w's copy set was generated already
            hit = (ids.unsqueeze(-1) == generated[:, None, None, :]) & give.unsqueeze(-1)
            give = give & ~hit.flatten(2).any(-1).unsqueeze(-1)
        bonus = torch.zeros(N, V + 1, dtype=torch.bool, device=scores.device)
        bonus.scatter_(1, torch.where(give, ids, V).flatten(1), True)
        out = out + copy_bias * bonus[:, :V].to(out.dtype)
    if follow_bias and ids is not None:
        nxt = follow  # [N, K]
        if nxt is None:  # source [N, S] -> [N, K]
            nxt = follow_tokens(generated, ids[..., 0], start_id, eos_id)
        cont = torch.zeros(N, V + 1, dtype=torch.bool, device=scores.device)
        cont.scatter_(1, torch.where(nxt.ge(0) & nxt.lt(V), nxt, V), True)
        out = out + follow_bias * cont[:, :V].to(out.dtype)
    return out


def task_steer(task, copy_ids: Tensor | None, start_id: int | None, eos_id: int | None = None):
    """``steer(generated, scores) -> scores`` for ``task``'s decoding settings, or None when it
    has none (:attr:`ttune.tasks.Task.steers`); the decoders call it at every step. ``eos_id``
    ends a copy that reached the source's end (:func:`follow_tokens`). ``steer`` takes the
    follow tokens as a third argument when they are already known."""
    if not task.steers:
        return None
    spend = task.copy_from == "name"

    def steer(generated: Tensor, scores: Tensor, follow: Tensor | None = None) -> Tensor:
        return steer_scores(
            scores,
            generated,
            copy_ids,
            task.copy_bias,
            task.repeat_penalty,
            start_id,
            spend,
            task.follow_bias,
            eos_id,
            follow,
        )

    return steer


def teacher_forced_follow(
    target: Tensor,
    source: Tensor,
    start_id: int | None = None,
    eos_id: int | None = None,
    longest: int = FOLLOW_LONGEST,
    skip: int = FOLLOW_SKIP,
) -> Iterator[Tensor]:
    """:func:`follow_tokens` of every prefix of ``target`` ``[N, L]`` (-100 or any negative id
    after a row's end), in order: at position ``t`` those of the first ``t`` target tokens
    (after ``start_id``), ``[N, K]`` with -1 for none. Computed incrementally, as a training loss
    needs them: ``m[n, j]``, the length of the common suffix of the prefix and ``source[n, :j +
    1]``, takes one comparison per position (``m_t[j] = [y_t = x_j] (m_{t-1}[j - 1] + 1)``)
    instead of one per suffix length."""
    N, S = source.shape
    dev = source.device
    ext = _source_then_eos(source, skip, eos_id)
    y = target.masked_fill(target.lt(0), -2)  # never equal to a source id or its -1 padding
    history: list[Tensor] = []  # m for the last skip + 1 prefixes, the newest last
    m = torch.zeros(N, S, dtype=torch.long, device=dev)
    for t in range(target.shape[1]):
        if t == 0:
            yield source[:, :1].clone() if start_id is not None and S else source[:, :0].clone()
        else:
            shifted = torch.cat([m.new_zeros(N, 1), m[:, :-1]], 1)
            m = torch.where(source == y[:, t - 1 : t], shifted + 1, 0)
            history = (history + [m.clamp(max=longest)])[-(skip + 1) :]
            outs: list[Tensor] = []
            found = torch.zeros(N, dtype=torch.bool, device=dev)
            for o in range(min(skip, t - 1) + 1):
                mc = history[-1 - o]
                best = mc.max(1, keepdim=True).values
                end = (mc == best) & best.ge(1 if o == 0 else 2) & ~found[:, None]
                outs.append(torch.where(end, ext[:, 1 : S + 1], -1))
                if o:
                    outs.append(torch.where(end, ext[:, 1 + o : S + 1 + o], -1))
                found |= end.any(1)
            yield torch.cat(outs, 1)


def steered_cross_entropy(
    logits: Tensor,
    labels: Tensor,
    steer,
    start_id: int | None = None,
    follow: Iterable[Tensor] | None = None,
) -> Tensor:
    """Mean cross-entropy per target token of the scores decoding would see: at position ``t``,
    ``steer(generated, logits[:, t], follow_t)`` (:func:`task_steer`) where ``generated`` is the
    target's first ``t`` tokens (teacher forcing), after ``start_id`` for an encoder-decoder,
    and ``follow_t`` the ``t``-th of ``follow`` (:func:`teacher_forced_follow`; None: steer
    finds them itself).

    Shapes: ``logits`` ``[B, L, V]``, ``labels`` ``[B, L]`` (-100: no target; only at the end
    of a row) -> a scalar. With ``steer`` adding nothing it equals the model's own loss.
    Positions are taken one at a time, so no ``[B, L, V]`` bias is held."""
    B, L, _V = logits.shape
    keep = labels.ne(-100)
    prefix = labels.masked_fill(~keep, 0)
    if start_id is not None:
        prefix = torch.cat([labels.new_full((B, 1), start_id), prefix], 1)
    shift = 0 if start_id is None else 1
    follows = iter(follow) if follow is not None else None
    total = logits.new_zeros((), dtype=torch.float32)
    steps = logits.unbind(1)  # one backward for all positions (indexing would make L)
    for t in range(L):
        f = next(follows) if follows is not None else None
        if not keep[:, t].any():
            continue
        scores = steer(prefix[:, : t + shift], steps[t].float(), f)
        total = total + F.cross_entropy(scores, labels[:, t], ignore_index=-100, reduction="sum")
    return total / keep.sum().clamp(min=1)


def sequence_logprob(logits: Tensor, labels: Tensor) -> Tensor:
    """``[N]``: the log-probability of each row's target, the sum over its positions of the
    log-softmax of ``logits`` ``[N, L, V]`` at ``labels`` ``[N, L]`` (-100 and other negative
    ids: not scored). An encoder-decoder's logits line up with its labels; a causal LM's are
    shifted first by the caller. What a task that reranks candidates (``Task.rerank``) compares."""
    keep = labels >= 0
    logp = torch.log_softmax(logits.float(), -1)
    picked = logp.gather(2, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)  # [N, L]
    return (picked * keep).sum(1)
