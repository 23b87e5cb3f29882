"""ttune's library interface: everything the command line and the editor backend can do.

The CLI (ttune.cli) and the editor backend only parse arguments and call functions here. Imports of
heavy modules happen inside the functions so that `import ttune.api` stays cheap.
Each area keeps its functions in its own section below; add to your section, don't rewrite others.
"""

from __future__ import annotations

# ---------------------------------------------------------------- cpg (code property graphs)

def cpg_of_file(path, lang=None, *, function=None, config=None):
    """The CPG of one source file (``function``: only that method's subgraph). Raises CPGError."""
    from ttune.cpg import extract_file, method_subgraph

    cpg = extract_file(path, lang, config)
    return method_subgraph(cpg, function) if function else cpg


def cpg_of_source(source, lang, *, function=None, start_byte=None, config=None):
    """The CPG of source text (str or UTF-8 bytes) in ``lang`` (``function``: only that method's
    subgraph; ``start_byte``: only the method of that name starting there). Raises CPGError."""
    from ttune.cpg import extract, method_subgraph

    cpg = extract(source, lang, config)
    return method_subgraph(cpg, function, start_byte=start_byte) if function else cpg


def cpg_to_json(cpg, edge_types=None) -> dict:
    """The CPG as a JSON-ready dict (schema in docs/cpg-schema.md)."""
    from ttune.cpg.export import to_json

    return to_json(cpg, edge_types)


def render_cpg(cpg, fmt="summary", edge_types=None):
    """Text of ``cpg`` as summary, json, dot or graphml, keeping only ``edge_types`` (a set or a
    comma-separated string) when given."""
    from ttune.cpg.batch import parse_edge_types, render

    if isinstance(edge_types, str):
        edge_types = parse_edge_types(edge_types)
    return render(cpg, fmt, edge_types)


def cpg_directory(root, *, fmt="summary", out_dir=None, edge_types=None, lang=None, config=None,
                  workers=None, progress=True):
    """Extract every supported file under ``root`` across processes; returns a DirectoryReport."""
    from pathlib import Path

    from ttune.cpg.batch import parse_edge_types, process_directory

    if isinstance(edge_types, str):
        edge_types = parse_edge_types(edge_types)
    return process_directory(Path(root), fmt=fmt, out_dir=Path(out_dir) if out_dir else None,
                             edge_types=edge_types, config=config, lang=lang, workers=workers,
                             progress=progress)


# ---------------------------------------------------------------- backbones

def init_backbone(out_dir, shape="tiny", tokenizer="stdlib", vocab_size=8000, seed=0):
    """Save a randomly initialised T5 of a named shape and its tokenizer to ``out_dir`` (no
    download); see ttune.backbone.init_backbone."""
    from ttune.backbone import init_backbone as _init

    return _init(out_dir, shape=shape, tokenizer=tokenizer, vocab_size=vocab_size, seed=seed)


# ---------------------------------------------------------------- training, prediction, info

def train(config: "TrainConfig") -> "Path":
    """Train (or resume, if config.output_dir holds checkpoints of the same run) a method; returns
    the output folder, which ends up holding the best method (method_config.json,
    method.safetensors, model_card.md, train_config.json)."""
    from ttune.train.engine import train as _train

    return _train(config)


def predict(checkpoint: "str | Path", records: "list[dict]", **kw) -> "list[str]":
    """Generated text for each record, from its source only (see ttune.train.predict.predict)."""
    from ttune.train.predict import predict as _predict

    return _predict(checkpoint, records, **kw)


def predict_file(checkpoint: "str | Path", input: "str | Path", output: "str | Path", **kw) -> dict:
    """Predict every record of a JSON-lines file into JSON lines {id, prediction, target};
    returns {"records", "output", "scores"}."""
    from ttune.train.predict import predict_file as _predict_file

    return _predict_file(checkpoint, input, output, **kw)


def checkpoint_info(dir: "str | Path") -> dict:
    """Backbone, method, trainable parameters, data and scores of a trained-method folder."""
    from ttune.train.predict import checkpoint_info as _info

    return _info(dir)


# ---------------------------------------------------------------- data sets, tasks and evaluation

def convert_dataset(fmt: str, input: "str | Path", output: "str | Path", split: "str | None" = None,
                    reverse: bool = False) -> dict:
    """Convert a research data set (format ``fmt``: codexglue-trans, tl-codesum, code-docstring,
    atlas, avatar) into schema JSONL at ``output``. Returns {"output", "records", "splits",
    "skipped", "skipped_examples"} (skipped: source lines that gave no record, with reasons)."""
    from ttune.data.convert import convert
    from ttune.data.io import write_jsonl

    result = convert(fmt, input, split=split, reverse=reverse)
    n = write_jsonl(output, result.records)
    return {"output": str(output), "records": n, "splits": result.counts(),
            "skipped": len(result.skipped), "skipped_examples": result.skipped[:10]}


