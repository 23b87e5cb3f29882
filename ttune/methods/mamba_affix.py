r"""``affix``: Affix-tuning for Mamba (MambaPEFT).

Prefix tuning has no keys or values to extend in Mamba; MambaPEFT's Affix-tuning instead puts P
learned tokens :math:`E_l \in \mathbb{R}^{P \times d}` in front of the input of every mixer
:math:`l` and drops the P outputs at those positions, so the tokens shape the mixer's state (and
through it every real position) while later layers never see them:

.. math::
    y_l = \mathrm{Mixer}_l([E_l; h_l])_{P:}

With left padding the tokens go right before each row's first real token (the row is
left-aligned with them, then put back), so a padded row gives what it gives alone. In cached
generation the tokens enter at the prefill only; each decoding step continues from a state that
already holds them.

Trainable parameters: :math:`L \cdot P \cdot d`. state-spaces/mamba-130m (d = 768, L = 24),
P = 4: 24 x 4 x 768 = 73,728.

Args (config fields): ``num_tokens`` (P), ``init_std``, ``seed``.

Shapes:
    - mixer input ``[B, T, d]`` -> ``[B, P + T, d]`` inside; output ``[B, T, d]``
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ttune.methods.base import AdaptedModel, MethodConfig, MethodConfigError
from ttune.methods.mamba_common import check_positive, mamba_mixers
from ttune.methods.registry import register_method


@dataclass
class AffixConfig(MethodConfig):
    """P learned tokens before the input of every Mamba mixer."""

    name = "affix"
    version = 1
    search_space = {"num_tokens": (1, 16)}

    num_tokens: int = 4
    """Tokens P per mixer."""
    init_std: float = 0.02
    """Standard deviation of the tokens' Gaussian initialisation."""
    seed: int = 0
    """Seed of the initialisation."""

    def __post_init__(self) -> None:
        check_positive(self.name, "num_tokens", self.num_tokens)
        if not (isinstance(self.init_std, (int, float)) and self.init_std >= 0):
            raise MethodConfigError(f"{self.name}: init_std must be >= 0, got {self.init_std!r}")


def wrap_forward(mixer: nn.Module, wrapper) -> None:
    """Replace ``mixer.forward`` by ``wrapper(original_forward, *args, **kwargs)`` (wrappers of
    several methods stack, the last applied outermost)."""
    original = mixer.forward
    mixer.forward = lambda *a, **kw: wrapper(original, *a, **kw)


class AffixModel(AdaptedModel):
    """``self.affix``: ``[L, P, d]``, the tokens of every layer's mixer."""

    def __init__(self, backbone, config: AffixConfig) -> None:
        super().__init__(backbone, config)
        mixers = mamba_mixers(backbone, config.name)
        w = backbone.get_input_embeddings().weight
        shape = (len(mixers), config.num_tokens, w.shape[1])
        if w.is_meta:
            init = torch.empty(shape, device="meta")
        else:
            g = torch.Generator().manual_seed(config.seed)
            init = torch.randn(shape, generator=g) * config.init_std
        self.affix = nn.Parameter(init.to(device=w.device, dtype=w.dtype))
        for i, mixer in enumerate(mixers):
            wrap_forward(mixer, self._wrapper(i))

    def _wrapper(self, layer: int):
        def forward(original, hidden_states: Tensor, cache_params=None, attention_mask=None, **kw):
            B, T, _ = hidden_states.shape
            if cache_params is not None and T == 1:  # a decoding step: the state holds the affix
                return original(
                    hidden_states, cache_params=cache_params, attention_mask=attention_mask, **kw
                )
            P = self.affix.shape[1]
            tokens = self.affix[layer].to(hidden_states.dtype).unsqueeze(0).expand(B, -1, -1)
            x = torch.cat([tokens, hidden_states], 1)
            if attention_mask is None:
                out = original(x, cache_params=cache_params, attention_mask=None, **kw)
                return out[:, P:]
            mask = torch.cat([attention_mask.new_ones(B, P), attention_mask], 1)
            # Left-align so the tokens sit right before the row's first real token.
            order = torch.argsort(mask.ne(0).to(torch.int8), dim=1, stable=True)
            index = order.unsqueeze(-1).expand_as(x)
            out = original(
                x.gather(1, index),
                cache_params=cache_params,
                attention_mask=mask.gather(1, order),
                **kw,
            )
            back = torch.empty_like(out).scatter_(1, index[..., : out.shape[-1]], out)
            return back[:, P:]

        return forward


def apply(backbone, config: AffixConfig, tokenizer=None) -> AffixModel:
    return AffixModel(backbone, config)


register_method("affix", AffixConfig, apply)
