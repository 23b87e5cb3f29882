r"""A T5 encoder-decoder in plain torch, for inference: the forward pass of Hugging Face's
``T5ForConditionalGeneration`` (eval mode) and greedy decoding with a key/value cache, reading the
same ``config.json`` and ``model.safetensors`` without importing transformers; beam search as
transformers' ``generate`` runs it.

One block, pre-norm (:class:`ttune.transducer.RMSNorm`: scale only, no bias, no mean):

.. math::
    h &= h + \mathrm{Attn}(\mathrm{LN}(h)) \qquad \text{(self; causal in the decoder)} \\
    h &= h + \mathrm{Attn}(\mathrm{LN}(h), \mathrm{enc}) \qquad \text{(decoder only)} \\
    h &= h + W_o\, \mathrm{act}(W_i\, \mathrm{LN}(h))

Attention is unscaled (T5 folds the scale into its weights) and adds a learned relative-position
bias, bucketed as in Mesh TensorFlow, computed by the first block of each stack and shared by the
others. With tied embeddings the decoder output is scaled by ``d_model ** -0.5`` before the LM head.
Attention runs through ``scaled_dot_product_attention`` with the bias as its additive mask, as
transformers' default (sdpa) implementation does, so logits agree to float rounding.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from safetensors.torch import load_file
from torch import Tensor, nn
from torch.nn import functional as F

from ttune.transducer.gve import RMSNorm


class LiteT5Error(ValueError):
    """A backbone this module cannot run (not a T5, an unsupported activation). One line."""


@dataclass
class T5Config:
    """The fields of a T5 ``config.json`` that inference reads."""

    vocab_size: int
    """Rows of the token embedding (and of the LM head)."""
    d_model: int
    """Width of the residual stream."""
    d_kv: int
    """Width of one attention head."""
    d_ff: int
    """Width inside the feed-forward layer."""
    num_layers: int
    """Encoder blocks."""
    num_decoder_layers: int
    """Decoder blocks."""
    num_heads: int
    """Attention heads per layer."""
    relative_attention_num_buckets: int = 32
    """Buckets of relative positions (half per direction in the encoder)."""
    relative_attention_max_distance: int = 128
    """Distance from which all relative positions share the last bucket."""
    layer_norm_epsilon: float = 1e-6
    """Added to the mean square in the RMS norms."""
    gated: bool = False
    """Gated feed-forward (``gated-gelu``: ``act(W_i0 x) * W_i1 x``)."""
    activation: Literal["relu", "gelu_new"] = "relu"
    """``relu`` or ``gelu_new`` (tanh approximation)."""
    tie_word_embeddings: bool = True
    """The LM head is the token embedding (else a separate ``lm_head``)."""
    scale_decoder_outputs: bool = True
    """Scale the decoder output by ``d_model ** -0.5`` before the LM head (tied embeddings)."""
    pad_token_id: int = 0
    """Padding id; also fills finished rows of greedy output."""
    eos_token_id: int = 1
    """End of sequence: a row that emits it is finished."""
    decoder_start_token_id: int = 0
    """First decoder input."""

    @classmethod
    def from_json(cls, d: dict) -> T5Config:
        """From a parsed ``config.json``; LiteT5Error when it is not a supported T5."""
        if d.get("model_type") != "t5" or not d.get("is_encoder_decoder", True):
            raise LiteT5Error(f"not a T5 encoder-decoder (model_type {d.get('model_type')!r})")
        proj = str(d.get("feed_forward_proj", "relu"))
        gated = proj.startswith("gated-")
        act = proj.removeprefix("gated-")
        act = "gelu_new" if act == "gelu" and gated else act  # transformers' T5 rule
        if act not in ("relu", "gelu_new"):
            raise LiteT5Error(f"unsupported feed_forward_proj {proj!r}")
        tie = bool(d.get("tie_word_embeddings", True))
        eos = d.get("eos_token_id", 1)
        return cls(
            vocab_size=int(d["vocab_size"]),
            d_model=int(d["d_model"]),
            d_kv=int(d["d_kv"]),
            d_ff=int(d["d_ff"]),
            num_layers=int(d["num_layers"]),
            num_decoder_layers=int(d.get("num_decoder_layers") or d["num_layers"]),
            num_heads=int(d["num_heads"]),
            relative_attention_num_buckets=int(d.get("relative_attention_num_buckets", 32)),
            relative_attention_max_distance=int(d.get("relative_attention_max_distance", 128)),
            layer_norm_epsilon=float(d.get("layer_norm_epsilon", 1e-6)),
            gated=gated,
            activation=act,
            tie_word_embeddings=tie,
            scale_decoder_outputs=bool(d.get("scale_decoder_outputs", tie)),
            pad_token_id=int(d.get("pad_token_id", 0) or 0),
            eos_token_id=int(eos[0] if isinstance(eos, list) else eos),
            decoder_start_token_id=int(d.get("decoder_start_token_id", 0) or 0),
        )


def relative_bucket(relative: Tensor, bidirectional: bool, num_buckets: int, max_distance: int):
    """Bucket of each relative position (key - query): exact for small distances, logarithmic
    up to ``max_distance``; the encoder's buckets are split by sign."""
    buckets = torch.zeros_like(relative)
    if bidirectional:
        num_buckets //= 2
        buckets += (relative > 0).long() * num_buckets
        relative = relative.abs()
    else:
        relative = -torch.min(relative, torch.zeros_like(relative))
    max_exact = num_buckets // 2
    large = (
        max_exact
        + (
            torch.log(relative.float() / max_exact)
            / math.log(max_distance / max_exact)
            * (num_buckets - max_exact)
        ).long()
    )
    large = torch.min(large, torch.full_like(large, num_buckets - 1))
    return buckets + torch.where(relative < max_exact, relative, large)


