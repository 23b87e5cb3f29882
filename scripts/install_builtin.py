"""Install the models built by scripts/build-builtin-models.sh into ttune/models/ with model cards.

    python scripts/install_builtin.py --build-dir runs/builtin [--models-dir ttune/models]

The backbone folder is copied as it is (float16 safetensors, tokenizer, its pretraining card). Each
transducer folder gets its weights and configs, with the backbone named ``ttune-tiny`` instead of
the build folder's path (so ``ttune eval --checkpoint ttune/models/NAME`` finds it anywhere), its
``eval.json`` (the test scores ``ttune eval`` measured) and a model card written from those files.
"""

from __future__ import annotations

import argparse
import collections
import filecmp
import json
import os
import shutil
import sys
from pathlib import Path

from ttune.data.rewrite import rewrite_source
from ttune.use import same_code  # the test of "the model returned the source unchanged"

ROOT = Path(__file__).resolve().parents[1]
BACKBONE = "ttune-tiny"
BACKBONE_FILES = (
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "model_card.md",
    "pretrain_config.json",
)
# name -> (task, data set, data folder in the build dir, what the records are)
TRANSDUCERS = {
    "summarize-python": (
        "summarize",
        "code-docstring-corpus (canonical split)",
        "codedocstring",
        "Python functions (docstring removed) -> the docstring",
    ),
    "summarize-java": (
        "summarize",
        "TL-CodeSum",
        "tlcodesum",
        "Java methods (tokenised) -> the first sentence of their Javadoc",
    ),
    "summarize-csharp": (
        "summarize",
        "code-docstring-corpus (canonical split) and TL-CodeSum together (no C# summary data "
        "exists here; the test split is TL-CodeSum's: Java, the language closest to C#)",
        "mixed",
        "C# methods -> a one-sentence summary, learnt from Python functions and Java methods only",
    ),
    "assert-java": (
        "assert",
        "ATLAS (real identifiers)",
        "atlas",
        "Java test method with an assert placeholder, then the focal method -> the assert",
    ),
    "assert-python": (
        "assert",
        "test functions with one assertion from the tests of the Python standard library, sympy, "
        "numpy and dask (train, dev) and networkx (test), built with `ttune data build assert`",
        "pyassert",
        "Python test function with an assert placeholder, then the focal function (where the "
        "module under test defines it) -> the assertion",
    ),
    "translate-java-csharp": (
        "translate",
        "CodeXGLUE code-to-code-trans",
        "codexglue",
        "Java methods -> the same methods in C#",
    ),
}

# the assertion forms of ttune.data.candidates, as each assert model's card names them
CANDIDATE_FORMS = {
    "assert-java": "`assertEquals`, `assertTrue`, `assertFalse`, `assertNull`, `assertNotNull`",
    "assert-python": "`assert v`, `assert not v`, `assert v is None`, `assert v is not None`, "
    "`assert v == x`, `assert len(v) == x`, `assert x in v` and, in a unittest test (the "
    "record's `assert_style`: a method of a file that uses `unittest`), `self.assertTrue`, "
    "`assertFalse`, `assertIsNone`, `assertIsNotNone`, `assertEqual`, `assertIn`",
}


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _rel(path: str, build: Path) -> str:
    """A build-dir path as ``$BUILD/...`` (the cards must not name this machine's folders)."""
    try:
        return "$BUILD/" + str(Path(os.path.abspath(path)).relative_to(os.path.abspath(build)))
    except ValueError:
        return path


def train_command(cfg: dict, build: Path) -> str:
    parts = [
        "ttune train",
        "--model",
        _rel(cfg["model"], build),
        "--method",
        cfg["method"],
        "--task",
        cfg["task"],
        "--train",
        _rel(cfg["train_file"], build),
        "--valid",
        _rel(cfg["valid_file"], build),
        "--output",
        _rel(cfg["output_dir"], build),
        "--max-steps",
        str(cfg["max_steps"]),
        "--batch-size",
        str(cfg["batch_size"]),
        "--lr",
        str(cfg["lr"]),
        "--warmup-ratio",
        str(cfg["warmup_ratio"]),
        "--eval-every",
        str(cfg["eval_every"]),
        "--seed",
        str(cfg["seed"]),
    ]
    return " ".join(parts)


