from __future__ import annotations

import pytest

from ttune.data.io import data_dir


@pytest.fixture(scope="session")
def shared_data():
    """The shared research data sets folder; skip (with the reason) when it is absent."""
    d = data_dir()
    if not d.is_dir():
        pytest.skip(f"shared data sets folder {d} is absent (set TTUNE_DATA_DIR)")
    return d


def need(shared_data, name):
    p = shared_data / name
    if not p.exists():
        pytest.skip(f"data set {p} is absent")
    return p