class Attention(nn.Module):
    """Multi-head attention without scaling; ``bias`` is the additive ``[1 or B, H, Tq, Tk]``
    mask (relative positions and padding). Shapes: q ``[B, Tq, d]``, kv ``[B, Tk, d]``."""

    def __init__(self, cfg: T5Config) -> None:
        super().__init__()
        inner = cfg.num_heads * cfg.d_kv
        self.n_heads, self.d_kv = cfg.num_heads, cfg.d_kv
        self.q = nn.Linear(cfg.d_model, inner, bias=False)
        self.k = nn.Linear(cfg.d_model, inner, bias=False)
        self.v = nn.Linear(cfg.d_model, inner, bias=False)
        self.o = nn.Linear(inner, cfg.d_model, bias=False)

    def heads(self, x: Tensor) -> Tensor:
        B, T, _ = x.shape
        return x.view(B, T, self.n_heads, self.d_kv).transpose(1, 2)  # [B, H, T, d_kv]

    def forward(self, x: Tensor, k: Tensor, v: Tensor, bias: Tensor) -> Tensor:
        B, T, _ = x.shape
        q = self.heads(self.q(x))  # [B, H, Tq, d_kv]
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=1.0)  # [B, H, Tq, d_kv]
        return self.o(y.transpose(1, 2).reshape(B, T, -1))


class FeedForward(nn.Module):
    """``W_o act(W_i x)``, or gated ``W_o (act(W_i0 x) * W_i1 x)``. Shapes: ``[B, T, d]``."""

    def __init__(self, cfg: T5Config) -> None:
        super().__init__()
        self.gated = cfg.gated
        if cfg.gated:
            self.wi_0 = nn.Linear(cfg.d_model, cfg.d_ff, bias=False)
            self.wi_1 = nn.Linear(cfg.d_model, cfg.d_ff, bias=False)
        else:
            self.wi = nn.Linear(cfg.d_model, cfg.d_ff, bias=False)
        self.wo = nn.Linear(cfg.d_ff, cfg.d_model, bias=False)
        self.act = nn.ReLU() if cfg.activation == "relu" else nn.GELU(approximate="tanh")

    def forward(self, x: Tensor) -> Tensor:
        if self.gated:
            return self.wo(self.act(self.wi_0(x)) * self.wi_1(x))
        return self.wo(self.act(self.wi(x)))


class Block(nn.Module):
    """One encoder block (self-attention, feed-forward) or decoder block (plus cross-attention)."""

    def __init__(self, cfg: T5Config, decoder: bool) -> None:
        super().__init__()
        eps = cfg.layer_norm_epsilon
        self.ln_self, self.self_attn = RMSNorm(cfg.d_model, eps), Attention(cfg)
        if decoder:
            self.ln_cross, self.cross_attn = RMSNorm(cfg.d_model, eps), Attention(cfg)
        self.ln_ff, self.ff = RMSNorm(cfg.d_model, eps), FeedForward(cfg)


