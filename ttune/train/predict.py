"""Prediction with a trained method, and what a trained-method folder says about itself.

Generation sees the source only: records lose their ``target`` before they are encoded, the batch
holds input_ids / attention_mask / token_spans / graph and nothing else, and the model's generate()
gets no labels or decoder inputs (the paper's released code passed the gold decoder inputs, so its
"predictions" were the references).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ttune import dist
from ttune.backbone import load_backbone
from ttune.cpg.cache import default_cache_dir
from ttune.io import atomic_write_text
from ttune.methods import config_from_dict, load_method
from ttune.metrics import score
from ttune.options import GenerationOptions, resolve_device
from ttune.tasks import Candidate, get_task, trained_task
from ttune.train.data import load_records, with_targets
from ttune.train.inference import (
    GenerateHook,
    candidate_scores,
    generate_texts,
    method_collator,
    method_examples,
    to_device,
)


class CheckpointDirError(ValueError):
    """A folder that is not a usable trained method. The message is one line."""


def _read_json(path: Path) -> dict[str, Any]:
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise CheckpointDirError(f"cannot read {path}: {e.strerror or e}") from None
    except json.JSONDecodeError as e:
        raise CheckpointDirError(f"corrupt JSON in {path}: {e.msg} (line {e.lineno})") from None
    if not isinstance(d, dict):
        raise CheckpointDirError(f"corrupt JSON in {path}: not an object")
    return d


def _check_dir(checkpoint_dir: str | Path) -> Path:
    d = Path(checkpoint_dir)
    if not d.is_dir():
        raise CheckpointDirError(f"checkpoint folder not found: {d}")
    if not (d / "method_config.json").is_file():
        raise CheckpointDirError(f"{d} is not a trained method folder (no method_config.json)")
    return d


def load_trained(checkpoint_dir: str | Path, model: str | None = None, device: str = "cpu"):
    """(adapted model, tokenizer, training config dict) of a trained-method folder. The backbone is
    ``model`` if given, else the one named in the folder's train_config.json."""
    d = _check_dir(checkpoint_dir)
    cfg = _read_json(d / "train_config.json") if (d / "train_config.json").is_file() else {}
    backbone_id = model or cfg.get("model")
    if not backbone_id:
        raise CheckpointDirError(f"{d} has no train_config.json naming its backbone; pass --model")
    backbone, tokenizer = load_backbone(backbone_id, device=device)
    adapted = load_method(d, backbone, tokenizer)
    adapted.to(device)
    adapted.eval()
    return adapted, tokenizer, cfg


