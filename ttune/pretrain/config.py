"""The pretraining configuration: one dataclass, saved in the run folder as pretrain_config.json.

Every field has an attribute docstring (the CLI's --help says the same) and is checked in
``__post_init__``, so a bad value fails with one line before any corpus is read.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Literal, get_args

from ttune.options import check_device
from ttune.runs import JsonConfig


class PretrainError(ValueError):
    """Bad pretraining option, unusable corpus or checkpoint. The message is one line."""


# Corpus sources, in the order the corpus lists them. "local" ones are read from this machine,
# the others are the TRAINING parts of the shared research data sets (see corpus.py).
LOCAL_SOURCES = ("python-stdlib", "site-packages", "jdk")
DATASET_SOURCES = (
    "codexglue-java-cs",
    "avatar-java-python",
    "code-docstring",
    "tl-codesum",
    "atlas",
)
SOURCES = LOCAL_SOURCES + DATASET_SOURCES

# Objectives with a share option (``<name>_share``); span corruption takes the rest of the steps.
# summarize, translate and assert are the fine-tuning tasks of the same names (ttune.tasks).
SHARED_OBJECTIVES = ("prefix", "summarize", "generate", "translate", "assert")
SUPERVISED = ("summarize", "generate", "translate", "assert")

Arch = Literal["t5", "mamba", "llama"]
Schedule = Literal["cosine", "linear", "constant"]
SaveDtype = Literal["float32", "float16", "bfloat16"]
Precision = Literal["auto", "bf16", "fp32"]
Attention = Literal["sdpa", "eager"]
ARCHS: tuple[str, ...] = get_args(Arch)
CAUSAL_ARCHS = ("mamba", "llama")
SCHEDULES: tuple[str, ...] = get_args(Schedule)
SAVE_DTYPES: tuple[str, ...] = get_args(SaveDtype)
PRECISIONS: tuple[str, ...] = get_args(Precision)
ATTENTIONS: tuple[str, ...] = get_args(Attention)

# Named model shapes. "ttune-tiny" is the built-in backbone's: about 10.4M parameters with the
# default 12,000-token vocabulary (21 MB in float16). The others come from ttune.backbone.
SHAPES: dict[str, dict[str, int]] = {
    "ttune-tiny": dict(d_model=256, d_ff=1024, num_layers=4, num_heads=4),
    "ttune-mini": dict(d_model=128, d_ff=512, num_layers=2, num_heads=4),
}
# Named decoder-only shapes, "<size>-<arch>"; with a causal --arch, "ttune-tiny" and "ttune-mini"
# name that arch's shape of the same size. About 10.4M parameters each with the default
# 12,000-token vocabulary, like the T5 "ttune-tiny": Llama with SwiGLU feed-forward and full
# multi-head attention; Mamba (v1) with state 16, expand 2, convolution 4 and fewer, wider layers
# (its pure-PyTorch scan runs once per layer and token).
CAUSAL_SHAPES: dict[str, dict[str, int]] = {
    "ttune-tiny-llama": dict(d_model=256, d_ff=1024, num_layers=7, num_heads=4),
    "ttune-mini-llama": dict(d_model=128, d_ff=512, num_layers=2, num_heads=4),
    "ttune-tiny-mamba": dict(d_model=384, num_layers=6, state_size=16),
    "ttune-mini-mamba": dict(d_model=128, num_layers=2, state_size=16),
}

# T5-only objective options: a causal arch trains next-token prediction instead of span corruption
# and prefix LM, so these must keep their defaults there (prefix_share's steps train next-token
# prediction).
T5_ONLY = ("noise_density", "mean_span_length", "prefix_share", "prefix_target_length")

# Options that may change between two invocations of one run (budgets and reporting); any other
# difference means another training, which must not be mixed into the same folder.
NON_RESUME_KEYS = (
    "output_dir",
    "max_minutes",
    "progress",
    "log_every",
    "checkpoint_every",
    "keep_checkpoints",
    "save_dtype",
    "command",
    "device",
)


def shape_name(shape: str, arch: str = "t5") -> str:
    """The shape's full name: with a causal ``arch``, ``ttune-tiny`` names ``ttune-tiny-<arch>``."""
    return f"{shape}-{arch}" if arch in CAUSAL_ARCHS and shape in SHAPES else shape


