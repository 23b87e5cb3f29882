"""The pretraining run: corpus -> byte-level BPE -> packed windows -> T5 span corruption with AdamW
(or, with a decoder-only ``arch``, next-token prediction on a Mamba or Llama-style causal LM).

Output folder (``PretrainConfig.output_dir``)::

    pretrain_config.json        the run's config and seed (checked when the same command runs again)
    corpus.json                 sources, byte counts, the files / record ids taken, fingerprint
    tokenizer/                  the trained tokenizer (reused on resume)
    corpus_tokens.safetensors   the tokenized corpus, int32 [N] (reused on resume)
    log.jsonl                   one JSON line per log / evaluation / resume event
    checkpoints/step-N/         model.safetensors, trainer_state.safetensors + .json (atomic)
    backbone/                   the result: save_pretrained (safetensors), tokenizer, model_card.md

Determinism: the batch of step s and its noise are pure functions of (seed, s) -- window order is a
seeded permutation per epoch, the noise of window j of step s comes from
``default_rng([seed, 2, s, j])`` -- and the torch RNG is saved with each checkpoint, so a killed
run resumed from its checkpoint ends with the same weights as one that was never interrupted.

Several processes (``torchrun``, :mod:`ttune.dist`): each reads its rows of every step's batch,
the gradients are summed over the processes, the held-out passes are split by batch, and only the
main process writes (corpus, tokenizer, checkpoints, log, backbone).
"""

from __future__ import annotations

import json
import logging
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, load_model, save_file, save_model
from tqdm.auto import tqdm
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoTokenizer,
    LlamaConfig,
    MambaConfig,
    T5Config,
    T5ForConditionalGeneration,
)

from ttune import dist
from ttune.backbone import build_tokenizer, save_backbone
from ttune.io import atomic_dir, atomic_write_text, remove_stale_temps
from ttune.options import resolve_device
from ttune.pretrain.config import SUPERVISED, PretrainConfig, PretrainError, shape_name
from ttune.pretrain.corpus import (
    LICENCES,
    build_corpus,
    build_pairs,
    site_package_licences,
    tokenizer_sample,
)
from ttune.pretrain.objectives import (
    PairOrder,
    Pairs,
    objective_of,
    pack_pairs,
    prefix_lm,
    task_pairs,
)
from ttune.pretrain.spans import corrupt_batch, corrupted_lengths, span_counts
from ttune.runs import (
    STATE_FORMAT,
    RunFolder,
    latest_checkpoint,
    lr_multiplier,
    new_checkpoint,
    optimizer_from_tensors,
    resolve_precision,
    set_rng_state,
    write_trainer_state,
)
from ttune.scan import use_linear_scan
from ttune.train.inference import evaluating

log = logging.getLogger(__name__)

NUM_SENTINELS = 100


MAX_SKIPPED_IN_A_ROW = 10
"""Steps in a row with a non-finite loss or gradient after which a run stops (each is skipped)."""


def _say(msg: str) -> None:
    if dist.is_main():
        print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ precision
def autocast(device, precision: str):
    """The forward pass's autocast context (a no-op for fp32)."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def model_loss(model, x, mask, y):
    """The model's mean loss on (inputs, attention mask or None, labels); a causal LM's labels
    share the inputs' positions (the model shifts them) and it keeps no cache while training."""
    extra = {} if model.config.is_encoder_decoder else {"use_cache": False}
    return model(input_ids=x, attention_mask=mask, labels=y, **extra).loss


# ------------------------------------------------------------------ schedule
def lr_at(cfg: PretrainConfig, step: int) -> float:
    """Learning rate of optimizer step ``step`` (0-based): linear warm-up, then the schedule."""
    return cfg.lr * lr_multiplier(
        step, cfg.max_steps, cfg.warmup_steps, cfg.schedule, cfg.min_lr_ratio
    )


# ------------------------------------------------------------------ corpus + tokenizer (cached)
def prepare_data(cfg: PretrainConfig, out: Path):
    """(tokenizer, token ids int32 [N], corpus info) -- built once, then read from ``out``."""
    info_p, tok_dir, ids_p = (
        out / "corpus.json",
        out / "tokenizer",
        out / "corpus_tokens.safetensors",
    )
    if info_p.is_file() and ids_p.is_file() and (tok_dir / "tokenizer.json").is_file():
        info = json.loads(info_p.read_text(encoding="utf-8"))
        if info.get("key") == cfg.corpus_key():
            tok = AutoTokenizer.from_pretrained(str(tok_dir), use_fast=True, local_files_only=True)
            ids = load_file(str(ids_p))["ids"]
            _say(f"pretrain: reusing the corpus in {out} ({info['tokens']:,} tokens)")
            return tok, ids, info

    _say("pretrain: sampling the corpus ...")
    t0 = time.perf_counter()
    corpus = build_corpus(cfg, say=_say)
    _say(
        f"pretrain: corpus of {corpus.total_bytes():,} bytes in {len(corpus.chunks):,} chunks "
        f"({time.perf_counter() - t0:.0f} s); "
        + (
            "reading the tokenizer of " + cfg.init_from
            if cfg.init_from
            else "training the tokenizer ..."
        )
    )
    t0 = time.perf_counter()
    if cfg.init_from:
        tok = AutoTokenizer.from_pretrained(cfg.init_from, use_fast=True, local_files_only=True)
    else:
        tok = build_tokenizer(
            tokenizer_sample(corpus, cfg.tokenizer_bytes, cfg.seed),
            vocab_size=cfg.vocab_size,
            extra_ids=NUM_SENTINELS,
        )
    tok.save_pretrained(str(tok_dir))
    _say(
        f"pretrain: tokenizer of {len(tok):,} tokens ({time.perf_counter() - t0:.0f} s); "
        f"tokenizing ..."
    )
    t0 = time.perf_counter()
    backend = tok.backend_tokenizer
    parts = []
    for i in range(0, len(corpus.chunks), 2000):  # each encoding ends with </s>
        parts.extend(
            np.asarray(e.ids, dtype=np.int32)
            for e in backend.encode_batch(corpus.chunks[i : i + 2000])
        )
    ids = torch.from_numpy(np.concatenate(parts)) if parts else torch.zeros(0, dtype=torch.int32)
    save_file({"ids": ids.contiguous()}, str(ids_p))
    _say(f"pretrain: {ids.numel():,} tokens ({time.perf_counter() - t0:.0f} s)")
    info = {
        "key": cfg.corpus_key(),
        "bytes": corpus.total_bytes(),
        "chunks": len(corpus.chunks),
        "tokens": int(ids.numel()),
        "tokenizer_size": len(tok),
        "fingerprint": corpus.fingerprint(),
        "sources": corpus.stats,
        "documents": corpus.names,
    }
    if "site-packages" in cfg.sources:  # the licences where the code was read, for the card
        info["site_package_licences"] = site_package_licences()
    atomic_write_text(info_p, json.dumps(info, indent=1) + "\n")
    return tok, ids, info


