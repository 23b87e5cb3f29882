r"""``adapter`` and ``prompt-adapter``: Houlsby bottleneck adapters, alone or with a soft prompt.

Houlsby et al., ICML 2019, "Parameter-Efficient Transfer Learning for NLP"; the pairing with
prompt tuning follows PEFTT (adapters and prompt tuning + adapters for a low-resource language
model). Each adapter is a residual bottleneck on a sublayer's output ``h``:

.. math::
    \mathrm{Adapter}(h) = h + W_{up}\,\sigma(W_{down} h + b_{down}) + b_{up},
    \qquad W_{down} \in \mathbb{R}^{r \times d},\; W_{up} \in \mathbb{R}^{d \times r}

with :math:`W_{up} = 0, b_{up} = 0` at initialisation, so the untrained model computes exactly the
backbone's function. Placement in a T5 layer: on the output projection of every attention
sublayer (``SelfAttention.o``; in the decoder also ``EncDecAttention.o`` unless
``cross_attention=False``) and of every feed-forward sublayer (``DenseReluDense.wo``), i.e. after
the sublayer and before its residual addition, as in Houlsby's Figure 2. The adapters act through
forward hooks on those modules, so the backbone's weights and module names stay as they are; like
peft, a backbone carries at most one adapter method.

Trainable parameters: per adapter :math:`2dr + r + d`; with ``L`` encoder and ``L`` decoder layers
there are ``2L`` encoder adapters and ``3L`` decoder adapters (``2L`` without cross-attention).
A causal LM with ``L`` layers has ``2L`` (attention and feed-forward; :func:`causal_adapter_sites`)
or, for Mamba, ``L`` (after each mixer's ``out_proj``).
CodeT5+ 220M (d = 768, L = 12), r = 64: 60 x (2 x 768 x 64 + 64 + 768) = 60 x 99,136 =
5,948,160. ``prompt-adapter`` adds the soft prompt's ``P x d`` (25 x 768 = 19,200).

Choices where the published description leaves a detail open: the non-linearity is ReLU (T5's own
feed-forward activation; configurable); the down-projection keeps PyTorch's default ``Linear``
initialisation (the up-projection being zero already makes the adapter an exact identity); the
decoder's cross-attention sublayer gets an adapter too, since it is an attention sublayer of every
decoder layer.

Args (config fields):
    bottleneck (int): width r of the adapter's hidden layer.
    activation (str): ``relu``, ``gelu`` or ``tanh``.
    cross_attention (bool): also adapt the decoder's cross-attention sublayers.

Shapes:
    - sublayer output h: ``[B, T, d]`` -> ``[B, T, d]``
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torch import Tensor, nn

from ttune.backbone import is_causal
from ttune.methods.base import AdaptedModel, MethodConfig, MethodConfigError
from ttune.methods.prompt import PROMPT_INITS, SoftPrompt
from ttune.methods.registry import register_method

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh}


class Adapter(nn.Module):
    """One Houlsby bottleneck: ``h -> h + up(act(down(h)))`` with ``up`` zero-initialised.

    Shapes: ``[..., d]`` -> ``[..., d]``. Parameters: ``2 d r + r + d``.
    """

    def __init__(
        self, d_model: int, bottleneck: int, activation: str = "relu", device=None, dtype=None
    ) -> None:
        super().__init__()
        self.down = nn.Linear(d_model, bottleneck, device=device, dtype=dtype)
        self.act = ACTIVATIONS[activation]()
        self.up = nn.Linear(bottleneck, d_model, device=device, dtype=dtype)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, h: Tensor) -> Tensor:
        return h + self.up(self.act(self.down(h.to(self.down.weight.dtype)))).to(h.dtype)


def causal_adapter_sites(backbone: nn.Module) -> dict[str, nn.Module]:
    """``{name: module}`` of a causal LM's sublayer output projections, in layer order:
    ``layer_<i>_self`` and ``layer_<i>_ff`` (Llama/Qwen2: ``self_attn.o_proj``, ``mlp.down_proj``;
    StarCoder2: ``mlp.c_proj``; GPT-BigCode: ``attn.c_proj``, ``mlp.c_proj``) or
    ``layer_<i>_mixer`` (Mamba, Mamba2: ``mixer.out_proj``)."""
    base = backbone.base_model
    blocks = getattr(base, "layers", None)
    if blocks is None:
        blocks = getattr(base, "h", None)
    if blocks is None:
        raise MethodConfigError("adapter: no decoder layers found in this causal LM")
    sites: dict[str, nn.Module] = {}
    for i, block in enumerate(blocks):
        mixer = getattr(block, "mixer", None)
        attn = getattr(block, "self_attn", None) or getattr(block, "attn", None)
        mlp = getattr(block, "mlp", None)
        if mixer is not None:
            sites[f"layer_{i}_mixer"] = mixer.out_proj
        elif attn is not None and mlp is not None:
            sites[f"layer_{i}_self"] = getattr(attn, "o_proj", None) or attn.c_proj
            sites[f"layer_{i}_ff"] = getattr(mlp, "down_proj", None) or mlp.c_proj
        else:
            raise MethodConfigError(f"adapter: layer {i} has no attention/mlp or mixer sublayer")
    return sites


def adapter_sites(backbone: nn.Module, cross_attention: bool = True) -> dict[str, nn.Module]:
    """``{name: module}`` of the T5 modules whose output an adapter rewrites, in layer order:
    ``encoder_<i>_self``, ``encoder_<i>_ff``, ``decoder_<i>_self``, ``decoder_<i>_cross``,
    ``decoder_<i>_ff`` (a causal LM: :func:`causal_adapter_sites`)."""
    if is_causal(backbone):
        return causal_adapter_sites(backbone)
    sites: dict[str, nn.Module] = {}
    stacks = [("encoder", backbone.get_encoder())]
    decoder = getattr(backbone, "decoder", None)
    if decoder is not None:
        stacks.append(("decoder", decoder))
    for side, stack in stacks:
        blocks = getattr(stack, "block", None)
        if blocks is None:
            raise MethodConfigError(
                "adapter: the backbone is not a T5-family model (no .block layers)"
            )
        for i, block in enumerate(blocks):
            for sub in block.layer:
                if hasattr(sub, "SelfAttention"):
                    sites[f"{side}_{i}_self"] = sub.SelfAttention.o
                elif hasattr(sub, "EncDecAttention"):
                    if cross_attention:
                        sites[f"{side}_{i}_cross"] = sub.EncDecAttention.o
                elif hasattr(sub, "DenseReluDense"):
                    sites[f"{side}_{i}_ff"] = sub.DenseReluDense.wo
    return sites


@dataclass
class AdapterConfig(MethodConfig):
    """Houlsby adapters after every attention and feed-forward sublayer of the backbone."""

    name = "adapter"
    version = 1
    search_space = {"bottleneck": (1, 64)}

    bottleneck: int = 64
    """Adapter width r (hidden size of the bottleneck)."""
    activation: Literal["relu", "gelu", "tanh"] = "relu"
    """Non-linearity between the down- and up-projection."""
    cross_attention: bool = True
    """Also put an adapter after the decoder's cross-attention sublayers."""

    def __post_init__(self) -> None:
        if not (
            isinstance(self.bottleneck, int)
            and not isinstance(self.bottleneck, bool)
            and self.bottleneck >= 1
        ):
            raise MethodConfigError(
                f"{self.name}: bottleneck must be an integer >= 1, got {self.bottleneck!r}"
            )
        if self.activation not in ACTIVATIONS:
            raise MethodConfigError(
                f"{self.name}: activation must be one of "
                f"{', '.join(ACTIVATIONS)}, got {self.activation!r}"
            )
        if not isinstance(self.cross_attention, bool):
            raise MethodConfigError(
                f"{self.name}: cross_attention must be true or false, got {self.cross_attention!r}"
            )