class Predictor:
    """A trained method loaded once, generating for records a batch at a time (so that a caller
    can show each result as soon as it is ready). The generation settings are checked, and the
    device resolved, before anything is loaded. ``on_generate`` receives the seconds each call
    spent generating (not loading or CPG extraction)."""

    def __init__(
        self,
        checkpoint_dir: str | Path,
        *,
        model: str | None = None,
        task: str | None = None,
        batch_size: int = 8,
        num_beams: int = 1,
        max_new_tokens: int | None = None,
        cache_dir: str | None = None,
        num_workers: int = 1,
        device: str = "auto",
        progress: bool = False,
        on_generate: GenerateHook | None = None,
        copy_bias: float | None = None,
        repeat_penalty: float | None = None,
        follow_bias: float | None = None,
        syntax_fallback: bool | None = None,
        copy_rewrite: bool | None = None,
        rerank: bool | None = None,
    ) -> None:
        options = GenerationOptions(
            num_beams=num_beams,
            max_new_tokens=max_new_tokens,
            batch_size=batch_size,
            device=device,
            copy_bias=copy_bias,
            repeat_penalty=repeat_penalty,
            follow_bias=follow_bias,
            syntax_fallback=syntax_fallback,
            copy_rewrite=copy_rewrite,
            rerank=rerank,
        )
        _check_dir(checkpoint_dir)
        dist.init(resolve_device(device))  # under torchrun: each process generates its batches
        self.device = dist.device_for(resolve_device(device))
        self.adapted, self.tokenizer, self.cfg = load_trained(
            checkpoint_dir, model=model, device=self.device
        )
        self.task = trained_task(
            task or self.cfg.get("task") or "summarize", self.cfg, checkpoint_dir
        )
        self.task = self.task.with_decoding(**options.decoding())
        self.batch_size, self.num_beams = batch_size, num_beams
        self.cache_dir, self.num_workers, self.progress = cache_dir, num_workers, progress
        self.on_generate = on_generate
        self.new_tokens = (
            max_new_tokens or self.cfg.get("max_target_len") or self.task.max_target_len
        )

    def __call__(self, records: Sequence[dict]) -> list[str]:
        """One generated text per record, from its source only."""
        if not records:
            return []
        t, adapted, tokenizer = self.task, self.adapted, self.tokenizer
        # The target never reaches the encoder: drop it before anything reads the record.
        sources = [{k: v for k, v in r.items() if k != "target"} for r in records]
        expanded = adapted.expand_records(sources, t)  # topro: one record per identifier
        with dist.main_first("waiting for the main process to extract the CPGs"):
            examples = self._examples(expanded)
        collate = method_collator(adapted, tokenizer, with_labels=False)
        preds = generate_texts(
            adapted,
            examples,
            collate,
            tokenizer,
            self.batch_size,
            self.num_beams,
            self.new_tokens,
            task=t,
            on_generate=self.on_generate,
        )
        merged = adapted.merge_predictions(sources, preds, t)
        same = len(expanded) == len(sources) and not getattr(adapted, "causal", False)
        return t.fall_back(sources, self.rerank(sources, merged, examples if same else None))

    def rerank(
        self, sources: Sequence[dict], outputs: list[str], examples: list | None = None
    ) -> list[str]:
        """``outputs`` with each record that has candidates (``Task.rerank``) answered by the one
        its task chooses (``Task.choose``); ``examples``: as :meth:`candidate_logprobs`."""
        return self.task.chosen(outputs, self.candidate_logprobs(sources, examples))

    @torch.no_grad()
    def candidate_logprobs(
        self, sources: Sequence[dict], examples: list | None = None
    ) -> list[tuple[list[Candidate], list[float]]]:
        """Each record's candidates (``Task.candidate_targets``; [] when it has none) and the
        method's log-probability of each. ``examples``: the records' own (an encoder-decoder's
        candidates share their inputs and graphs); None encodes each candidate record in full (a
        causal LM reads the target in its input)."""
        t, adapted = self.task, self.adapted
        collate = method_collator(adapted, self.tokenizer, with_labels=True)
        out: list[tuple[list[Candidate], list[float]]] = []
        for i, rec in enumerate(sources):
            cands = t.candidate_targets(rec)
            if not cands:
                out.append(([], []))
                continue
            texts = [c.text for c in cands]
            if examples is not None:
                labelled = with_targets(examples[i], texts, self.tokenizer, self.new_tokens)
            else:
                labelled = method_examples(
                    adapted,
                    [{**rec, "target": c} for c in texts],
                    t,
                    self.tokenizer,
                    max_source_len=self.cfg.get("max_source_len") or t.max_source_len,
                    max_target_len=self.new_tokens,
                    with_labels=True,
                    cache_dir=self.cache_dir or default_cache_dir(),
                    progress=False,
                    desc="CPGs",
                )
            scores = [
                candidate_scores(adapted, to_device(collate(labelled[j : j + 64]), self.device))
                for j in range(0, len(labelled), 64)
            ]
            out.append((cands, torch.cat(scores).tolist()))
        return out

    def _examples(self, expanded: list[dict]) -> list:
        t, adapted, tokenizer = self.task, self.adapted, self.tokenizer
        return method_examples(
            adapted,
            expanded,
            t,
            tokenizer,
            max_source_len=self.cfg.get("max_source_len") or t.max_source_len,
            max_target_len=None,
            with_labels=False,
            cache_dir=self.cache_dir or default_cache_dir(),
            num_workers=self.num_workers,
            progress=self.progress and dist.is_main(),
            desc="CPGs",
        )


def predict(checkpoint_dir: str | Path, records: Sequence[dict], **kw: Any) -> list[str]:
    """One generated text per record, with beam search of width ``num_beams`` (default 1:
    greedy), at most ``max_new_tokens`` tokens (default: the run's max_target_len, else the
    task's); the keywords are :class:`Predictor`'s."""
    return Predictor(checkpoint_dir, **kw)(records)