def prepare_pairs(cfg: PretrainConfig, out: Path, tok):
    """The supervised objectives' tokenized pairs (task -> ``objectives.Pairs``) and their stats --
    built once, then read from ``out/pairs_tokens.safetensors`` + ``out/pairs.json``; ({}, {}) when
    every supervised share is 0."""
    if not any(getattr(cfg, f"{t}_share") > 0 for t in SUPERVISED):
        return {}, {}
    info_p, ids_p = out / "pairs.json", out / "pairs_tokens.safetensors"
    fields = ("src", "src_off", "tgt", "tgt_off")
    if info_p.is_file() and ids_p.is_file():
        info = json.loads(info_p.read_text(encoding="utf-8"))
        if info.get("key") == cfg.pairs_key() and "tasks" in info:
            t = load_file(str(ids_p))
            _say(
                f"pretrain: reusing the supervised pairs in {out} "
                + ", ".join(f"{k} {v['pairs']:,}" for k, v in info["tasks"].items())
            )
            return {
                k: Pairs(*(t[f"{k}.{f}"].numpy() for f in fields), heldout=v["heldout"])
                for k, v in info["tasks"].items()
            }, info
    _say(
        "pretrain: collecting the supervised pairs (local functions with a doc, data-set "
        "training parts) ..."
    )
    t0 = time.perf_counter()
    records, heldout, stats = build_pairs(cfg, say=_say)
    texts = task_pairs(records, cfg.seed, heldout, causal=cfg.causal)
    limit = cfg.input_length if cfg.causal else None
    packed = {k: pack_pairs(tok, v, n, max_source=limit) for k, (v, n) in texts.items() if v}
    tensors = {
        f"{k}.{f}": torch.from_numpy(getattr(p, f)).contiguous()
        for k, p in packed.items()
        for f in fields
    }
    save_file(tensors, str(ids_p))
    info = {
        "key": cfg.pairs_key(),
        "sources": stats,
        "tasks": {
            k: {
                "pairs": len(p),
                "heldout": p.heldout,
                "source_tokens": int(len(p.src)),
                "target_tokens": int(len(p.tgt)),
            }
            for k, p in packed.items()
        },
    }
    atomic_write_text(info_p, json.dumps(info, indent=1) + "\n")
    _say(
        "pretrain: supervised pairs "
        + ", ".join(f"{k} {len(p):,}" for k, p in packed.items())
        + f" ({time.perf_counter() - t0:.0f} s)"
    )
    return packed, info


# ------------------------------------------------------------------ model
def causal_model_config(cfg: PretrainConfig, tokenizer):
    """The ``LlamaConfig`` / ``MambaConfig`` of a causal arch's sizes and the tokenizer's
    vocabulary (tied embeddings; BOS = EOS = </s>, pad <pad>)."""
    s = cfg.model_sizes()
    ids = dict(
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.eos_token_id,
    )
    if cfg.arch == "mamba":
        return MambaConfig(
            vocab_size=len(tokenizer),
            hidden_size=s["d_model"],
            num_hidden_layers=s["num_layers"],
            state_size=s["state_size"],
            expand=2,
            conv_kernel=4,
            use_bias=False,
            use_conv_bias=True,
            tie_word_embeddings=True,
            **ids,
        )
    return LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=s["d_model"],
        intermediate_size=s["d_ff"],
        num_hidden_layers=s["num_layers"],
        num_attention_heads=s["num_heads"],
        num_key_value_heads=s["num_heads"],
        max_position_embeddings=max(2048, cfg.input_length + cfg.code_target_length),
        attention_dropout=cfg.dropout,
        tie_word_embeddings=True,
        **ids,
    )


def _init_causal(cfg: PretrainConfig, tokenizer):
    """A causal arch's model: seeded random init, or the causal backbone ``cfg.init_from``."""
    if cfg.init_from:
        try:
            mt = AutoConfig.from_pretrained(cfg.init_from, local_files_only=True).model_type
            if mt != cfg.arch:
                raise ValueError(f"it is a {mt} model, not {cfg.arch}")
            model = AutoModelForCausalLM.from_pretrained(
                cfg.init_from, local_files_only=True, dtype=torch.float32
            )
        except (OSError, ValueError, KeyError) as e:
            raise PretrainError(
                f"init_from: cannot load {cfg.init_from}: {str(e).splitlines()[0]}"
            ) from None
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            model = AutoModelForCausalLM.from_config(causal_model_config(cfg, tokenizer))
    rows = model.get_input_embeddings().weight.shape[0]
    if rows != len(tokenizer):
        raise PretrainError(
            f"init_from: {cfg.init_from} has {rows} embeddings for a tokenizer "
            f"of {len(tokenizer)} tokens"
        )
    gc = model.generation_config
    gc.pad_token_id, gc.eos_token_id = tokenizer.pad_token_id, tokenizer.eos_token_id
    model.config.pad_token_id = tokenizer.pad_token_id
    return model


