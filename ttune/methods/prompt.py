"""``prompt``: soft prompt tuning (Lester et al., EMNLP 2021), ttune's own implementation.

P learned vectors are prepended to the encoder's input embeddings (attention mask extended with
ones). ttune does not use peft's seq2seq prompt tuning because it allocates 2 x P rows (one set
for a decoder prompt it never uses here), which inflates the trainable count; this module holds
exactly the P x d rows it uses. Rows start as the embeddings of P random vocabulary tokens
(seeded), which trains faster than random vectors.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ttune.methods.base import AdaptedModel, MethodConfig, MethodConfigError
from ttune.methods.registry import register_method

PROMPT_INITS = ("vocab", "random")


class SoftPrompt(nn.Module):
    """P learned embedding rows prepended to a batch of embeddings.

    Shapes:
        - embeds: ``[B, T, d]``, attention_mask: ``[B, T]``
        - output: ``[B, P + T, d]`` and ``[B, P + T]``
    """

    def __init__(
        self, num_tokens: int, embedding: nn.Embedding, init: str = "vocab", seed: int = 0
    ) -> None:
        super().__init__()
        table = embedding.weight
        g = torch.Generator().manual_seed(seed)
        if table.is_meta:  # shape-only model (parameter counting): nothing to copy
            weight = torch.empty(num_tokens, table.shape[1], device="meta")
        elif init == "vocab":
            rows = torch.randint(0, table.shape[0], (num_tokens,), generator=g)
            weight = table.detach().cpu()[rows].clone().float()
        else:
            weight = (
                torch.randn(num_tokens, table.shape[1], generator=g)
                * table.detach().float().std().cpu()
            )
        self.weight = nn.Parameter(weight.to(device=table.device, dtype=table.dtype))

    def forward(self, embeds: Tensor, attention_mask: Tensor) -> tuple[Tensor, Tensor]:
        B = embeds.shape[0]
        prompt = self.weight.unsqueeze(0).expand(B, -1, -1).to(embeds.dtype)
        ones = attention_mask.new_ones(B, self.weight.shape[0])
        return torch.cat([prompt, embeds], 1), torch.cat([ones, attention_mask], 1)


@dataclass
class PromptConfig(MethodConfig):
    """A soft prompt of ``num_virtual_tokens`` rows before the source tokens."""

    name = "prompt"
    version = 1
    search_space = {"num_virtual_tokens": (1, 50)}

    num_virtual_tokens: int = 25
    """Prompt length P (25 in the paper's runs)."""
    init: str = "vocab"
    """Initial rows: "vocab" (embeddings of random vocabulary tokens) or "random" (Gaussian)."""
    seed: int = 0
    """Seed of the initialisation."""

    def __post_init__(self) -> None:
        if not (isinstance(self.num_virtual_tokens, int) and self.num_virtual_tokens >= 1):
            raise MethodConfigError(
                f"prompt: num_virtual_tokens must be an integer >= 1, got "
                f"{self.num_virtual_tokens!r}"
            )
        if self.init not in PROMPT_INITS:
            raise MethodConfigError(
                f"prompt: init must be one of {', '.join(PROMPT_INITS)}, got {self.init!r}"
            )


class PromptModel(AdaptedModel):
    def __init__(self, backbone, config: PromptConfig) -> None:
        super().__init__(backbone, config)
        self.prompt = SoftPrompt(
            config.num_virtual_tokens, backbone.get_input_embeddings(), config.init, config.seed
        )

    def prepare_inputs(
        self, input_ids: Tensor, attention_mask: Tensor, graph=None, token_spans=None
    ) -> dict:
        embeds, mask = self.prompt(self.embed(input_ids), attention_mask)
        return {"inputs_embeds": embeds, "attention_mask": mask}


def apply(backbone, config: PromptConfig, tokenizer=None) -> PromptModel:
    return PromptModel(backbone, config)


register_method("prompt", PromptConfig, apply)
