"""LiteTokenizer gives what the transformers tokenizer gives on the built-in backbone."""

from __future__ import annotations

from pathlib import Path

import pytest

from ttune.lite.tokenizer import LiteTokenizer, LiteTokenizerError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def both(hf_tiny, tiny_folder):
    return hf_tiny[1], LiteTokenizer(tiny_folder)


def test_encoding_with_truncation_offsets_and_special_mask(both):
    hf, lite = both
    text = (EXAMPLES / "inventory.py").read_text(encoding="utf-8") + "\n# ünïcode ✓\n"
    for max_length in (7, 64, 4000):
        kw = dict(
            truncation=True,
            max_length=max_length,
            return_offsets_mapping=True,
            return_special_tokens_mask=True,
        )
        ref, out = hf(text, **kw), lite(text, **kw)
        assert out["input_ids"] == ref["input_ids"]
        assert out["offset_mapping"] == [tuple(o) for o in ref["offset_mapping"]]
        assert out["special_tokens_mask"] == ref["special_tokens_mask"]
    assert len(out["input_ids"]) > 64 and out["input_ids"][-1] == hf.eos_token_id


def test_labels_without_special_tokens_and_pad_id(both):
    hf, lite = both
    labels = ["self", "items", "", "def total_value(self)", "ünï"]
    ref = hf(labels, add_special_tokens=False)["input_ids"]
    assert lite(labels, add_special_tokens=False)["input_ids"] == ref
    assert lite.pad_token_id == hf.pad_token_id == 0
    assert len(lite) == len(hf)


def test_decode_skips_special_tokens(both):
    hf, lite = both
    ids = hf(["Returns the sum.", "Push ünï onto the stack."], padding=True)["input_ids"]
    ids = [[0, *row] for row in ids]  # decoder start, then padded rows ending with </s>
    for skip in (True, False):
        assert lite.batch_decode(ids, skip_special_tokens=skip) == hf.batch_decode(
            ids, skip_special_tokens=skip
        )
    assert lite.batch_decode(ids, skip_special_tokens=True)[0] == "Returns the sum."


def test_folder_without_tokenizer_json(tmp_path):
    with pytest.raises(LiteTokenizerError, match="no tokenizer.json"):
        LiteTokenizer(tmp_path)