def init_model(cfg: PretrainConfig, tokenizer):
    """A freshly initialised T5 (seeded) of the config's sizes and the tokenizer's vocabulary, or
    the weights of ``cfg.init_from`` (as float32, dropout set to the config's); a causal LM with a
    decoder-only ``cfg.arch``."""
    if cfg.causal:
        return _init_causal(cfg, tokenizer)
    if cfg.init_from:
        try:
            model = T5ForConditionalGeneration.from_pretrained(
                cfg.init_from, local_files_only=True, dtype=torch.float32, dropout_rate=cfg.dropout
            )
        except (OSError, ValueError, KeyError) as e:
            raise PretrainError(
                f"init_from: cannot load {cfg.init_from}: {str(e).splitlines()[0]}"
            ) from None
        rows = model.get_input_embeddings().weight.shape[0]
        if rows != len(tokenizer):
            raise PretrainError(
                f"init_from: {cfg.init_from} has {rows} embeddings for a tokenizer "
                f"of {len(tokenizer)} tokens"
            )
        model.set_attn_implementation(cfg.attention)
        return model
    s = cfg.model_sizes()
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=s["d_model"],
        d_kv=s["d_model"] // s["num_heads"],
        d_ff=s["d_ff"],
        num_layers=s["num_layers"],
        num_decoder_layers=s["num_layers"],
        num_heads=s["num_heads"],
        feed_forward_proj="relu",
        dropout_rate=cfg.dropout,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        model = T5ForConditionalGeneration(config)
    model.set_attn_implementation(cfg.attention)
    gc = model.generation_config
    gc.pad_token_id, gc.eos_token_id = tokenizer.pad_token_id, tokenizer.eos_token_id
    gc.decoder_start_token_id = tokenizer.pad_token_id
    return model


def num_parameters(model) -> int:
    """Distinct parameters (the tied embedding / output matrix counted once)."""
    return sum(p.numel() for p in model.parameters())


# ------------------------------------------------------------------ data order
class EpochOrder:
    """Item ``g`` of an endless run of seeded permutations of ``range(n)``: epoch ``g // n`` is
    ``default_rng([seed, stream, epoch]).permutation(n)``; the current epoch's is cached."""

    def __init__(self, n: int, seed: int, stream: int) -> None:
        self.n, self.seed, self.stream = n, seed, stream
        self._epoch, self._perm = -1, np.zeros(0, dtype=np.int64)

    def __getitem__(self, g: int) -> int:
        epoch = g // self.n
        if epoch != self._epoch:
            self._epoch, self._perm = (
                epoch,
                np.random.default_rng([self.seed, self.stream, epoch]).permutation(self.n),
            )
        return int(self._perm[g % self.n])


class Windows:
    """Packed windows of the token stream, a held-out set and the batch of every step.

    Shapes: ``ids`` int32 [N] -> windows [N // L, L]; ``batch(step)`` -> (inputs int64 [B, Li],
    targets int64 [B, Lt]) with Li, Lt from :func:`corrupted_lengths`.
    """

    def __init__(self, cfg: PretrainConfig, ids, sentinel_ids: list[int], eos_id: int) -> None:
        L = cfg.input_length
        n = int(ids.numel()) // L
        if n < cfg.eval_windows + 1:
            raise PretrainError(
                f"the corpus gives {n} windows of {L} tokens; need more than "
                f"eval_windows={cfg.eval_windows} (raise corpus_bytes)"
            )
        self.cfg, self.sentinels, self.eos = cfg, sentinel_ids, eos_id
        self.windows = ids[: n * L].view(n, L).numpy()
        perm = np.random.default_rng([cfg.seed, 7]).permutation(n)
        self.eval_idx = np.sort(perm[: cfg.eval_windows])
        self.train_idx = np.sort(perm[cfg.eval_windows :])
        self._order = EpochOrder(len(self.train_idx), cfg.seed, 1)

    def __len__(self) -> int:
        return len(self.train_idx)

    def _corrupt(self, rows: np.ndarray, rngs):
        c = self.cfg
        return corrupt_batch(
            rows.astype(np.int64),
            rngs,
            self.sentinels,
            self.eos,
            c.noise_density,
            c.mean_span_length,
        )

    def rows(self, step: int) -> np.ndarray:
        """The uncorrupted windows of step ``step``. Shapes: int [B, L]."""
        B = self.cfg.batch_size
        return self.windows[self.train_idx[[self._order[step * B + j] for j in range(B)]]]

    def batch(self, step: int):
        rngs = [
            np.random.default_rng([self.cfg.seed, 2, step, j]) for j in range(self.cfg.batch_size)
        ]
        return self._corrupt(self.rows(step), rngs)

    def eval_batch(self):
        """The held-out windows as (inputs, labels): span-corrupted with fixed noise (t5), or the
        windows themselves twice (next-token prediction)."""
        if self.cfg.causal:
            x = self.windows[self.eval_idx].astype(np.int64)
            return x, x.copy()
        rngs = [np.random.default_rng([self.cfg.seed, 3, k]) for k in range(len(self.eval_idx))]
        return self._corrupt(self.windows[self.eval_idx], rngs)

    def epoch_of(self, step: int) -> float:
        return step * self.cfg.batch_size / len(self)


