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

Causal LMs: not supported. peft 0.18's causal prefix tuning fails under transformers 5.23 (its
past key/values reach the model as a cache object transformers no longer accepts, and
GPT-BigCode and Mamba2 refuse ``inputs_embeds`` in generate with a prefix), and Mamba has no
keys or values at all. ``apply`` says so in one line; use ``prompt`` (soft tokens before the
prompt, every causal family) or, on Mamba, ``affix`` (learned tokens at every mixer).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from ttune.backbone import is_causal
from ttune.methods.base import AdaptedModel, MethodConfig, MethodConfigError
from ttune.methods.prompt import SoftPrompt
from ttune.methods.registry import register_method


@dataclass
class PrefixConfig(MethodConfig):
    """Prefix tuning: peft's decoder prefix and (optionally) ttune's encoder prefix."""

    name = "prefix"
    version = 1

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


def apply(backbone, config: PrefixConfig, tokenizer=None) -> PrefixModel:
    import peft  # lazy: slow to import; only the peft-based methods need it

    if is_causal(backbone):
        raise MethodConfigError(
            "prefix: not supported on causal LMs (use prompt, or affix on a Mamba backbone)"
        )
    pc = peft.PrefixTuningConfig(
        task_type=peft.TaskType.SEQ_2_SEQ_LM, num_virtual_tokens=config.num_virtual_tokens
    )
    return PrefixModel(backbone, config, peft.get_peft_model(backbone, pc))


register_method("prefix", PrefixConfig, apply)
