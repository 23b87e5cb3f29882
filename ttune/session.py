"""Models kept loaded between calls, for long-lived processes such as the editor backend.

``ttune summarize`` loads its model on every run; a language server answers many requests and
cannot pay that each time. A :class:`ModelCache` loads each (backbone, trained method, device)
once, on first use, and keeps it. :func:`generate` runs records on a loaded model and is
cancellable: ``should_stop`` is checked before each batch and, through a transformers stopping
criterion, after every decoding step, so a cancelled call ends within one step and raises
:class:`Cancelled`. Where the plain-torch path applies (:func:`ttune.lite.predict.lite_unsupported`:
a transducer on a local T5 folder, the built-in models included) the model loads without
transformers or torch_geometric, and its own decoding loop polls ``should_stop`` after each step.

The records are built from text, not files (the editor's unsaved buffer): :func:`summarize_record`,
:func:`translate_record` and :func:`ttune.use.assert_record`. Which model runs a task is decided by
:func:`ttune.use.resolve_model`, as for the commands.

    >>> cache = ModelCache()
    >>> loaded = cache.load("summarize", "python")          # the built-in models
    >>> [fn] = find_functions("def f(x):\\n    return x\\n", "python")
    >>> generate(loaded, [summarize_record(fn, "python")])
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

# The library functions this module builds on, in one place (ttune.use: which model, functions).
from ttune.builtin import ResolvedModel, resolve_model
from ttune.use import (
    Function,
    assert_record,
    find_functions,
    function_record,
    summary_text,
    threads_for,
)

__all__ = [
    "Cancelled",
    "Loaded",
    "ModelCache",
    "assert_record",
    "find_functions",
    "generate",
    "summarize_record",
    "summary_text",
    "translate_record",
]


class Cancelled(Exception):
    """Generation stopped because the caller asked it to; ``steps`` decoding steps had run."""

    def __init__(self, steps: int, max_steps: int) -> None:
        super().__init__(f"generation stopped after {steps} of at most {max_steps} decoding steps")
        self.steps = steps
        self.max_steps = max_steps


def _engine() -> dict[str, Any]:
    """The training package's prediction pieces (torch and transformers; imported on first use so
    that a server answers requests that need no model without loading them)."""
    from transformers import StoppingCriteria

    from ttune.train.config import default_cache_dir
    from ttune.train.data import Collator, build_examples, graph_options
    from ttune.train.inference import decoding_kwargs
    from ttune.train.predict import load_trained

    return {
        "StoppingCriteria": StoppingCriteria,
        "Collator": Collator,
        "build_examples": build_examples,
        "graph_options": graph_options,
        "decoding_kwargs": decoding_kwargs,
        "default_cache_dir": default_cache_dir,
        "load_trained": load_trained,
    }


@dataclass(frozen=True)
class Loaded:
    """A trained method on its backbone, ready to generate."""

    task: str
    """The task it runs (summarize, assert, translate): decides prompts and decoding options."""
    resolved: ResolvedModel
    """Which transducer folder and backbone it came from."""
    device: str
    """Where it runs (cpu, cuda, cuda:1, ...)."""
    adapted: Any
    """The adapted model (a ttune.methods AdaptedModel), in eval mode; or a
    :class:`ttune.lite.predict.LitePredictor` (plain torch) where that applies."""
    tokenizer: Any
    """The backbone's tokenizer."""
    config: dict
    """The run's train_config.json (max_source_len, max_target_len), empty when absent."""
    lock: Any
    """Held while the model generates: one generation at a time per model (some methods patch
    the backbone for the length of a generate call)."""


