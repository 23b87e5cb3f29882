"""Tasks: what the model reads, which code its CPG comes from, default lengths and metrics.

``get_task(name)`` returns a :class:`Task`; ``task_names()`` lists them; ``register_task(task)``
adds one (third-party packages can also name a module or a zero-argument callable that calls it in
the ``ttune.tasks`` entry-point group, loaded the first time a task is looked up or listed; see
docs/plugins.md). A record is a dict with
``source``, ``target``, ``source_lang``, ``target_lang`` (and optionally ``id``, ``split``), as
written by :mod:`ttune.data` (schema in :mod:`ttune.data.io`).

=========  ====================================  ===========================  ====================
task       input (format_input)                  CPG from (graph_code)        metrics
=========  ====================================  ===========================  ====================
summarize  task line, then the function          the whole code               smooth_bleu4,
                                                                              sacrebleu, chrf,
                                                                              exact_match
assert     task line, test method with the       the test method only (the    exact_match,
           placeholder, then the focal method    first method of the input)   exact_match_lenient,
           (ATLAS layout)                                                     smooth_bleu4,
                                                                              sacrebleu,
                                                                              statement_ok
translate  task line, then the code in the       the whole code               sacrebleu, codebleu,
           source language                                                    exact_match, chrf,
                                                                              syntax_ok
custom     ``source`` as it is                   ``source`` as it is          sacrebleu,
                                                                              smooth_bleu4,
                                                                              exact_match, chrf
types      the function without annotations,     the function                 type_exact,
           then the identifiers asked about                                   type_outer
           (:mod:`ttune.data.types`)
=========  ====================================  ===========================  ====================

Why the assert CPG covers the test method only: the focal methods in ATLAS are abstracted
signatures (parameter types without names), which are not valid Java (far more ATLAS inputs get
tree-sitter ERROR nodes with the focal method than without it: docs/results/README.md), and the
paper's graphs are capped at 50 nodes, which the test method alone already fills.
``graph_side="both"`` (a field of the task) reads the whole input instead.

Lengths are in backbone tokens: the paper truncates sources at 400 tokens.

**The task line** (:func:`task_line`, when ``Task.tagged``, which ``ttune pretrain`` turns on and
the built-in tasks leave off for now): the model input starts with one short
line naming the task, so one backbone can be trained on all of them (``ttune pretrain`` builds its
supervised pairs with these same :meth:`Task.format_input` calls) and so the summarizer can copy the
function name's words::

    summarize: rgb to yiq            <- the function name split into words (identifier_words)
    def rgb_to_yiq(r, g, b): ...

    translate java to csharp:
    public int f(int x) { ... }

    assert:
    testFoo ( ) { ... "<AssertPlaceHolder>" ; }
    focal ( ) { ... }

``custom`` has none. The graph offsets of :meth:`Task.graph_code` account for the line.

**Decoder-only layout** (a causal LM backbone): the prompt is :meth:`Task.format_input` followed
by a short instruction (:meth:`Task.causal_instruction`), then the target follows and ends with
EOS; the loss covers the target tokens only. The instruction comes after the source, so the
source's byte offsets (and the CPG spans) are those of the encoder-decoder layout::

    def rgb_to_yiq(r, g, b): ...
    # Summarize the code above in one sentence:
    <target> </s>
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from ttune.cpg.languages import find_language
from ttune.data.candidates import Candidate, assert_candidates
from ttune.data.decode import split_test_and_focal
from ttune.data.io import DataError, read_jsonl  # noqa: F401  (re-exported: the contract's reader)
from ttune.data.rewrite import rewrite_source
from ttune.data.syntax import parses
from ttune.data.types import types_input
from ttune.metrics import check_metric_name
from ttune.plugins import load_entry_points
from ttune.tasks.ranker import Ranker, load_ranker

__all__ = [
    "Task",
    "Candidate",
    "Ranker",
    "get_task",
    "task_names",
    "register_task",
    "read_jsonl",
    "DataError",
    "UnknownTaskError",
    "ENTRY_POINT_GROUP",
    "identifier_words",
    "function_name",
    "task_line",
    "causal_instruction",
    "backbone_task_line",
    "trained_task",
    "model_decoding",
    "DECODING_FIELDS",
    "DECODING_FILE",
]

ENTRY_POINT_GROUP = "ttune.tasks"
"""Entry-point group of third-party tasks (see :func:`register_task`)."""


class UnknownTaskError(ValueError):
    """An unknown task name (one-line message listing the known ones)."""


@dataclass(frozen=True)
class Task:
    name: str
    """Task name (summarize, assert, translate, types, custom, or a registered one)."""
    max_source_len: int = 400
    """Source length limit in backbone tokens (the paper: 400)."""
    max_target_len: int = 128
    """Target length limit in backbone tokens (generation's max_new_tokens)."""
    metrics: tuple[str, ...] = ("sacrebleu",)
    """Metric names understood by :func:`ttune.metrics.compute` (first = the headline metric)."""
    no_repeat_ngram_size: int = 0
    """Generation never repeats an n-gram of this many tokens (0 = off). Summaries: 3, since a small
    model's greedy or beam decoding otherwise loops ("the given given given ..."); code repeats
    n-grams legitimately, so code tasks keep it off."""
    copy_bias: float = 0.0
    """Decoding adds this to the log-probability of the tokens :attr:`copy_from` names
    (:mod:`ttune.tasks.decoding`; 0 = off). Summaries: 5, translation: 1, chosen on the dev splits
    (docs/decoding.md): a small model otherwise answers most inputs with one sentence, or loses
    the source's identifiers."""
    copy_from: str = "name"
    """What the copy bias favours: ``name``, the first token of each word of the function's name
    (lower-case or capitalised, with or without a leading space) until that word has been
    generated once; or ``source``, every token of the source code, however often it is generated
    (code repeats its identifiers)."""
    repeat_penalty: float = 0.0
    """Decoding subtracts this from the log-probability of every token already generated (0 =
    off). Summaries: 2 ("the given given given class")."""
    follow_bias: float = 0.0
    """With ``copy_from="source"``: decoding adds this to the log-probability of the tokens that
    continue the output as a copy of the source (the token after each occurrence in the source
    of the output's longest suffix found there, up to 32 tokens; the source's first token at the
    start; the end of the sequence after its last token; :func:`ttune.tasks.decoding.follow_tokens`;
    0 = off). A translation between close languages is mostly a copy in order; a model whose best
    decoding is such a copy says so in its folder's ``decoding.json`` (:func:`model_decoding`)."""
    copy_rewrite: bool = False
    """With ``copy_from="source"``: the copy bias, the follow bias and :attr:`syntax_fallback`
    read the source as the rules of its language pair rewrite it towards the target language
    (:func:`ttune.data.rewrite.rewrite_source`: Java -> C# types, modifiers, names, loops, ...)
    instead of the source itself; a record of a pair without rules keeps its source. The model's
    input is unchanged. Off for every task; the built-in translator's ``decoding.json`` turns it
    on (docs/decoding.md, "Rewriting the source before the copy")."""
    candidates: Callable[[dict], list[Candidate]] | None = None
    """The targets a record admits, with their features, for :attr:`rerank` (None: the task has
    none). ``assert``: :func:`ttune.data.candidates.assert_candidates` of the test (Java and
    Python)."""
    rerank: bool = False
    """Choose each record's output among its :attr:`candidates` (:meth:`choose`) instead of
    generating it; a record without candidates is generated. Off for every task; the built-in
    assert models' ``decoding.json`` turns it on (docs/decoding.md, "Choosing among candidate
    assertions")."""
    ranker: Ranker | None = None
    """How :meth:`choose` scores candidates: the model's log-probability of each
    (:func:`ttune.tasks.decoding.sequence_logprob`) when None, else this linear ranker over that
    log-probability and the candidates' features (:mod:`ttune.tasks.ranker`; a model folder's
    ``ranker.json``, read by :func:`trained_task`)."""
    syntax_fallback: bool = False
    """A generated program that does not parse in the record's target language
    (:func:`ttune.data.syntax.parses`) while the source does is replaced by the source
    (:meth:`fall_back`): code that compiles rather than code that does not, for a model whose
    edits to a copy sometimes break the syntax. Off for every task; a model folder's
    ``decoding.json`` turns it on."""
    prefix: str = ""
    """Text put before the source in the model input (empty: none). The graph offset accounts for
    it."""
    graph_side: str = "source"
    """Which code the CPG is built from: ``source`` (all of it), ``test`` (the first method only:
    the test method of an assert input; Java/C# split at the first balanced brace block, Python at
    the second top-level def) or ``both`` (same as source, named for the assert task)."""
    description: str = ""
    """One line for ``--help`` and model cards."""
    formatter: Callable[[dict], str] | None = None
    """Builds the input text after the head from the record (None: its ``source``); the code whose
    CPG is read must stay at the start of that text."""
    tagged: bool = False
    """Start the input with the task line (:func:`task_line`). Off by default: the shipped
    transducers and backbone were trained on ``prefix`` + source, and a trained method does not
    record its layout yet; ``ttune pretrain`` builds its supervised pairs with ``tagged=True``."""
    instruction: str = ""
    """Text between the source and the target for a causal LM (empty: the task's default from
    :func:`causal_instruction`)."""

    def __post_init__(self) -> None:
        if self.no_repeat_ngram_size < 0:
            raise ValueError(f"task {self.name}: no_repeat_ngram_size must be >= 0")
        if not (self.copy_bias >= 0 and self.repeat_penalty >= 0 and self.follow_bias >= 0):
            raise ValueError(  # ">= 0" also rejects NaN
                f"task {self.name}: copy_bias, repeat_penalty and follow_bias must be >= 0"
            )
        if not isinstance(self.syntax_fallback, bool):
            raise ValueError(f"task {self.name}: syntax_fallback must be true or false")
        if self.follow_bias and self.copy_from != "source":
            raise ValueError(f"task {self.name}: follow_bias needs copy_from='source'")
        if not isinstance(self.copy_rewrite, bool):
            raise ValueError(f"task {self.name}: copy_rewrite must be true or false")
        if self.copy_rewrite and self.copy_from != "source":
            raise ValueError(f"task {self.name}: copy_rewrite needs copy_from='source'")
        if not isinstance(self.rerank, bool):
            raise ValueError(f"task {self.name}: rerank must be true or false")
        if self.rerank and self.candidates is None:
            raise ValueError(f"task {self.name}: rerank needs a task with candidates (assert)")
        if self.copy_from not in ("name", "source"):
            raise ValueError(
                f"task {self.name}: copy_from must be name or source, not {self.copy_from!r}"
            )
        if self.max_source_len < 1 or self.max_target_len < 1:
            raise ValueError(f"task {self.name}: lengths must be positive")
        if self.graph_side not in ("source", "test", "both"):
            raise ValueError(
                f"task {self.name}: graph_side must be source, test or both, "
                f"not {self.graph_side!r}"
            )
        for m in self.metrics:
            check_metric_name(m)

    def format_input(self, record: dict) -> str:
        """The text given to the tokenizer."""
        if self.formatter is not None:
            return self._head(record) + self.formatter(record)
        return self._head(record) + _field(record, "source")

    def copy_source(self, record: dict) -> str | None:
        """The code a copy from the source follows: the record's ``source``, rewritten by its
        language pair's rules under :attr:`copy_rewrite` (when the pair has rules); None when the
        record has no string source."""
        source = record.get("source")
        if not isinstance(source, str):
            return None
        if self.copy_rewrite:
            rewritten = rewrite_source(source, record.get("source_lang"), record.get("target_lang"))
            if rewritten is not None:
                return rewritten
        return source

    def candidate_targets(self, record: dict) -> list[Candidate]:
        """The record's :attr:`candidates` under :attr:`rerank` (the :attr:`ranker`'s shortlist of
        them when it has one), else []."""
        if not self.rerank or self.candidates is None:
            return []
        found = self.candidates(record)
        return found if self.ranker is None else self.ranker.shortlisted(found)

    def chosen(
        self, outputs: Sequence[str], scored: Sequence[tuple[list[Candidate], list[float]]]
    ) -> list[str]:
        """``outputs`` (one per record) with each record that has candidates answered by
        :meth:`choose`; ``scored``: each record's candidates and the model's log-probability of
        each (a predictor's ``candidate_logprobs``; [] for a record without)."""
        return [
            self.choose(cands, logprobs) if cands else out
            for out, (cands, logprobs) in zip(outputs, scored, strict=True)
        ]

    def choose(self, candidates: Sequence[Candidate], logprobs: Sequence[float]) -> str:
        """The text of the best of a record's ``candidates`` (``logprobs``: the model's
        log-probability of each): by the :attr:`ranker`'s scores, or by the log-probability when
        the task has none (ties: the first)."""
        scores = list(logprobs) if self.ranker is None else self.ranker.scores(candidates, logprobs)
        return candidates[max(range(len(scores)), key=scores.__getitem__)].text

    def copy_words(self, record: dict) -> list[str]:
        """The words decoding may copy (:attr:`copy_bias`): those of the name of the first function
        declared in the record's source (:func:`identifier_words`, :func:`function_name`)."""
        return _name_words(record)

    @property
    def steers(self) -> bool:
        """Whether decoding applies :mod:`ttune.tasks.decoding` (a copy or follow bias, or a
        repeat penalty)."""
        return bool(self.copy_bias or self.repeat_penalty or self.follow_bias)

    def causal_instruction(self, record: dict) -> str:
        """The text a causal LM reads after :meth:`format_input` and before the target."""
        return self.instruction or causal_instruction(self.name, record)

    def _head(self, record: dict) -> str:
        return self.prefix + (task_line(self.name, record) if self.tagged else "")

    def graph_code(self, record: dict) -> tuple[str, str, int]:
        """(code whose CPG the transducer reads, its language, byte offset of that code within
        the UTF-8 encoding of :meth:`format_input`)."""
        source = _field(record, "source")
        lang = record.get("source_lang") or "java"
        offset = len(self._head(record).encode("utf-8"))
        if self.graph_side == "test":
            test, _focal = split_test_and_focal(source, lang)
            # The split strips leading whitespace: shift the offset past it.
            lead = len(source) - len(source.lstrip())
            offset += len(source[:lead].encode("utf-8"))
            return test, lang, offset
        return source, lang, offset

    def with_decoding(
        self,
        copy_bias: float | None = None,
        repeat_penalty: float | None = None,
        follow_bias: float | None = None,
        syntax_fallback: bool | None = None,
        copy_rewrite: bool | None = None,
        rerank: bool | None = None,
    ) -> Task:
        """This task with the decoding settings that are not None replaced (the commands'
        ``--copy-bias``, ``--repeat-penalty``, ``--follow-bias``, ``--syntax-fallback``,
        ``--copy-rewrite`` and ``--rerank``). A
        follow bias on a task without a copy bias (assert) reads the source: ``copy_from`` only
        matters to a bias."""
        given = {
            "copy_bias": copy_bias,
            "repeat_penalty": repeat_penalty,
            "follow_bias": follow_bias,
        }
        changes: dict[str, Any] = {k: float(v) for k, v in given.items() if v is not None}
        if syntax_fallback is not None:
            changes["syntax_fallback"] = bool(syntax_fallback)
        if copy_rewrite is not None:
            changes["copy_rewrite"] = bool(copy_rewrite)
        if rerank is not None:
            changes["rerank"] = bool(rerank)
        if changes.get("follow_bias") and not changes.get("copy_bias", self.copy_bias):
            changes["copy_from"] = "source"
        return self.with_options(**changes)

    def fall_back(self, records: Sequence[dict], predictions: Sequence[str]) -> list[str]:
        """``predictions`` (one per record) with :attr:`syntax_fallback` applied: each one that
        does not parse in its record's ``target_lang`` becomes the record's source (as
        :meth:`copy_source` gives it: rewritten under :attr:`copy_rewrite`) when that parses there.
        Unchanged when the setting is off or a record names no language ttune parses."""
        out = list(predictions)
        if not self.syntax_fallback:
            return out
        for i, (rec, pred) in enumerate(zip(records, predictions)):
            lang, source = rec.get("target_lang"), self.copy_source(rec)
            if source is None or not isinstance(lang, str) or not find_language(lang):
                continue
            if not parses(pred, lang) and parses(source, lang):
                out[i] = source
        return out

    def with_options(self, **changes) -> Task:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)