class StepBatches:
    """The batch of every optimizer step: its objective (``objectives.objective_of``), then
    (inputs, attention mask or None, labels) -- span corruption and prefix LM from the step's
    windows, a supervised task from its pairs (``objectives.PairOrder``, batch index = the step).
    Each task's last ``Pairs.heldout`` pairs (from held-out data-set records) are kept for its
    loss."""

    def __init__(
        self,
        cfg: PretrainConfig,
        windows: Windows,
        pairs: dict,
        sentinels: list[int],
        eos_id: int,
        pad_id: int,
    ) -> None:
        self.cfg, self.windows, self.pairs = cfg, windows, pairs
        self.sentinel, self.eos, self.pad = sentinels[0], eos_id, pad_id
        self.shares = cfg.shares()
        self.n_eval, self.n_train, self._orders = {}, {}, {}
        for k, name in enumerate(SUPERVISED):
            p = pairs.get(name)
            n = len(p) if p is not None else 0
            self.n_eval[name] = p.heldout if p is not None else 0
            self.n_train[name] = n - self.n_eval[name]
            if self.n_train[name]:
                lengths = p.lengths()[: self.n_train[name]] if cfg.bucket_pairs else None
                self._orders[name] = PairOrder(
                    self.n_train[name], cfg.batch_size, cfg.seed, 10 + k, lengths
                )

    def target_length(self, task: str) -> int:
        c = self.cfg
        return c.docstring_target_length if task == "summarize" else c.code_target_length

    def objective(self, step: int) -> str:
        """The objective of ``step``; a supervised one without training pairs falls back to span
        (to next-token prediction for a causal arch)."""
        obj = objective_of(step, self.cfg.seed, self.shares)
        return next(iter(self.shares)) if obj in SUPERVISED and not self.n_train[obj] else obj

    def _pair_batch(self, name: str, idx: np.ndarray):
        if self.cfg.causal:
            return self.pairs[name].causal_batch(idx, self.target_length(name), self.pad, self.eos)
        return self.pairs[name].batch(
            idx, self.cfg.input_length, self.target_length(name), self.pad, self.eos
        )

    def get(self, step: int):
        """(objective, inputs int64 [B, Li], mask int64 [B, Li] or None, labels int64 [B, Lt]);
        a causal arch's labels have the inputs' shape (-100 off the targets)."""
        c, obj = self.cfg, self.objective(step)
        if obj == "lm":
            x = self.windows.rows(step).astype(np.int64)
            return obj, x, None, x.copy()
        if obj == "span":
            x, y = self.windows.batch(step)
            return obj, x, None, y
        if obj == "prefix":
            x, y = prefix_lm(
                self.windows.rows(step), c.prefix_target_length, self.sentinel, self.eos
            )
            return obj, x.astype(np.int64), None, y.astype(np.int64)
        x, mask, y = self._pair_batch(obj, self._orders[obj][step])
        return obj, x, mask, y

    def eval_pairs(self) -> dict[str, tuple]:
        """task -> the held-out pairs' (inputs, mask, labels), for the tasks that have any."""
        out = {}
        for name, n in self.n_eval.items():
            if n:
                idx = np.arange(self.n_train[name], self.n_train[name] + n)
                out[name] = self._pair_batch(name, idx)
        return out

    def distinct_inputs(self) -> list[np.ndarray]:
        """The first ``distinct_sample`` held-out summarize inputs (token ids, unpadded)."""
        p = self.pairs.get("summarize")
        n = min(self.cfg.distinct_sample, self.n_eval.get("summarize", 0))
        if p is None or not n:
            return []
        L = self.cfg.input_length
        return [
            p.src[p.src_off[i] : p.src_off[i + 1]][:L].astype(np.int64)
            for i in range(self.n_train["summarize"], self.n_train["summarize"] + n)
        ]


def distinct_share(
    model,
    inputs: list[np.ndarray],
    device,
    max_new_tokens: int,
    pad_id: int,
    precision: str = "fp32",
    batch_size: int = 32,
) -> float | None:
    """Share of distinct greedy outputs (summarize's no-repeat-3-gram rule) over ``inputs``; a
    causal LM continues its left-padded prompts and only the new tokens count."""
    if not inputs:
        return None
    causal = not model.config.is_encoder_decoder
    mine: list[tuple[int, list[tuple[int, ...]]]] = []
    starts = range(0, len(inputs), batch_size)
    with evaluating(model):
        for b in dist.owned(len(starts)):
            i = starts[b]
            part = inputs[i : i + batch_size]
            li = max(len(p) for p in part)
            x = torch.full((len(part), li), pad_id, dtype=torch.long)
            m = torch.zeros((len(part), li), dtype=torch.long)
            for r, p in enumerate(part):
                at = slice(li - len(p), li) if causal else slice(0, len(p))
                x[r, at], m[r, at] = torch.from_numpy(p), 1
            with torch.no_grad(), autocast(device, precision):
                gen = model.generate(
                    input_ids=x.to(device),
                    attention_mask=m.to(device),
                    do_sample=False,
                    num_beams=1,
                    max_new_tokens=max_new_tokens,
                    no_repeat_ngram_size=3,
                )
            new = slice(li if causal else 1, None)  # a causal LM: only the new tokens
            mine.append((b, [tuple(t for t in row[new] if t != pad_id) for row in gen.tolist()]))
    outs = [o for part in dist.gather_in_order(mine, "gathering generated text") for o in part]
    return len(set(outs)) / len(outs)


def heldout_loss(
    model,
    inputs: np.ndarray,
    targets: np.ndarray,
    device,
    batch_size: int = 32,
    precision: str = "fp32",
    mask: np.ndarray | None = None,
) -> float:
    """Mean target-token cross-entropy on fixed (inputs, targets) (eval mode, no gradients);
    targets equal to -100 are padding, ``mask`` the inputs' attention mask (None: no padding)."""
    mine: list[tuple[int, tuple[float, int]]] = []
    starts = range(0, len(inputs), batch_size)
    with evaluating(model):
        for b in dist.owned(len(starts)):
            i = starts[b]
            x = torch.from_numpy(inputs[i : i + batch_size]).to(device)
            y = torch.from_numpy(targets[i : i + batch_size]).to(device)
            m = torch.from_numpy(mask[i : i + batch_size]).to(device) if mask is not None else None
            with autocast(device, precision):
                loss = model_loss(model, x, m, y)
            k = int((y != -100).sum())
            mine.append((b, (float(loss) * k, k)))
    total, n = 0.0, 0
    for loss_sum, k in dist.gather_in_order(mine, "gathering the held-out loss"):
        total += loss_sum
        n += k
    return total / max(1, n)


