"""CodeBLEU (Ren et al. 2020) from the ``codebleu`` PyPI package (k4black/codebleu 0.7.0).

CodeBLEU = a * BLEU + b * weighted-n-gram BLEU + c * AST (syntax) match + d * data-flow match.
``codebleu`` uses the standard weights a = b = c = d = 0.25; ``codebleu:a,b,c,d`` any others (they
must sum to 1). Scores are scaled to 0-100.

``codebleu`` combines the package's four components with CodeXGLUE's formula exactly as above. The
package's own total (``codebleu_pkg``) differs in one place: codebleu 0.7.0 adds
``d * (dataflow or 1)``, i.e. a data-flow match of exactly 0 (no data flow matched, or none in the
references) counts as 1. Per example that adds 25 points to many pairs (an empty prediction scores
25), so ttune's headline ``codebleu`` does not do it; ``codebleu_pkg`` reproduces the package. The
package parses code with tree-sitter: it runs beside
tree-sitter 0.26.1 with the grammars ttune already pins (python, java, c-sharp), so it is installed
without its dependencies: ``pip install --no-deps codebleu==0.7.0``.

The package's data-flow match is not deterministic: it orders variable names with ``list(set(...))``
(CodeXGLUE's evaluator does the same; microsoft/CodeXGLUE issue 152), so the order, the normalised
names and the score follow Python's per-process string hashing (``PYTHONHASHSEED``): the same
predictions scored 34.12, 33.99 and 34.07 under three seeds. ttune replaces ``set`` in the two
modules that do it with an insertion-ordered one (:class:`_InsertionOrderedSet`), which gives one
fixed order, so a score is the same in every process.
"""

from __future__ import annotations

from ttune.cpg.languages import find_language, languages

STANDARD_WEIGHTS = (0.25, 0.25, 0.25, 0.25)
INSTALL_HINT = "pip install --no-deps codebleu==0.7.0"


class MetricUnavailable(ValueError):
    """A metric whose optional package is missing, or that cannot score this language."""


def parse_weights(spec: str) -> tuple[float, float, float, float]:
    """``""`` -> standard weights; ``"0.1,0.1,0.4,0.4"`` -> those (must be 4 numbers summing to
    1)."""
    if not spec:
        return STANDARD_WEIGHTS
    try:
        w = tuple(float(x) for x in spec.split(","))
    except ValueError:
        raise ValueError(f"codebleu weights must be numbers, got {spec!r}") from None
    if len(w) != 4 or any(x < 0 for x in w) or abs(sum(w) - 1.0) > 1e-6:
        raise ValueError(f"codebleu needs 4 non-negative weights summing to 1, got {spec!r}")
    return w  # type: ignore[return-value]


class _InsertionOrderedSet(dict):
    """``set`` as the codebleu package's data-flow code uses it (built from an iterable, ``add``,
    ``in``, iterated, ``len``), iterating in insertion order instead of hash order."""

    def __init__(self, items=()) -> None:
        super().__init__(dict.fromkeys(items))

    def add(self, item) -> None:
        self[item] = None


def _package():
    try:
        import codebleu  # lazy: optional, installed apart (see INSTALL_HINT)
        from codebleu import dataflow_match
        from codebleu.parser import DFG
    except ImportError:
        raise MetricUnavailable(f"codebleu is not installed; run: {INSTALL_HINT}") from None
    for module in (dataflow_match, DFG):  # their ``set(...)`` calls: see the module docstring
        module.set = _InsertionOrderedSet
    return codebleu


def _lang(lang: str | None) -> str:
    """The codebleu package's name of ``lang`` (a name or alias of the language table)."""
    found = find_language(lang) if lang is not None else None
    if found is None or found.codebleu is None:
        scored = ", ".join(x.name for x in languages() if x.codebleu is not None)
        raise MetricUnavailable(f"codebleu needs the code language ({scored}), got {lang!r}")
    return found.codebleu


def codebleu_components(
    predictions: list[str],
    references: list[str],
    lang: str | None,
    weights: tuple[float, float, float, float] = STANDARD_WEIGHTS,
) -> dict[str, float]:
    """The package's corpus-level result (all components, 0-1)."""
    pkg = _package()
    return pkg.calc_codebleu(
        [[r] for r in references], list(predictions), lang=_lang(lang), weights=weights
    )


def _combine(parts: dict, weights: tuple[float, float, float, float], package_total: bool) -> float:
    if package_total:
        return 100.0 * float(parts["codebleu"])
    a, b, c, d = weights
    return 100.0 * float(
        a * parts["ngram_match_score"]
        + b * parts["weighted_ngram_match_score"]
        + c * parts["syntax_match_score"]
        + d * parts["dataflow_match_score"]
    )


def codebleu_corpus(
    predictions: list[str],
    references: list[str],
    lang: str | None,
    weights: tuple[float, float, float, float] = STANDARD_WEIGHTS,
    package_total: bool = False,
) -> float:
    return _combine(
        codebleu_components(predictions, references, lang, weights), weights, package_total
    )


def codebleu_per_example(
    predictions: list[str],
    references: list[str],
    lang: str | None,
    weights: tuple[float, float, float, float] = STANDARD_WEIGHTS,
    package_total: bool = False,
) -> list[float]:
    pkg, code_lang = _package(), _lang(lang)
    return [
        _combine(
            pkg.calc_codebleu([[r]], [p], lang=code_lang, weights=weights), weights, package_total
        )
        for p, r in zip(predictions, references)
    ]