def _assert_candidates(record: dict) -> list[Candidate]:
    """The assert task's candidates: those of the record's test (Java and Python, else []); a
    Python record's ``assert_style`` (``unittest`` or ``pytest``) says which forms."""
    source, lang = record.get("source"), record.get("source_lang") or "java"
    if not isinstance(source, str) or not find_language(lang):
        return []
    style = record.get("assert_style")
    return assert_candidates(source, lang, style if isinstance(style, str) else None)


def _field(record: dict, key: str) -> str:
    value = record.get(key)
    if not isinstance(value, str):
        raise DataError(f"record {record.get('id', '?')} has no string {key!r}")
    return value


# ------------------------------------------------------------------ the task line
_NOT_NAMES = frozenset(
    "if for while switch catch synchronized return new throw super this else do "
    "try using lock foreach fixed sizeof typeof nameof checked unchecked".split()
)
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def identifier_words(name: str) -> list[str]:
    """The words of an identifier, lower-cased: snake_case, camelCase, PascalCase, acronyms and
    digits split (``getHTTPResponse2`` -> get, http, response, 2; ``rgb_to_yiq`` -> rgb, to,
    yiq)."""
    return [w.lower() for w in _WORD.findall(name)]


def function_name(code: str, lang: str) -> str:
    """The name of the first function / method declared in ``code`` ("" when none is found).
    Python: the first ``def``; Java / C#: the identifier before the first ``(`` of the declaration
    (annotations and attributes skipped), before the first ``{``."""
    if lang == "python":
        m = re.search(r"\bdef\s+([A-Za-z_]\w*)", code)
        return m.group(1) if m else ""
    head = code.split("{", 1)[0]
    head = re.sub(r"\[[^\]]*\]", " ", head)  # C# attributes
    for m in re.finditer(r"(@?)([A-Za-z_$][\w$]*)\s*\(", head):
        if not m.group(1) and m.group(2) not in _NOT_NAMES:
            return m.group(2)
    return ""


