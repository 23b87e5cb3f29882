"""Metrics, each named by its exact variant; every score is on a 0-100 scale.

=======================  ====================================================================
name                     variant
=======================  ====================================================================
smooth_bleu4             CodeNN / CodeXGLUE code-to-text smoothed sentence BLEU-4 (add-one for
                         n > 1, lower-cased, NIST tokenised), mean over examples
sacrebleu                sacrebleu corpus BLEU-4, 13a tokenisation, cased
chrf                     sacrebleu chrF (character 6-grams, beta 2)
codebleu                 CodeBLEU (CodeXGLUE formula) on the components of package ``codebleu``
                         0.7.0, weights 0.25/0.25/0.25/0.25
codebleu:a,b,c,d         CodeBLEU with weights a (BLEU), b (weighted BLEU), c (AST), d (data flow)
codebleu_pkg[:a,b,c,d]   the package's own total (a data-flow match of 0 counts as 1)
exact_match              strict: equal after stripping outer whitespace
exact_match_lenient      equal as word/punctuation token sequences, case-folded, final . or ;
                         dropped
syntax_ok                % of predictions that parse in the target language (tree-sitter, no
                         ERROR or MISSING node; Java/C# members inside a class); no reference
statement_ok             % of predictions that parse as exactly one statement (Java/C#: inside a
                         method body, a final ; added if missing); no reference
type_exact               types task: % of identifiers whose predicted type equals the reference
type_outer               types task: % of identifiers whose outermost type constructor matches
=======================  ====================================================================

``compute(names, predictions, references, lang=None) -> {name: score}``;
``score(...)``: the same, leaving out (and naming) the metrics that cannot run here;
``per_example(name, predictions, references, lang=None) -> [score, ...]`` (for significance tests:
:func:`ttune.metrics.significance.wilcoxon`). ``lang`` is the target language (CodeBLEU needs it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ttune.cpg.languages import find_language
from ttune.data.syntax import parses, parses_as_statement
from ttune.metrics import bleu, code_bleu, exact, types
from ttune.metrics.code_bleu import MetricUnavailable, parse_weights

log = logging.getLogger(__name__)

__all__ = [
    "compute",
    "score",
    "per_example",
    "metric_names",
    "describe_metric",
    "check_metric_name",
    "UnknownMetricError",
    "MetricUnavailable",
]


class UnknownMetricError(ValueError):
    """An unknown metric name (one-line message listing the known ones)."""


_Corpus = Callable[[list[str], list[str], "str | None"], float]
_PerEx = Callable[[list[str], list[str], "str | None"], list[float]]

_DESCRIPTIONS = {
    "smooth_bleu4": "CodeNN/CodeXGLUE smoothed sentence BLEU-4 (add-one for n>1, lower-cased, "
    "NIST tokenised), mean over examples, x100",
    "sacrebleu": "sacrebleu corpus BLEU-4, tokenize=13a, cased, x1 (0-100)",
    "chrf": "sacrebleu corpus chrF (char_order=6, word_order=0, beta=2)",
    "codebleu": "CodeBLEU, CodeXGLUE formula on codebleu 0.7.0 components (data-flow variable "
    "order made deterministic), weights ngram/weighted-ngram/syntax/dataflow = "
    "0.25/0.25/0.25/0.25, x100",
    "codebleu_pkg": "codebleu 0.7.0 package total (data-flow match 0 counted as 1; data-flow "
    "variable order made deterministic), weights 0.25/0.25/0.25/0.25, x100",
    "exact_match": "strict exact match after stripping outer whitespace, % of examples",
    "exact_match_lenient": "exact match of word/punctuation tokens, case-folded, final '.'/';' "
    "dropped, % of examples",
    "syntax_ok": "% of predictions tree-sitter parses in the target language with no ERROR or "
    "MISSING node (Java/C# members wrapped in a class); references not used",
    "statement_ok": "% of predictions tree-sitter parses as exactly one statement in the target "
    "language with no ERROR or MISSING node (Java/C#: inside a method body, a final ';' added "
    "when missing; Python: as a module); references not used",
    "type_exact": "types task: % of reference identifiers whose predicted type is equal "
    "(whitespace and typing. prefix ignored)",
    "type_outer": "types task: % of reference identifiers whose predicted outermost type "
    "constructor is equal (list[int] ~ List[str])",
}


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def _fixed(name: str) -> tuple[_Corpus, _PerEx]:
    if name == "smooth_bleu4":
        return (
            lambda p, r, lang: bleu.smooth_bleu4(p, r),
            lambda p, r, lang: bleu.smooth_bleu4_per_example(p, r),
        )
    if name == "sacrebleu":
        return (
            lambda p, r, lang: bleu.sacrebleu_corpus(p, r),
            lambda p, r, lang: bleu.sacrebleu_per_example(p, r),
        )
    if name == "chrf":
        return (
            lambda p, r, lang: bleu.chrf_corpus(p, r),
            lambda p, r, lang: bleu.chrf_per_example(p, r),
        )
    if name == "exact_match":
        return (
            lambda p, r, lang: _mean(exact.exact_per_example(p, r)),
            lambda p, r, lang: exact.exact_per_example(p, r),
        )
    if name == "exact_match_lenient":
        return (
            lambda p, r, lang: _mean(exact.lenient_per_example(p, r)),
            lambda p, r, lang: exact.lenient_per_example(p, r),
        )
    if name in ("syntax_ok", "statement_ok"):
        test = parses if name == "syntax_ok" else parses_as_statement
        return (
            lambda p, r, lang: _mean(_parse_check(name, test, p, lang)),
            lambda p, r, lang: _parse_check(name, test, p, lang),
        )
    if name in ("type_exact", "type_outer"):
        level = name.split("_")[1]
        return (
            lambda p, r, lang: types.corpus_accuracy(p, r, level),
            lambda p, r, lang: types.per_example(p, r, level),
        )
    raise KeyError(name)


def _parse_check(
    name: str, test: Callable[[str, str], bool], predictions: list[str], lang: str | None
) -> list[float]:
    """100 for each prediction that passes ``test`` in ``lang`` (a tree-sitter check of
    :mod:`ttune.data.syntax`), else 0."""
    if lang is None or find_language(lang) is None:
        raise MetricUnavailable(f"{name} needs a target language ttune parses (got {lang!r})")
    return [100.0 if test(p, lang) else 0.0 for p in predictions]


def _resolve(name: str) -> tuple[_Corpus, _PerEx]:
    base, _, arg = name.partition(":")
    if base in ("codebleu", "codebleu_pkg"):
        w = parse_weights(arg)
        pkg = base == "codebleu_pkg"
        return (
            lambda p, r, lang: code_bleu.codebleu_corpus(p, r, lang, w, pkg),
            lambda p, r, lang: code_bleu.codebleu_per_example(p, r, lang, w, pkg),
        )
    if arg:
        raise UnknownMetricError(f"metric {base!r} takes no argument (got {name!r})")
    try:
        return _fixed(base)
    except KeyError:
        raise UnknownMetricError(
            f"unknown metric {name!r}; known: {', '.join(metric_names())}, codebleu[_pkg]:a,b,c,d"
        ) from None


def metric_names() -> list[str]:
    return sorted(_DESCRIPTIONS)


def check_metric_name(name: str) -> None:
    """Raise :class:`UnknownMetricError` (or ValueError for bad codebleu weights) for a bad name."""
    _resolve(name)


def describe_metric(name: str) -> str:
    """The exact variant a metric name stands for (one line)."""
    check_metric_name(name)
    base, _, arg = name.partition(":")
    if base in ("codebleu", "codebleu_pkg") and arg:
        w = "/".join(f"{x:g}" for x in parse_weights(arg))
        return _DESCRIPTIONS[base].replace("0.25/0.25/0.25/0.25", w)
    return _DESCRIPTIONS[base]


def _check_lists(predictions: list[str], references: list[str]) -> None:
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")
    if not references:
        raise ValueError("no references to score")


def compute(
    names, predictions: list[str], references: list[str], lang: str | None = None
) -> dict[str, float]:
    """Corpus-level scores (0-100) for each metric in ``names`` (a name or a sequence of names)."""
    if isinstance(names, str):
        names = [names]
    _check_lists(predictions, references)
    fns = {n: _resolve(n)[0] for n in names}
    return {n: float(fn(list(predictions), list(references), lang)) for n, fn in fns.items()}


def score(
    names, predictions: list[str], references: list[str], lang: str | None = None
) -> tuple[dict[str, float], dict[str, str]]:
    """Corpus scores of each metric that can run here, and {metric: reason} for those that cannot
    (codebleu not installed, no language), so one missing metric never stops a run."""
    if isinstance(names, str):
        names = [names]
    scores, unavailable = {}, {}
    for m in names:
        try:
            scores.update(compute([m], predictions, references, lang=lang))
        except MetricUnavailable as e:
            unavailable[m] = str(e).splitlines()[0]
            log.warning("metric %s skipped: %s", m, unavailable[m])
    return scores, unavailable


def per_example(
    name: str, predictions: list[str], references: list[str], lang: str | None = None
) -> list[float]:
    """Per-example scores (0-100) of metric ``name``, in input order."""
    _check_lists(predictions, references)
    return [float(x) for x in _resolve(name)[1](list(predictions), list(references), lang)]
