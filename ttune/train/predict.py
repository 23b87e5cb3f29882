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

from ttune.options import GenerationOptions, resolve_device
from ttune.train.io import atomic_write_text


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
    device resolved, before anything is loaded."""

    adapted, tokenizer, cfg = load_trained(checkpoint_dir, model=model, device=device)
    t = get_task(task or cfg.get("task") or "summarize")
    if not records:
        return []
    # The target never reaches the encoder: drop it before anything reads the record.
    sources = [{k: v for k, v in r.items() if k != "target"} for r in records]
    needs_graph = bool(getattr(adapted, "needs_graph", False))
    expanded = adapted.expand_records(sources, t)  # topro: one record per identifier
    examples = build_examples(
        expanded, t, tokenizer, max_source_len=cfg.get("max_source_len") or t.max_source_len,
        max_target_len=None, with_labels=False, needs_graph=needs_graph,
        cache_dir=cache_dir or default_cache_dir(), num_workers=num_workers,
        progress=progress, desc="CPGs", **graph_options(adapted))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    collate = Collator(pad, with_labels=False, with_graph=needs_graph)
    new_tokens = max_new_tokens or cfg.get("max_target_len") or t.max_target_len
    preds = generate_texts(adapted, examples, collate, tokenizer, batch_size, num_beams, new_tokens,
                           no_repeat_ngram_size=t.no_repeat_ngram_size)
    return adapted.merge_predictions(sources, preds, t)


def predict_file(checkpoint_dir: str | Path, input_path: str | Path, output_path: str | Path,
                 **kw: Any) -> dict[str, Any]:
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
    atomic_write_text(out, "".join(line + "\n" for line in lines))
    result: dict[str, Any] = {"records": len(records), "output": str(out), "scores": {}}
    if records and all(isinstance(r.get("target"), str) for r in records):
        cfg = _read_json(Path(checkpoint_dir) / "train_config.json") if (
            Path(checkpoint_dir) / "train_config.json").is_file() else {}
        t = get_task(kw.get("task") or cfg.get("task") or "summarize")
        names = list(getattr(t, "metrics", ()))
        if names:
            result["scores"], result["unavailable_metrics"] = score(
                names, preds, [r["target"] for r in records], lang=records[0].get("target_lang"))
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
    ends = [t["data_offsets"][1] for k, t in header.items()
            if k != "__metadata__" and isinstance(t, dict) and "data_offsets" in t]
    if ends and max(ends) != size - 8 - n:
        raise CheckpointDirError(f"{path} is truncated or corrupt (its tensors need {max(ends)} "
                                 f"bytes after the header, the file has {size - 8 - n})")


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
        "method_config": {
            k: v for k, v in cfg.items() if k not in ("meta", "backbone", "fingerprint")
        },
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