def padding_bias(mask: Tensor, dtype: torch.dtype) -> Tensor:
    """Additive mask of padded keys: ``[B, Tk]`` 1/0 -> ``[B, 1, 1, Tk]`` 0 / dtype's minimum."""
    return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


class T5(nn.Module):
    """T5 for inference: :meth:`encode`, :meth:`decode_step` (cached), :meth:`forward` (logits of
    a whole decoder input, for tests).

    Shapes:
        - inputs_embeds: ``[B, T, d]``; attention_mask: ``[B, T]``
        - decoder_input_ids: ``[B, L]``; logits: ``[B, L, vocab]``
    """

    def __init__(self, cfg: T5Config) -> None:
        super().__init__()
        self.cfg = cfg
        self.shared = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.encoder = nn.ModuleList(Block(cfg, decoder=False) for _ in range(cfg.num_layers))
        self.decoder = nn.ModuleList(
            Block(cfg, decoder=True) for _ in range(cfg.num_decoder_layers)
        )
        self.enc_bias = nn.Embedding(cfg.relative_attention_num_buckets, cfg.num_heads)
        self.dec_bias = nn.Embedding(cfg.relative_attention_num_buckets, cfg.num_heads)
        self.enc_ln = RMSNorm(cfg.d_model, cfg.layer_norm_epsilon)
        self.dec_ln = RMSNorm(cfg.d_model, cfg.layer_norm_epsilon)
        if not cfg.tie_word_embeddings:
            self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)

    def get_input_embeddings(self) -> nn.Embedding:
        return self.shared

    def position_bias(self, table: nn.Embedding, q_len: int, k_len: int, past: int, bidi: bool):
        """``[1, H, q_len, k_len]`` relative-position bias of queries ``past..past+q_len``."""
        device = table.weight.device
        ctx = torch.arange(q_len, device=device)[:, None] + past
        mem = torch.arange(k_len, device=device)[None, :]
        c = self.cfg
        buckets = relative_bucket(
            mem - ctx, bidi, c.relative_attention_num_buckets, c.relative_attention_max_distance
        )
        return table(buckets).permute(2, 0, 1).unsqueeze(0)

    def encode(self, inputs_embeds: Tensor, attention_mask: Tensor) -> Tensor:
        """Encoder output ``[B, T, d]``."""
        h = inputs_embeds
        T = h.shape[1]
        bias = self.position_bias(self.enc_bias, T, T, 0, True) + padding_bias(
            attention_mask, h.dtype
        )  # [B, H, T, T]
        for blk in self.encoder:
            x = blk.ln_self(h)
            att = blk.self_attn
            h = h + att(x, att.heads(att.k(x)), att.heads(att.v(x)), bias)
            h = h + blk.ff(blk.ln_ff(h))
        return self.enc_ln(h)

    def cross_cache(self, enc: Tensor) -> list[tuple[Tensor, Tensor]]:
        """Keys and values of the encoder output for each decoder block's cross-attention."""
        return [
            (b.cross_attn.heads(b.cross_attn.k(enc)), b.cross_attn.heads(b.cross_attn.v(enc)))
            for b in self.decoder
        ]

    def decode_step(
        self,
        ids: Tensor,
        cross: list[tuple[Tensor, Tensor]],
        enc_mask: Tensor,
        cache: list[tuple[Tensor, Tensor]] | None,
    ) -> tuple[Tensor, list[tuple[Tensor, Tensor]]]:
        """Logits ``[B, L, vocab]`` of the decoder tokens ``ids`` ``[B, L]`` that follow the
        ``cache`` (keys/values of earlier tokens per block, None at the start), and the new cache.
        A whole decoder input at once (``cache=None``) attends causally."""
        h = self.shared(ids)
        L = ids.shape[1]
        past = 0 if cache is None else cache[0][0].shape[2]
        bias = self.position_bias(self.dec_bias, L, past + L, past, False)  # [1, H, L, past+L]
        if L > 1:
            causal = torch.ones(L, past + L, dtype=torch.bool, device=h.device).tril(past)
            bias = bias.masked_fill(~causal, torch.finfo(h.dtype).min)
        cross_bias = padding_bias(enc_mask, h.dtype)  # [B, 1, 1, T]
        new_cache = []
        for i, blk in enumerate(self.decoder):
            x = blk.ln_self(h)
            att = blk.self_attn
            k, v = att.heads(att.k(x)), att.heads(att.v(x))
            if cache is not None:
                k, v = torch.cat([cache[i][0], k], 2), torch.cat([cache[i][1], v], 2)
            new_cache.append((k, v))
            h = h + att(x, k, v, bias)
            h = h + blk.cross_attn(blk.ln_cross(h), *cross[i], cross_bias)
            h = h + blk.ff(blk.ln_ff(h))
        h = self.dec_ln(h)
        if self.cfg.scale_decoder_outputs:
            h = h * self.cfg.d_model**-0.5
        head = self.shared.weight if self.cfg.tie_word_embeddings else self.lm_head.weight
        return h @ head.t(), new_cache

    def forward(
        self, inputs_embeds: Tensor, attention_mask: Tensor, decoder_input_ids: Tensor
    ) -> Tensor:
        enc = self.encode(inputs_embeds, attention_mask)
        logits, _ = self.decode_step(decoder_input_ids, self.cross_cache(enc), attention_mask, None)
        return logits


