"""ttune.rank and `ttune fit-ranker`: a ranker fitted for the built-in Java assert model on
training records, written into the method's folder and used by its predictions."""

from __future__ import annotations

import json
import shutil

from helpers import one_torch_thread, write_jsonl  # noqa: F401 (one_torch_thread: autouse)
from typer.testing import CliRunner

from ttune.builtin import models_dir
from ttune.cli.main import app
from ttune.tasks.ranker import LOGPROB, load_ranker

P = "org . junit . Assert . "


def records() -> list[dict]:
    """Tests whose assertion checks the boolean the test computed last (assertTrue) or
    compares the number it counted with the literal it wrote."""
    out = []
    for i in range(12):
        name = f"item{i}"
        out.append(
            {
                "source": f"testReady{i} ( ) {{ Box {name} = new Box ( {i} ) ; "
                f'boolean ready = {name} . isReady ( ) ; "<AssertPlaceHolder>" ; }} '
                "isReady ( ) { return open ; }",
                "target": f"{P}assertTrue ( ready )",
            }
        )
        out.append(
            {
                "source": f"testCount{i} ( ) {{ Bag {name} = new Bag ( ) ; "
                f"{name} . put ( {i + 2} ) ; int n = {name} . count ( ) ; "
                '"<AssertPlaceHolder>" ; } count ( ) { return k ; }',
                "target": f"{P}assertEquals ( {i + 2} , n )",
            }
        )
    return [{**r, "source_lang": "java", "target_lang": "java"} for r in out]


def test_fit_ranker_writes_a_ranker_the_folder_then_predicts_with(tmp_path):
    folder = tmp_path / "assert-java"
    shutil.copytree(models_dir() / "assert-java", folder)
    train = write_jsonl(tmp_path / "train.jsonl", records())
    backbone = str(models_dir() / "ttune-tiny")
    res = CliRunner().invoke(
        app,
        ["fit-ranker", "-c", str(folder), "--train", str(train), "--model", backbone]
        + ["--shortlist", "6", "--no-progress", "--device", "cpu"],
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout[res.stdout.index("{") :])
    assert summary["records"] == 24 and summary["reference_among_candidates"] == 24
    assert summary["output"] == str(folder / "ranker.json")
    ranker = load_ranker(folder)
    assert ranker.shortlist == 6 and ranker.fitted_on["records"] == 24
    assert LOGPROB in ranker.weights and ranker.prefilter
    # The features tell the forms apart: every training test gets its own assertion back.
    assert summary["top1_ranker_pct"] == 100.0
    from ttune.lite.predict import predictor

    got = predictor(folder, model=backbone, task="assert", rerank=True)(records()[:4])
    assert got == [r["target"] for r in records()[:4]]


def test_fit_ranker_bad_input_is_one_line(tmp_path):
    folder = tmp_path / "assert-java"
    shutil.copytree(models_dir() / "assert-java", folder)
    no_target = write_jsonl(tmp_path / "t.jsonl", [{"source": "x", "source_lang": "java"}])
    none_listed = write_jsonl(
        tmp_path / "n.jsonl",
        [{"source": "testRun ( ) { run ( ) ; }", "source_lang": "java", "target": "x"}],
    )
    for train, msg in ((no_target, "missing key 'target'"), (none_listed, "no record's target")):
        res = CliRunner().invoke(
            app, ["fit-ranker", "-c", str(folder), "--train", str(train), "--no-progress"]
        )
        assert res.exit_code == 1 and msg in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(
        app, ["fit-ranker", "-c", str(folder), "--train", str(no_target), "--shortlist", "-1"]
    )
    assert res.exit_code != 0 and "shortlist" in res.output
