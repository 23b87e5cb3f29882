"""Encoding and collation: byte spans onto the CPG's code, -100 label padding, data order."""

from __future__ import annotations

import pytest
import torch

from ttune.train.data import (
    IGNORE_INDEX,
    Collator,
    DataError,
    Example,
    batch_order,
    load_records,
    token_byte_spans,
)


def test_token_byte_spans_convert_characters_to_utf8_bytes_and_shift_to_code():
    # "# é\n" is a 5-byte prefix (é is 2 bytes); the code follows it.
    prefix, code = "# é\n", "x = 'ü'\n"
    text = prefix + code
    off = len(prefix.encode())
    assert off == 5
    # character offsets: prefix token, "x", "'ü'", a special token (0, 0)
    offsets = [(0, 4), (4, 5), (8, 11), (0, 0)]
    spans = token_byte_spans(text, offsets, off, len(code.encode()), special=[0, 0, 0, 1])
    assert spans[0] == (-1, -1)  # entirely before the code
    assert spans[1] == (0, 1)  # "x" is byte 0 of the code
    assert spans[2] == (4, 8)  # "'ü'" = bytes 4..8 of the code (ü is 2 bytes)
    assert code.encode()[4:8].decode() == "'ü'"
    assert spans[3] == (-1, -1)  # special token


def test_token_byte_spans_clip_tokens_straddling_the_code_start():
    text = "ab" + "cd"
    assert token_byte_spans(text, [(1, 3)], 2, 2) == [(0, 1)]


def test_collator_pads_labels_with_minus_100_never_eos_or_pad():
    exs = [
        Example(0, [5, 6, 7, 1], [(0, 1), (1, 2), (2, 3), (-1, -1)], labels=[9, 1]),
        Example(1, [5, 1], [(0, 1), (-1, -1)], labels=[9, 8, 7, 1]),
    ]
    batch = Collator(pad_token_id=0, with_labels=True, with_graph=False)(exs)
    assert batch["input_ids"].tolist() == [[5, 6, 7, 1], [5, 1, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 0, 0]]
    assert batch["labels"].tolist() == [[9, 1, IGNORE_INDEX, IGNORE_INDEX], [9, 8, 7, 1]]
    assert batch["token_spans"].shape == (2, 4, 2)
    assert batch["token_spans"][1, 2:].tolist() == [[-1, -1], [-1, -1]]
    assert "graph" not in batch


def test_collator_without_labels_has_source_only():
    exs = [Example(0, [5, 1], [(0, 1), (-1, -1)], labels=[9, 1])]
    batch = Collator(pad_token_id=0, with_labels=False, with_graph=False)(exs)
    assert set(batch) == {"input_ids", "attention_mask", "token_spans"}


def test_batch_order_is_a_pure_function_of_seed_and_epoch():
    a = batch_order(10, 4, seed=3, epoch=1)
    assert a == batch_order(10, 4, seed=3, epoch=1)
    assert [len(b) for b in a] == [4, 4, 2]
    assert sorted(i for b in a for i in b) == list(range(10))
    assert a != batch_order(10, 4, seed=3, epoch=2)
    torch.manual_seed(0)
    x = torch.rand(1)
    batch_order(10, 4, seed=3, epoch=1)
    torch.manual_seed(0)
    assert torch.equal(torch.rand(1), x)  # the global RNG is untouched


def test_load_records_refuses_missing_and_empty_files(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_records(tmp_path / "nope.jsonl", "training")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(ValueError):
        load_records(empty, "training")


def test_encoded_batch_from_real_tokenizer_has_minus_100_labels(backbone_dir, records):
    from ttune.backbone import load_backbone
    from ttune.tasks import get_task
    from ttune.train.data import encode_records

    _, tok = load_backbone(str(backbone_dir))
    task = get_task("summarize")
    exs = encode_records(
        records[:8], task, tok, max_source_len=64, max_target_len=64, with_labels=True
    )
    batch = Collator(tok.pad_token_id, with_labels=True, with_graph=False)(exs)
    labels = batch["labels"]
    lengths = [len(e.labels) for e in exs]
    assert len(set(lengths)) > 1, "need targets of different lengths to see padding"
    for row, n in zip(labels, lengths):
        assert (row[n:] == IGNORE_INDEX).all()
        assert (row[:n] != IGNORE_INDEX).all()
        assert row[n - 1].item() == tok.eos_token_id  # one EOS ends the target, then only -100
    # spans map tokens onto the code text that the CPG is built from: a token lying inside the
    # code covers exactly its own bytes of the code
    code, _, off = task.graph_code(records[0])
    text = task.format_input(records[0])
    code_start = len(text.encode()[:off].decode())
    code_end = code_start + len(code)
    enc = tok(text, truncation=True, max_length=64, return_offsets_mapping=True)
    inside = 0
    for (s, e), (cs, ce) in zip(exs[0].token_spans, enc["offset_mapping"]):
        if ce > cs and code_start <= cs and ce <= code_end:
            assert code.encode()[s:e] == text[cs:ce].encode()
            inside += 1
        elif ce <= code_start or cs >= code_end:
            assert (s, e) == (-1, -1)
    assert inside > 10


def test_graph_options_come_from_the_method_whatever_its_fields_are_called(
    backbone_dir, records, tmp_path
):
    """train/data featurizes as the method's config declares (MethodConfig.graph_options), not by
    reading fields of fixed names: this method calls its limits node_budget and label_budget."""
    from dataclasses import dataclass

    from ttune.backbone import load_backbone
    from ttune.methods import AdaptedModel, GraphOptions, MethodConfig
    from ttune.tasks import get_task
    from ttune.train.data import build_examples, graph_options

    @dataclass
    class BudgetConfig(MethodConfig):
        name = "budget"
        node_budget: int = 5
        """Graph nodes read."""
        label_budget: int = 3
        """Tokens per node label."""

        def graph_options(self) -> GraphOptions:
            return GraphOptions(
                max_graph_nodes=self.node_budget, max_label_tokens=self.label_budget
            )

    class BudgetModel(AdaptedModel):
        needs_graph = True

    backbone, tok = load_backbone(str(backbone_dir))
    adapted = BudgetModel(backbone, BudgetConfig(node_budget=7, label_budget=2))
    assert graph_options(adapted) == {"max_graph_nodes": 7, "max_label_tokens": 2}
    common = dict(
        max_source_len=64,
        max_target_len=16,
        with_labels=True,
        needs_graph=True,
        cache_dir=str(tmp_path / "cache"),
        progress=False,
    )
    exs = build_examples(
        records[:3], get_task("summarize"), tok, **common, **graph_options(adapted)
    )
    assert [tuple(e.graph.label_ids.shape) for e in exs] == [(7, 2)] * 3
    full = build_examples(records[:3], get_task("summarize"), tok, **common)
    assert min(e.graph.label_ids.shape[0] for e in full) > 7  # the budget really cut the graphs
    assert torch.equal(exs[0].graph.kind, full[0].graph.kind[:7])
