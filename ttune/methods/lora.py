"""``lora``: low-rank adapters on the attention projections, through peft (Hu et al., ICLR 2022).

Paper settings: r=8, alpha=32, dropout 0.1 on T5's ``q`` and ``v``. With a CodeT5+ 220M backbone:
36 attention blocks (12 encoder self, 12 decoder self, 12 decoder cross) x 2 targets x
r (768 + 768) = 884,736 trainable parameters. peft injects the adapters into the backbone's
modules in place, so a backbone carries at most one LoRA method.

On a causal LM the same peft LoRA applies (task type CAUSAL_LM); the default targets are the
family's query and value projections (:data:`DEFAULT_TARGETS`): Qwen2.5-Coder-0.5B (d = 896,
24 layers, 2 KV heads of 64), r = 8: 24 x 8 x ((896 + 896) + (896 + 128)) = 540,672.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ttune.backbone import is_causal
from ttune.methods.base import AdaptedModel, MethodConfig, MethodConfigError
from ttune.methods.registry import register_method

DEFAULT_TARGETS: dict[str, tuple[str, ...]] = {
    "t5": ("q", "v"),
    "llama": ("q_proj", "v_proj"),
    "qwen2": ("q_proj", "v_proj"),
    "starcoder2": ("q_proj", "v_proj"),
    "mistral": ("q_proj", "v_proj"),
    "gpt_bigcode": ("c_attn",),
    "mamba": ("in_proj", "x_proj"),
    "mamba2": ("in_proj",),
}
"""Targets of an empty ``target_modules``, by the backbone's ``model_type`` (others: peft's own
table, else an error). peft refuses ``out_proj`` and ``conv1d`` of Mamba models (its fused CUDA
kernel bypasses them); ``mamba-lora`` adapts ``out_proj`` with ttune's own LoRA layer."""


def default_targets(backbone) -> tuple[str, ...] | None:
    """The family's default LoRA targets (None: let peft choose from its table)."""
    return DEFAULT_TARGETS.get(str(getattr(backbone.config, "model_type", "")))


@dataclass
class LoraConfig(MethodConfig):
    """LoRA on the named linear modules of the backbone."""

    name = "lora"
    version = 1
    search_space = {"r": (1, 16)}

    r: int = 8
    """Rank of the update."""
    alpha: int = 32
    """Scaling numerator: the update is scaled by alpha / r."""
    dropout: float = 0.1
    """Dropout on the adapter input (training only)."""
    target_modules: tuple[str, ...] = field(default_factory=tuple)
    """Names of the modules to adapt (T5: q, k, v, o, wi, wo; Llama/Qwen2: q_proj, k_proj,
    v_proj, o_proj, ...). Empty: the family's default (:data:`DEFAULT_TARGETS`; T5: q, v)."""

    def __post_init__(self) -> None:
        if isinstance(self.target_modules, str):
            self.target_modules = (self.target_modules,)
        self.target_modules = tuple(self.target_modules)
        if not (isinstance(self.r, int) and self.r >= 1):
            raise MethodConfigError(f"lora: r must be an integer >= 1, got {self.r!r}")
        if not (isinstance(self.alpha, (int, float)) and self.alpha > 0):
            raise MethodConfigError(f"lora: alpha must be > 0, got {self.alpha!r}")
        if not (isinstance(self.dropout, (int, float)) and 0.0 <= self.dropout < 1.0):
            raise MethodConfigError(f"lora: dropout must be in [0, 1), got {self.dropout!r}")
        if not all(isinstance(t, str) and t for t in self.target_modules):
            raise MethodConfigError("lora: target_modules must be a list of module names")


class LoraModel(AdaptedModel):
    """``self.model`` is peft's ``PeftModelForSeq2SeqLM`` (``PeftModelForCausalLM`` on a causal
    LM) around the backbone."""


def apply(backbone, config: LoraConfig, tokenizer=None) -> LoraModel:
    import peft  # lazy: slow to import; only the peft-based methods need it

    targets = config.target_modules or default_targets(backbone)
    causal = is_causal(backbone)
    pc = peft.LoraConfig(
        task_type=peft.TaskType.CAUSAL_LM if causal else peft.TaskType.SEQ_2_SEQ_LM,
        r=config.r,
        lora_alpha=config.alpha,
        lora_dropout=config.dropout,
        target_modules=list(targets) if targets else None,
        bias="none",
    )
    try:
        wrapped = peft.get_peft_model(backbone, pc)
    except ValueError as e:
        raise MethodConfigError(f"lora: {str(e).splitlines()[0]}") from None
    return LoraModel(backbone, config, model=wrapped)


register_method("lora", LoraConfig, apply)
