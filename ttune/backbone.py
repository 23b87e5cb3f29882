"""Frozen backbones: load a T5-family encoder-decoder, or build a random one from a named shape.

Everything a method adapts starts here. ``load_backbone`` returns the model with every parameter
frozen (``requires_grad=False``); a method unfreezes or adds exactly what it owns. Tests and
benchmarks never download: ``build_tokenizer`` trains a small byte-level BPE on a few strings and
``tiny_backbone`` / ``t5_config`` build random T5 models of known shapes.
"""

from __future__ import annotations

import os
import random
import sysconfig
from collections.abc import Iterable
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    PreTrainedTokenizerFast,
    T5Config,
    T5ForConditionalGeneration,
)

from ttune.builtin import BUILTIN_BACKBONE, ModelNotFoundError, builtin_backbone, models_dir

PAD_ID, EOS_ID, UNK_ID = 0, 1, 2
NUM_EXTRA_IDS = 100  # T5's sentinel tokens <extra_id_0..99>


class BackboneError(ValueError):
    """A backbone cannot be loaded (missing path, unreachable hub id, not an encoder-decoder)."""


# Named shapes. "codet5p-220m" and "codet5p-770m" match Salesforce's released configs (T5 layout,
# ReLU feed-forward, 32,100 tokens), so parameter counts of methods agree with the paper's.
_SHAPES: dict[str, dict] = {
    "tiny": dict(d_model=64, d_ff=128, num_layers=2, num_heads=4, d_kv=16, vocab_size=2000),
    "small": dict(d_model=512, d_ff=2048, num_layers=6, num_heads=8, d_kv=64, vocab_size=32128),
    "codet5p-220m": dict(
        d_model=768, d_ff=3072, num_layers=12, num_heads=12, d_kv=64, vocab_size=32100
    ),
    "codet5p-770m": dict(
        d_model=1024, d_ff=4096, num_layers=24, num_heads=16, d_kv=64, vocab_size=32100
    ),
}