def _name_words(record: dict) -> list[str]:
    """The words of the name of the first function declared in the record's source."""
    return identifier_words(
        function_name(_field(record, "source"), record.get("source_lang") or "java")
    )


def task_line(task: str, record: dict) -> str:
    """The first line of a ``task`` input (with its newline; "" for tasks without one): the single
    place where the input layout of summarize, translate and assert is defined."""
    if task == "summarize":
        words = " ".join(_name_words(record))
        return f"summarize: {words}\n" if words else "summarize:\n"
    if task == "translate":
        src, tgt = record.get("source_lang") or "java", record.get("target_lang") or "csharp"
        return f"translate {src} to {tgt}:\n"
    if task == "assert":
        return "assert:\n"
    return ""


def causal_instruction(task: str, record: dict) -> str:
    """The short instruction a causal LM reads between the source and the target of ``task``
    (with its newlines): the single place where the decoder-only layout names each task."""
    if task == "summarize":
        return "\n# Summarize the code above in one sentence:\n"
    if task == "translate":
        src, tgt = record.get("source_lang") or "java", record.get("target_lang") or "csharp"
        return f"\n# Translate the {src} code above to {tgt}:\n"
    if task == "assert":
        return "\n# The assert statement for the placeholder:\n"
    if task == "types":
        return "\n# The types:\n"
    return "\n# Output:\n"