def build_dataset(task: str, source: "str | Path", output: "str | Path", lang: str = "python",
                  limit: "int | None" = 200, per_file: int = 2) -> dict:
    """Build task records from real code under ``source`` (folder or .zip): ``summarize``
    (python|java functions with docstrings) or ``assert`` (Python test functions with one
    assertion). Returns {"output", "records", "splits", "with_focal"?}."""
    from ttune.data.build import build_assert, build_summarize
    from ttune.data.io import DataError, write_jsonl

    if task == "summarize":
        records = build_summarize(source, lang, limit=limit, per_file=per_file)
    elif task == "assert":
        if lang != "python":
            raise DataError("the assert builder reads Python test files only (--lang python)")
        records = build_assert(source, limit=limit, per_file=per_file)
    else:
        raise DataError(f"no builder for task {task!r}; builders: summarize, assert")
    n = write_jsonl(output, records)
    splits: dict[str, int] = {}
    for r in records:
        splits[r["split"]] = splits.get(r["split"], 0) + 1
    out = {"output": str(output), "records": n, "splits": splits}
    if task == "assert":
        from ttune.data.decode import split_test_and_focal

        out["with_focal"] = sum(bool(split_test_and_focal(r["source"], "python")[1]) for r in records)
    return out


def clean_dataset(train: "str | Path", tests: "list[str | Path]", output_dir: "str | Path",
                  preset: "str | None" = None, graph_size=None, **options) -> dict:
    """Deduplicate ``train``, deduplicate and decontaminate each test file against it, apply the
    optional length / CPG-size filters (``preset="paper"``: 400 tokens, 50 nodes); writes the
    cleaned files and hygiene_report.json into ``output_dir`` and returns the report."""
    from ttune.data.hygiene import PRESETS, HygieneConfig, clean_files
    from ttune.data.io import DataError

    settings: dict = {}
    if preset is not None:
        if preset not in PRESETS:
            raise DataError(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
        settings.update(PRESETS[preset])
    settings.update({k: v for k, v in options.items() if v is not None})
    return clean_files(train, list(tests), output_dir, HygieneConfig(**settings), graph_size=graph_size)


def score(predictions: "list[str]", references: "list[str]", metrics: "list[str]",
          lang: "str | None" = None) -> "tuple[dict, dict]":
    """Corpus scores for each metric; a metric that cannot run here (codebleu not installed, no
    language) is left out and its reason returned: (scores, {metric: reason})."""
    from ttune.metrics import MetricUnavailable, compute

    scores, unavailable = {}, {}
    for m in metrics:
        try:
            scores.update(compute([m], predictions, references, lang=lang))
        except MetricUnavailable as e:
            unavailable[m] = str(e)
    return scores, unavailable


def evaluate(checkpoint: "str | Path", task: str, test: "str | Path", output: "str | Path",
             limit: "int | None" = None, metrics: "list[str] | None" = None, num_beams: int = 1,
             batch_size: int = 8, command: str = "", dataset: "str | None" = None,
             **predict_kw) -> dict:
    """Generate for the test file's records (their sources only) with the trained method in
    ``checkpoint``, score them with the task's metrics and write ``output`` (results JSON: the
    results header, scores, unavailable metrics) plus ``<output>.predictions.jsonl`` (id,
    prediction, target and per-example score of the headline metric). Returns the results dict."""
    import json
    from pathlib import Path

    from ttune.data.io import DataError, describe_bad_lines, read_jsonl, write_jsonl
    from ttune.metrics import per_example
    from ttune.metrics.results import results_header
    from ttune.tasks import get_task
    from ttune.train.predict import predict as _predict

    t = get_task(task)
    records, bad = read_jsonl(test)
    if limit is not None:
        if limit < 1:
            raise DataError(f"--limit must be positive, got {limit}")
        records = records[:limit]
    names = list(metrics) if metrics else list(t.metrics)
    predictions = _predict(checkpoint, records, task=task, num_beams=num_beams,
                           batch_size=batch_size, **predict_kw)
    references = [r["target"] for r in records]
    langs = {r.get("target_lang") for r in records}
    lang = langs.pop() if len(langs) == 1 else None
    scores, unavailable = score(predictions, references, names, lang=lang)
    seeds: list = []
    try:
        cfg = json.loads((Path(checkpoint) / "train_config.json").read_text(encoding="utf-8"))
        if isinstance(cfg.get("seed"), int):
            seeds = [cfg["seed"]]
    except (OSError, ValueError):
        pass
    splits = {r.get("split") for r in records}
    header = results_header(dataset or str(test), splits.pop() if len(splits) == 1 else "mixed",
                            len(records), seeds, command, names)
    headline = next((m for m in names if m in scores), None)
    per = per_example(headline, predictions, references, lang=lang) if headline else [None] * len(records)
    pred_path = Path(str(output) + ".predictions.jsonl") if not str(output).endswith(".json") else \
        Path(str(output)[:-5] + ".predictions.jsonl")
    write_jsonl(pred_path, ({"id": r.get("id", i), "prediction": p, "target": r["target"],
                             (headline or "score"): s}
                            for i, (r, p, s) in enumerate(zip(records, predictions, per))))
    results = {"header": {**header, "checkpoint": str(checkpoint), "task": task,
                          "num_beams": num_beams, "no_repeat_ngram_size": t.no_repeat_ngram_size,
                          "malformed_lines": len(bad)},
               "scores": scores, "unavailable_metrics": unavailable,
               "predictions_file": str(pred_path)}
    if bad:
        results["malformed_note"] = describe_bad_lines(test, bad)
    from ttune.train.io import atomic_write_text

    atomic_write_text(Path(output), json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return results


def compare_results(predictions_a: "str | Path", predictions_b: "str | Path", metric: str,
                    lang: "str | None" = None) -> dict:
    """Paired Wilcoxon signed-rank test (with rank-biserial effect size) of two prediction files
    (``*.predictions.jsonl`` from :func:`evaluate`) on the same records, per-example ``metric``."""
    import json

    from ttune.data.io import DataError
    from ttune.metrics import per_example
    from ttune.metrics.significance import wilcoxon

    def load(path) -> list[dict]:
        try:
            with open(path, encoding="utf-8") as f:
                rows = [json.loads(line) for line in f if line.strip()]
        except (OSError, ValueError) as e:
            raise DataError(f"cannot read predictions {path}: {e}") from None
        if not rows or not all("prediction" in r and "target" in r for r in rows):
            raise DataError(f"{path}: not a predictions file (id, prediction, target per line)")
        return rows

    a, b = load(predictions_a), load(predictions_b)
    if [r.get("id") for r in a] != [r.get("id") for r in b]:
        raise DataError("the two prediction files do not hold the same records in the same order")
    refs = [r["target"] for r in a]
    sa = per_example(metric, [r["prediction"] for r in a], refs, lang=lang)
    sb = per_example(metric, [r["prediction"] for r in b], refs, lang=lang)
    return {"metric": metric, "n_records": len(refs), "mean_a": sum(sa) / len(sa),
            "mean_b": sum(sb) / len(sb), **wilcoxon(sa, sb).to_dict()}


# ---------------------------------------------------------------- end-user commands

def summarize_file(path, function=None, model=None, transducer=None, **kw) -> "list[dict]":
    """One summary per function or method of a Python, Java or C# file: [{"name", "line",
    "summary"}] (see ttune.use.summarize_file; default model: the built-in one)."""
    from ttune.use import summarize_file as _summarize

    return _summarize(path, function, model=model, transducer=transducer, **kw)


def generate_assert(test_file, function, focal=None, model=None, transducer=None, **kw) -> dict:
    """The assertion of one test function: {"name", "line", "focal", "assertion"} (see
    ttune.use.generate_assert)."""
    from ttune.use import generate_assert as _assert

    return _assert(test_file, function, focal, model=model, transducer=transducer, **kw)


def translate_file(path, to, function=None, model=None, transducer=None, **kw) -> "list[dict]":
    """Each function of a file translated into language ``to``: [{"name", "line", "translation"}]
    (see ttune.use.translate_file)."""
    from ttune.use import translate_file as _translate

    return _translate(path, to, function, model=model, transducer=transducer, **kw)


# ---------------------------------------------------------------- comparison

def compare(config: "CompareConfig", on_event=None) -> dict:
    """Train and evaluate every method x seed of ``config`` (a ttune.compare.CompareConfig) on the
    same data, budget and generation settings; finished runs in its output folder are kept. Writes
    results.csv, results.json (scores, trainable parameters, peak RSS, time per step and per
    example, Wilcoxon tests against ``config.baseline``), PNG plots and report.md; returns the
    results dict. ``on_event`` receives a ttune.compare.ProgressEvent as each run starts and ends."""
    from ttune.compare import run_comparison

    return run_comparison(config, on_event=on_event)


def compare_report(output_dir: "str | Path") -> dict:
    """Rewrite results.csv, results.json, the plots and report.md of a comparison folder from its
    finished runs (no training); returns the results dict."""
    from ttune.compare.runner import rebuild_report

    return rebuild_report(output_dir)


# ---------------------------------------------------------------- pretraining

def pretrain(config: "PretrainConfig") -> "Path":
    """Pretrain a small T5 backbone from scratch (corpus, tokenizer, span corruption) or resume the
    run in ``config.output_dir``; returns the backbone folder (loadable by load_backbone)."""
    from ttune.pretrain.loop import pretrain as _pretrain

    return _pretrain(config)
