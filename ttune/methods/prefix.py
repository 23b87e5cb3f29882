"""``prefix``: prefix tuning (Li & Liang, ACL 2021): peft on the decoder plus ttune's encoder
prefix.

peft's seq2seq prefix tuning only feeds ``past_key_values`` to the decoder (its self-attention
and cross-attention), so it never reaches the T5 encoder. With ``encoder_prefix=True`` ttune adds
the encoder side itself, as learned virtual tokens prepended to the encoder's ``inputs_embeds``
(a soft prompt, :class:`ttune.methods.prompt.SoftPrompt`), not as extra key/value rows inside
each encoder self-attention. Why: T5's relative position bias and its attention mask are built
for ``query_len x key_len`` inside ``T5Attention``; extra key rows would need a patched attention
for every transformers release, whereas virtual tokens go through the public ``inputs_embeds``
argument, work with ``generate`` unchanged, and still shape every encoder layer (the prefix
positions are attended to at every layer and are carried into the decoder's cross-attention).

Trainable parameters: peft's prefix P x (2 x num_layers) x d (the same rows serve the decoder's
self- and cross-attention) plus, with the encoder prefix, P_enc x d.

Causal LMs with attention (Llama/Qwen2, StarCoder2, GPT-BigCode): ttune's own prefix
(:class:`CausalPrefixModel`), P learned key and value rows per layer handed to the backbone as
a pre-filled ``DynamicCache``, in forward and in generate (one copy per beam). peft's causal
prefix tuning trains under transformers 5.23 but cannot generate from ``inputs_embeds`` (its
``prepare_inputs_for_generation`` replacement hides the argument, and transformers refuses it),
which every embedding-rewriting method and the left-aligned prompt need. Trainable parameters:
P x 2L x (KV heads x head size); Qwen2.5-Coder-0.5B (L = 24, 2 KV heads of 64), P = 10:
10 x 48 x 128 = 61,440. Mamba has no keys or values: ``apply`` refuses it in one line (use
``affix``, which puts learned tokens before every mixer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from transformers import DynamicCache

from ttune.backbone import is_causal
from ttune.methods.base import AdaptedModel, MethodConfig, MethodConfigError
from ttune.methods.prompt import SoftPrompt
from ttune.methods.registry import register_method


@dataclass
class PrefixConfig(MethodConfig):
    """Prefix tuning: peft's decoder prefix and (optionally) ttune's encoder prefix."""

    name = "prefix"
    version = 1
    search_space = {"num_virtual_tokens": (1, 20)}

    num_virtual_tokens: int = 10
    """Prefix length on the decoder side (10 in the paper's runs)."""
    encoder_prefix: bool = True
    """Also prepend learned virtual tokens to the encoder input (peft's prefix never reaches it)."""
    encoder_tokens: int | None = None
    """Length of the encoder prefix; None = num_virtual_tokens."""

    def __post_init__(self) -> None:
        if not (isinstance(self.num_virtual_tokens, int) and self.num_virtual_tokens >= 1):
            raise MethodConfigError(
                f"prefix: num_virtual_tokens must be an integer >= 1, got "
                f"{self.num_virtual_tokens!r}"
            )
        if not isinstance(self.encoder_prefix, bool):
            raise MethodConfigError(
                f"prefix: encoder_prefix must be true or false, got {self.encoder_prefix!r}"
            )
        if self.encoder_tokens is not None and not (
            isinstance(self.encoder_tokens, int) and self.encoder_tokens >= 1
        ):
            raise MethodConfigError(
                f"prefix: encoder_tokens must be an integer >= 1 or null, got "
                f"{self.encoder_tokens!r}"
            )


class PrefixModel(AdaptedModel):
    """``self.model`` is peft's ``PeftModelForSeq2SeqLM``; ``self.encoder_prompt`` the encoder
    prefix."""

    def __init__(self, backbone, config: PrefixConfig, wrapped) -> None:
        super().__init__(backbone, config, model=wrapped)
        self.encoder_prompt = None
        if config.encoder_prefix:
            n = config.encoder_tokens or config.num_virtual_tokens
            self.encoder_prompt = SoftPrompt(n, backbone.get_input_embeddings(), "vocab", seed=1)

    def prepare_inputs(
        self, input_ids: Tensor, attention_mask: Tensor, graph=None, token_spans=None
    ) -> dict:
        if self.encoder_prompt is None:
            return {"input_ids": input_ids, "attention_mask": attention_mask}
        embeds, mask = self.encoder_prompt(self.embed(input_ids), attention_mask)
        return {"inputs_embeds": embeds, "attention_mask": mask}

    def _generate(self, inputs: dict, **kw) -> Tensor:
        # peft's generate() insists on input_ids; call the backbone's generate with peft's
        # prepare_inputs_for_generation (which injects the decoder prefix), as peft itself does.
        peft_model = self.model
        base = peft_model.base_model
        base.prepare_inputs_for_generation = peft_model.prepare_inputs_for_generation
        try:
            return base.generate(**inputs, **kw)
        finally:
            base.prepare_inputs_for_generation = peft_model.base_model_prepare_inputs_for_generation


class CausalPrefixModel(AdaptedModel):
    """Prefix tuning of a decoder-only attention LM. ``self.prefix``: ``[L, 2, H_kv, P, d_h]``
    (keys and values of every layer)."""

    def __init__(self, backbone, config: PrefixConfig) -> None:
        super().__init__(backbone, config)
        cfg = backbone.config
        if str(getattr(cfg, "model_type", "")).startswith("mamba"):
            raise MethodConfigError(
                "prefix: a Mamba backbone has no attention keys or values (use affix)"
            )
        heads = cfg.num_attention_heads
        head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // heads
        if getattr(cfg, "multi_query", False):
            kv_heads = 1
        else:
            kv_heads = getattr(cfg, "num_key_value_heads", None) or heads
        w = backbone.get_input_embeddings().weight
        shape = (cfg.num_hidden_layers, 2, kv_heads, config.num_virtual_tokens, head_dim)
        if w.is_meta:
            init = torch.empty(shape, device="meta")
        else:
            init = torch.randn(shape, generator=torch.Generator().manual_seed(0))
        self.prefix = nn.Parameter(init.to(device=w.device, dtype=w.dtype))

    def _past(self, batch_size: int) -> tuple[dict[str, Any], int]:
        cache = DynamicCache(config=self.backbone.config)
        for layer, kv in enumerate(self.prefix):
            k, v = (x.unsqueeze(0).expand(batch_size, -1, -1, -1).contiguous() for x in kv)
            cache.update(k, v, layer)
        return {"past_key_values": cache}, self.prefix.shape[3]


def apply(backbone, config: PrefixConfig, tokenizer=None) -> PrefixModel | CausalPrefixModel:
    import peft  # lazy: slow to import; only the peft-based methods need it

    if is_causal(backbone):
        return CausalPrefixModel(backbone, config)
    pc = peft.PrefixTuningConfig(
        task_type=peft.TaskType.SEQ_2_SEQ_LM, num_virtual_tokens=config.num_virtual_tokens
    )
    return PrefixModel(backbone, config, peft.get_peft_model(backbone, pc))


register_method("prefix", PrefixConfig, apply)