def ban_repeated_ngrams(ids: Tensor, scores: Tensor, n: int) -> Tensor:
    """``scores`` ``[B, V]`` with -inf on every token that would repeat an ``n``-gram of ``ids``
    ``[B, L]`` (transformers' ``NoRepeatNGramLogitsProcessor``)."""
    L, V = ids.shape[1], scores.shape[-1]
    if L < n:
        return scores
    prefix = ids[:, L + 1 - n :]  # [B, n-1]
    windows = ids.unfold(1, n, 1)  # [B, L-n+1, n]
    matches = (windows[..., :-1] == prefix.unsqueeze(1)).all(-1)  # [B, L-n+1]
    banned = scores.new_zeros((scores.shape[0], V + 1), dtype=torch.bool)
    banned.scatter_(1, torch.where(matches, windows[..., -1].clamp(max=V), V), True)
    return scores.masked_fill(banned[:, :V], -float("inf"))


@torch.no_grad()
def greedy(
    model: T5,
    inputs_embeds: Tensor,
    attention_mask: Tensor,
    max_new_tokens: int,
    no_repeat_ngram_size: int = 0,
    should_stop=None,
    steer=None,
) -> Tensor:
    """Greedy decoding as transformers' ``generate(num_beams=1)``: ``[B, 1 + n]`` ids starting
    with the decoder start token, finished rows padded with the pad id. ``should_stop()`` is
    polled after each step; True ends decoding early. ``steer(ids, scores)`` (``[B, L]``, ``[B,
    V]`` -> ``[B, V]``) changes each step's scores after the n-gram ban, as a logits processor
    passed to ``generate`` does."""
    c = model.cfg
    B = inputs_embeds.shape[0]
    enc = model.encode(inputs_embeds, attention_mask)
    cross = model.cross_cache(enc)
    ids = torch.full((B, 1), c.decoder_start_token_id, dtype=torch.long, device=enc.device)
    running = torch.ones(B, dtype=torch.bool, device=enc.device)
    cache = None
    step_ids = ids
    for _ in range(max_new_tokens):
        logits, cache = model.decode_step(step_ids, cross, attention_mask, cache)
        scores = logits[:, -1, :].float()  # [B, V]
        if no_repeat_ngram_size:
            scores = ban_repeated_ngrams(ids, scores, no_repeat_ngram_size)
        if steer is not None:
            scores = steer(ids, scores)
        nxt = scores.argmax(-1)
        nxt = torch.where(running, nxt, torch.full_like(nxt, c.pad_token_id))
        ids = torch.cat([ids, nxt[:, None]], 1)
        running &= nxt != c.eos_token_id
        step_ids = nxt[:, None]
        if not running.any() or (should_stop is not None and should_stop()):
            break
    return ids