def card(
    name: str,
    method_cfg: dict,
    train_cfg: dict,
    ev: dict,
    build: Path,
    size: int,
    diversity: list[str],
    unchanged: int | None = None,
    mechanical: int | None = None,
    ranker: dict | None = None,
) -> str:
    task, dataset, folder, what = TRANSDUCERS[name]
    meta = method_cfg["meta"]
    h = ev["header"]
    lines = [
        f"# {name}: ttune's built-in transducer for {task}",
        "",
        f"A Transducer Tuning adapter (`node` fusion) for the frozen built-in backbone "
        f"`{BACKBONE}`: "
        f"{what}.",
        "",
        "## Data",
        "",
        f"- data set: {dataset}, cleaned by `ttune data clean` (exact and near duplicates removed, "
        "test decontaminated against train; docs/data.md)",
        f"- training: `$BUILD/data/{folder}/clean/train.jsonl`, {meta['train_records']:,} records; "
        f"validation (best checkpoint by loss): `$BUILD/data/{folder}/clean/dev.jsonl`, "
        f"{meta['valid_records']:,} records",
        f"- test: `$BUILD/data/{folder}/clean/test.jsonl`, split `{h['split']}`, the first "
        f"{h['n_records']:,} records",
        "",
        "## Model",
        "",
        f"- trainable parameters: {meta['trainable_parameters']:,} (the backbone's "
        "10,417,920 stay frozen)",
        f"- weights: `method.safetensors`, {size:,} bytes",
        f"- method config: `{json.dumps(method_cfg['config'], sort_keys=True)}`",
        f"- weights from step {meta['step']} of {train_cfg['max_steps']} (best validation loss"
        + (
            f" {meta['scores'].get('loss'):.4f})"
            if isinstance(meta.get("scores", {}).get("loss"), float)
            else ")"
        ),
        "",
        f"## Test scores (`ttune eval`, beam {h.get('num_beams', 1)}, "
        + (
            f"no repeated {h['no_repeat_ngram_size']}-gram"
            if h.get("no_repeat_ngram_size")
            else "n-gram repeats allowed"
        )
        + (
            f", copy bias {h['copy_bias']:g} towards the "
            + ("source's tokens" if h.get("copy_from") == "source" else "name's words")
            + (f", repetition penalty {h['repeat_penalty']:g}" if h.get("repeat_penalty") else "")
            + (
                f", follow bias {h['follow_bias']:g} from this folder's decoding.json"
                if h.get("follow_bias")
                else ""
            )
            + (
                ", copying the source as ttune.data.rewrite's rules rewrite it"
                if h.get("copy_rewrite")
                else ""
            )
            + (
                ", falling back to that copy where an output does not parse"
                if h.get("syntax_fallback")
                else ""
            )
            + ": docs/decoding.md)"
            if h.get("copy_bias") or h.get("repeat_penalty") or h.get("follow_bias")
            else ")"
        ),
        "",
        "| metric | value | exact variant |",
        "|---|---:|---|",
    ]
    for m, v in ev["scores"].items():
        variant = h["metric_variants"].get(m, "")
        lines.append(
            f"| {m} | {v:.2f} | {variant} |"
            if isinstance(v, (int, float))
            else f"| {m} | {v} | {variant} |"
        )
    if ev.get("unavailable_metrics"):
        lines.append(f"\nNot computed: {ev['unavailable_metrics']}")
    if h.get("rerank"):
        lines += [
            "",
            "**Chosen, not generated:** with this folder's decoding.json (`rerank`), a test is "
            "answered by one of the assertion forms `ttune.data.candidates` lists over its local "
            f"variables, its literals and calls of the focal method ({CANDIDATE_FORMS[name]}); a "
            'test with none is generated (docs/decoding.md, "Choosing among candidate '
            'assertions"). Use `--no-rerank` to see what the model generates.',
        ]
        fitted = (ranker or {}).get("fitted_on")
        if fitted:
            lines += [
                "",
                f"**The ranker** (`ranker.json`, `ttune fit-ranker`) weighs each candidate's "
                f"features with the model's log-probability; fitted on "
                f"`{_rel(fitted['train'], build)}` ({fitted['records']:,} records, "
                f"{fitted['reference_among_candidates']:,} with the reference among their "
                f"candidates, {fitted['reference_in_shortlist']:,} in the prefilter's shortlist of "
                f"{fitted['shortlist']}). On those training lists the reference comes first "
                f"{fitted['top1_ranker_pct']:.2f} % of the time (the model's log-probability "
                f"alone: {fitted['top1_logprob_pct']:.2f} %; the features alone: "
                f"{fitted['top1_prefilter_pct']:.2f} %).",
            ]
    if unchanged is not None and mechanical is not None:
        lines += [
            "",
            f"**{mechanical:,} of {h['n_records']:,} outputs are the source as the Java-to-C# "
            f"rules of `ttune.data.rewrite` rewrite it, with no edit by the model**; "
            f"{unchanged:,} outputs are the source itself. With this follow bias (the smallest "
            "that reaches the score of copying on the dev split) the model's own edits are rare: "
            "every edit it makes to "
            "the copy costs more than it gains (docs/decoding.md), so the translation is the "
            "rules' (types, modifiers, PascalCase names, loops, exceptions). Decode with "
            "`--follow-bias 0 --no-copy-rewrite` to see what the model itself writes.",
        ]
    elif unchanged is not None:
        lines += [
            "",
            f"**{unchanged:,} of {h['n_records']:,} outputs are the source unchanged.** With this "
            "follow bias (the smallest that reaches the score of copying the source on the dev "
            "split) the model's own edits are rare: it does not translate yet, and its output is "
            "the Java code, which is often valid C# as well (docs/decoding.md). Decode with "
            "`--follow-bias 0` to see what the model itself writes.",
        ]
    preds = collections.Counter(diversity)
    top, k = preds.most_common(1)[0] if preds else ("", 0)
    lines += [
        "",
        f"Distinct predictions: {len(preds):,} of {sum(preds.values()):,}; the most common, "
        f"{k:,} times: `{top[:120]}`. These are the scores of a 10M-parameter backbone (how it "
        f"was pretrained: `{BACKBONE}/model_card.md`) adapted by about ten thousand parameters; "
        'a transducer on a real backbone does better (README, "Use a real backbone").',
        "",
        "## Reproduce",
        "",
        "```",
        "scripts/build-builtin-models.sh        # BUILD = runs/builtin; steps 1-3 make these files",
        train_command(train_cfg, build),
        *(
            [f"ttune fit-ranker --checkpoint $BUILD/{name} --train {ranker['fitted_on']['train']}"]
            if ranker
            else []
        ),
        h["command"]
        .replace(str(build.resolve()) + "/", "$BUILD/")
        .replace(str(build) + "/", "$BUILD/"),
        "python benchmarks/builtin_models.py   # re-measures the scores above on the same records",
        "```",
        "",
        f"Measured with ttune {h['versions'].get('ttune')}, torch {h['versions'].get('torch')}, "
        f"transformers {h['versions'].get('transformers')} on {h['created_utc']}.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build-dir", type=Path, default=ROOT / "runs" / "builtin")
    ap.add_argument("--models-dir", type=Path, default=ROOT / "ttune" / "models")
    a = ap.parse_args()
    build, dest = a.build_dir, a.models_dir
    src_bb = build / BACKBONE / "backbone"
    missing = [f for f in BACKBONE_FILES if not (src_bb / f).is_file()]
    if missing:
        print(
            f"error: {src_bb} lacks {', '.join(missing)}; run scripts/build-builtin-models.sh",
            file=sys.stderr,
        )
        return 1
    dest.mkdir(parents=True, exist_ok=True)
    (dest / BACKBONE).mkdir(exist_ok=True)
    same = 0
    for f in BACKBONE_FILES:
        target = dest / BACKBONE / f
        if target.is_file() and filecmp.cmp(src_bb / f, target, shallow=False):
            same += 1  # left alone: a running process may be reading it
            continue
        shutil.copyfile(src_bb / f, target)
    print(f"installed {BACKBONE}" + (" (unchanged)" if same == len(BACKBONE_FILES) else ""))
    for name in TRANSDUCERS:
        src = build / name
        if not (src / "eval.json").is_file():
            print(f"skipped {name}: no {src / 'eval.json'} yet", file=sys.stderr)
            continue
        out = dest / name
        out.mkdir(exist_ok=True)
        mc = _json(src / "method_config.json")
        mc["backbone"]["name_or_path"] = BACKBONE
        mc["meta"]["backbone"] = BACKBONE
        for k in ("train_file", "valid_file"):
            if mc["meta"].get(k):
                mc["meta"][k] = _rel(mc["meta"][k], build)
        tc = _json(src / "train_config.json")
        original_tc = dict(tc)
        tc.update(
            model=BACKBONE,
            output_dir=_rel(tc["output_dir"], build),
            cache_dir=None,
            train_file=_rel(tc["train_file"], build),
            valid_file=_rel(tc["valid_file"], build),
        )
        ev = _json(src / "eval.json")
        pred_file = src / "eval.predictions.jsonl"
        preds = (
            [
                json.loads(x)["prediction"]
                for x in pred_file.read_text(encoding="utf-8").splitlines()
                if x.strip()
            ]
            if pred_file.is_file()
            else []
        )
        ev["header"]["checkpoint"] = f"ttune/models/{name}"
        ev["header"]["dataset"] = _rel(ev["header"]["dataset"], build)
        ev.pop("predictions_file", None)
        shutil.copyfile(src / "method.safetensors", out / "method.safetensors")
        unchanged = mechanical = None
        (out / "ranker.json").unlink(missing_ok=True)
        ranker = _json(src / "ranker.json") if (src / "ranker.json").is_file() else None
        if ranker is not None:  # the file names its training data relative to the build folder
            ranker["fitted_on"]["train"] = _rel(ranker["fitted_on"]["train"], build)
            _write_json(out / "ranker.json", ranker)
        (out / "decoding.json").unlink(missing_ok=True)
        if (src / "decoding.json").is_file():
            shutil.copyfile(src / "decoding.json", out / "decoding.json")
            if ev["header"].get("follow_bias") and pred_file.is_file():
                test = [
                    json.loads(x)
                    for x in Path(ev["header"]["dataset"].replace("$BUILD/", f"{build}/"))
                    .read_text(encoding="utf-8")
                    .splitlines()[: len(preds)]
                ]
                unchanged = sum(same_code(p, r["source"]) for p, r in zip(preds, test))
                if ev["header"].get("copy_rewrite"):
                    rules = [
                        rewrite_source(r["source"], r.get("source_lang"), r.get("target_lang"))
                        for r in test
                    ]
                    mechanical = sum(
                        w is not None and same_code(p, w) for p, w in zip(preds, rules)
                    )
        _write_json(out / "method_config.json", mc)
        _write_json(out / "train_config.json", tc)
        _write_json(out / "eval.json", ev)
        size = (out / "method.safetensors").stat().st_size
        (out / "model_card.md").write_text(
            card(name, mc, original_tc, ev, build, size, preds, unchanged, mechanical, ranker),
            encoding="utf-8",
        )
        print(
            f"installed {name}: "
            f"{', '.join(f'{k} {v:.2f}' for k, v in ev['scores'].items() if isinstance(v, float))}"
        )
    total = sum(f.stat().st_size for f in dest.rglob("*") if f.is_file())
    print(f"ttune/models: {total / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
