"""``hybrid``: several registered methods composed on one frozen backbone (MambaPEFT's hybrid PEFT,
Yoshimura, Hayashi & Maeda, ICLR 2025), each with its own learning-rate multiplier.

The parts are ordinary registered methods, applied one after another to the same backbone, so any
method that acts in one of the three ways below composes without this module knowing it:

1. **through the input embeddings** (``prepare_inputs``: prompt, the transducer, the encoder side of
   prefix, linear, ...). The parts form a pipeline: each part reads, through its ``embed``, the
   embeddings the previous part produced (the first reads the frozen table). Parts that read the
   code graph go first, in the given order, then the others: the transducer's fusion aligns
   tokens with graph nodes by byte span, so it must see the source tokens before any soft prompt
   is put in front of them, and the prompt rows are never fused.
2. **inside the backbone's modules** (LoRA injected by peft, adapters on forward hooks): nothing to
   compose; the modules run whoever calls the backbone.
3. **by wrapping the backbone's call** (peft's prefix tuning feeds ``past_key_values`` from its
   wrapper): at most one part may do this; the hybrid calls through its wrapper and generates with
   its ``_generate``. A wrapper holding no parameters of its own beyond the backbone's (peft's
   LoRA model) only forwards the call and does not count.

Refused with one line (:class:`MethodConfigError`): no parts, a part named twice, a nested hybrid,
an unknown method, two parts wrapping the backbone's call, two parts rewriting the records
(``topro``), a part with its own ``forward``/``generate``, two parts featurizing the graph
differently, and a part that cannot be applied after the earlier ones (``prompt-adapter`` after
``adapter``: one backbone carries one set of adapters).

Trainable parameters: exactly the union of the parts' own (a part owns what it made trainable),
so the count is the sum of the parts' counts. Each part's parameters form one optimizer group
whose learning rate is ``lr x lr_scale[part]`` (:meth:`HybridModel.parameter_groups`). Saved like
any method: ``method_config.json`` holds
``{"method": "hybrid", "parts": [part configs], "lr_scale": {...}}`` and ``method.safetensors`` the
union of the weights.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor, nn

from ttune.methods.base import (
    AdaptedModel,
    GraphOptions,
    MethodConfig,
    MethodConfigError,
    MethodError,
    UnknownMethodError,
)
from ttune.methods.registry import apply_method, config_from_dict, register_method


def part_config(entry: Any) -> MethodConfig:
    """One part of a hybrid: a method name (its defaults) or a method config dict."""
    if isinstance(entry, MethodConfig):
        return entry
    if isinstance(entry, str):
        entry = {"method": entry}
    if not isinstance(entry, dict):
        raise MethodConfigError(
            f"hybrid: each part is a method name or a method config object, got {entry!r}"
        )
    if entry.get("method") == HybridConfig.name:
        raise MethodConfigError("hybrid: a hybrid cannot contain another hybrid")
    try:
        return config_from_dict(entry)
    except (UnknownMethodError, MethodConfigError) as e:
        raise MethodConfigError(f"hybrid: {e}") from None


@dataclass
class HybridConfig(MethodConfig):
    """Several registered methods on one backbone, each with a learning-rate multiplier."""

    name = "hybrid"
    version = 1

    parts: tuple[Any, ...] = ()
    """The composed methods: method names or method config objects as saved
    ({"method": "lora", "r": 4}); stored as full config objects."""
    lr_scale: dict[str, float] = field(default_factory=dict)
    """Learning-rate multiplier per part (method name -> factor of the run's learning rate);
    1 for a part not named."""

    def __post_init__(self) -> None:
        if isinstance(self.parts, (str, dict)):
            self.parts = (self.parts,)
        if not isinstance(self.parts, (list, tuple)) or not self.parts:
            raise MethodConfigError("hybrid: parts must name at least one method")
        configs = [part_config(p) for p in self.parts]
        names = [c.name for c in configs]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise MethodConfigError(f"hybrid: method {', '.join(twice)} is named twice in parts")
        self.parts = tuple(c.to_dict() for c in configs)
        if not isinstance(self.lr_scale, dict):
            raise MethodConfigError(f"hybrid: lr_scale must be an object, got {self.lr_scale!r}")
        unknown = sorted(set(self.lr_scale) - set(names))
        if unknown:
            raise MethodConfigError(
                f"hybrid: lr_scale names {', '.join(unknown)}, not among the parts "
                f"({', '.join(names)})"
            )
        for k, v in self.lr_scale.items():
            if isinstance(v, bool) or not (isinstance(v, (int, float)) and v > 0):
                raise MethodConfigError(f"hybrid: lr_scale of {k} must be > 0, got {v!r}")
        self.lr_scale = {k: float(v) for k, v in self.lr_scale.items()}
        self.graph_options()  # two parts that featurize graphs differently fail here

    def part_configs(self) -> list[MethodConfig]:
        """The parts' configs, in the given order."""
        return [part_config(p) for p in self.parts]

    def graph_options(self) -> GraphOptions:
        """The one featurization the graph-reading parts ask for (the default if none asks)."""
        chosen = {  # the parts that declare featurization options: the graph readers
            c.name: c.graph_options()
            for c in self.part_configs()
            if type(c).graph_options is not MethodConfig.graph_options
        }
        if len(set(chosen.values())) > 1:
            raise MethodConfigError(
                f"hybrid: parts {', '.join(chosen)} featurize the code graph differently "
                "(max_graph_nodes, max_label_tokens); give them the same values"
            )
        return next(iter(chosen.values()), GraphOptions())


class HybridModel(AdaptedModel):
    """The backbone adapted by every part. ``self.parts``: the parts' own modules by method name;
    ``self.model``: what forward calls (the backbone, or the one part's wrapper around it)."""

    def __init__(self, backbone, config: HybridConfig, tokenizer=None) -> None:
        parts: dict[str, AdaptedModel] = {}
        own: dict[str, list[nn.Parameter]] = {}
        claimed: set[int] = set()
        for c in config.part_configs():
            try:
                with warnings.catch_warnings():
                    # peft warns when a model gets a second peft method: here that is the point
                    warnings.filterwarnings("ignore", message=".*modify a model with PEFT.*")
                    part = apply_method(backbone, c, tokenizer)
            except MethodConfigError as e:
                raise MethodConfigError(f"hybrid: {str(e).removeprefix('hybrid: ')}") from None
            except (MethodError, ValueError, TypeError, RuntimeError) as e:
                after = f" after {', '.join(parts)}" if parts else ""
                msg = str(e).splitlines()[0] if str(e) else type(e).__name__
                raise MethodConfigError(f"hybrid: cannot apply {c.name}{after}: {msg}") from None
            _check_composable(part)
            parts[c.name] = part
            # A part's parameters: those it made trainable (a part also sees, through the shared
            # backbone, what earlier parts injected there). Recorded now: a later part (peft's
            # get_peft_model) may switch requires_grad off; it is set back below.
            own[c.name] = [p for _, p in part.trainable_parameters() if id(p) not in claimed]
            claimed.update(id(p) for p in own[c.name])
        owners = _call_owners(backbone, parts)
        if len(owners) > 1:
            raise MethodConfigError(
                f"hybrid: parts {' and '.join(owners)} both wrap the backbone's forward; "
                "a hybrid can hold one of them"
            )
        super().__init__(backbone, config, model=parts[owners[0]].model if owners else None)
        self.owner = owners[0] if owners else None
        expanding = [n for n, p in parts.items() if _overrides(p, "expand_records")]
        if len(expanding) > 1:
            raise MethodConfigError(
                f"hybrid: parts {' and '.join(expanding)} both rewrite the records"
            )
        self.expander = expanding[0] if expanding else None
        for part in parts.values():
            # The backbone (or a wrapper) is reached through self.model, registered once.
            inner = part._modules.pop("model", None)
            if inner is not None:
                part.__dict__["model"] = inner
        self.parts = nn.ModuleDict(parts)
        # Graph readers first, so span-aligned fusion sees the source tokens (module docstring).
        self.pipeline = sorted(parts, key=lambda n: not parts[n].needs_graph)
        self._embeds: Tensor | None = None
        for name in self.pipeline:
            parts[name].__dict__["embed"] = self._stage_embed
        for p in self.parameters():
            p.requires_grad_(False)
        for params in own.values():
            for p in params:
                p.requires_grad_(True)
        self._groups = own

    @property
    def needs_graph(self) -> bool:  # type: ignore[override]
        return any(p.needs_graph for p in self.parts.values())

    # ------------------------------------------------------------------ inputs
    def _stage_embed(self, input_ids: Tensor) -> Tensor:
        """What a part's ``embed`` returns inside the pipeline: the previous part's embeddings."""
        if self._embeds is None:
            return self.backbone.get_input_embeddings()(input_ids)
        return self._embeds

    def prepare_inputs(
        self, input_ids: Tensor, attention_mask: Tensor, graph=None, token_spans=None
    ) -> dict:
        self._embeds, mask, length = None, attention_mask, input_ids.shape[1]
        try:
            for name in self.pipeline:
                part = self.parts[name]
                if part.needs_graph and mask.shape[1] != length:
                    raise MethodError(
                        f"hybrid: {name} reads the code graph but an earlier part changed the "
                        "input length; put it first"
                    )
                out = part.prepare_inputs(input_ids, mask, graph, token_spans)
                if "inputs_embeds" in out:
                    self._embeds, mask = out["inputs_embeds"], out["attention_mask"]
                elif out.get("input_ids") is not input_ids:
                    raise MethodError(f"hybrid: {name} replaced the input ids; it cannot compose")
            if self._embeds is None:
                return {"input_ids": input_ids, "attention_mask": mask}
            return {"inputs_embeds": self._embeds, "attention_mask": mask}
        finally:
            self._embeds = None

    def _generate(self, inputs: dict[str, Tensor], **kw: Any) -> Tensor:
        if self.owner is not None:
            return self.parts[self.owner]._generate(inputs, **kw)
        return super()._generate(inputs, **kw)

    # ------------------------------------------------------------------ records, schedule
    def expand_records(self, records: list[dict], task) -> list[dict]:
        if self.expander is None:
            return records
        return self.parts[self.expander].expand_records(records, task)

    def merge_predictions(self, records: list[dict], predictions: list[str], task) -> list[str]:
        if self.expander is None:
            return predictions
        return self.parts[self.expander].merge_predictions(records, predictions, task)

    def after_optimizer_step(self, step: int, optimizer=None) -> None:
        for part in self.parts.values():
            part.after_optimizer_step(step, optimizer)

    # ------------------------------------------------------------------ optimizer
    def parameter_groups(self) -> list[dict[str, Any]]:
        """One optimizer group per part with trainable parameters: ``{"name", "params",
        "lr_scale"}``."""
        scale = self.config.lr_scale
        return [
            {"name": name, "params": params, "lr_scale": scale.get(name, 1.0)}
            for name, params in self._groups.items()
            if params
        ]


def _overrides(part: AdaptedModel, method: str) -> bool:
    return getattr(type(part), method) is not getattr(AdaptedModel, method)


def _check_composable(part: AdaptedModel) -> None:
    for method in ("forward", "generate"):
        if _overrides(part, method):
            raise MethodConfigError(
                f"hybrid: {part.config.name} has its own {method}; a hybrid composes methods "
                "that act through the inputs, the backbone's modules or a wrapper of its call"
            )


def _call_owners(backbone: nn.Module, parts: dict[str, AdaptedModel]) -> list[str]:
    """Parts whose ``model`` wraps the backbone's call with parameters of its own."""
    inside = {id(p) for p in backbone.parameters()}
    return [
        name
        for name, part in parts.items()
        if part.model is not backbone and any(id(p) not in inside for p in part.model.parameters())
    ]


def apply(backbone, config: HybridConfig, tokenizer=None) -> HybridModel:
    return HybridModel(backbone, config, tokenizer)


register_method("hybrid", HybridConfig, apply)

__all__ = ["HybridConfig", "HybridModel", "part_config"]