def _gather(t: Tensor, idx: Tensor) -> Tensor:
    """Rows ``idx`` ``[B, k]`` of each batch entry of ``t`` ``[B, n, ...]`` -> ``[B, k, ...]``."""
    return t[torch.arange(t.shape[0], device=t.device)[:, None], idx]


@torch.no_grad()
def beam_search(
    model: T5,
    inputs_embeds: Tensor,
    attention_mask: Tensor,
    max_new_tokens: int,
    num_beams: int,
    no_repeat_ngram_size: int = 0,
    should_stop=None,
    steer=None,
) -> Tensor:
    """Beam search as transformers' ``generate(num_beams=K)`` with its defaults (length penalty
    1, ``early_stopping=False``, one sequence returned): ``[B, 1 + n]`` ids; ``steer`` as in
    :func:`greedy`, on the ``[B*K, V]`` log-probabilities. Each step keeps the
    2K best continuations of the K running beams; those ending in EOS (or at the length limit)
    among the first K compete for the K finished slots by score / length, the others continue.
    Decoding ends when no running beam can beat the worst finished one at its current length."""
    c, K = model.cfg, num_beams
    B, dev = inputs_embeds.shape[0], inputs_embeds.device
    max_len = 1 + max_new_tokens
    enc = model.encode(inputs_embeds, attention_mask).repeat_interleave(K, 0)  # [B*K, T, d]
    mask = attention_mask.repeat_interleave(K, 0)
    cross = model.cross_cache(enc)
    fill = c.pad_token_id or c.eos_token_id  # transformers' fill value of unused positions
    running = torch.full((B, K, max_len), fill, dtype=torch.long, device=dev)
    running[:, :, 0] = c.decoder_start_token_id
    finished = running.clone()
    running_scores = torch.zeros(B, K, device=dev)
    running_scores[:, 1:] = -1e9  # all beams start equal: only the first may expand
    finished_scores = torch.full((B, K), -1e9, device=dev)
    is_finished = torch.zeros(B, K, dtype=torch.bool, device=dev)
    running_parents = torch.full((B, K, max_new_tokens), -1, dtype=torch.long, device=dev)
    finished_parents = running_parents.clone()
    can_improve = torch.ones(B, 1, dtype=torch.bool, device=dev)
    first_k = torch.arange(2 * K, device=dev) < K
    offset = torch.arange(B, device=dev)[:, None] * K
    cache, cur = None, 1
    while True:
        flat = running[:, :, :cur].reshape(B * K, cur)
        logits, cache = model.decode_step(flat[:, -1:], cross, mask, cache)
        log_probs = logits[:, -1, :].float().log_softmax(-1)  # [B*K, V]
        if no_repeat_ngram_size:
            log_probs = ban_repeated_ngrams(flat, log_probs, no_repeat_ngram_size)
        if steer is not None:
            log_probs = steer(flat, log_probs)
        V = log_probs.shape[-1]
        total = (log_probs.view(B, K, V) + running_scores[:, :, None]).view(B, K * V)
        top_scores, top_idx = total.topk(2 * K)  # [B, 2K]
        parent = top_idx // V
        top_seqs = _gather(running, parent)
        top_seqs[:, :, cur] = top_idx % V
        top_parents = _gather(running_parents, parent)
        top_parents[:, :, cur - 1] = parent + offset
        ends = (top_idx % V == c.eos_token_id) | (cur + 1 >= max_len)  # [B, 2K]
        # The K best continuations that do not end keep running.
        keep_scores = top_scores + ends.float() * -1e9
        keep = keep_scores.topk(K)[1]
        running = _gather(top_seqs, keep)
        running_scores = _gather(keep_scores, keep)
        running_parents = _gather(top_parents, keep)
        # Ending continuations among the first K compete with the finished beams.
        new_done = ends & first_k
        done_scores = top_scores / cur  # length penalty 1: score per generated token
        done_scores = done_scores + (~can_improve).float() * -1e9 + (~new_done) * -1e9
        best = torch.cat([finished_scores, done_scores], 1).topk(K)[1]
        finished = _gather(torch.cat([finished, top_seqs], 1), best)
        finished_scores = _gather(torch.cat([finished_scores, done_scores], 1), best)
        finished_parents = _gather(torch.cat([finished_parents, top_parents], 1), best)
        is_finished = _gather(torch.cat([is_finished, new_done], 1), best)
        order = running_parents[:, :, cur - 1].reshape(-1)  # [B*K] cache row of each beam
        cache = [(k[order], v[order]) for k, v in cache]
        cur += 1
        best_running = running_scores[:, :1] / (cur - 1)
        worst_done = torch.where(is_finished, finished_scores.min(1, keepdim=True)[0], -1e9)
        can_improve = can_improve & (best_running > worst_done).any(-1, keepdim=True)
        if not can_improve.any() or ends.all() or (should_stop is not None and should_stop()):
            break
    length = int((finished_parents[:, 0] >= 0).sum(1).max())
    return finished[:, 0, : 1 + length]


