"""Frozen backbones: load a T5-family encoder-decoder or a causal LM, or build a random one.

Everything a method adapts starts here. ``load_backbone`` returns the model with every parameter
frozen (``requires_grad=False``); a method unfreezes or adds exactly what it owns. Two
architectures are read: encoder-decoders (T5, CodeT5, CodeT5+) and causal LMs (any
``AutoModelForCausalLM``: Llama/Qwen2-style, StarCoder2, GPT-BigCode, Mamba, Mamba2);
:func:`is_causal` tells them apart. Tests and benchmarks never download: ``build_tokenizer``
trains a small byte-level BPE on a few strings, ``tiny_backbone`` / ``t5_config`` build random T5
models and ``tiny_causal_backbone`` / ``causal_config`` random causal LMs of known shapes.
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
    AutoConfig,
    AutoModelForCausalLM,
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    GPTBigCodeConfig,
    LlamaConfig,
    Mamba2Config,
    MambaConfig,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    PreTrainedTokenizerFast,
    Qwen2Config,
    Starcoder2Config,
    T5Config,
    T5ForConditionalGeneration,
)

from ttune.builtin import BUILTIN_BACKBONE, ModelNotFoundError, builtin_backbone, models_dir
from ttune.scan import use_linear_scan

PAD_ID, EOS_ID, UNK_ID = 0, 1, 2
NUM_EXTRA_IDS = 100  # T5's sentinel tokens <extra_id_0..99>


class BackboneError(ValueError):
    """A backbone cannot be loaded (missing path, unreachable hub id, neither an encoder-decoder
    nor a causal LM)."""


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


def blocks(model: torch.nn.Module) -> list[torch.nn.Module]:
    """The repeated blocks of ``model``: the children of every ``ModuleList`` whose children are
    all of one class (T5's ``encoder.block`` and ``decoder.block``, a causal LM's ``layers`` or
    ``h``), outermost lists only. FSDP shards the backbone block by block."""
    found: list[torch.nn.Module] = []
    inside: set[str] = set()
    for name, m in model.named_modules():
        if any(name.startswith(p + ".") for p in inside):
            continue
        kids = list(m.children()) if isinstance(m, torch.nn.ModuleList) else []
        if kids and len({type(k) for k in kids}) == 1:
            found += kids
            inside.add(name)
    return found


def is_causal(model) -> bool:
    """Whether ``model`` is a decoder-only causal LM (else an encoder-decoder)."""
    return not bool(getattr(model.config, "is_encoder_decoder", False))


def load_backbone(
    path_or_id: str, device: str | torch.device = "cpu"
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a frozen backbone and its fast tokenizer from a local folder or hub id: a T5-family
    encoder-decoder (``AutoModelForSeq2SeqLM``) or, when the config is not an encoder-decoder, a
    causal LM (``AutoModelForCausalLM``: Llama/Qwen2, StarCoder2, GPT-BigCode, Mamba, Mamba2).

    A string that looks like a path (absolute, ``./``, ``~``, or an existing folder) is read
    locally only; ``ttune-tiny`` (when no such folder exists here) is the built-in backbone inside
    ttune's models folder; anything else is tried as a hub id (which needs network access). A
    causal LM's tokenizer without a pad token gets its EOS token as pad (ttune pads with the
    attention mask; the pad id only fills the holes).
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
        config = AutoConfig.from_pretrained(src, local_files_only=p.exists())
        auto = AutoModelForSeq2SeqLM if config.is_encoder_decoder else AutoModelForCausalLM
        # float32 whatever the storage dtype: a backbone shipped in float16 to save space would
        # otherwise load as float16, which CPUs run slowly and inaccurately.
        model = auto.from_pretrained(src, local_files_only=p.exists(), dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(src, use_fast=True, local_files_only=p.exists())
    except (OSError, ValueError, KeyError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise BackboneError(f"cannot load backbone {path_or_id!r}: {first}") from None
    if is_causal(model):
        if tokenizer.eos_token_id is None:
            raise BackboneError(f"backbone {path_or_id!r}: its tokenizer has no EOS token")
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        _set_generation_ids(model, tokenizer.pad_token_id, tokenizer.eos_token_id)
        use_linear_scan(model)
    builtin = models_dir() / BUILTIN_BACKBONE
    if p.is_dir() and builtin.is_dir() and p.resolve() == builtin.resolve():
        # One name wherever ttune is installed: methods record it, so none warns of another path.
        model.config._name_or_path = BUILTIN_BACKBONE
    return freeze(model).to(device), tokenizer


def _set_generation_ids(model: PreTrainedModel, pad_id: int, eos_id: int) -> None:
    model.config.pad_token_id = pad_id
    model.generation_config.pad_token_id = pad_id
    model.generation_config.eos_token_id = eos_id


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


# Causal shapes. The three real ones are the published config.json values of
# Qwen/Qwen2.5-Coder-0.5B, bigcode/starcoder2-3b and state-spaces/mamba-130m-hf (vocabularies
# padded as released); "tiny-*" are test-sized models of each family.
CAUSAL_FAMILIES = ("llama", "qwen2", "starcoder2", "gpt_bigcode", "mamba", "mamba2")
_CAUSAL_SHAPES: dict[str, tuple[str, dict]] = {
    "qwen2.5-coder-0.5b": (
        "qwen2",
        dict(
            vocab_size=151936,
            hidden_size=896,
            intermediate_size=4864,
            num_hidden_layers=24,
            num_attention_heads=14,
            num_key_value_heads=2,
            max_position_embeddings=32768,
            rope_theta=1000000.0,
            rms_norm_eps=1e-6,
            tie_word_embeddings=True,
        ),
    ),
    "starcoder2-3b": (
        "starcoder2",
        dict(
            vocab_size=49152,
            hidden_size=3072,
            intermediate_size=12288,
            num_hidden_layers=30,
            num_attention_heads=24,
            num_key_value_heads=2,
            max_position_embeddings=16384,
            sliding_window=4096,
            rope_theta=999999.4420358813,
            norm_epsilon=1e-5,
            use_bias=True,
            tie_word_embeddings=True,
        ),
    ),
    "mamba-130m": (
        "mamba",
        dict(
            vocab_size=50280,
            hidden_size=768,
            num_hidden_layers=24,
            state_size=16,
            expand=2,
            conv_kernel=4,
            time_step_rank=48,
            use_bias=False,
            use_conv_bias=True,
            tie_word_embeddings=True,
        ),
    ),
}
_CONFIG_CLASSES: dict[str, type[PretrainedConfig]] = {
    "llama": LlamaConfig,
    "qwen2": Qwen2Config,
    "starcoder2": Starcoder2Config,
    "gpt_bigcode": GPTBigCodeConfig,
    "mamba": MambaConfig,
    "mamba2": Mamba2Config,
}


def _tiny_causal_fields(family: str, hidden: int, num_layers: int, vocab_size: int) -> dict:
    """Config fields of a test-sized causal LM of ``family`` (dropout off, tied embeddings)."""
    heads = 4 if hidden % 4 == 0 else 1
    if family in ("llama", "qwen2", "starcoder2"):
        f = dict(
            hidden_size=hidden,
            intermediate_size=2 * hidden,
            num_hidden_layers=num_layers,
            num_attention_heads=heads,
            num_key_value_heads=max(1, heads // 2),
            max_position_embeddings=2048,
            tie_word_embeddings=True,
        )
        if family == "starcoder2":
            f.update(residual_dropout=0.0, embedding_dropout=0.0, attention_dropout=0.0)
        return dict(f, vocab_size=vocab_size)
    if family == "gpt_bigcode":
        return dict(
            vocab_size=vocab_size,
            n_embd=hidden,
            n_layer=num_layers,
            n_head=heads,
            n_positions=2048,
            resid_pdrop=0.0,
            embd_pdrop=0.0,
            attn_pdrop=0.0,
        )
    if family == "mamba":
        return dict(
            vocab_size=vocab_size, hidden_size=hidden, num_hidden_layers=num_layers, state_size=8
        )
    if family == "mamba2":
        return dict(
            vocab_size=vocab_size,
            hidden_size=hidden,
            num_hidden_layers=num_layers,
            state_size=8,
            num_heads=2 * hidden // 16,
            head_dim=16,
            n_groups=1,
            expand=2,
            chunk_size=32,
        )
    raise BackboneError(f"unknown causal family {family!r}; known: {', '.join(CAUSAL_FAMILIES)}")


def causal_config(shape: str, vocab_size: int | None = None, **token_ids: int) -> PretrainedConfig:
    """The config of a named causal shape: "qwen2.5-coder-0.5b", "starcoder2-3b", "mamba-130m",
    or "tiny-<family>" (family: llama, qwen2, starcoder2, gpt_bigcode, mamba, mamba2; hidden 32,
    2 layers, 2,000 tokens). ``vocab_size`` overrides the shape's; ``token_ids`` (pad_token_id,
    eos_token_id, bos_token_id) are set on the config."""
    if shape in _CAUSAL_SHAPES:
        family, fields = _CAUSAL_SHAPES[shape]
        fields = dict(fields)
    elif shape.startswith("tiny-") and shape[5:].replace("-", "_") in CAUSAL_FAMILIES:
        family = shape[5:].replace("-", "_")
        fields = _tiny_causal_fields(family, 32, 2, 2000)
    else:
        known = [*_CAUSAL_SHAPES, *(f"tiny-{f}" for f in CAUSAL_FAMILIES)]
        raise BackboneError(f"unknown causal shape {shape!r}; known: {', '.join(known)}")
    if vocab_size is not None:
        fields["vocab_size"] = vocab_size
    return _CONFIG_CLASSES[family](**fields, **token_ids)


def is_causal_shape(shape: str) -> bool:
    """Whether ``shape`` names a causal LM shape (see :func:`causal_config`)."""
    return shape in _CAUSAL_SHAPES or (
        shape.startswith("tiny-") and shape[5:].replace("-", "_") in CAUSAL_FAMILIES
    )


def _causal_from_config(config: PretrainedConfig, pad_id: int, eos_id: int, seed: int):
    config.pad_token_id, config.eos_token_id, config.bos_token_id = pad_id, eos_id, eos_id
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_config(config)
    _set_generation_ids(model, pad_id, eos_id)
    use_linear_scan(model)
    return model


def tiny_causal_backbone(
    tokenizer: PreTrainedTokenizerBase,
    family: str = "llama",
    hidden: int = 32,
    num_layers: int = 2,
    seed: int = 0,
) -> PreTrainedModel:
    """A random, frozen causal LM of ``family`` (llama, qwen2, starcoder2, gpt_bigcode, mamba,
    mamba2) sized to ``tokenizer``, with dropout 0, in eval mode. Mamba's pure-PyTorch path runs
    it on CPU (slowly: keep ``hidden`` at 16-32)."""
    fields = _tiny_causal_fields(family, hidden, num_layers, len(tokenizer))
    ids = tokenizer.pad_token_id, tokenizer.eos_token_id
    config = _CONFIG_CLASSES[family](
        **fields, pad_token_id=ids[0], eos_token_id=ids[1], bos_token_id=ids[1]
    )
    model = _causal_from_config(config, tokenizer.pad_token_id, tokenizer.eos_token_id, seed)
    return freeze(model).eval()


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

    ``model_type`` (t5, llama, qwen2, starcoder2, gpt_bigcode, mamba, mamba2, ...), ``d_model``
    (T5's d_model, else hidden_size), ``vocab_size`` and ``num_layers`` must match exactly;
    ``architecture`` ("encoder-decoder" or "causal") and ``name_or_path`` are informational (the
    same model may live at another path).
    """
    cfg = model.config
    return {
        "model_type": str(getattr(cfg, "model_type", "")),
        "architecture": "causal" if is_causal(model) else "encoder-decoder",
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
    """Create a randomly initialised backbone of a named shape with a tokenizer and save it to
    ``out_dir``: a backbone for trying the pipeline, tests and benchmarks, with no download.
    ``shape`` is a T5 shape (see ``t5_config``) or a causal one (see ``causal_config``: e.g.
    "tiny-llama", "tiny-mamba", "mamba-130m"). ``tokenizer`` is "stdlib" (a byte-level BPE of
    ``vocab_size`` tokens trained on the Python standard library) or the path of a saved Hugging
    Face tokenizer folder.
    """
    if tokenizer == "stdlib":
        tok = build_tokenizer(stdlib_code_texts(seed=seed), vocab_size=vocab_size)
    else:
        if not Path(tokenizer).is_dir():
            raise BackboneError(f"tokenizer folder not found: {tokenizer}")
        tok = AutoTokenizer.from_pretrained(tokenizer, use_fast=True, local_files_only=True)
    if is_causal_shape(shape):
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token
        eos = tok.eos_token_id
        config = causal_config(
            shape, len(tok), pad_token_id=tok.pad_token_id, eos_token_id=eos, bos_token_id=eos
        )
        model = _causal_from_config(config, tok.pad_token_id, tok.eos_token_id, seed)
        return save_backbone(model, tok, out_dir)
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
