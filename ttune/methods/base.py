"""What every adaptation method shares: its config base and the adapted-model API.

A method is a config dataclass (subclass of :class:`MethodConfig`) plus an ``apply`` function that
wraps a frozen backbone in an :class:`AdaptedModel` whose only trainable parameters are the
method's own. Registering methods: :mod:`ttune.methods.registry`; saving and loading trained
methods: :mod:`ttune.methods.saving`.
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from ttune.backbone import is_causal


class MethodError(ValueError):
    """A method was used wrongly (missing graph, labels passed to generate, ...)."""


class UnknownMethodError(ValueError):
    """A method name that no registered method has."""


class MethodConfigError(ValueError):
    """An invalid method configuration (unknown field, bad value, unsupported version)."""


class CheckpointError(ValueError):
    """A saved method cannot be loaded (missing or corrupt files, other backbone, bad tensors)."""


@dataclass(frozen=True)
class GraphOptions:
    """How the CPGs of a graph-reading method are featurized (keyword arguments of
    :func:`ttune.transducer.featurize`). A method declares them through
    :meth:`MethodConfig.graph_options`; training and prediction both read them from the saved
    config, so the two featurize alike."""

    max_graph_nodes: int | None = None
    """Nodes of each CPG the method reads: a pre-order prefix of this many; None reads all."""
    max_label_tokens: int = 16
    """Tokens kept per node label."""


@dataclass
class MethodConfig:
    """Base of every method config. Subclasses are dataclasses with typed, documented fields."""

    name: ClassVar[str] = ""
    version: ClassVar[int] = 1
    renamed_fields: ClassVar[dict[str, str]] = {}
    """Old field name -> current name: configs saved (or ``-m`` options given) under an old name
    still load."""
    search_space: ClassVar[dict[str, tuple[int, int]]] = {}
    """Integer fields that set the method's size, each with the (smallest, largest) value a
    hybrid search (:mod:`ttune.search`) explores; empty: the search only switches it on or off."""

    def graph_options(self) -> GraphOptions:
        """How this method's CPGs are featurized (only read when its model has ``needs_graph``).
        The default suits any method; one with its own limits returns them from its fields."""
        return GraphOptions()

    def to_dict(self) -> dict[str, Any]:
        """``{"method": name, "version": version, **fields}`` with tuples as lists (JSON-ready)."""
        out: dict[str, Any] = {"method": self.name, "version": self.version}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MethodConfig:
        """Rebuild a config of this method from :meth:`to_dict` output (a config of any method:
        :func:`ttune.methods.registry.config_from_dict`)."""
        if not isinstance(d, dict) or "method" not in d:
            raise MethodConfigError("a method config needs a 'method' field")
        if d["method"] != cls.name:
            raise MethodConfigError(f"config is for method {d['method']!r}, not {cls.name!r}")
        version = d.get("version", cls.version)
        if not isinstance(version, int) or version > cls.version or version < 1:
            raise MethodConfigError(
                f"method {cls.name!r} config version {version!r} is not "
                f"supported (this ttune reads <= {cls.version})"
            )
        fields = {k: v for k, v in d.items() if k not in ("method", "version")}
        return cls.from_fields(**fields)

    @classmethod
    def from_fields(cls, **fields: Any) -> MethodConfig:
        """Build from keyword fields (old names in ``renamed_fields`` accepted), naming the valid
        fields if one is unknown."""
        for old, new in cls.renamed_fields.items():
            if old in fields:
                if new in fields:
                    raise MethodConfigError(
                        f"method {cls.name!r}: {old!r} is the old name of "
                        f"{new!r}; give only {new!r}"
                    )
                fields[new] = fields.pop(old)
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(fields) - set(known))
        if unknown:
            raise MethodConfigError(
                f"unknown field(s) {', '.join(unknown)} for method {cls.name!r}; "
                f"valid: {', '.join(known) or '(none)'}"
            )
        try:
            return cls(**fields)
        except TypeError as e:
            raise MethodConfigError(f"bad config for method {cls.name!r}: {e}") from None


def left_align(embeds: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """Move each row's unmasked positions to the right end, in order, and the masked ones to the
    left: the left-padded layout a causal LM continues from. Prompt rows prepended to a
    right-padded batch leave holes between prompt and source; this closes them.

    Shapes: embeds ``[B, T, d]``, mask ``[B, T]`` -> the same shapes.
    """
    order = torch.argsort(mask.ne(0).to(torch.int8), dim=1, stable=True)
    return (
        embeds.gather(1, order.unsqueeze(-1).expand(-1, -1, embeds.shape[-1])),
        mask.gather(1, order),
    )


def _accepts_position_ids(model: nn.Module) -> bool:
    base = getattr(model, "get_base_model", lambda: model)()
    return "position_ids" in inspect.signature(base.forward).parameters


class AdaptedModel(nn.Module):
    """A frozen backbone adapted by one method.

    ``self.model`` is what forward and generate call (the backbone, or a peft wrapper around it);
    subclasses put their own modules next to it and override :meth:`prepare_inputs` to turn the
    batch into keyword arguments of the backbone (``input_ids`` or ``inputs_embeds``).

    On a causal LM (``self.causal``) the same ``prepare_inputs`` builds the prompt (the source
    and its task instruction, as the method adapts it); forward then left-aligns the prompt,
    appends the target's embeddings (teacher forcing) and takes the loss on the target tokens
    only; generate continues the left-aligned prompt and returns the new tokens only.

    Shapes:
        - input_ids, attention_mask: ``[B, T]``; labels: ``[B, L]`` padded with -100
        - token_spans: ``[B, T, 2]`` (transducer only); graph: PyG Batch of B graphs (transducer
        only)
        - logits: ``[B, L, vocab]``; generate: ``[B, L']``
    """

    needs_graph: ClassVar[bool] = False

    def __init__(
        self, backbone: nn.Module, config: MethodConfig, model: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.config = config
        self.model = backbone if model is None else model
        self.__dict__["backbone"] = (
            backbone  # the bare backbone, kept by reference (not re-registered)
        )
        self.causal = is_causal(backbone)
        self._position_ids = self.causal and _accepts_position_ids(backbone)

    # --- inputs -------------------------------------------------------------------------------
    def embed(self, input_ids: Tensor) -> Tensor:
        """Frozen token embeddings. Shapes: ``[B, T]`` -> ``[B, T, d_model]``."""
        return self.backbone.get_input_embeddings()(input_ids)

    def prepare_inputs(
        self,
        input_ids: Tensor,
        attention_mask: Tensor,
        graph=None,
        token_spans: Tensor | None = None,
    ) -> dict[str, Tensor]:
        """Keyword arguments for the backbone's encoder side (default: the ids unchanged)."""
        return {"input_ids": input_ids, "attention_mask": attention_mask}

    def _check_graph(self, graph) -> None:
        if self.needs_graph and graph is None:
            raise MethodError(f"method {self.config.name!r} needs the code graph (graph=...)")

    # --- API ------------------------------------------------------------------------------------
    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor,
        labels: Tensor | None = None,
        graph=None,
        token_spans: Tensor | None = None,
    ):
        self._check_graph(graph)
        kw = self.prepare_inputs(input_ids, attention_mask, graph, token_spans)
        if self.causal:
            return self._causal_forward(kw, labels)
        if labels is not None:
            labels = labels.contiguous()  # T5's loss uses .view(), which fails on sliced labels
        return self.model(**kw, labels=labels, return_dict=True)

    def _prompt(self, kw: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        """The left-aligned prompt of a causal LM: embeddings ``[B, T, d]``, mask ``[B, T]``."""
        embeds = kw.get("inputs_embeds")
        if embeds is None:
            embeds = self.embed(kw["input_ids"])
        return left_align(embeds, kw["attention_mask"])

    def _past(self, batch_size: int) -> tuple[dict[str, Any], int]:
        """Extra keyword arguments of a causal backbone call that put P learned key/value
        positions before the sequence (``prefix``), and P. Default: none, 0."""
        return {}, 0

    def _call_kwargs(self, mask: Tensor, batch_size: int) -> dict[str, Any]:
        """The mask, learned past and positions of one causal backbone call. Positions count
        real tokens only (and the past's), so left padding shifts nothing (learned absolute
        positions of GPT-BigCode, RoPE of Llama); Mamba has none."""
        extra, P = self._past(batch_size)
        if P:
            mask = torch.cat([mask.new_ones(mask.shape[0], P), mask], 1)
        kw = {"attention_mask": mask, **extra}
        if self._position_ids:
            kw["position_ids"] = (mask.long().cumsum(-1) - 1).clamp(min=0)[:, P:]
        return kw

    def _causal_forward(self, kw: dict[str, Tensor], labels: Tensor | None):
        """Prompt + target in one sequence; logits and loss of the target positions only.

        Shapes: prompt ``[B, T, d]``, labels ``[B, L]`` -> logits ``[B, L, vocab]`` (position
        T - 1 + i predicts target token i).
        """
        embeds, mask = self._prompt(kw)
        B = embeds.shape[0]
        if labels is None:
            return self.model(inputs_embeds=embeds, return_dict=True, **self._call_kwargs(mask, B))
        T = embeds.shape[1]
        keep = labels.ne(-100)
        target = self.embed(labels.masked_fill(~keep, 0)).to(embeds.dtype)
        full_mask = torch.cat([mask, keep.to(mask.dtype)], 1)
        full_labels = torch.cat([labels.new_full((labels.shape[0], T), -100), labels], 1)
        out = self.model(
            inputs_embeds=torch.cat([embeds, target], 1),
            labels=full_labels.contiguous(),
            return_dict=True,
            **self._call_kwargs(full_mask, B),
        )
        out["logits"] = out.logits[:, T - 1 : -1]
        return out

    @torch.no_grad()
    def generate(
        self,
        input_ids: Tensor,
        attention_mask: Tensor,
        graph=None,
        token_spans: Tensor | None = None,
        num_beams: int = 1,
        max_new_tokens: int = 64,
        **kw: Any,
    ) -> Tensor:
        """Generate from the source only. Shapes: ``[B, T]`` -> ``[B, L]`` (an encoder-decoder's
        starts with the decoder start; a causal LM's holds the new tokens only)."""
        leaked = sorted(
            set(kw)
            & {"labels", "decoder_input_ids", "decoder_inputs_embeds", "decoder_attention_mask"}
        )
        if leaked:
            raise MethodError(f"generate sees the source only; do not pass {', '.join(leaked)}")
        self._check_graph(graph)
        inputs = self.prepare_inputs(input_ids, attention_mask, graph, token_spans)
        if self.causal:
            embeds, mask = self._prompt(inputs)
            # generate derives positions from the mask itself; the past serves every beam.
            call = self._call_kwargs(mask, embeds.shape[0] * num_beams)
            call.pop("position_ids", None)
            P = call["attention_mask"].shape[1] - mask.shape[1]
            if P:  # generate takes a pre-filled cache for the first P input positions: fill them
                embeds = torch.cat(
                    [embeds.new_zeros(embeds.shape[0], P, embeds.shape[2]), embeds], 1
                )
            inputs = {"inputs_embeds": embeds, **call}
        return self._generate(inputs, num_beams=num_beams, max_new_tokens=max_new_tokens, **kw)

    def _generate(self, inputs: dict[str, Tensor], **kw: Any) -> Tensor:
        return self.model.generate(**inputs, **kw)

    def expand_records(self, records: list[dict], task) -> list[dict]:
        """The records the model reads for ``records`` (``topro``: one per identifier); the
        trainer trains on them and prediction generates for them. Default: the same records."""
        return records

    def merge_predictions(self, records: list[dict], predictions: list[str], task) -> list[str]:
        """One prediction per record of ``records`` from the predictions made for
        ``expand_records(records, task)``. Default: unchanged."""
        return predictions

    def after_optimizer_step(self, step: int, optimizer=None) -> None:
        """Called by the trainer after optimizer step ``step`` (1-based); a method with a training
        schedule of its own (``xprompt``'s stages) overrides it. Default: nothing."""

    def trainable_parameters(self) -> list[tuple[str, nn.Parameter]]:
        return [(n, p) for n, p in self.named_parameters() if p.requires_grad]

    def parameter_groups(self) -> list[dict[str, Any]]:
        """Optimizer parameter groups ``{"name", "params", "lr_scale"}``: the trainer gives each
        the learning rate ``lr x lr_scale``. Default: one group of every trainable parameter."""
        params = [p for _, p in self.trainable_parameters()]
        return [{"name": self.config.name, "params": params, "lr_scale": 1.0}] if params else []

    def num_trainable(self) -> int:
        """Trainable parameters actually used by forward."""
        return sum(p.numel() for _, p in self.trainable_parameters())

    def method_state_dict(self) -> dict[str, Tensor]:
        """The trainable weights only, detached, on CPU, contiguous (ready for safetensors)."""
        return {n: p.detach().cpu().contiguous() for n, p in self.trainable_parameters()}

    def load_method_state_dict(self, sd: dict[str, Tensor]) -> None:
        """Copy ``sd`` into the trainable weights; keys and shapes must match exactly."""
        own = dict(self.trainable_parameters())
        missing, unexpected = sorted(set(own) - set(sd)), sorted(set(sd) - set(own))
        if missing or unexpected:
            raise CheckpointError(
                f"method weights do not match: missing "
                f"{missing[:3]}{'...' if len(missing) > 3 else ''}"
                f", unexpected {unexpected[:3]}{'...' if len(unexpected) > 3 else ''}"
            )
        for n, p in own.items():
            if tuple(sd[n].shape) != tuple(p.shape):
                raise CheckpointError(
                    f"method weight {n} has shape {tuple(sd[n].shape)}, expected {tuple(p.shape)}"
                )
        with torch.no_grad():
            for n, p in own.items():
                p.copy_(sd[n].to(device=p.device, dtype=p.dtype))