_RENAMES = [
    (
        r"^(encoder|decoder)\.block\.0\.layer\.0\.SelfAttention\.relative_attention_bias\.",
        r"\1_bias_table.",
    ),
    (r"^(encoder|decoder)\.block\.(\d+)\.layer\.0\.SelfAttention\.", r"\1.\2.self_attn."),
    (r"^(encoder|decoder)\.block\.(\d+)\.layer\.0\.layer_norm\.", r"\1.\2.ln_self."),
    (r"^decoder\.block\.(\d+)\.layer\.1\.EncDecAttention\.", r"decoder.\1.cross_attn."),
    (r"^decoder\.block\.(\d+)\.layer\.1\.layer_norm\.", r"decoder.\1.ln_cross."),
    (r"^encoder\.block\.(\d+)\.layer\.1\.DenseReluDense\.", r"encoder.\1.ff."),
    (r"^encoder\.block\.(\d+)\.layer\.1\.layer_norm\.", r"encoder.\1.ln_ff."),
    (r"^decoder\.block\.(\d+)\.layer\.2\.DenseReluDense\.", r"decoder.\1.ff."),
    (r"^decoder\.block\.(\d+)\.layer\.2\.layer_norm\.", r"decoder.\1.ln_ff."),
    (r"^encoder\.final_layer_norm\.", "enc_ln."),
    (r"^decoder\.final_layer_norm\.", "dec_ln."),
    (r"^encoder_bias_table\.", "enc_bias."),
    (r"^decoder_bias_table\.", "dec_bias."),
]


def from_hf_state_dict(sd: dict[str, Tensor]) -> dict[str, Tensor]:
    """transformers' T5 parameter names -> this module's (tied copies of the embedding and the
    decoder's unused cross-attention bias dropped)."""
    out = {}
    for name, t in sd.items():
        if name.startswith(("encoder.embed_tokens.", "decoder.embed_tokens.")):
            continue
        if "EncDecAttention.relative_attention_bias" in name:
            continue
        for pattern, repl in _RENAMES:
            name = re.sub(pattern, repl, name)
        out[name] = t
    return out


def load_hf_weights(model: T5, sd: dict[str, Tensor]) -> None:
    """Put a transformers T5 state dict (``shared.weight``, ``encoder.block.0...``) into
    ``model``, in float32; LiteT5Error unless it fills every parameter and nothing else."""
    sd = {k: v.float() for k, v in from_hf_state_dict(sd).items()}
    missing, unexpected = model.load_state_dict(sd, strict=False)
    if missing or unexpected:
        raise LiteT5Error(
            f"weights do not fit this T5: missing {missing[:3]}, unexpected {unexpected[:3]}"
        )


def load_t5(folder: str | Path, device: str = "cpu") -> T5:
    """The T5 of a saved transformers folder (``config.json`` + ``model.safetensors``), in
    float32 and eval mode, every parameter frozen. LiteT5Error when it is not one."""
    folder = Path(folder)
    try:
        cfg = T5Config.from_json(json.loads((folder / "config.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise LiteT5Error(f"cannot read {folder / 'config.json'}: {e}") from None
    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise LiteT5Error(f"no model.safetensors in {folder}")
    raw = load_file(str(weights))
    if "shared.weight" not in from_hf_state_dict(raw):
        raise LiteT5Error(f"{weights} holds no shared embedding")
    model = T5(cfg)
    try:
        load_hf_weights(model, raw)
    except LiteT5Error as e:
        raise LiteT5Error(f"{weights}: {e}") from None
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval().to(device)