def freeze(model: torch.nn.Module) -> torch.nn.Module:
    """Set ``requires_grad=False`` on every parameter (methods unfreeze what they own)."""
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def load_backbone(
    path_or_id: str, device: str | torch.device = "cpu"
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a frozen T5-family encoder-decoder and its fast tokenizer from a local folder or hub id.

    A string that looks like a path (absolute, ``./``, ``~``, or an existing folder) is read
    locally only; ``ttune-tiny`` (when no such folder exists here) is the built-in backbone inside
    ttune's models folder; anything else is tried as a hub id (which needs network access).
    """
    if path_or_id == BUILTIN_BACKBONE and not Path(path_or_id).exists():
        try:
            path_or_id = str(builtin_backbone())
        except ModelNotFoundError as e:
            raise BackboneError(str(e)) from None
    p = Path(os.path.expanduser(path_or_id))
    looks_local = path_or_id.startswith((".", "/", "~")) or path_or_id.count("/") > 1
    if looks_local and not p.exists():
        raise BackboneError(f"backbone path not found: {path_or_id}")
    src = str(p) if p.exists() else path_or_id
    try:
        # float32 whatever the storage dtype: a backbone shipped in float16 to save space would
        # otherwise load as float16, which CPUs run slowly and inaccurately.
        model = AutoModelForSeq2SeqLM.from_pretrained(
            src, local_files_only=p.exists(), dtype=torch.float32
        )
        tokenizer = AutoTokenizer.from_pretrained(src, use_fast=True, local_files_only=p.exists())
    except (OSError, ValueError, KeyError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise BackboneError(f"cannot load backbone {path_or_id!r}: {first}") from None
    if not model.config.is_encoder_decoder:
        raise BackboneError(f"backbone {path_or_id!r} is not an encoder-decoder model")
    builtin = models_dir() / BUILTIN_BACKBONE
    if p.is_dir() and builtin.is_dir() and p.resolve() == builtin.resolve():
        # One name wherever ttune is installed: methods record it, so none warns of another path.
        model.config._name_or_path = BUILTIN_BACKBONE
    return freeze(model).to(device), tokenizer


def build_tokenizer(
    texts: Iterable[str], vocab_size: int = 2000, extra_ids: int = NUM_EXTRA_IDS
) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE on ``texts`` (special ids: <pad>=0, </s>=1, <unk>=2, then
    <extra_id_*>).

    Encodings end with ``</s>`` like T5's and carry character offsets
    (``return_offsets_mapping=True``), untrimmed so that every byte of the text is covered.
    """
    extras = [f"<extra_id_{i}>" for i in range(extra_ids)]
    specials = ["<pad>", "</s>", "<unk>", *extras]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(list(texts), trainer=trainer)
    tok.post_processor = processors.Sequence(
        [
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(
                single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", EOS_ID)]
            ),
        ]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
        extra_special_tokens=extras,
    )


def t5_config(shape: str, vocab_size: int | None = None) -> T5Config:
    """A ``T5Config`` of a named shape: "tiny", "small", "codet5p-220m" or "codet5p-770m"."""
    if shape not in _SHAPES:
        raise BackboneError(f"unknown backbone shape {shape!r}; known: {', '.join(_SHAPES)}")
    s = dict(_SHAPES[shape])
    if vocab_size is not None:
        s["vocab_size"] = vocab_size
    return T5Config(
        vocab_size=s["vocab_size"],
        d_model=s["d_model"],
        d_kv=s["d_kv"],
        d_ff=s["d_ff"],
        num_layers=s["num_layers"],
        num_decoder_layers=s["num_layers"],
        num_heads=s["num_heads"],
        feed_forward_proj="relu",
        pad_token_id=PAD_ID,
        eos_token_id=EOS_ID,
        decoder_start_token_id=PAD_ID,
        tie_word_embeddings=True,
    )


def tiny_backbone(
    tokenizer: PreTrainedTokenizerBase,
    d_model: int = 64,
    d_ff: int = 128,
    num_layers: int = 2,
    num_heads: int = 4,
    seed: int = 0,
) -> PreTrainedModel:
    """A random, frozen ``T5ForConditionalGeneration`` sized to ``tokenizer`` (dropout 0, eval
    mode).

    Dropout is off so that two forward passes agree exactly (tests compare logits with torch.equal).
    """
    if d_model % num_heads:
        raise BackboneError(f"d_model {d_model} is not divisible by num_heads {num_heads}")
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=d_model,
        d_kv=d_model // num_heads,
        d_ff=d_ff,
        num_layers=num_layers,
        num_decoder_layers=num_layers,
        num_heads=num_heads,
        feed_forward_proj="relu",
        dropout_rate=0.0,
        pad_token_id=PAD_ID,
        eos_token_id=EOS_ID,
        decoder_start_token_id=PAD_ID,
        tie_word_embeddings=True,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = T5ForConditionalGeneration(config)
    model.generation_config.pad_token_id = PAD_ID
    model.generation_config.eos_token_id = EOS_ID
    model.generation_config.decoder_start_token_id = PAD_ID
    return freeze(model).eval()


def save_backbone(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, out_dir: str | Path
) -> Path:
    """Write the model (safetensors) and its tokenizer to ``out_dir`` with ``save_pretrained``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out


def backbone_fingerprint(model: PreTrainedModel) -> dict:
    """What a method checkpoint records about its backbone, to refuse loading onto another one.

    ``model_type``, ``d_model``, ``vocab_size`` and ``num_layers`` must match exactly; the
    ``name_or_path`` is informational (the same model may live at another path).
    """
    cfg = model.config
    return {
        "model_type": str(getattr(cfg, "model_type", "")),
        "d_model": int(getattr(cfg, "d_model", getattr(cfg, "hidden_size", 0))),
        "vocab_size": int(model.get_input_embeddings().weight.shape[0]),
        "num_layers": int(getattr(cfg, "num_layers", getattr(cfg, "num_hidden_layers", 0))),
        "name_or_path": str(
            getattr(cfg, "_name_or_path", "") or getattr(model, "name_or_path", "") or ""
        ),
    }


# Fields of the fingerprint that must agree for a checkpoint to load.
FINGERPRINT_KEYS = ("model_type", "d_model", "vocab_size", "num_layers")


def stdlib_code_texts(max_files: int = 400, seed: int = 0) -> list[str]:
    """Source texts of up to ``max_files`` modules of the running Python's standard library, in a
    fixed order (sorted paths, a seeded sample): local code every machine has, for tokenizers."""
    root = Path(sysconfig.get_paths()["stdlib"])
    paths = sorted(p for p in root.rglob("*.py") if "site-packages" not in p.parts)
    random.Random(seed).shuffle(paths)
    texts = []
    for p in paths[:max_files]:
        try:
            texts.append(p.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, OSError):
            continue
    return texts


def init_backbone(
    out_dir: str | Path,
    shape: str = "tiny",
    tokenizer: str = "stdlib",
    vocab_size: int = 8000,
    seed: int = 0,
) -> Path:
    """Create a randomly initialised T5 of a named shape (see ``t5_config``) with a tokenizer and
    save it to ``out_dir``: a backbone for trying the pipeline, tests and benchmarks, with no
    download. ``tokenizer`` is "stdlib" (a byte-level BPE of ``vocab_size`` tokens trained on the
    Python standard library) or the path of a saved Hugging Face tokenizer folder.
    """
    if tokenizer == "stdlib":
        tok = build_tokenizer(stdlib_code_texts(seed=seed), vocab_size=vocab_size)
    else:
        if not Path(tokenizer).is_dir():
            raise BackboneError(f"tokenizer folder not found: {tokenizer}")
        tok = AutoTokenizer.from_pretrained(tokenizer, use_fast=True, local_files_only=True)
    config = t5_config(shape, vocab_size=len(tok))
    config.pad_token_id = tok.pad_token_id
    config.eos_token_id = tok.eos_token_id
    config.decoder_start_token_id = tok.pad_token_id
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = T5ForConditionalGeneration(config)
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.decoder_start_token_id = tok.pad_token_id
    return save_backbone(model, tok, out_dir)