def shape_sizes(shape: str, arch: str = "t5") -> dict[str, int]:
    """d_model, d_ff, num_layers, num_heads of a named shape (ours or ttune.backbone's); for a
    causal ``arch`` its shape's sizes (Mamba: d_model, num_layers, state_size)."""
    if arch in CAUSAL_ARCHS:
        name = shape_name(shape, arch)
        if name not in CAUSAL_SHAPES or not name.endswith(f"-{arch}"):
            known = ", ".join([*SHAPES, *(k for k in CAUSAL_SHAPES if k.endswith(f"-{arch}"))])
            raise PretrainError(f"unknown {arch} shape {shape!r}; known: {known}")
        return dict(CAUSAL_SHAPES[name])
    if shape in SHAPES:
        return dict(SHAPES[shape])
    from ttune.backbone import _SHAPES  # lazy: loads torch and transformers; configs stay light

    if shape in _SHAPES:
        s = _SHAPES[shape]
        return dict(
            d_model=s["d_model"],
            d_ff=s["d_ff"],
            num_layers=s["num_layers"],
            num_heads=s["num_heads"],
        )
    known = ", ".join([*SHAPES, *_SHAPES])
    raise PretrainError(f"unknown shape {shape!r}; known: {known}")


@dataclass
class PretrainConfig(JsonConfig):
    """One pretraining run: corpus, tokenizer, model shape, optimisation and budget.
    ``to_dict`` / ``from_dict`` / ``save`` / ``load``: JSON (pretrain_config.json)."""

    config_error = PretrainError
    options_name = "pretraining"

    output_dir: str
    """Run folder: pretrain_config.json, log.jsonl, corpus files, checkpoints/, and backbone/ at the
    end."""
    seed: int = 0
    """Seed of the corpus sample, the tokenizer sample, the model init, the data order and the
    noise."""
    # ---------------------------------------------------------------- corpus
    sources: tuple[str, ...] = SOURCES
    """Corpus sources (python-stdlib, site-packages, jdk, codexglue-java-cs, avatar-java-python,
    code-docstring, tl-codesum, atlas)."""
    corpus_bytes: int = 48_000_000
    """Size cap of the corpus in bytes (UTF-8), shared equally by the sources; a source smaller than
    its share is taken whole and the rest is shared by the others."""
    max_file_bytes: int = 200_000
    """Skip source files larger than this (generated tables, vendored bundles)."""
    chunk_chars: int = 4000
    """Documents are cut at line boundaries into chunks of at most this many characters."""
    data_dir: str | None = None
    """Shared research data sets folder (default: $TTUNE_DATA_DIR or <repo>/../shared/datasets)."""
    jdk_src_zip: str = "/usr/lib/jvm/openjdk-17/lib/src.zip"
    """The JDK sources (Debian's openjdk-17-source); skipped with a message when absent."""
    # ---------------------------------------------------------------- tokenizer
    vocab_size: int = 12_000
    """Byte-level BPE vocabulary, including <pad>, </s>, <unk> and 100 <extra_id_*> sentinels."""
    tokenizer_bytes: int = 12_000_000
    """Bytes of (seeded) corpus chunks the tokenizer is trained on."""
    # ---------------------------------------------------------------- model
    arch: Arch = "t5"
    """Model architecture: t5 (encoder-decoder: span corruption, prefix LM and the supervised
    pairs) or a decoder-only mamba (Mamba v1) or llama (Llama-style transformer): next-token
    prediction on the corpus windows and the supervised pairs in ttune's causal prompt layout
    (loss on the target tokens). The span-corruption and prefix-LM options must then keep their
    defaults; the prefix share's steps train next-token prediction."""
    shape: str = "ttune-tiny"
    """Named model shape (t5: ttune-tiny, ttune-mini, tiny, small, codet5p-220m, codet5p-770m;
    mamba / llama: ttune-tiny, ttune-mini, i.e. ttune-tiny-mamba, ttune-mini-llama, ...)."""
    d_model: int | None = None
    """Override the shape's hidden size."""
    d_ff: int | None = None
    """Override the shape's feed-forward size (not for mamba)."""
    num_layers: int | None = None
    """Override the shape's layers (T5: encoder and decoder each)."""
    num_heads: int | None = None
    """Override the shape's attention heads (d_kv = d_model / heads; not for mamba)."""
    dropout: float = 0.0
    """Dropout while pretraining (T5 v1.1 pretrains without dropout; llama: attention dropout;
    mamba has none)."""
    # ---------------------------------------------------------------- objective
    input_length: int = 256
    """Corpus tokens per example before span corruption (packed windows, no padding)."""
    noise_density: float = 0.15
    """Fraction of each window's tokens masked by span corruption."""
    mean_span_length: float = 3.0
    """Mean length of a masked span."""
    prefix_share: float = 0.15
    """Share of the steps that train prefix LM (encoder: a window's start and a sentinel; decoder:
    its last prefix_target_length tokens). See ttune/pretrain/objectives.py."""
    prefix_target_length: int = 64
    """Tokens the decoder writes in a prefix-LM step."""
    summarize_share: float = 0.2
    """Share of the steps that train the summarize task (the task's own input layout, with the
    function name's words -> the doc's first sentence) on training pairs; 0 turns it off."""
    generate_share: float = 0.1
    """Share of the steps that train docstring -> code (the doc's first sentence and the name's
    words -> the function without its doc), on the summarize pairs reversed."""
    translate_share: float = 0.15
    """Share of the steps that train the translate task on the training pairs of CodeXGLUE
    (Java <-> C#) and AVATAR (Java <-> Python), both directions."""
    assert_share: float = 0.1
    """Share of the steps that train the assert task on the ATLAS records carved to train.
    Span corruption takes what the five shares leave."""
    docstring_pairs: int = 60_000
    """Most (code, docstring) pairs taken from the local sources (Python stdlib, site-packages,
    JDK), shared equally by them; the data sets' training pairs come on top of these."""
    docstring_target_length: int = 48
    """Summary tokens kept (with </s>) in a summarize step; every supervised input is cut at
    input_length tokens."""
    code_target_length: int = 256
    """Code tokens kept (with </s>) in a generate, translate or assert step."""
    bucket_pairs: bool = True
    """Batch the supervised pairs by length (each epoch's seeded order is sorted within pools of
    64 batches, then the batches are shuffled) instead of at random: less padding per step."""
    distinct_sample: int = 64
    """Held-out summarize inputs decoded greedily at each checkpoint (at most the eval_windows
    held-out records); the share of distinct summaries among them is logged (0 turns it off)."""
    init_from: str | None = None
    """Backbone folder to start from (its weights, tokenizer and sizes) instead of a random init
    and a new tokenizer; shape options are then ignored. A run folder's checkpoint still wins."""
    # ---------------------------------------------------------------- optimisation
    batch_size: int = 32
    """Windows per optimizer step."""
    lr: float = 2e-3
    """Peak learning rate of AdamW."""
    weight_decay: float = 0.01
    """AdamW decoupled weight decay."""
    warmup_steps: int = 200
    """Linear warm-up steps."""
    schedule: Schedule = "cosine"
    """After warm-up: cosine (to min_lr_ratio at max_steps), linear (to 0) or constant."""
    min_lr_ratio: float = 0.1
    """Final learning rate of the cosine schedule as a fraction of lr."""
    max_grad_norm: float = 1.0
    """Clip the global gradient norm (0 = no clipping)."""
    max_steps: int = 3000
    """Optimizer steps of the whole run (the schedule spans them)."""
    max_minutes: float | None = None
    """Wall-clock budget of one invocation: stop, checkpoint and write the backbone; the same
    command run again continues towards max_steps."""
    eval_windows: int = 64
    """Windows held out of training; their loss (fixed noise) is logged at every checkpoint. Also
    the records held out per supervised task (at most a quarter of its data-set records)."""
    # ---------------------------------------------------------------- bookkeeping
    log_every: int = 10
    """Write a log line every N steps."""
    checkpoint_every: int = 200
    """Write a resumable checkpoint every N steps."""
    keep_checkpoints: int = 2
    """Checkpoints kept (oldest deleted)."""
    save_dtype: SaveDtype = "float32"
    """Storage dtype of the final backbone (float16 halves its size; load it with a float32
    dtype)."""
    precision: Precision = "auto"
    """Compute precision: bf16 (autocast; weights and AdamW state stay float32), fp32, or auto
    (bf16 where the CPU/GPU computes it natively, e.g. AVX512-BF16, else fp32)."""
    attention: Attention = "sdpa"
    """Attention kernel of a T5: sdpa (torch's scaled_dot_product_attention, transformers'
    default) or eager (T5's own matmuls with a float32 softmax), for a device whose fused kernels
    give non-finite values (docs/pretrain.md, "On a GPU")."""
    threads: int | None = None
    """torch CPU threads (default: torch's choice)."""
    device: str = "auto"
    """Device to train on: auto (a CUDA GPU when there is one, else cpu), cpu, cuda or cuda:N."""
    progress: bool = True
    """Show a progress bar."""
    command: str = ""
    """The command line that started the run (recorded in the model card)."""

    def __post_init__(self) -> None:
        if isinstance(self.sources, str):
            self.sources = tuple(s for s in self.sources.split(",") if s)
        self.sources = tuple(self.sources)
        bad = [s for s in self.sources if s not in SOURCES]
        if bad or not self.sources:
            raise PretrainError(
                f"sources: unknown {', '.join(bad) or '(none given)'}; known: {', '.join(SOURCES)}"
            )
        if len(set(self.sources)) != len(self.sources):
            raise PretrainError("sources: a source is listed twice")
        positive = (
            "corpus_bytes",
            "max_file_bytes",
            "chunk_chars",
            "tokenizer_bytes",
            "input_length",
            "batch_size",
            "max_steps",
            "log_every",
            "checkpoint_every",
            "keep_checkpoints",
        )
        for name in positive:
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise PretrainError(f"{name} must be a positive integer, got {v!r}")
        for name in ("warmup_steps", "eval_windows"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 0:
                raise PretrainError(f"{name} must be a non-negative integer, got {v!r}")
        if self.vocab_size < 400:
            raise PretrainError(
                f"vocab_size must be at least 400 (256 bytes + 103 specials), got {self.vocab_size}"
            )
        if self.arch not in ARCHS:
            raise PretrainError(f"arch must be one of {', '.join(ARCHS)}, got {self.arch!r}")
        if self.causal:
            self._check_causal()
        if not 0.0 < self.noise_density < 0.5:
            raise PretrainError(f"noise_density must be in (0, 0.5), got {self.noise_density}")
        if not 1.0 <= self.mean_span_length <= self.input_length / 2:
            raise PretrainError(
                f"mean_span_length must be in [1, input_length/2], got {self.mean_span_length}"
            )
        n_spans = round(round(self.input_length * self.noise_density) / self.mean_span_length)
        if n_spans > 99 and not self.causal:
            raise PretrainError(
                f"input_length {self.input_length} gives {n_spans} noise spans; "
                "at most 99 fit the 100 sentinels"
            )
        shares = {f"{k}_share": getattr(self, f"{k}_share") for k in SHARED_OBJECTIVES}
        for name, v in shares.items():
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 <= v <= 1:
                raise PretrainError(f"{name} must be in [0, 1], got {v!r}")
        if sum(shares.values()) > 1 + 1e-9:
            raise PretrainError(
                f"the objective shares ({', '.join(shares)}) must sum to at most "
                f"1, got {sum(shares.values()):g}"
            )
        if not isinstance(self.distinct_sample, int) or self.distinct_sample < 0:
            raise PretrainError(
                f"distinct_sample must be a non-negative integer, got {self.distinct_sample!r}"
            )
        if self.init_from is not None and not Path(self.init_from, "config.json").is_file():
            raise PretrainError(
                f"init_from: {self.init_from} is not a backbone folder (no config.json)"
            )
        for name in (
            "docstring_pairs",
            "docstring_target_length",
            "code_target_length",
            "prefix_target_length",
        ):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 2:
                raise PretrainError(f"{name} must be an integer >= 2, got {v!r}")
        if (
            not self.causal
            and self.prefix_share > 0
            and self.prefix_target_length > self.input_length // 2
        ):
            raise PretrainError(
                f"prefix_target_length must be at most input_length / 2 "
                f"({self.input_length // 2}), got {self.prefix_target_length}"
            )
        if self.input_length < 8:
            raise PretrainError(f"input_length must be at least 8, got {self.input_length}")
        if not self.lr > 0:
            raise PretrainError(f"lr must be positive, got {self.lr}")
        if self.weight_decay < 0 or self.max_grad_norm < 0 or not 0 <= self.dropout < 1:
            raise PretrainError("weight_decay and max_grad_norm must be >= 0 and dropout in [0, 1)")
        if not 0.0 <= self.min_lr_ratio <= 1.0:
            raise PretrainError(f"min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}")
        if self.schedule not in SCHEDULES:
            raise PretrainError(
                f"schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}"
            )
        if self.attention not in ATTENTIONS:
            raise PretrainError(
                f"attention must be one of {', '.join(ATTENTIONS)}, got {self.attention!r}"
            )
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise PretrainError(f"max_minutes must be positive, got {self.max_minutes}")
        check_device(self.device)
        if self.threads is not None and self.threads <= 0:
            raise PretrainError(f"threads must be positive, got {self.threads}")
        sizes = self.model_sizes()  # unknown shape / bad override fail here, not after the corpus
        for k, v in sizes.items():
            if v <= 0:
                raise PretrainError(f"{k} must be positive, got {v}")
        if "num_heads" in sizes and sizes["d_model"] % sizes["num_heads"]:
            raise PretrainError(
                f"d_model {sizes['d_model']} is not divisible by num_heads {sizes['num_heads']}"
            )

    def _check_causal(self) -> None:
        """One line for a T5-only option changed from its default with a decoder-only arch."""
        defaults = {f.name: f.default for f in fields(self)}
        for name in T5_ONLY:
            if getattr(self, name) != defaults[name]:
                flag = "--" + name.replace("_", "-")
                raise PretrainError(
                    f"{flag} is a T5 span-corruption / prefix-LM option; --arch {self.arch} "
                    "trains next-token prediction (leave it at its default)"
                )
        if self.arch == "mamba":
            for name in ("d_ff", "num_heads"):
                if getattr(self, name) is not None:
                    flag = "--" + {"d_ff": "d-ff", "num_heads": "heads"}[name]
                    raise PretrainError(f"{flag}: a mamba model has no {name}")
            if self.dropout:
                raise PretrainError("--dropout: a mamba model has no dropout")

    # ---------------------------------------------------------------- helpers
    @property
    def causal(self) -> bool:
        """Whether the arch is decoder-only (mamba, llama)."""
        return self.arch in CAUSAL_ARCHS

    def model_sizes(self) -> dict[str, int]:
        """The shape's sizes with the explicit overrides applied."""
        s = shape_sizes(self.shape, self.arch)
        for k in ("d_model", "d_ff", "num_layers", "num_heads"):
            if getattr(self, k) is not None:
                s[k] = int(getattr(self, k))
        return s

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["sources"] = list(self.sources)
        return d

    def resume_mismatch(self, other: PretrainConfig) -> list[str]:
        """Names of the options that differ from ``other`` and forbid resuming its run."""
        a, b = self.to_dict(), other.to_dict()
        return [k for k in a if k not in NON_RESUME_KEYS and a[k] != b.get(k)]

    def corpus_key(self) -> dict[str, Any]:
        """The options the corpus and tokenizer depend on (a cached corpus must match them)."""
        keys = (
            "seed",
            "sources",
            "corpus_bytes",
            "max_file_bytes",
            "chunk_chars",
            "data_dir",
            "jdk_src_zip",
            "vocab_size",
            "tokenizer_bytes",
            "init_from",
            "eval_windows",
        )
        d = self.to_dict()
        return {k: d[k] for k in keys}

    def pairs_key(self) -> dict[str, Any]:
        """The options the supervised pairs depend on (besides the corpus key's); the causal
        layout's pairs are cut at input_length when packed."""
        key = {**self.corpus_key(), "docstring_pairs": self.docstring_pairs}
        if self.causal:
            key.update(layout="causal", input_length=self.input_length)
        return key

    def shares(self) -> dict[str, float]:
        """Step share of every objective, in OBJECTIVES order: span corruption takes the rest
        (t5); a causal arch trains next-token prediction ("lm") on the rest and the prefix
        share."""
        if self.causal:
            rest = {k: float(getattr(self, f"{k}_share")) for k in SUPERVISED}
            return {"lm": max(0.0, 1.0 - sum(rest.values())), **rest}
        rest = {k: float(getattr(self, f"{k}_share")) for k in SHARED_OBJECTIVES}
        return {"span": max(0.0, 1.0 - sum(rest.values())), **rest}


__all__ = [
    "PretrainConfig",
    "PretrainError",
    "SOURCES",
    "LOCAL_SOURCES",
    "DATASET_SOURCES",
    "SHAPES",
    "CAUSAL_SHAPES",
    "ARCHS",
    "CAUSAL_ARCHS",
    "SHARED_OBJECTIVES",
    "SUPERVISED",
    "shape_sizes",
]
