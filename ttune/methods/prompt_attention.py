r"""``prompt-attention``: input-conditioned soft tokens from prompt attention.

Oymak, Rawat, Soltanolkotabi, Thrampoulidis, ICML 2023, "On the Role of Attention in
Prompt-tuning", study the model :math:`f(X) = v^\top X^\top \mathrm{softmax}(X W p)`: a trainable
prompt :math:`p` attends over the input tokens :math:`X` through frozen key-query weights
:math:`W`. ttune turns each of m trainable prompt vectors :math:`p_j` into one soft token

.. math::
    z_j(X) = s \cdot X^\top \mathrm{softmax}(X W p_j),
    \qquad W = W_q W_k^\top

(softmax over the input's non-padding tokens) and prepends :math:`z_1 \dots z_m` to the input
embeddings, like prompt tuning. :math:`W_q, W_k` are the query and key projections of the
backbone's first encoder self-attention (all heads together: :math:`x^\top W p` is the sum of the
heads' query-key products), frozen; only the :math:`p_j` and the scalar :math:`s` train.

Trainable parameters: :math:`m d` (+1 with ``learn_scale``). CodeT5+ 220M (d = 768), m = 25:
19,200 + 1 = 19,201.

Choices where the paper leaves a detail open (it analyses a one-layer model, not a backbone): X is
the backbone's token embeddings before the first layer norm (the paper's X is the raw input);
T5's attention has no 1/sqrt(d) scaling, so none is applied here either; the p_j start as the
embeddings of random vocabulary tokens (seeded), and s starts at 1.

Args (config fields):
    num_virtual_tokens (int): number m of prompt vectors (and soft tokens).
    learn_scale (bool): train the output scale s (else s = 1).
    seed (int): seed of the prompt initialisation.

Shapes:
    - embeds X: ``[B, T, d]``, attention_mask: ``[B, T]``
    - attention weights: ``[B, m, T]`` (rows sum to 1 over non-padding tokens, 0 on padding)
    - soft tokens: ``[B, m, d]``; backbone input: ``[B, m + T, d]``
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ttune.methods.base import AdaptedModel, MethodConfig, MethodConfigError
from ttune.methods.prompt import SoftPrompt
from ttune.methods.registry import register_method


@dataclass
class PromptAttentionConfig(MethodConfig):
    """m prompt vectors, each attending over the input to give one soft token."""

    name = "prompt-attention"
    version = 1

    num_virtual_tokens: int = 25
    """Number m of prompt vectors p_j (each gives one soft token)."""
    learn_scale: bool = True
    """Train the scalar output scale s (else it stays 1)."""
    seed: int = 0
    """Seed of the prompt initialisation (embeddings of random vocabulary tokens)."""

    def __post_init__(self) -> None:
        if not (isinstance(self.num_virtual_tokens, int) and self.num_virtual_tokens >= 1):
            raise MethodConfigError(
                "prompt-attention: num_virtual_tokens must be an integer "
                f">= 1, got {self.num_virtual_tokens!r}"
            )
        if not isinstance(self.learn_scale, bool):
            raise MethodConfigError(
                f"prompt-attention: learn_scale must be true or false, got {self.learn_scale!r}"
            )


def first_attention(backbone: nn.Module) -> tuple[nn.Linear, nn.Linear]:
    """The query and key projections of the backbone's first encoder self-attention."""
    try:
        attn = backbone.get_encoder().block[0].layer[0].SelfAttention
        return attn.q, attn.k
    except (AttributeError, IndexError):
        raise MethodConfigError(
            "prompt-attention: the backbone is not a T5-family model "
            "(no encoder.block[0].layer[0].SelfAttention)"
        ) from None


class PromptAttentionModel(AdaptedModel):
    """The backbone reading ``[z_1(X) .. z_m(X); X]``."""

    def __init__(self, backbone, config: PromptAttentionConfig) -> None:
        super().__init__(backbone, config)
        emb = backbone.get_input_embeddings()
        self.prompt = SoftPrompt(config.num_virtual_tokens, emb, "vocab", config.seed)
        self.scale = nn.Parameter(
            torch.ones((), device=emb.weight.device, dtype=emb.weight.dtype),
            requires_grad=config.learn_scale,
        )
        q, k = first_attention(backbone)
        self.__dict__["q"], self.__dict__["k"] = q, k  # frozen backbone modules, not re-registered

    def attention(self, embeds: Tensor, attention_mask: Tensor) -> Tensor:
        """Softmax over tokens of ``x_i^T W p_j``. Shapes: ``[B, T, d]`` -> ``[B, m, T]``."""
        queries = self.q(embeds)  # [B, T, inner]
        keys = self.k(self.prompt.weight.to(embeds.dtype))  # [m, inner]
        scores = torch.einsum("bti,mi->bmt", queries, keys).float()  # [B, m, T]
        pad = attention_mask[:, None, :] == 0
        scores = scores.masked_fill(pad, torch.finfo(scores.dtype).min)
        weights = scores.softmax(-1).masked_fill(pad, 0.0)
        return weights.to(embeds.dtype)

    def soft_tokens(self, embeds: Tensor, attention_mask: Tensor) -> Tensor:
        """``z_j = s X^T softmax(X W p_j)``. Shapes: ``[B, T, d]`` -> ``[B, m, d]``."""
        return self.scale * torch.einsum(
            "bmt,btd->bmd", self.attention(embeds, attention_mask), embeds
        )

    def prepare_inputs(
        self, input_ids: Tensor, attention_mask: Tensor, graph=None, token_spans=None
    ) -> dict:
        embeds = self.embed(input_ids)
        soft = self.soft_tokens(embeds, attention_mask)
        ones = attention_mask.new_ones(soft.shape[:2])
        return {
            "inputs_embeds": torch.cat([soft, embeds], 1),
            "attention_mask": torch.cat([ones, attention_mask], 1),
        }


def apply(backbone, config: PromptAttentionConfig, tokenizer=None) -> PromptAttentionModel:
    return PromptAttentionModel(backbone, config)


register_method("prompt-attention", PromptAttentionConfig, apply)
