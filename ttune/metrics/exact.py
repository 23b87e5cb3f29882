"""Exact match, strict and lenient. Scores are 0 or 100 per example; the corpus figure is the mean.

- ``exact_match`` (strict): the prediction equals the reference after stripping leading and
  trailing whitespace only.
- ``exact_match_lenient``: equal after (1) splitting both into words and single punctuation marks
  (``\\w+|[^\\w\\s]``), so spacing never matters (``a ( b )`` == ``a(b)``), (2) dropping one final
  ``.`` or ``;`` and (3) case-folding.
"""

from __future__ import annotations

import re

_TOKENS = re.compile(r"\w+|[^\w\s]")


def lenient_key(text: str) -> tuple[str, ...]:
    toks = _TOKENS.findall(text.casefold())
    if toks and toks[-1] in (".", ";"):
        toks = toks[:-1]
    return tuple(toks)


def exact_per_example(predictions: list[str], references: list[str]) -> list[float]:
    return [100.0 if p.strip() == r.strip() else 0.0 for p, r in zip(predictions, references)]


def lenient_per_example(predictions: list[str], references: list[str]) -> list[float]:
    return [
        100.0 if lenient_key(p) == lenient_key(r) else 0.0 for p, r in zip(predictions, references)
    ]
