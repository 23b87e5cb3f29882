"""Fixtures of the comparison tests: 16 tiny made-up Python functions with summaries, a tiny T5
saved to disk (BPE trained on them), and one comparison (transducer, lora, none x 2 seeds) run once
per session, since every test reads the same output."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import one_torch_thread, save_tiny_backbone, write_splits  # noqa: F401 (autouse fixture)

VERBS = ["add", "scale", "clip", "shift"]
NOUNS = ["count", "price", "width", "total"]
METHODS = ("transducer", "lora", "none")
SEEDS = (18, 99)


def tiny_records() -> list[dict]:
    """16 records {id, source, target, source_lang, target_lang} with data and control flow."""
    out = []
    for i, verb in enumerate(VERBS):
        for j, noun in enumerate(NOUNS):
            k = 4 * i + j
            src = (
                f"def {verb}_{noun}({noun}, step):\n"
                f"    result = {noun} + step * {k}\n"
                f"    if result > {k + 1}:\n"
                f"        result = result - {j}\n"
                f"    for _ in range({i + 1}):\n"
                f"        result += 1\n"
                f"    return result\n"
            )
            out.append(
                {
                    "id": f"r{k}",
                    "source": src,
                    "target": f"{verb} the {noun}",
                    "source_lang": "python",
                    "target_lang": "en",
                }
            )
    return out


@pytest.fixture(scope="session")
def records() -> list[dict]:
    return tiny_records()


@pytest.fixture(scope="session")
def backbone_dir(tmp_path_factory, records) -> Path:
    return save_tiny_backbone(
        records,
        tmp_path_factory.mktemp("backbone"),
        vocab_size=400,
        d_model=32,
        d_ff=64,
        num_layers=1,
        num_heads=4,
    )


@pytest.fixture(scope="session")
def data_files(tmp_path_factory, records) -> dict[str, Path]:
    return write_splits(
        tmp_path_factory.mktemp("data"), train=records[:12], valid=records[12:], test=records[8:]
    )


@pytest.fixture(scope="session")
def make_compare_config(backbone_dir, data_files, tmp_path_factory):
    """CompareConfig factory with tiny, fast settings (2 steps per run)."""
    from ttune.compare import CompareConfig

    cache = tmp_path_factory.mktemp("cpg_cache")

    def make(output_dir, **kw):
        base = dict(
            task="summarize",
            methods=METHODS,
            model=str(backbone_dir),
            train_file=str(data_files["train"]),
            valid_file=str(data_files["valid"]),
            test_file=str(data_files["test"]),
            output_dir=str(output_dir),
            seeds=SEEDS,
            max_steps=2,
            batch_size=4,
            lr=1e-2,
            max_source_len=96,
            max_target_len=8,
            max_new_tokens=6,
            eval_every=1,
            cache_dir=str(cache),
            log_every=1,
            command="pytest tests/compare",
        )
        base.update(kw)
        return CompareConfig(**base)

    return make


@pytest.fixture(scope="session")
def comparison(make_compare_config, tmp_path_factory):
    """(config, results dict, progress events) of one comparison run at the start of the session."""
    from ttune.compare import run_comparison

    cfg = make_compare_config(tmp_path_factory.mktemp("compare"))
    events = []
    results = run_comparison(cfg, on_event=events.append)
    return cfg, results, events
