"""The decoder-only layout of an example: source (no EOS), the task's instruction, then the
target ending with EOS; the instruction survives truncation and has no CPG span."""

from __future__ import annotations

import pytest

from ttune.tasks import get_task
from ttune.train.data import encode_records

RECORD = {
    "id": "r0",
    "source": "def add(a, b):\n    return a + b\n",
    "target": "add two numbers",
    "source_lang": "python",
    "target_lang": "en",
}


@pytest.fixture(scope="module")
def tok():
    from ttune.backbone import build_tokenizer

    return build_tokenizer([RECORD["source"], RECORD["target"]] * 5, vocab_size=300)


def test_causal_layout(tok):
    task = get_task("summarize")
    (t5,) = encode_records([RECORD], task, tok, 400, 64, with_labels=True)
    (ex,) = encode_records([RECORD], task, tok, 400, 64, with_labels=True, causal=True)
    instruction = tok(task.causal_instruction(RECORD), add_special_tokens=False)["input_ids"]
    assert t5.input_ids[-1] == tok.eos_token_id
    assert ex.input_ids == t5.input_ids[:-1] + instruction
    assert ex.token_spans[: len(t5.input_ids) - 1] == t5.token_spans[:-1]
    assert ex.token_spans[len(t5.input_ids) - 1 :] == [(-1, -1)] * len(instruction)
    assert ex.labels == tok(RECORD["target"], add_special_tokens=False)["input_ids"] + [
        tok.eos_token_id
    ]
    assert tok.decode(ex.input_ids).endswith("# Summarize the code above in one sentence:\n")


def test_truncation_keeps_the_instruction_and_the_eos(tok):
    task = get_task("summarize")
    n = len(tok(task.causal_instruction(RECORD), add_special_tokens=False)["input_ids"])
    (ex,) = encode_records([RECORD], task, tok, n + 3, 2, with_labels=True, causal=True)
    assert len(ex.input_ids) == n + 3 and ex.token_spans[2] != (-1, -1)
    assert len(ex.labels) == 2 and ex.labels[-1] == tok.eos_token_id


def test_prediction_examples_never_read_the_target(tok):
    task = get_task("translate")
    rec = dict(RECORD, source_lang="java", target_lang="csharp", target=None)
    (ex,) = encode_records([rec], task, tok, 400, None, with_labels=False, causal=True)
    assert ex.labels is None
    assert tok.decode(ex.input_ids).endswith("# Translate the java code above to csharp:\n")