_TASKS: dict[str, Task] = {}
_loaded = {"builtins": False, "entry_points": False}


def register_task(task: Task, *, overwrite: bool = False) -> Task:
    """Make ``task`` known to :func:`get_task` (and so to ``ttune train --task``, eval, compare).

    ``task`` is a :class:`Task` (``Task("docstring", 400, 64, ("smooth_bleu4",), prefix="doc: ")``).
    Registering another task under a taken name raises ValueError unless ``overwrite`` is True;
    registering the same task twice is harmless. Returns ``task``.
    """
    if not isinstance(task, Task):
        raise TypeError(f"register_task needs a ttune.tasks.Task, not {type(task).__name__}")
    if not isinstance(task.name, str) or not task.name.strip() or task.name != task.name.strip():
        raise ValueError(
            f"a task name must be a non-empty string without surrounding spaces, got {task.name!r}"
        )
    _builtin()
    old = _TASKS.get(task.name)
    if old is not None and old != task and not overwrite:
        raise ValueError(
            f"task {task.name!r} is already registered (pass overwrite=True to replace it)"
        )
    _TASKS[task.name] = task
    return task


def _builtin() -> None:
    if _loaded["builtins"]:
        return
    _loaded["builtins"] = True
    for task in (
        Task(
            "summarize",
            400,
            64,
            ("smooth_bleu4", "sacrebleu", "chrf", "exact_match"),
            no_repeat_ngram_size=3,
            copy_bias=5.0,
            repeat_penalty=2.0,
            description="code -> one-sentence summary (Java / Python)",
        ),
        Task(
            "assert",
            400,
            64,
            ("exact_match", "exact_match_lenient", "smooth_bleu4", "sacrebleu", "statement_ok"),
            graph_side="test",
            candidates=_assert_candidates,
            description="test method with an assert placeholder + focal method -> the assert",
        ),
        Task(
            "translate",
            400,
            400,
            ("sacrebleu", "codebleu", "exact_match", "chrf", "syntax_ok"),
            copy_bias=1.0,
            copy_from="source",
            description="code in one language -> the same code in another (Java->C#, "
            "Java<->Python)",
        ),
        Task(
            "types",
            400,
            128,
            ("type_exact", "type_outer"),
            formatter=types_input,
            description="Python function without annotations -> the type of each parameter "
            "and annotated local",
        ),
        Task(
            "custom",
            400,
            128,
            ("sacrebleu", "smooth_bleu4", "exact_match", "chrf"),
            description="any JSONL with source, target, source_lang, target_lang",
        ),
    ):
        _TASKS.setdefault(task.name, task)