def predict_file(
    checkpoint_dir: str | Path, input_path: str | Path, output_path: str | Path, **kw: Any
) -> dict[str, Any]:
    """Predict every record of a JSON-lines file; write JSON lines {id, prediction[, target]}
    atomically. Returns {"records": n, "output": path, "scores": {...}} (scores where every
    record has a target)."""
    inp, out = Path(input_path), Path(output_path)
    if out.exists() and inp.exists() and out.resolve() == inp.resolve():
        raise CheckpointDirError(f"--output {out} would overwrite the input file")
    _check_dir(checkpoint_dir)
    records = load_records(inp, "input")
    preds = predict(checkpoint_dir, records, **kw)
    lines = []
    for i, (rec, pred) in enumerate(zip(records, preds)):
        row: dict[str, Any] = {"id": rec.get("id", i), "prediction": pred}
        if "target" in rec:
            row["target"] = rec["target"]
        lines.append(json.dumps(row, ensure_ascii=False))
    if dist.is_main():  # every process holds all predictions; one writes them
        atomic_write_text(out, "".join(line + "\n" for line in lines))
    result: dict[str, Any] = {"records": len(records), "output": str(out), "scores": {}}
    if records and all(isinstance(r.get("target"), str) for r in records):
        cfg = (
            _read_json(Path(checkpoint_dir) / "train_config.json")
            if (Path(checkpoint_dir) / "train_config.json").is_file()
            else {}
        )
        t = get_task(kw.get("task") or cfg.get("task") or "summarize")
        names = list(getattr(t, "metrics", ()))
        if names:
            result["scores"], result["unavailable_metrics"] = score(
                names, preds, [r["target"] for r in records], lang=records[0].get("target_lang")
            )
    return result


def check_safetensors(path: Path) -> None:
    """CheckpointDirError (one line) unless ``path`` is a whole safetensors file: its header parses
    and the tensors it lists end exactly at the end of the file (a truncated copy fails)."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            n = int.from_bytes(head, "little")
            raw = f.read(n) if len(head) == 8 and n <= size - 8 else None
    except OSError as e:
        raise CheckpointDirError(f"cannot read {path}: {e.strerror or e}") from None
    if raw is None:
        raise CheckpointDirError(f"{path} is truncated or corrupt (file of {size} bytes)")
    try:
        header = json.loads(raw)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        raise CheckpointDirError(f"{path} is corrupt (its header is not JSON)") from None
    if not isinstance(header, dict):
        raise CheckpointDirError(f"{path} is corrupt (its header is not a JSON object)")
    ends = [
        t["data_offsets"][1]
        for k, t in header.items()
        if k != "__metadata__" and isinstance(t, dict) and "data_offsets" in t
    ]
    if ends and max(ends) != size - 8 - n:
        raise CheckpointDirError(
            f"{path} is truncated or corrupt (its tensors need {max(ends)} "
            f"bytes after the header, the file has {size - 8 - n})"
        )


def _current_names(cfg: dict[str, Any]) -> dict[str, Any]:
    """A saved method config as this ttune reads it (renamed fields under their current names,
    defaults of fields added since); as saved when this ttune cannot read it (a newer version,
    a plug-in that is not installed)."""
    try:
        return config_from_dict(cfg).to_dict()
    except ValueError:  # MethodError, UnknownMethodError, MethodConfigError
        return cfg


def checkpoint_info(checkpoint_dir: str | Path) -> dict[str, Any]:
    """What a trained-method folder holds: backbone, method, trainable parameters, data, scores.
    Reads the JSON files and the weights file's header (no model is loaded); a missing,
    truncated or corrupt ``method.safetensors`` is an error."""
    d = _check_dir(checkpoint_dir)
    weights = d / "method.safetensors"
    if not weights.is_file():
        raise CheckpointDirError(f"{d} has no method.safetensors (the method's weights)")
    check_safetensors(weights)
    mc = _read_json(d / "method_config.json")
    tc = _read_json(d / "train_config.json") if (d / "train_config.json").is_file() else {}
    meta = mc.get("meta") if isinstance(mc.get("meta"), dict) else {}
    cfg = mc.get("config") if isinstance(mc.get("config"), dict) else mc
    scores = meta.get("scores") or {}
    for name in ("scores.json",):
        if not scores and (d / name).is_file():
            scores = _read_json(d / name).get("scores", {})
    fp = mc.get("backbone") if isinstance(mc.get("backbone"), dict) else mc.get("fingerprint", {})
    files = {p.name: p.stat().st_size for p in sorted(d.iterdir()) if p.is_file()}
    return {
        "path": str(d),
        "backbone": tc.get("model") or meta.get("backbone") or (fp or {}).get("name_or_path"),
        "backbone_fingerprint": fp or {},
        "method": cfg.get("method") or tc.get("method"),
        "method_config": _current_names(
            {k: v for k, v in cfg.items() if k not in ("meta", "backbone", "fingerprint")}
        ),
        "trainable_parameters": meta.get("trainable_parameters"),
        "task": tc.get("task") or meta.get("task"),
        "data": {
            "train_file": tc.get("train_file") or meta.get("train_file"),
            "train_records": meta.get("train_records"),
            "valid_file": tc.get("valid_file") or meta.get("valid_file"),
            "valid_records": meta.get("valid_records"),
        },
        "step": meta.get("step"),
        "scores": scores,
        "files": files,
    }
