"""topro: n identifiers -> n prompted examples, predictions reassembled per function."""

from __future__ import annotations

import json

import pytest
import torch
from helpers import save_tiny_backbone, write_splits

RECORDS = [
    {
        "id": "f",
        "source": "def f(a, b):\n    n = len(a)\n    return n + b\n",
        "target": "a: list[str]; b: int; n: int",
        "identifiers": ["a", "b", "n"],
        "source_lang": "python",
        "target_lang": "python",
    },
    {
        "id": "g",
        "source": "def g(x):\n    return -x\n",
        "target": "x: float",
        "identifiers": ["x"],
        "source_lang": "python",
        "target_lang": "python",
    },
]


def _topro(make_backbone, tok, **kw):
    from ttune.methods import apply_method, make_config

    return apply_method(make_backbone(), make_config("topro", **kw), tok)


def test_n_identifiers_give_n_prompted_examples(make_backbone, tok):
    from ttune.tasks import get_task

    task = get_task("types")
    adapted = _topro(make_backbone, tok)
    ex = adapted.expand_records(RECORDS, task)
    assert [(e["id"], e["query"], e["target"]) for e in ex] == [
        ("f#a", "a", "list[str]"),
        ("f#b", "b", "int"),
        ("f#n", "n", "int"),
        ("g#x", "x", "float"),
    ]
    assert task.format_input(ex[1]).endswith("return n + b\n# the type of `b` is <extra_id_0>")
    no_target = adapted.expand_records(
        [{k: v for k, v in r.items() if k != "target"} for r in RECORDS], task
    )
    assert len(no_target) == 4 and all("target" not in e for e in no_target)


def test_labels_round_trip_through_expand_and_merge(make_backbone, tok):
    from ttune.metrics import compute
    from ttune.tasks import get_task

    task = get_task("types")
    adapted = _topro(make_backbone, tok)
    ex = adapted.expand_records(RECORDS, task)
    merged = adapted.merge_predictions(RECORDS, [e["target"] for e in ex], task)
    assert merged == [r["target"] for r in RECORDS]
    wrong = adapted.merge_predictions(RECORDS, [" list[str] ", "str", "int", "float"], task)
    assert wrong[0] == "a: list[str]; b: str; n: int"
    assert compute("type_exact", wrong, [r["target"] for r in RECORDS]) == {"type_exact": 75.0}


def test_refuses_sequence_tasks(make_backbone, tok):
    from ttune.methods import MethodError
    from ttune.tasks import get_task

    with pytest.raises(MethodError, match="topro decomposes token-level tasks"):
        _topro(make_backbone, tok).expand_records(RECORDS, get_task("summarize"))


@pytest.mark.parametrize(
    "base, options",
    [("prompt", {"num_virtual_tokens": 4}), ("lora", {"r": 2}), ("transducer", {"max_nodes": 30})],
)
def test_wraps_the_base_method_unchanged(base, options, make_backbone, tok, batch):
    from ttune.methods import apply_method, make_config
    from ttune.train.data import graph_options

    adapted = _topro(make_backbone, tok, base=base, base_options=options)
    plain = apply_method(make_backbone(), make_config(base, **options), tok)
    assert adapted.num_trainable() == plain.num_trainable() > 0
    assert sorted(adapted.method_state_dict()) == sorted(plain.method_state_dict())
    assert adapted.needs_graph == (base == "transducer")
    assert graph_options(adapted) == graph_options(plain)  # featurized like the base method
    kw = dict(graph=batch["graph"], token_spans=batch["token_spans"], labels=batch["labels"])
    a = adapted(batch["input_ids"], batch["attention_mask"], **kw).logits
    b = plain(batch["input_ids"], batch["attention_mask"], **kw).logits
    assert torch.equal(a, b)  # same seeded init (LoRA: B = 0), same computation


def test_config_errors():
    from ttune.methods import MethodConfigError, make_config

    with pytest.raises(MethodConfigError, match="base must name another method"):
        make_config("topro", base="topro")
    with pytest.raises(MethodConfigError, match=r"topro: base 'lora': unknown field\(s\) rank"):
        make_config("topro", base="lora", base_options={"rank": 2})


def test_trains_and_predicts_one_type_per_identifier(tmp_path):
    """Through the trainer and predict(): trained on 4 per-identifier examples, predictions
    merged back to one 'name: type' text per function with every identifier."""
    from ttune.train.config import TrainConfig
    from ttune.train.engine import train
    from ttune.train.predict import predict

    model = save_tiny_backbone(
        RECORDS * 4, tmp_path / "bb", vocab_size=300, d_model=32, d_ff=64, num_layers=1, num_heads=4
    )
    files = write_splits(tmp_path, train=RECORDS, valid=RECORDS)
    out = train(
        TrainConfig(
            model=str(model),
            train_file=str(files["train"]),
            valid_file=str(files["valid"]),
            output_dir=str(tmp_path / "run"),
            task="types",
            method="topro",
            method_options={"base": "prompt", "base_options": {"num_virtual_tokens": 2}},
            batch_size=4,
            max_steps=2,
            lr=1e-2,
            early_stopping_metric="type_exact",
            cache_dir=str(tmp_path / "cache"),
            progress=False,
            log_every=1,
        )
    )
    meta = json.loads((out / "method_config.json").read_text())["meta"]
    assert meta["train_records"] == 4 and meta["trainable_parameters"] == 2 * 32
    preds = predict(out, RECORDS, max_new_tokens=3)
    assert len(preds) == 2
    assert [list(_names(p)) for p in preds] == [["a", "b", "n"], ["x"]]


def _names(text):
    from ttune.data.types import parse_types

    return parse_types(text)