@dataclass
class PromptAdapterConfig(AdapterConfig):
    """Houlsby adapters plus a soft prompt of ``num_virtual_tokens`` rows, trained together."""

    name = "prompt-adapter"
    version = 1

    num_virtual_tokens: int = 25
    """Prompt length P."""
    init: Literal["vocab", "random"] = "vocab"
    """Initial prompt rows: "vocab" (embeddings of random vocabulary tokens) or "random"."""
    seed: int = 0
    """Seed of the prompt initialisation."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not (isinstance(self.num_virtual_tokens, int) and self.num_virtual_tokens >= 1):
            raise MethodConfigError(
                f"{self.name}: num_virtual_tokens must be an integer >= 1, "
                f"got {self.num_virtual_tokens!r}"
            )
        if self.init not in PROMPT_INITS:
            raise MethodConfigError(
                f"{self.name}: init must be one of {', '.join(PROMPT_INITS)}, got {self.init!r}"
            )


class AdapterModel(AdaptedModel):
    """The backbone with adapters hooked onto its sublayers (and, for prompt-adapter, a prompt)."""

    def __init__(self, backbone, config: AdapterConfig) -> None:
        super().__init__(backbone, config)
        if getattr(backbone, "_ttune_adapters", False):
            raise MethodConfigError(f"{config.name}: this backbone already carries adapters")
        sites = adapter_sites(backbone, config.cross_attention)
        w = backbone.get_input_embeddings().weight
        d = w.shape[1]
        self.adapters = nn.ModuleDict(
            {
                name: Adapter(
                    d, config.bottleneck, config.activation, device=w.device, dtype=w.dtype
                )
                for name in sites
            }
        )
        self._hooks = [
            module.register_forward_hook(self._hook(name)) for name, module in sites.items()
        ]
        backbone._ttune_adapters = True
        self.prompt = None
        if isinstance(config, PromptAdapterConfig):
            self.prompt = SoftPrompt(
                config.num_virtual_tokens, backbone.get_input_embeddings(), config.init, config.seed
            )

    def _hook(self, name: str):
        def hook(module, args, output):
            return self.adapters[name](output)

        return hook

    def prepare_inputs(
        self, input_ids: Tensor, attention_mask: Tensor, graph=None, token_spans=None
    ) -> dict:
        if self.prompt is None:
            return {"input_ids": input_ids, "attention_mask": attention_mask}
        embeds, mask = self.prompt(self.embed(input_ids), attention_mask)
        return {"inputs_embeds": embeds, "attention_mask": mask}


def apply(backbone, config: AdapterConfig, tokenizer=None) -> AdapterModel:
    return AdapterModel(backbone, config)


register_method("adapter", AdapterConfig, apply)
register_method("prompt-adapter", PromptAdapterConfig, apply)

__all__ = ["Adapter", "AdapterConfig", "AdapterModel", "PromptAdapterConfig", "adapter_sites"]
