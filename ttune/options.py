"""Options shared by every command that loads a model: the device and the generation settings.

:class:`GenerationOptions` is the one declaration of how text is generated (``ttune eval``,
``ttune predict``, ``ttune summarize``/``assert``/``translate``); the CLI builds its options from
it. Device names are checked here without importing torch (:func:`check_device`), and
:func:`resolve_device` says in one line when the machine lacks the device asked for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

DEVICE_HELP = "auto, cpu, cuda, cuda:N or mps"
_DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


class OptionError(ValueError):
    """An option with a bad value. The message is one line and names the option."""


def check_device(name: object) -> str:
    """``name`` if it spells a device (auto, cpu, cuda, cuda:N, mps), else OptionError."""
    if not isinstance(name, str) or not _DEVICE.fullmatch(name):
        raise OptionError(f"device: {name!r} is not a device; use {DEVICE_HELP}")
    return name


def resolve_device(name: str) -> str:
    """The torch device for ``name`` ("auto": cuda if there is one, else mps, else cpu);
    OptionError (one line) when this machine or this build of torch lacks it."""
    import torch  # heavy: only commands that load a model get here

    check_device(name)
    mps = getattr(torch.backends, "mps", None)
    has_mps = bool(mps is not None and mps.is_available())
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            why = (
                "this torch was built without CUDA"
                if torch.version.cuda is None
                else "no CUDA GPU is visible"
            )
            raise OptionError(f"device: {name} is not available ({why}); use --device cpu")
        index = int(name.split(":")[1]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise OptionError(
                f"device: {name} is not available (this machine has "
                f"{torch.cuda.device_count()} CUDA device(s))"
            )
    if name == "mps" and not has_mps:
        raise OptionError("device: mps is not available on this machine; use --device cpu")
    return name


DECODING_OPTIONS = (
    "copy_bias",
    "repeat_penalty",
    "follow_bias",
    "syntax_fallback",
    "copy_rewrite",
    "rerank",
)
"""The :class:`GenerationOptions` fields that change how a task decodes (``Task.with_decoding``)."""


@dataclass
class GenerationOptions:
    """How a trained method generates text. One default for every command: greedy decoding
    (``num_beams=1``), as the training validation, ``ttune compare`` and the reported scores use."""

    num_beams: int = 1
    """Beam width (1 = greedy decoding)."""
    max_new_tokens: int | None = None
    """Most tokens generated per example (default: the run's or the task's target length)."""
    batch_size: int = 8
    """Examples generated together."""
    device: str = "auto"
    """Device to run on: auto (a CUDA GPU when there is one, else mps, else cpu), cpu, cuda,
    cuda:N or mps."""
    copy_bias: float | None = None
    """Decoding's copy bias (docs/decoding.md); 0 turns it off. Default: the task's (summarize 5,
    translate 1, the others 0)."""
    repeat_penalty: float | None = None
    """Decoding's penalty on tokens already generated (docs/decoding.md); 0 turns it off. Default:
    the task's (summarize 2, the others 0)."""
    follow_bias: float | None = None
    """Decoding's bias towards continuing a copy of the source (docs/decoding.md; needs a task
    that copies from the source, such as translate); 0 turns it off. Default: the model's
    decoding.json, else the bias it was trained under (ttune train --follow-bias), else 0."""
    syntax_fallback: bool | None = None
    """Return the source instead of a generated program that does not parse in the target
    language when the source does (docs/decoding.md). Default: the model's decoding.json, else
    off."""
    copy_rewrite: bool | None = None
    """Copy from (and fall back to) the source rewritten by the rules of its language pair (Java ->
    C#: types, modifiers, names, loops; docs/decoding.md) instead of the source itself. Default:
    the model's decoding.json, else off."""
    rerank: bool | None = None
    """Answer each record by the candidate its task lists (assert: the usual assertion forms over
    the test's variables and literals) that the model finds most likely, instead of generating
    (docs/decoding.md). Default: the model's decoding.json, else off."""

    def decoding(self) -> dict[str, float | bool | None]:
        """The settings of :data:`DECODING_OPTIONS` (``Task.with_decoding``'s keywords)."""
        return {k: getattr(self, k) for k in DECODING_OPTIONS}

    def __post_init__(self) -> None:
        for name in ("copy_bias", "repeat_penalty", "follow_bias"):
            v = getattr(self, name)
            if v is not None and (
                not isinstance(v, (int, float)) or isinstance(v, bool) or not v >= 0
            ):
                raise OptionError(f"{name}: must be a number >= 0 or unset (got {v!r})")
        for name in ("num_beams", "batch_size"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise OptionError(f"{name}: must be an integer >= 1 (got {v!r})")
        v = self.max_new_tokens
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
            raise OptionError(f"max_new_tokens: must be an integer >= 1 or unset (got {v!r})")
        check_device(self.device)


def generation_options(options: dict) -> GenerationOptions:
    """:class:`GenerationOptions` from keyword arguments passed through a library call; an
    unknown name is an OptionError (one line) rather than a TypeError."""
    known = {f.name for f in fields(GenerationOptions)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise OptionError(
            f"unknown generation option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    return GenerationOptions(**options)


@dataclass
class RankerOptions:
    """How ``ttune fit-ranker`` fits a method's candidate ranker (:mod:`ttune.rank`)."""

    limit: int | None = None
    """Fit on the first N training records only (default: all)."""
    shortlist: int = 16
    """Candidates per record the method scores: the best by the features-only prefilter (0: all;
    a test lists up to a few thousand)."""
    l2: float = 1e-4
    """L2 penalty on the weights (times their squared sum, beside the mean listwise loss)."""

    def __post_init__(self) -> None:
        if self.limit is not None and (not isinstance(self.limit, int) or self.limit < 1):
            raise OptionError(f"limit: must be an integer >= 1 or unset (got {self.limit!r})")
        if not isinstance(self.shortlist, int) or self.shortlist < 0:
            raise OptionError(f"shortlist: must be an integer >= 0 (got {self.shortlist!r})")
        if not isinstance(self.l2, (int, float)) or not self.l2 >= 0:
            raise OptionError(f"l2: must be a number >= 0 (got {self.l2!r})")