# ------------------------------------------------------------------ checkpoints
def save_state(root: Path, model, optimizer, state: dict[str, Any], keep: int) -> Path:
    """Write ``root/step-<step>`` atomically (weights, AdamW moments, RNGs; safetensors + JSON);
    the main process only."""
    if not dist.is_main():
        return Path(root) / f"step-{state['step']}"
    with new_checkpoint(root, state["step"], keep) as tmp:
        save_model(model, str(tmp / "model.safetensors"))
        write_trainer_state(tmp, optimizer, state)
    return Path(root) / f"step-{state['step']}"


def load_state(path: Path, model, optimizer, device) -> dict[str, Any]:
    """Restore weights, AdamW state and RNGs from a checkpoint; return its state dict."""
    try:
        js = json.loads((path / "trainer_state.json").read_text(encoding="utf-8"))
        tensors = load_file(str(path / "trainer_state.safetensors"))
        missing, unexpected = load_model(
            model, str(path / "model.safetensors"), strict=False, device=str(device)
        )
    except (OSError, json.JSONDecodeError, SafetensorError, ValueError, RuntimeError) as e:
        raise PretrainError(
            f"cannot resume from {path}: {str(e).splitlines()[0]} "
            "(delete that folder to resume from an earlier checkpoint)"
        ) from None
    if missing or unexpected or js.get("format") != STATE_FORMAT:
        raise PretrainError(f"cannot resume from {path}: the checkpoint does not fit this model")
    optimizer_from_tensors(
        optimizer, tensors, js["optimizer"], path, device=device, error=PretrainError
    )
    set_rng_state(tensors, js["rng"])
    return js["state"]


