"""Per-identifier accuracy of predicted type annotations (the ``types`` task).

Predictions and references are ``name: type; name: type`` texts
(:func:`ttune.data.types.parse_types`). Every identifier of the reference counts once: the corpus
score is 100 x (identifiers whose predicted type matches) / (all reference identifiers), so a
function with 6 identifiers weighs 6 times one with 1. An identifier missing from the prediction
is wrong; extra predicted names are ignored.

- ``type_exact``: the types are equal after removing whitespace and a ``typing.`` prefix.
- ``type_outer``: the outermost type constructors are equal (``list[int]`` vs ``list[str]`` match):
  the normalised text before the first ``[``, with the ``typing`` aliases ``List``, ``Dict``,
  ``Set``, ``FrozenSet``, ``Tuple`` and ``Type`` read as the builtins.
"""

from __future__ import annotations

import re

from ttune.data.types import parse_types

_ALIASES = {
    "List": "list",
    "Dict": "dict",
    "Set": "set",
    "FrozenSet": "frozenset",
    "Tuple": "tuple",
    "Type": "type",
}


def normalise(typ: str) -> str:
    """Whitespace and ``typing.`` prefixes removed."""
    return re.sub(r"\btyping\.", "", re.sub(r"\s+", "", typ))


def outer(typ: str) -> str:
    """The outermost constructor: ``Dict[str, int]`` -> ``dict``."""
    head = normalise(typ).split("[", 1)[0]
    return _ALIASES.get(head, head)


def identifier_matches(prediction: str, reference: str, level: str) -> list[bool]:
    """One bool per reference identifier, in reference order; ``level`` is exact or outer."""
    key = normalise if level == "exact" else outer
    pred = parse_types(prediction)
    return [
        name in pred and key(pred[name]) == key(typ) for name, typ in parse_types(reference).items()
    ]


def corpus_accuracy(predictions: list[str], references: list[str], level: str) -> float:
    """100 x matched identifiers / all reference identifiers."""
    hits = [m for p, r in zip(predictions, references) for m in identifier_matches(p, r, level)]
    return 100.0 * sum(hits) / len(hits) if hits else 0.0


def per_example(predictions: list[str], references: list[str], level: str) -> list[float]:
    """Per record: 100 x the fraction of its identifiers typed correctly (0 with none)."""
    out = []
    for p, r in zip(predictions, references):
        m = identifier_matches(p, r, level)
        out.append(100.0 * sum(m) / len(m) if m else 0.0)
    return out