def _entry_points() -> None:
    """Load the ``ttune.tasks`` entry points once: each names a Task, a module that calls
    :func:`register_task` on import, or a zero-argument callable that does (or returns a Task)."""
    if _loaded["entry_points"]:
        return
    _loaded["entry_points"] = True
    for obj in load_entry_points(entry_points(group=ENTRY_POINT_GROUP), ENTRY_POINT_GROUP):
        if isinstance(obj, Task):
            register_task(obj)


def task_names() -> list[str]:
    """Every known task name (built-in, registered, from entry points), sorted."""
    _builtin()
    _entry_points()
    return sorted(_TASKS)


def get_task(name: str) -> Task:
    """The task ``name``; unknown -> :class:`UnknownTaskError` listing the known ones."""
    _builtin()
    if name not in _TASKS:
        _entry_points()
    if name not in _TASKS:
        raise UnknownTaskError(f"unknown task {name!r}; known: {', '.join(task_names())}")
    return _TASKS[name]


SUPERVISED_SHARES = ("summarize_share", "generate_share", "translate_share", "assert_share")
"""The ``ttune pretrain`` options whose objectives feed the backbone task-line inputs."""


def backbone_task_line(model: str) -> bool:
    """Whether the backbone in folder ``model`` was pretrained on inputs that start with
    :func:`task_line`: ``ttune pretrain`` saves its config (``pretrain_config.json``) in the
    backbone folder, and its supervised objectives (a share of summarize, generate, translate or
    assert above 0) build their inputs with ``tagged=True``. False for a hub id, a folder without
    that file and backbones pretrained before those objectives existed. ``ttune-tiny`` (when no
    such folder is here) is the built-in backbone."""
    from ttune.builtin import BUILTIN_BACKBONE, models_dir  # same layer, light

    folder = Path(model)
    if model == BUILTIN_BACKBONE and not folder.exists():
        folder = models_dir() / BUILTIN_BACKBONE
    try:
        cfg = json.loads((folder / "pretrain_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(cfg, dict) and any(
        isinstance(cfg.get(k), (int, float)) and cfg[k] > 0 for k in SUPERVISED_SHARES
    )


DECODING_FILE = "decoding.json"
"""A trained method folder's own decoding settings (optional; :func:`model_decoding`)."""

DECODING_FIELDS = (
    "copy_bias",
    "copy_from",
    "repeat_penalty",
    "follow_bias",
    "no_repeat_ngram_size",
    "syntax_fallback",
    "copy_rewrite",
    "rerank",
)
"""The :class:`Task` fields a :data:`DECODING_FILE` may set."""


def model_decoding(folder: str | os.PathLike[str] | None) -> dict:
    """The decoding settings of a trained method folder: its :data:`DECODING_FILE` (a JSON object
    of :data:`DECODING_FIELDS`, other keys such as ``chosen_on`` are notes), or {} without one.
    A model whose best decoding differs from its task's default (the built-in translator follows
    the source, docs/decoding.md) carries it here. DataError (one line) when unreadable."""
    if folder is None:
        return {}
    path = Path(folder) / DECODING_FILE
    if not path.is_file():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: not readable JSON ({type(e).__name__})") from None
    if not isinstance(doc, dict):
        raise DataError(f"{path}: must be a JSON object")
    return {k: doc[k] for k in DECODING_FIELDS if k in doc}


def trained_task(name: str, config: Mapping, folder: str | os.PathLike[str] | None = None) -> Task:
    """Task ``name`` in the input layout a trained method was trained on: tagged when its training
    config (``train_config.json``, as a dict) says ``task_line`` "on" (methods saved before that
    option existed were trained without the line); decoding with the follow bias it was trained
    under (``follow_bias`` > 0, ``ttune train --follow-bias``), then with the settings of the
    method ``folder``'s :data:`DECODING_FILE` when it has one, choosing among candidates with the
    folder's ranker (``ranker.json``, :func:`ttune.tasks.ranker.load_ranker`) when it has one.
    ValueError (one line) when the config's follow bias does not suit the task."""
    task = get_task(name).with_options(tagged=config.get("task_line") == "on")
    follow = config.get("follow_bias") or 0
    if follow:
        task = task.with_decoding(follow_bias=follow)
    decoding = model_decoding(folder)
    try:
        task = task.with_options(**decoding) if decoding else task
    except (TypeError, ValueError) as e:
        raise DataError(f"{Path(folder) / DECODING_FILE}: {e}") from None
    ranker = load_ranker(folder)
    return task.with_options(ranker=ranker) if ranker is not None else task