# ------------------------------------------------------------------ the run
class Pretrainer(RunFolder):
    """One pretraining run. ``Pretrainer(config).run()`` returns the backbone folder.
    The run folder's config file, log and checkpoint layout come from :class:`RunFolder`."""

    config: PretrainConfig
    config_file = "pretrain_config.json"
    resume_error = PretrainError
    run_kind = "a pretraining run"

    def run(self) -> Path:
        c = self.config
        # "auto" keeps to cuda or cpu here: the loop's precision choice knows no mps.
        name = "cpu" if c.device == "auto" and not torch.cuda.is_available() else c.device
        name = resolve_device("cuda" if name == "auto" else name)
        dist.init(name)
        device = torch.device(dist.device_for(name))
        with dist.main_first("waiting for the main process to check the output folder"):
            self._check_output()
        if c.threads:
            torch.set_num_threads(c.threads)
        precision = resolve_precision(c.precision, device.type)
        with dist.main_first("waiting for the main process to prepare the corpus"):
            tok, ids, info = prepare_data(c, self.out)
        sentinels = tok.convert_tokens_to_ids([f"<extra_id_{k}>" for k in range(NUM_SENTINELS)])
        if tok.unk_token_id in sentinels and not c.causal:
            raise PretrainError("the tokenizer lacks the <extra_id_*> sentinels")
        data = Windows(c, ids, sentinels, tok.eos_token_id)
        with dist.main_first("waiting for the main process to prepare the pairs"):
            pairs, pairs_info = prepare_pairs(c, self.out, tok)
        batches = StepBatches(c, data, pairs, sentinels, tok.eos_token_id, tok.pad_token_id)
        eval_in, eval_tgt = data.eval_batch() if c.eval_windows else (None, None)
        eval_tasks = batches.eval_pairs()
        distinct_in = batches.distinct_inputs()
        info = {**info, "pairs": pairs_info}

        def evaluate() -> dict[str, float | None]:
            """Held-out losses (span windows and each task's pairs) and summarize distinctness."""
            got: dict[str, float | None] = {}
            if c.eval_windows:
                got["heldout_loss"] = heldout_loss(
                    model, eval_in, eval_tgt, device, precision=precision
                )
            for name, (x, m, y) in eval_tasks.items():
                got[f"heldout_{name}_loss"] = heldout_loss(
                    model, x, y, device, precision=precision, mask=m
                )
            if distinct_in:
                got["summarize_distinct"] = distinct_share(
                    model,
                    distinct_in,
                    device,
                    c.docstring_target_length,
                    tok.pad_token_id,
                    precision=precision,
                )
            return got

        model = init_model(c, tok).to(device)
        scan = "linear" if use_linear_scan(model) else ""
        # No decay on norm scales, biases and Mamba's A_log (as Mamba's own training).
        keep = lambda n, p: p.dim() < 2 or n.endswith("A_log")  # noqa: E731
        decay = [p for n, p in model.named_parameters() if not keep(n, p)]
        no_decay = [p for n, p in model.named_parameters() if keep(n, p)]
        optimizer = torch.optim.AdamW(
            [
                {"params": decay, "weight_decay": c.weight_decay},
                {"params": no_decay, "weight_decay": 0.0},
            ],
            lr=c.lr,
        )
        state: dict[str, Any] = {
            "step": 0,
            "tokens_seen": 0,
            "train_seconds": 0.0,
            "last_loss": None,
            "heldout_loss": None,
        }
        with dist.main_first("waiting for the main process to find the last checkpoint"):
            if dist.is_main():
                remove_stale_temps(self.ckpt_root)
            latest = latest_checkpoint(self.ckpt_root)
        if latest is not None:
            state.update(load_state(latest, model, optimizer, device))
            self._truncate_log(state["step"])
            self._log({"event": "resume", "step": state["step"], "checkpoint": latest.name})
            _say(f"pretrain: resuming from {latest} (step {state['step']})")
        else:
            torch.manual_seed(c.seed)  # dropout masks, if any, are seeded too
            self._truncate_log(-1)
            state.update(evaluate())
            evals = {
                k: state.get(k) for k in state if k.startswith(("heldout_", "summarize_distinct"))
            }
            self._log(
                {
                    "event": "start",
                    "step": 0,
                    **evals,
                    "pairs": {k: len(p) for k, p in pairs.items()},
                    "heldout_pairs": {k: n for k, n in batches.n_eval.items() if n},
                    "init_from": c.init_from,
                    "parameters": num_parameters(model),
                    "corpus_tokens": info["tokens"],
                    "windows": len(data),
                    "tokenizer_size": len(tok),
                    "corpus_bytes": info["bytes"],
                    "precision": precision,
                    **({"scan": scan} if scan else {}),
                    "device": str(device),
                    "threads": torch.get_num_threads(),
                }
            )
        li, lt = corrupted_lengths(c.input_length, c.noise_density, c.mean_span_length)
        _say(
            f"pretrain: {c.arch} of {num_parameters(model):,} parameters, {len(data):,} training "
            f"windows of {c.input_length} tokens"
            + ("" if c.causal else f" (inputs {li}, targets {lt})")
            + f", {c.max_steps} steps of {c.batch_size}, {precision} on {device}"
        )
        state["precision"] = precision

        model.train()
        bar = tqdm(
            total=c.max_steps,
            initial=state["step"],
            disable=not c.progress or not dist.is_main(),
            desc="pretraining",
            unit="step",
            dynamic_ncols=True,
        )
        started = time.perf_counter()
        last_saved = state["step"] if latest is not None else -1
        win_t, win_loss, win_n, win_steps, win_tokens = time.perf_counter(), 0.0, 0, 0, 0
        win_obj: dict[str, list[float]] = {}
        stopped = None
        skipped_in_a_row = 0

        def checkpoint() -> None:
            nonlocal last_saved
            got = evaluate()
            if got:
                state.update(got)
                self._log({"event": "eval", "step": state["step"], **got})
            save_state(self.ckpt_root, model, optimizer, dict(state), c.keep_checkpoints)
            last_saved = state["step"]

        while state["step"] < c.max_steps:
            if c.max_minutes is not None and time.perf_counter() - started > 60 * c.max_minutes:
                stopped = f"time budget of {c.max_minutes} min reached"
                break
            step = state["step"]
            lr = lr_at(c, step)
            for g in optimizer.param_groups:
                g["lr"] = lr
            t_step = time.perf_counter()
            obj, x, mask, y = batches.get(step)
            # Corpus tokens read: whole windows for span / prefix steps, the input tokens of task
            # steps.
            n_in = int(mask.sum()) if mask is not None else c.batch_size * c.input_length
            x, y = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
            mask = torch.from_numpy(mask).to(device) if mask is not None else None
            loss, value = self._forward(model, x, mask, y, device, precision)
            finite = bool(np.isfinite(value))
            optimizer.zero_grad(set_to_none=True)
            if loss is not None and finite:
                loss.backward()
            dist.sync_gradients(model.parameters())
            gnorm = (
                float(torch.nn.utils.clip_grad_norm_(model.parameters(), c.max_grad_norm))
                if c.max_grad_norm > 0 and finite
                else None
            )
            if finite and (gnorm is None or np.isfinite(gnorm)):
                optimizer.step()
                skipped_in_a_row = 0
            else:
                # A non-finite loss or gradient leaves the weights as they were (as mixed-precision
                # loss scaling skips overflowing steps); many in a row stop the run.
                skipped_in_a_row += 1
                state["skipped_steps"] = state.get("skipped_steps", 0) + 1
                self._log(
                    {"event": "skipped step", "step": step + 1, "loss": value, "grad_norm": gnorm}
                )
                if skipped_in_a_row >= MAX_SKIPPED_IN_A_ROW:
                    bar.close()
                    where = (
                        f"last checkpoint: step {last_saved}"
                        if last_saved >= 0
                        else "no checkpoint yet"
                    )
                    raise PretrainError(
                        f"{skipped_in_a_row} steps in a row up to step {step + 1} had a non-finite "
                        f"loss or gradient (loss {value}); stopped ({where})"
                    )
            state["step"] = step + 1
            state["tokens_seen"] += n_in
            win_tokens += n_in
            win_obj.setdefault(obj, []).append(value)
            state["train_seconds"] += time.perf_counter() - t_step
            win_loss += value
            win_n += 1
            win_steps += 1
            bar.update(1)
            if state["step"] % c.log_every == 0 or state["step"] == c.max_steps:
                dt = time.perf_counter() - win_t
                tps = win_tokens / dt if dt > 0 else 0.0
                state["last_loss"] = win_loss / win_n
                entry = {
                    "step": state["step"],
                    "loss": state["last_loss"],
                    "lr": lr,
                    "grad_norm": gnorm,
                    "tokens_per_s": tps,
                    "tokens_seen": state["tokens_seen"],
                    "epoch": data.epoch_of(state["step"]),
                    "elapsed_s": time.perf_counter() - started,
                    **{f"loss_{k}": sum(v) / len(v) for k, v in sorted(win_obj.items())},
                }
                self._log(entry)
                bar.set_postfix(loss=f"{entry['loss']:.3f}", tok_s=f"{tps:,.0f}", lr=f"{lr:.1e}")
                win_t, win_loss, win_n, win_steps, win_tokens = time.perf_counter(), 0.0, 0, 0, 0
                win_obj = {}
            if state["step"] % c.checkpoint_every == 0 and state["step"] < c.max_steps:
                t_ck = time.perf_counter()
                checkpoint()
                win_t += time.perf_counter() - t_ck  # tokens/s counts training time only
        bar.close()
        if last_saved != state["step"]:
            checkpoint()
        if stopped:
            _say(
                f"pretrain: {stopped} at step {state['step']}/{c.max_steps}; "
                "run the same command again to continue"
            )
            self._log({"event": "stopped", "step": state["step"], "reason": stopped})
        return self._finalize(model, tok, info, state)

    @staticmethod
    def _forward(model, x, mask, y, device, precision: str):
        """(this process's loss or None, the loss of the whole batch) of one step's batch
        (tensors on ``device``). Several processes: each takes its rows and weighs its mean by
        its share of the target tokens, so the sums over processes are the global mean and its
        gradient."""
        if dist.world_size() == 1:
            with autocast(device, precision):
                loss = model_loss(model, x, mask, y)
            return loss, float(loss.detach())
        rows = dist.shard(range(x.shape[0]))
        total = int((y != -100).sum())
        loss = None
        if rows:
            sl = slice(rows[0], rows[-1] + 1)
            x, y = x[sl], y[sl]
            m = mask[sl] if mask is not None else None
            with autocast(device, precision):
                loss = model_loss(model, x, m, y)
            loss = loss * (int((y != -100).sum()) / max(1, total))
        local = float(loss.detach()) if loss is not None else 0.0
        return loss, dist.all_sum([local], "summing the loss")[0]

    def _finalize(self, model, tok, info: dict, state: dict) -> Path:
        c = self.config
        final = self.out / "backbone"
        if not dist.is_main():
            dist.barrier("waiting for the main process to write the backbone")
            return final
        dtype = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[
            c.save_dtype
        ]
        with atomic_dir(final) as tmp:
            m = init_model(c, tok)
            m.load_state_dict(model.state_dict())
            m = m.to(dtype).eval()
            save_backbone(m, tok, tmp)
            c.save(tmp / "pretrain_config.json")
            mc = m.config
            if c.causal:
                sizes = dict(d_model=mc.hidden_size, num_layers=mc.num_hidden_layers)
                if c.arch == "mamba":
                    sizes.update(state_size=mc.state_size)
                else:
                    sizes.update(d_ff=mc.intermediate_size, num_heads=mc.num_attention_heads)
            else:
                sizes = dict(
                    d_model=mc.d_model,
                    d_ff=mc.d_ff,
                    num_layers=mc.num_layers,
                    num_heads=mc.num_heads,
                )
            atomic_write_text(
                tmp / "model_card.md",
                model_card(c, info, state, num_parameters(m), len(tok), sizes),
            )
        _say(
            f"pretrain: backbone written to {final} (step {state['step']}, loss "
            f"{state['last_loss']})"
        )
        dist.barrier("waiting for the other processes to finish")
        return final


