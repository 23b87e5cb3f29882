"""`ttune compare` accepts the plugin methods of issue 14 and the token-level task `types`."""

from __future__ import annotations

import json

from helpers import write_splits

from compare.conftest import tiny_records

NEW_METHODS = (
    "prompt",
    "topro",
    "adapter",
    "prompt-adapter",
    "prompt-attention",
    "cpg-prompt",
    "xprompt",
)


def types_records() -> list[dict]:
    """Records built by the types builder from 16 annotated versions of the tiny functions."""
    from ttune.data.types import types_from_file

    out = []
    for i, r in enumerate(tiny_records()):
        head, body = r["source"].split("\n", 1)
        name, params = head[len("def ") :].split("(", 1)
        first, second = params.rstrip("):").split(", ")
        code = f"def {name}({first}: int, {second}: float) -> float:\n" + body.replace(
            "    result = ", "    result: float = ", 1
        )
        out += types_from_file(f"m{i}.py", code.encode("utf-8"))
    return out


def test_compare_runs_the_new_methods_on_types(make_compare_config, tmp_path):
    from ttune.compare import run_comparison

    recs = types_records()
    assert len(recs) == 16 and all(len(r["identifiers"]) == 3 for r in recs)
    files = write_splits(tmp_path, train=recs[:12], valid=recs[12:], test=recs[12:])
    cfg = make_compare_config(
        tmp_path / "out",
        task="types",
        methods=NEW_METHODS,
        seeds=(5,),
        max_steps=1,
        train_file=str(files["train"]),
        valid_file=str(files["valid"]),
        test_file=str(files["test"]),
        max_target_len=16,
        max_new_tokens=8,
        baseline="prompt",
        method_options={
            "xprompt": {
                "stage_a_steps": 1,
                "round_steps": 1,
                "token_rounds": 1,
                "piece_rounds": 0,
                "pieces": 4,
            },
            "topro": {"base": "prompt"},
        },
    )
    results = run_comparison(cfg)
    runs = {r["method"]: r for r in results["runs"]}
    assert sorted(runs) == sorted(NEW_METHODS)
    for m, r in runs.items():
        assert r["steps"] == 1 and r["trainable_parameters"] > 0, m
        scores = json.loads((tmp_path / "out" / "runs" / m / "seed-5" / "eval.json").read_text())
        assert set(scores["scores"]) >= {"type_exact", "type_outer"}, m
    assert runs["topro"]["trainable_parameters"] == runs["prompt"]["trainable_parameters"]
    preds = (tmp_path / "out" / "runs" / "topro" / "seed-5" / "eval.predictions.jsonl").read_text()
    rows = [json.loads(x) for x in preds.splitlines()]
    assert len(rows) == 4 and all(x["prediction"].count(":") >= 3 for x in rows)
