"""ttune.plugins: entry points load to their objects, callables are called, broken ones warn."""

from __future__ import annotations

import pytest

from ttune.plugins import load_entry_points


class EP:
    def __init__(self, name, obj=None, error=None):
        self.name, self.value, self.obj, self.error = name, f"pkg.{name}", obj, error

    def load(self):
        if self.error:
            raise self.error
        return self.obj


def test_values_callables_and_broken_plugins():
    calls = []
    eps = [
        EP("a", obj=42),
        EP("b", obj=lambda: calls.append("b") or "made"),
        EP("cls", obj=dict),
        EP("bad", error=SyntaxError("invalid syntax")),
        EP("c", obj="last"),
    ]
    with pytest.warns(
        UserWarning,
        match=r"^ttune.x entry point 'bad' \(pkg.bad\) failed to load: "
        r"SyntaxError: invalid syntax$",
    ):
        assert load_entry_points(eps, "ttune.x") == [42, "made", dict, "last"]
    assert calls == ["b"]