def model_card(
    c: PretrainConfig,
    info: dict,
    state: dict,
    n_params: int,
    vocab: int,
    sizes: dict[str, int] | None = None,
) -> str:
    """Markdown: corpus composition (bytes per source), licences, supervised pairs, tokenizer,
    model, objective mix, steps, held-out losses, command. ``sizes``: the model's (default: the
    config's)."""
    s = sizes or c.model_sizes()
    li, lt = corrupted_lengths(c.input_length, c.noise_density, c.mean_span_length)
    sh = c.shares()
    noise, spans = span_counts(c.input_length, c.noise_density, c.mean_span_length)
    fmt = lambda v: "n/a" if v is None else f"{v:.4f}"  # noqa: E731
    start = (
        f"continued from the backbone `{c.init_from}`" if c.init_from else "pretrained from scratch"
    )
    kind = {"t5": "T5", "mamba": "Mamba", "llama": "Llama"}[c.arch]
    what = (
        f"A small {kind} causal LM {start} by `ttune pretrain` on code from local sources "
        "and the TRAINING parts of the shared research data sets: next-token prediction "
        "and the supervised tasks summarize, generate (doc -> code), translate and assert in "
        "ttune's causal prompt layout (loss on the target tokens)."
        if c.causal
        else f"A small T5 encoder-decoder {start} by `ttune pretrain` on code from local sources "
        "and the TRAINING parts of the shared research data sets: span corruption, prefix LM "
        "and the supervised tasks summarize, generate (doc -> code), translate and assert."
    )
    lines = [
        f"# ttune pretrained {kind} backbone ({shape_name(c.shape, c.arch)})",
        "",
        what,
        "",
        "## Corpus",
        "",
        f"{info['bytes']:,} bytes, {info['chunks']:,} chunks, {info['tokens']:,} tokens; "
        f"fingerprint `{info['fingerprint'][:16]}`; the exact files and record ids are in the "
        "run's `corpus.json`.",
        "",
        "| source | documents | bytes | available bytes | licence | note |",
        "|---|---:|---:|---:|---|---|",
    ]
    for name, st in info["sources"].items():
        lines.append(
            f"| {name} | {st['documents']:,} | {st['bytes']:,} | "
            f"{st['available_bytes']:,} | {LICENCES.get(name, '?')} | {st['note']} |"
        )
    pi = info.get("pairs") or {}
    if pi:
        lines += [
            "",
            "Supervised pairs (the run's `pairs.json` has the counts); the held-out "
            f"records (of each task's data-set records, min({c.eval_windows}, a quarter)) "
            "are in no training pair and not in the corpus:",
            "",
            "| source | task | training records | held out | dropped (equal to a test record) |",
            "|---|---|---:|---:|---:|",
        ]
        for name, st in pi["sources"].items():
            lines.append(
                f"| {name} | {st['task']} | {st['records']:,} | {st['heldout']:,} | "
                f"{st['dropped_as_test']:,} |"
            )
        lines += [
            "",
            "| objective | pairs | held out | input tokens | target tokens |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, st in pi["tasks"].items():
            lines.append(
                f"| {name} | {st['pairs']:,} | {st['heldout']:,} | "
                f"{st['source_tokens']:,} | {st['target_tokens']:,} |"
            )
    if "site-packages" in info["sources"]:
        lines += [
            "",
            "site-packages distributions (code and docstrings read) and their licences: "
            + "; ".join(
                f"{k} ({v})"
                for k, v in (info.get("site_package_licences") or site_package_licences()).items()
            )
            + ".",
        ]
    lines += [
        "",
        "Never included: any test split, the carved dev parts and the published "
        "validation splits of CodeXGLUE and AVATAR; a training record whose code equals a "
        "test record's is dropped. English comes only from local docstrings and the "
        "training parts of code-docstring-corpus and TL-CodeSum. Not held out: Python "
        "standard library, site-packages and JDK code and their docstrings, so records that "
        "`ttune data build` makes from those same sources have been seen by this model.",
        "",
        "## Model and training",
        "",
        f"- tokenizer: byte-level BPE, {vocab:,} tokens (<pad>=0, </s>=1, <unk>=2, "
        "<extra_id_0..99>)",
        _model_line(c, s, n_params),
        (
            f"- objectives, by share of steps: next-token prediction {sh['lm']:.2f} (windows of "
            f"{c.input_length} tokens); "
            if c.causal
            else f"- objectives, by share of steps: span corruption {sh['span']:.2f} (windows of "
            f"{c.input_length} tokens, noise density {c.noise_density}: {noise} tokens in "
            f"{spans} spans, mean span {c.mean_span_length}; inputs {li}, targets {lt} tokens); "
            f"prefix LM {sh['prefix']:.2f} (the decoder writes a window's last "
            f"{c.prefix_target_length} tokens); "
        )
        + f"summarize {sh['summarize']:.2f}, generate "
        f"{sh['generate']:.2f}, translate {sh['translate']:.2f}, assert "
        f"{sh['assert']:.2f} (inputs cut at {c.input_length} tokens, summaries at "
        f"{c.docstring_target_length}, code at {c.code_target_length}; "
        f"{'length-bucketed' if c.bucket_pairs else 'random'} batches)",
        f"- optimisation: AdamW lr {c.lr}, weight decay {c.weight_decay}, {c.schedule} "
        f"schedule with {c.warmup_steps} warm-up steps, batch {c.batch_size} windows, clip "
        f"{c.max_grad_norm}, dropout {c.dropout}, seed {c.seed}, compute "
        f"{state.get('precision', c.precision)}",
        f"- steps: {state['step']:,} of {c.max_steps:,} ({state['tokens_seen']:,} corpus "
        f"tokens, {state['tokens_seen'] / max(1, info['tokens']):.2f} epochs, "
        f"{state['train_seconds'] / 60:.1f} min of training"
        + (
            f"; {state['skipped_steps']:,} steps skipped for a non-finite loss or gradient)"
            if state.get("skipped_steps")
            else ")"
        ),
        f"- final training loss (last log window): {fmt(state['last_loss'])}",
        f"- held-out {'next-token' if c.causal else 'span-corruption'} loss "
        f"({c.eval_windows} windows{'' if c.causal else ', fixed noise'}): "
        f"{fmt(state.get('heldout_loss'))}",
    ]
    for name in SUPERVISED:
        if f"heldout_{name}_loss" in state:
            lines.append(
                f"- held-out {name} loss (pairs never trained on): "
                f"{fmt(state[f'heldout_{name}_loss'])}"
            )
    if state.get("summarize_distinct") is not None:
        lines.append(
            f"- distinct greedy summaries of {c.distinct_sample} held-out functions: "
            f"{state['summarize_distinct']:.1%}"
        )
    lines += [
        "",
        "## Reproduce",
        "",
        "```",
        c.command or "ttune pretrain " + _cli_args(c),
        "```",
        "",
    ]
    return "\n".join(lines)


def _model_line(c: PretrainConfig, s: dict[str, int], n_params: int) -> str:
    """The model card's line on the architecture and its sizes."""
    tail = f"{n_params:,} parameters, stored as {c.save_dtype}"
    if c.arch == "mamba":
        return (
            f"- model: Mamba (v1; expand 2, convolution 4, state {s['state_size']}, tied "
            f"embeddings), d_model {s['d_model']}, {s['num_layers']} layers, {tail}"
        )
    if c.arch == "llama":
        return (
            f"- model: Llama (RMSNorm, RoPE, SwiGLU, tied embeddings), d_model {s['d_model']}, "
            f"d_ff {s['d_ff']}, {s['num_layers']} layers, {s['num_heads']} heads, {tail}"
        )
    return (
        f"- model: T5 (ReLU feed-forward, tied embeddings), d_model {s['d_model']}, "
        f"d_ff {s['d_ff']}, {s['num_layers']}+{s['num_layers']} layers, "
        f"{s['num_heads']} heads, {tail}"
    )


def _cli_args(c: PretrainConfig) -> str:
    parts = [
        *(["--arch", c.arch] if c.causal else []),
        "--output",
        c.output_dir,
        "--shape",
        c.shape,
        "--max-steps",
        str(c.max_steps),
        "--corpus-bytes",
        str(c.corpus_bytes),
        "--vocab-size",
        str(c.vocab_size),
        "--seed",
        str(c.seed),
    ]
    return " ".join(shlex.quote(p) for p in parts)


def pretrain(config: PretrainConfig) -> Path:
    """Pretrain (or resume) the run of ``config``; returns the backbone folder."""
    return Pretrainer(config).run()


__all__ = [
    "pretrain",
    "Pretrainer",
    "prepare_data",
    "init_model",
    "Windows",
    "lr_at",
    "heldout_loss",
    "model_card",
]