class ModelCache:
    """Loaded models keyed by (backbone, trained method folder, device); thread-safe. Two threads
    asking for the same model wait for one load; each model generates for one caller at a time."""

    def __init__(self) -> None:
        self._models: dict[tuple[str, str, str], tuple] = {}
        self._locks: dict[tuple[str, str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    @staticmethod
    def key(resolved: ResolvedModel, device: str) -> tuple[str, str, str]:
        return (str(resolved.backbone), str(resolved.transducer), device)

    def resolve(
        self,
        task: str,
        lang: str,
        *,
        model: str | None = None,
        transducer: str | None = None,
        target_lang: str | None = None,
    ) -> ResolvedModel:
        """Which model runs ``task`` on ``lang`` (UseError, one line, when none fits)."""
        return resolve_model(task, lang, model, transducer, target_lang=target_lang)

    def is_loaded(self, resolved: ResolvedModel, device: str = "cpu") -> bool:
        return self.key(resolved, device) in self._models

    def load(
        self,
        task: str,
        lang: str,
        *,
        model: str | None = None,
        transducer: str | None = None,
        target_lang: str | None = None,
        device: str = "cpu",
    ) -> Loaded:
        """The model for ``task`` on ``lang`` code, loaded on first use and kept. Raises UseError,
        CheckpointDirError or BackboneError (ValueErrors, one line) when it cannot load."""
        resolved = self.resolve(
            task, lang, model=model, transducer=transducer, target_lang=target_lang
        )
        key = self.key(resolved, device)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._models:
                self._models[key] = (*self._load(resolved, device), threading.Lock())
        return Loaded(task, resolved, device, *self._models[key])

    @staticmethod
    def _load(resolved: ResolvedModel, device: str) -> tuple:
        import torch

        threads = threads_for(resolved.backbone) if device == "cpu" else None
        if threads:
            torch.set_num_threads(threads)
        from ttune.lite.predict import load_lite  # lazy: loads torch

        lite = load_lite(resolved.transducer, resolved.backbone, device=device)
        if lite is not None:
            return lite, lite.tokenizer, lite.cfg
        with warnings.catch_warnings():
            if resolved.builtin:
                # The built-in transducers were trained on the backbone at another path; same
                # weights.
                warnings.filterwarnings("ignore", message="method was trained on")
            return _engine()["load_trained"](
                resolved.transducer, model=resolved.backbone, device=device
            )


def summarize_record(fn: Function, lang: str) -> dict:
    """The summarize task record of one function (as ``ttune summarize`` builds it)."""
    return function_record(fn, lang, "en")


def translate_record(fn: Function, lang: str, to: str) -> dict:
    """The translate task record of one function into language ``to``."""
    return function_record(fn, lang, to)


def generate(
    loaded: Loaded,
    records: Sequence[dict],
    *,
    num_beams: int = 1,
    max_new_tokens: int | None = None,
    batch_size: int = 8,
    should_stop: Callable[[], bool] | None = None,
) -> list[str]:
    """One generated text per record, from its source only. ``should_stop`` is polled before each
    batch and after each decoding step; when it returns True generation ends and
    :class:`Cancelled` is raised."""
    import torch

    from ttune.tasks import trained_task  # lazy: a server answering only ttune/cpg never needs it

    task = trained_task(loaded.task, loaded.config, loaded.resolved.transducer)
    adapted, tokenizer, cfg = loaded.adapted, loaded.tokenizer, loaded.config
    new_tokens = max_new_tokens or cfg.get("max_target_len") or task.max_target_len
    stop = should_stop or (lambda: False)
    if stop():
        raise Cancelled(0, new_tokens)
    if getattr(adapted, "lite", False):  # plain torch: transformers is never imported
        return _generate_lite(loaded, records, task, num_beams, new_tokens, batch_size, stop)
    eng = _engine()
    steps = 0

    class _StopWhenAsked(eng["StoppingCriteria"]):
        def __call__(self, input_ids, scores, **kw):
            nonlocal steps
            steps += 1
            return torch.full(
                (input_ids.shape[0],), stop(), dtype=torch.bool, device=input_ids.device
            )

    sources = [{k: v for k, v in r.items() if k != "target"} for r in records]
    needs_graph = bool(getattr(adapted, "needs_graph", False))
    examples = eng["build_examples"](
        sources,
        task,
        tokenizer,
        max_source_len=cfg.get("max_source_len") or task.max_source_len,
        max_target_len=None,
        with_labels=False,
        needs_graph=needs_graph,
        cache_dir=eng["default_cache_dir"](),
        progress=False,
        causal=bool(getattr(adapted, "causal", False)),
        **eng["graph_options"](adapted),
    )
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    collate = eng["Collator"](pad, with_labels=False, with_graph=needs_graph)
    out: list[str] = []
    with loaded.lock, torch.no_grad():
        for i in range(0, len(examples), batch_size):
            if stop():
                raise Cancelled(steps, new_tokens)
            batch = {
                k: v.to(loaded.device) for k, v in collate(examples[i : i + batch_size]).items()
            }
            extra = eng["decoding_kwargs"](adapted, batch, task)
            steps = 0
            ids = adapted.generate(
                **batch,
                num_beams=num_beams,
                max_new_tokens=new_tokens,
                stopping_criteria=[_StopWhenAsked()],
                **extra,
            )
            if stop():
                raise Cancelled(steps, new_tokens)
            out.extend(tokenizer.batch_decode(ids, skip_special_tokens=True))
    return [s.strip() for s in out]


def _generate_lite(
    loaded: Loaded,
    records: Sequence[dict],
    task,
    num_beams: int,
    new_tokens: int,
    batch_size: int,
    stop: Callable[[], bool],
) -> list[str]:
    """:func:`generate` on a :class:`ttune.lite.predict.LitePredictor` (polls ``stop`` after
    each decoding step, as the engine's stopping criterion does)."""
    lite = loaded.adapted
    steps = 0

    def step_done() -> bool:
        nonlocal steps
        steps += 1
        return stop()

    examples, collate = lite.examples(records, task), lite.collator()
    out: list[str] = []
    with loaded.lock:
        for i in range(0, len(examples), batch_size):
            if stop():
                raise Cancelled(steps, new_tokens)
            steps = 0
            texts = lite.generate(
                collate(examples[i : i + batch_size]),
                step_done,
                task=task,
                num_beams=num_beams,
                max_new_tokens=new_tokens,
            )
            if stop():
                raise Cancelled(steps, new_tokens)
            out.extend(texts)
    return out
