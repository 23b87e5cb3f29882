"""Fixtures of the lite-path tests: the built-in models loaded both ways."""

from __future__ import annotations

import pytest
from helpers import one_torch_thread  # noqa: F401  (autouse: one intra-op thread)

from ttune.builtin import builtin_backbone


@pytest.fixture(scope="session")
def tiny_folder():
    """The built-in backbone's folder (ttune-tiny)."""
    return builtin_backbone()


@pytest.fixture(scope="session")
def hf_tiny(tiny_folder):
    """(transformers model, tokenizer) of the built-in backbone, as the engine loads them."""
    from ttune.backbone import load_backbone

    return load_backbone(str(tiny_folder))


@pytest.fixture(scope="session")
def lite_tiny(tiny_folder):
    from ttune.lite.t5 import load_t5

    return load_t5(tiny_folder)
