"""What every adaptation method shares: its config base, the adapted-model API, save and load.

A method is a config dataclass (subclass of :class:`MethodConfig`) plus an ``apply`` function that
wraps a frozen backbone in an :class:`AdaptedModel` whose only trainable parameters are the
method's own. A trained method is a folder: ``method_config.json`` + ``method.safetensors``
(trainable weights only). Never pickle.

``method_config.json`` layout::

    {"format_version": 1,
     "config": {"method": "lora", "version": 1, "r": 8, ...},
     "backbone": {"model_type": "t5", "d_model": 768, "vocab_size": 32100, "num_layers": 12, "name_or_path": "..."},
     "meta": {...}}
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from ttune.train.io import atomic_file, atomic_write_text

FORMAT_VERSION = 1
CONFIG_FILE = "method_config.json"
WEIGHTS_FILE = "method.safetensors"


class MethodError(ValueError):
    """A method was used wrongly (missing graph, labels passed to generate, ...)."""


class UnknownMethodError(ValueError):
    """A method name that no registered method has."""


class MethodConfigError(ValueError):
    """An invalid method configuration (unknown field, bad value, unsupported version)."""


class CheckpointError(ValueError):
    """A saved method cannot be loaded (missing or corrupt files, other backbone, bad tensors)."""


@dataclass
class MethodConfig:
    """Base of every method config. Subclasses are dataclasses with typed, documented fields."""

    name: ClassVar[str] = ""
    version: ClassVar[int] = 1

    def to_dict(self) -> dict[str, Any]:
        """``{"method": name, "version": version, **fields}`` with tuples as lists (JSON-ready)."""
        out: dict[str, Any] = {"method": self.name, "version": self.version}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MethodConfig:
        """Rebuild a config; on the base class, dispatch on ``d["method"]``."""
        if not isinstance(d, dict) or "method" not in d:
            raise MethodConfigError("a method config needs a 'method' field")
        if cls is MethodConfig:
            from ttune.methods.registry import get_method

            target = get_method(str(d["method"])).config_cls
        else:
            target = cls
            if d["method"] != cls.name:
                raise MethodConfigError(f"config is for method {d['method']!r}, not {cls.name!r}")
        version = d.get("version", target.version)
        if not isinstance(version, int) or version > target.version or version < 1:
            raise MethodConfigError(
                f"method {target.name!r} config version {version!r} is not supported (this ttune reads <= {target.version})")
        fields = {k: v for k, v in d.items() if k not in ("method", "version")}
        return target.from_fields(**fields)

    @classmethod
    def from_fields(cls, **fields: Any) -> MethodConfig:
        """Build from keyword fields, naming the valid fields if one is unknown."""
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(fields) - set(known))
        if unknown:
            raise MethodConfigError(f"unknown field(s) {', '.join(unknown)} for method {cls.name!r}; "
                                    f"valid: {', '.join(known) or '(none)'}")
        try:
            return cls(**fields)
        except TypeError as e:
            raise MethodConfigError(f"bad config for method {cls.name!r}: {e}") from None


class AdaptedModel(nn.Module):
    """A frozen backbone adapted by one method.

    ``self.model`` is what forward and generate call (the backbone, or a peft wrapper around it);
    subclasses put their own modules next to it and override :meth:`prepare_inputs` to turn the
    batch into keyword arguments of the backbone (``input_ids`` or ``inputs_embeds``).

    Shapes:
        - input_ids, attention_mask: ``[B, T]``; labels: ``[B, L]`` padded with -100
        - token_spans: ``[B, T, 2]`` (transducer only); graph: PyG Batch of B graphs (transducer only)
        - logits: ``[B, L, vocab]``; generate: ``[B, L']``
    """

    needs_graph: ClassVar[bool] = False

    def __init__(self, backbone: nn.Module, config: MethodConfig, model: nn.Module | None = None) -> None:
        super().__init__()
        self.config = config
        self.model = backbone if model is None else model
        self.__dict__["backbone"] = backbone  # the bare backbone, kept by reference (not re-registered)

    # --- inputs -------------------------------------------------------------------------------
    def embed(self, input_ids: Tensor) -> Tensor:
        """Frozen token embeddings. Shapes: ``[B, T]`` -> ``[B, T, d_model]``."""
        return self.backbone.get_input_embeddings()(input_ids)

    def prepare_inputs(self, input_ids: Tensor, attention_mask: Tensor, graph=None,
                       token_spans: Tensor | None = None) -> dict[str, Tensor]:
        """Keyword arguments for the backbone's encoder side (default: the ids unchanged)."""
        return {"input_ids": input_ids, "attention_mask": attention_mask}

    def _check_graph(self, graph) -> None:
        if self.needs_graph and graph is None:
            raise MethodError(f"method {self.config.name!r} needs the code graph (graph=...)")

    # --- API ------------------------------------------------------------------------------------
    def forward(self, input_ids: Tensor, attention_mask: Tensor, labels: Tensor | None = None, graph=None,
                token_spans: Tensor | None = None):
        self._check_graph(graph)
        kw = self.prepare_inputs(input_ids, attention_mask, graph, token_spans)
        if labels is not None:
            labels = labels.contiguous()  # T5's loss uses .view(), which fails on sliced labels
        return self.model(**kw, labels=labels, return_dict=True)

    @torch.no_grad()
    def generate(self, input_ids: Tensor, attention_mask: Tensor, graph=None, token_spans: Tensor | None = None,
                 num_beams: int = 1, max_new_tokens: int = 64, **kw: Any) -> Tensor:
        """Generate from the source only. Shapes: ``[B, T]`` -> ``[B, L]`` (starts with decoder start)."""
        leaked = sorted(set(kw) & {"labels", "decoder_input_ids", "decoder_inputs_embeds", "decoder_attention_mask"})
        if leaked:
            raise MethodError(f"generate sees the source only; do not pass {', '.join(leaked)}")
        self._check_graph(graph)
        inputs = self.prepare_inputs(input_ids, attention_mask, graph, token_spans)
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
            raise CheckpointError(f"method weights do not match: missing {missing[:3]}{'...' if len(missing) > 3 else ''}"
                                  f", unexpected {unexpected[:3]}{'...' if len(unexpected) > 3 else ''}")
        for n, p in own.items():
            if tuple(sd[n].shape) != tuple(p.shape):
                raise CheckpointError(f"method weight {n} has shape {tuple(sd[n].shape)}, expected {tuple(p.shape)}")
        with torch.no_grad():
            for n, p in own.items():
                p.copy_(sd[n].to(device=p.device, dtype=p.dtype))


# ------------------------------------------------------------------------------ save and load
def save_method(adapted: AdaptedModel, out_dir: str | Path, meta: dict | None = None) -> Path:
    """Write ``method_config.json`` and ``method.safetensors`` (trainable weights only) to ``out_dir``."""
    from safetensors.torch import save_file

    from ttune.backbone import backbone_fingerprint

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    doc = {"format_version": FORMAT_VERSION, "config": adapted.config.to_dict(),
           "backbone": backbone_fingerprint(adapted.backbone), "meta": meta or {}}
    text = json.dumps(doc, indent=2, sort_keys=False) + "\n"
    sd = adapted.method_state_dict()
    with atomic_file(out / WEIGHTS_FILE) as tmp:
        save_file(sd, str(tmp), metadata={"format": "pt"})
    atomic_write_text(out / CONFIG_FILE, text)
    return out


def read_method_config(in_dir: str | Path) -> dict:
    """The parsed ``method_config.json`` of a saved method (CheckpointError if missing/corrupt)."""
    path = Path(in_dir) / CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(f"no {CONFIG_FILE} in {in_dir}")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"corrupt {path}: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("config"), dict):
        raise CheckpointError(f"corrupt {path}: no 'config' object")
    fv = doc.get("format_version")
    if fv != FORMAT_VERSION:
        raise CheckpointError(f"{path}: format_version {fv!r} is not supported (expected {FORMAT_VERSION})")
    return doc


def load_method(in_dir: str | Path, backbone: nn.Module, tokenizer=None) -> AdaptedModel:
    """Apply a saved method to ``backbone`` and load its weights. Errors: :class:`CheckpointError`."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from ttune.backbone import FINGERPRINT_KEYS, backbone_fingerprint
    from ttune.methods.registry import apply_method

    in_dir = Path(in_dir)
    doc = read_method_config(in_dir)
    try:
        config = MethodConfig.from_dict(doc["config"])
    except (UnknownMethodError, MethodConfigError) as e:
        raise CheckpointError(f"{in_dir / CONFIG_FILE}: {e}") from None
    saved, now = doc.get("backbone") or {}, backbone_fingerprint(backbone)
    diff = [k for k in FINGERPRINT_KEYS if saved.get(k) != now[k]]
    if diff:
        raise CheckpointError("method was trained on another backbone: " + ", ".join(
            f"{k} {saved.get(k)!r} != {now[k]!r}" for k in diff))
    if saved.get("name_or_path") and now["name_or_path"] and saved["name_or_path"] != now["name_or_path"]:
        warnings.warn(f"method was trained on {saved['name_or_path']!r}, loading onto {now['name_or_path']!r}",
                      stacklevel=2)
    wpath = in_dir / WEIGHTS_FILE
    if not wpath.is_file():
        raise CheckpointError(f"no {WEIGHTS_FILE} in {in_dir}")
    try:
        sd = load_file(str(wpath))
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"corrupt {wpath}: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    adapted = apply_method(backbone, config, tokenizer)
    adapted.load_method_state_dict(sd)
    return adapted
