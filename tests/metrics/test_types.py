"""Per-identifier accuracy of predicted types: exact and outer-type match."""

from __future__ import annotations

import pytest

from ttune.metrics import compute, per_example

REFS = ["a: list[int]; b: int; c: str", "x: Dict[str, int]"]
PREDS = ["a: List[str]; b: int; zz: str", "x: dict[str,int]"]


def test_accuracy_is_per_identifier_not_per_function():
    # exact: only b (Dict[...] != dict[...]) -> 1 of 4 identifiers
    # outer: a (list ~ List), b, x (dict ~ Dict) -> 3 of 4; c is missing from the prediction
    scores = compute(["type_exact", "type_outer"], PREDS, REFS)
    assert scores == {"type_exact": pytest.approx(25.0), "type_outer": pytest.approx(75.0)}


def test_per_example_scores_are_fractions_of_each_functions_identifiers():
    assert per_example("type_exact", PREDS, REFS) == pytest.approx([100 / 3, 0.0])
    assert per_example("type_outer", PREDS, REFS) == pytest.approx([200 / 3, 100.0])


def test_typing_prefix_and_whitespace_are_ignored():
    assert compute("type_exact", ["a: typing.Optional[ int ]"], ["a: Optional[int]"]) == {
        "type_exact": 100.0
    }
