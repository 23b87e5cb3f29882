"""Prediction with a trained transducer on a T5 backbone (or a fully fine-tuned T5), without
transformers or torch_geometric.

:func:`predictor` is what the end-user commands call: a :class:`LitePredictor` when
:func:`lite_unsupported` finds nothing against it and it loads (:func:`load_lite`), else the
engine's :class:`ttune.train.predict.Predictor`. Both take the same arguments and give the same
texts (tests compare them); the lite one imports torch, ``tokenizers`` and ``safetensors`` only,
which is most of a one-shot command's start-up.

The lite path runs when: ``TTUNE_INFERENCE`` is not ``hf``; the method is ``transducer`` (format
and config version 1) with a GNN that has a plain-torch layer, or ``full`` (the fine-tuned T5's
weights replace the backbone's; no graph is built); the backbone is a local folder
holding a T5 (``config.json``, ``model.safetensors``, ``tokenizer.json``) whose shape matches the
one the method records, and whose ``generation_config.json`` (if any) sets no decoding option
beyond the special token ids. Greedy decoding and beam search both run on it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from ttune.cpg.cache import default_cache_dir
from ttune.lite.t5 import LiteT5Error, T5Config, beam_search, greedy, load_hf_weights, load_t5
from ttune.lite.tokenizer import LiteTokenizer
from ttune.options import GenerationOptions, generation_options, resolve_device
from ttune.tasks import Candidate, trained_task
from ttune.tasks.decoding import sequence_logprob, task_steer
from ttune.train.data import Collator, build_examples, target_ids
from ttune.transducer import PLAIN_GNNS, Transducer, TransducerConfig, TransducerConfigError

ENV = "TTUNE_INFERENCE"
"""Environment variable: ``hf`` forces the engine's (transformers and torch_geometric) path."""

LITE_METHODS = ("transducer", "full")
"""The methods the lite path runs: a transducer on the frozen T5, or a fine-tuned T5 itself."""

_CONFIG_KEYS = {"method", "version"}
_GENERATION_KEYS = {  # generation_config.json fields that leave decoding as the lite path runs it
    "_from_model_config",
    "transformers_version",
    "use_cache",
    "output_attentions",
    "output_hidden_states",
    "pad_token_id",
    "eos_token_id",
    "bos_token_id",
    "decoder_start_token_id",
}
_RENAMED = {"max_nodes": "max_graph_nodes"}


def _json(path: Path) -> dict:
    d = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(d, dict):
        raise ValueError(f"{path} is not a JSON object")
    return d


def _transducer_config(method_doc: dict) -> TransducerConfig:
    fields = {
        _RENAMED.get(k, k): v for k, v in method_doc["config"].items() if k not in _CONFIG_KEYS
    }
    return TransducerConfig(**fields)


def lite_unsupported(checkpoint_dir: str | Path, backbone: str | Path) -> str:
    """Why the lite path cannot run this method on this backbone ("" when it can)."""
    if os.environ.get(ENV, "").lower() == "hf":
        return f"{ENV}=hf"
    folder, bb = Path(checkpoint_dir), Path(backbone)
    try:
        doc = _json(folder / "method_config.json")
        conf = doc.get("config") or {}
        method = conf.get("method")
        if doc.get("format_version") != 1 or method not in LITE_METHODS:
            return "not a transducer or a full fine-tuning"
        if conf.get("version") != 1:
            return f"{method} config version"
        gnn = _transducer_config(doc).gnn if method == "transducer" else None
        if gnn is not None and gnn not in PLAIN_GNNS:
            return f"gnn {gnn}"
        if not (folder / "method.safetensors").is_file():
            return "no method weights"
        if not all((bb / f).is_file() for f in ("config.json", "model.safetensors")):
            return "backbone is not a local safetensors folder"
        if not (bb / "tokenizer.json").is_file():
            return "no tokenizer.json"
        t5 = T5Config.from_json(_json(bb / "config.json"))
        gen_path = bb / "generation_config.json"
        gen = _json(gen_path) if gen_path.is_file() else {}
        other = sorted(set(gen) - _GENERATION_KEYS)
        if other:
            return f"generation_config.json sets {', '.join(other)}"
        ids = {
            "pad_token_id": t5.pad_token_id,
            "eos_token_id": t5.eos_token_id,
            "decoder_start_token_id": t5.decoder_start_token_id,
        }
        if any(gen.get(k, v) not in (v, [v]) for k, v in ids.items()):
            return "generation_config.json's token ids differ from config.json's"
        saved = doc.get("backbone") or {}
        now = {"model_type": "t5", "d_model": t5.d_model, "vocab_size": t5.vocab_size}
        now["num_layers"] = t5.num_layers
        if any(saved.get(k) != v for k, v in now.items()):
            return "backbone shape differs from the method's"
    except (LiteT5Error, TransducerConfigError) as e:
        return str(e)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        return f"unreadable ({type(e).__name__})"
    return ""


class LitePredictor:
    """A trained transducer and its T5 backbone loaded once in plain torch; called with records,
    it returns one generated text per record, from the source only (as
    :class:`ttune.train.predict.Predictor`: greedy decoding, or beam search of width
    ``num_beams``)."""

    lite = True
    """Marks the plain-torch path for callers that also hold engine models (ttune.session)."""

    def __init__(
        self,
        checkpoint_dir: str | Path,
        *,
        model: str,
        task: str | None = None,
        batch_size: int = 8,
        num_beams: int = 1,
        max_new_tokens: int | None = None,
        cache_dir: str | None = None,
        device: str = "auto",
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
        folder = Path(checkpoint_dir)
        self.device = resolve_device(device)
        self.cfg = (
            _json(folder / "train_config.json") if (folder / "train_config.json").is_file() else {}
        )
        self.t5 = load_t5(model, self.device)
        self.tokenizer = LiteTokenizer(model)
        doc = _json(folder / "method_config.json")
        sd = load_file(str(folder / "method.safetensors"))
        self.transducer: Transducer | None = None
        self.graph_options: dict[str, Any] = {}
        if doc["config"]["method"] == "full":  # the fine-tuned T5 replaces the backbone's weights
            load_hf_weights(self.t5, {k.removeprefix("model."): v for k, v in sd.items()})
        else:
            config = _transducer_config(doc)
            self.graph_options = {
                "max_graph_nodes": config.max_graph_nodes,
                "max_label_tokens": config.max_label_tokens,
            }
            emb = self.t5.get_input_embeddings()
            self.transducer = Transducer(config, self.t5.cfg.d_model, emb, plain=True)
            self.transducer.load_state_dict(
                {k.removeprefix("transducer."): v for k, v in sd.items()}, strict=True
            )
            self.transducer.to(self.device).eval()
        self.task = trained_task(task or self.cfg.get("task") or "summarize", self.cfg, folder)
        self.task = self.task.with_decoding(**options.decoding())
        self.batch_size, self.num_beams, self.cache_dir = batch_size, num_beams, cache_dir
        self.new_tokens = (
            max_new_tokens or self.cfg.get("max_target_len") or self.task.max_target_len
        )

    @torch.no_grad()
    def generate(
        self,
        batch: dict[str, Any],
        should_stop=None,
        *,
        task=None,
        num_beams: int | None = None,
        max_new_tokens: int | None = None,
    ) -> list[str]:
        """Texts of one collated batch (input_ids, attention_mask, token_spans, graph);
        ``task``, ``num_beams`` and ``max_new_tokens`` default to the predictor's own.
        ``should_stop()`` is polled after each decoding step (True ends decoding)."""
        t = task or self.task
        beams = num_beams or self.num_beams
        new_tokens = max_new_tokens or self.new_tokens
        batch = {k: v.to(self.device) for k, v in batch.items()}
        mask = batch["attention_mask"]
        embeds = self.t5.shared(batch["input_ids"])
        if self.transducer is not None:
            embeds = self.transducer(embeds, mask, batch["graph"], batch["token_spans"])
        ngram = t.no_repeat_ngram_size
        cfg = self.t5.cfg
        steer = task_steer(t, batch.get("copy_ids"), cfg.decoder_start_token_id, cfg.eos_token_id)

        if beams == 1:
            ids = greedy(self.t5, embeds, mask, new_tokens, ngram, should_stop, steer)
        else:
            ids = beam_search(self.t5, embeds, mask, new_tokens, beams, ngram, should_stop, steer)
        return [s.strip() for s in self.tokenizer.batch_decode(ids, skip_special_tokens=True)]

    def examples(self, records: Sequence[dict], task=None) -> list:
        """The records' examples for ``task`` (default: the predictor's): tokens, spans and plain
        graphs, targets dropped first."""
        sources = [{k: v for k, v in r.items() if k != "target"} for r in records]
        t = task or self.task
        return build_examples(
            sources,
            t,
            self.tokenizer,
            max_source_len=self.cfg.get("max_source_len") or t.max_source_len,
            max_target_len=None,
            with_labels=False,
            needs_graph=self.transducer is not None,
            cache_dir=self.cache_dir or default_cache_dir(),
            progress=False,
            desc="CPGs",
            plain_graphs=True,
            **self.graph_options,
        )

    def collator(self) -> Collator:
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        return Collator(
            pad, with_labels=False, with_graph=self.transducer is not None, plain_graphs=True
        )

    def __call__(self, records: Sequence[dict]) -> list[str]:
        """One generated text per record, from its source only."""
        if not records:
            return []
        examples, collate = self.examples(records), self.collator()
        out: list[str] = []
        for i in range(0, len(examples), self.batch_size):
            out.extend(self.generate(collate(examples[i : i + self.batch_size])))
        return self.task.fall_back(records, self.rerank(records, out, examples))

    def rerank(self, records: Sequence[dict], outputs: list[str], examples: list) -> list[str]:
        """``outputs`` with each record that has candidates (``Task.rerank``) answered by the one
        its task chooses (``Task.choose``); ``examples``: the records' examples."""
        return self.task.chosen(outputs, self.candidate_logprobs(records, examples))

    @torch.no_grad()
    def candidate_logprobs(
        self, records: Sequence[dict], examples: list | None = None
    ) -> list[tuple[list[Candidate], list[float]]]:
        """Each record's candidates (``Task.candidate_targets``; [] when it has none) and the
        model's log-probability of each; ``examples``: the records' examples (None: built here),
        each encoded once for all of its record's candidates."""
        examples = self.examples(records) if examples is None else examples
        collate, out = self.collator(), []
        for rec, example in zip(records, examples, strict=True):
            cands = self.task.candidate_targets(rec)
            if not cands:
                out.append(([], []))
                continue
            batch = {k: v.to(self.device) for k, v in collate([example]).items()}
            labels = target_ids(self.tokenizer, [c.text for c in cands], self.new_tokens)
            scores = [
                self.candidate_scores(batch, labels[j : j + 128]) for j in range(0, len(cands), 128)
            ]
            out.append((cands, torch.cat(scores).tolist()))
        return out

    def candidate_scores(self, batch: dict[str, Any], targets: list[list[int]]) -> torch.Tensor:
        """``[K]``: the log-probability of each of the token lists ``targets`` as the output for
        the one example of ``batch`` (:func:`ttune.tasks.decoding.sequence_logprob`); the
        encoder runs once, the decoder over all K at once."""
        mask = batch["attention_mask"]  # [1, T]
        embeds = self.t5.shared(batch["input_ids"])
        if self.transducer is not None:
            embeds = self.transducer(embeds, mask, batch["graph"], batch["token_spans"])
        K, L = len(targets), max(len(t) for t in targets)
        labels = torch.full((K, L), -100, dtype=torch.long, device=self.device)
        for k, ids in enumerate(targets):
            labels[k, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        start = torch.full_like(labels[:, :1], self.t5.cfg.decoder_start_token_id)
        decoder_ids = torch.cat([start, labels[:, :-1].clamp(min=0)], 1)  # [K, L]: shifted right
        cross = [
            (k.expand(K, -1, -1, -1), v.expand(K, -1, -1, -1))
            for k, v in self.t5.cross_cache(self.t5.encode(embeds, mask))
        ]
        logits, _ = self.t5.decode_step(decoder_ids, cross, mask.expand(K, -1), None)
        return sequence_logprob(logits, labels)


def load_lite(checkpoint_dir: str | Path, model: str, **kw: Any) -> LitePredictor | None:
    """A :class:`LitePredictor` (keywords: its own) when the lite path supports this method and
    backbone (:func:`lite_unsupported`) and they load; else None, and the caller loads the engine's
    path, which reports what is wrong with a folder in its own words or runs what the lite path
    does not."""
    if lite_unsupported(checkpoint_dir, model):
        return None
    try:
        return LitePredictor(checkpoint_dir, model=model, **kw)
    except Exception:  # any failure: the engine's loader reports it in its own words
        return None


def predictor(checkpoint_dir: str | Path, *, model: str, task: str | None = None, **options: Any):
    """A :class:`LitePredictor` where :func:`load_lite` gives one, else the engine's
    ``Predictor`` (same arguments, same texts). ``options``: the fields of
    :class:`ttune.options.GenerationOptions`."""
    kw: dict[str, Any] = dict(task=task, **asdict(generation_options(options)))
    lite = load_lite(checkpoint_dir, model, **kw)
    if lite is not None:
        return lite
    from ttune.train.predict import Predictor  # lazy: transformers and torch_geometric

    return Predictor(checkpoint_dir, model=model, **kw)
