"""ttune's library interface: everything the command line and the editor backend can do.

A facade: each function calls one library function (named in its docstring) and adds nothing but
argument plumbing. The CLI (ttune.cli) and the editor backend only parse arguments and call
functions here. Every import sits inside its function on purpose: a command loads only the
subpackage it needs (``ttune cpg`` never loads torch), which keeps start-up fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ttune.compare import CompareConfig
    from ttune.pretrain import PretrainConfig
    from ttune.search import SearchConfig
    from ttune.train.config import TrainConfig

# ---------------------------------------------------------------- cpg (code property graphs)


def cpg_of_file(path, lang=None, *, function=None, config=None):
    """The CPG of one source file (``function``: only that method's subgraph). Raises CPGError.
    See ttune.cpg.extract_file and ttune.cpg.method_subgraph."""
    from ttune.cpg import extract_file, method_subgraph  # lazy: start-up time (module docstring)

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
    comma-separated string) when given; see ttune.cpg.batch.render."""
    from ttune.cpg.batch import parse_edge_types, render  # lazy: start-up time

    if isinstance(edge_types, str):
        edge_types = parse_edge_types(edge_types)
    return render(cpg, fmt, edge_types)


def cpg_directory(
    root,
    *,
    fmt="summary",
    out_dir=None,
    edge_types=None,
    lang=None,
    config=None,
    workers=None,
    progress=True,
    shard=None,
    engine="local",
    address=None,
):
    """Extract every supported file under ``root`` (or shard "K/N" of them) across processes or
    on Dask; returns a DirectoryReport (ttune.cpg.batch.process_directory)."""
    from ttune.cpg.batch import parse_edge_types, parse_shard, process_directory  # lazy: start-up

    if isinstance(edge_types, str):
        edge_types = parse_edge_types(edge_types)
    if isinstance(shard, str):
        shard = parse_shard(shard)
    return process_directory(
        Path(root),
        fmt=fmt,
        out_dir=Path(out_dir) if out_dir else None,
        edge_types=edge_types,
        config=config,
        lang=lang,
        workers=workers,
        progress=progress,
        shard=shard,
        engine=engine,
        address=address,
    )


# ---------------------------------------------------------------- backbones


def init_backbone(out_dir, shape="tiny", tokenizer="stdlib", vocab_size=8000, seed=0):
    """Save a randomly initialised T5 of a named shape and its tokenizer to ``out_dir`` (no
    download); see ttune.backbone.init_backbone."""
    from ttune.backbone import init_backbone as _init  # lazy: loads torch and transformers

    return _init(out_dir, shape=shape, tokenizer=tokenizer, vocab_size=vocab_size, seed=seed)


# ---------------------------------------------------------------- training, prediction, info


def train(config: TrainConfig) -> Path:
    """Train (or resume, if config.output_dir holds checkpoints of the same run) a method; returns
    the output folder, which ends up holding the best method (method_config.json,
    method.safetensors, model_card.md, train_config.json). See ttune.train.engine.train."""
    from ttune.train.engine import train as _train  # lazy: loads torch and transformers

    return _train(config)


def predict(checkpoint: str | Path, records: list[dict], **kw: Any) -> list[str]:
    """Generated text for each record, from its source only (see ttune.train.predict.predict)."""
    from ttune.train.predict import predict as _predict  # lazy: loads torch and transformers

    return _predict(checkpoint, records, **kw)


def predict_file(checkpoint: str | Path, input: str | Path, output: str | Path, **kw: Any) -> dict:
    """Predict every record of a JSON-lines file into JSON lines {id, prediction, target};
    returns {"records", "output", "scores"} (ttune.train.predict.predict_file)."""
    from ttune.train.predict import predict_file as _predict_file  # lazy: loads torch

    return _predict_file(checkpoint, input, output, **kw)


def checkpoint_info(dir: str | Path) -> dict:
    """Backbone, method, trainable parameters, data and scores of a trained-method folder
    (ttune.train.predict.checkpoint_info)."""
    from ttune.train.predict import checkpoint_info as _info  # lazy: loads torch

    return _info(dir)


# ---------------------------------------------------------------- data sets, tasks and evaluation


def convert_dataset(
    fmt: str, input: str | Path, output: str | Path, split: str | None = None, reverse: bool = False
) -> dict:
    """Convert a research data set (format ``fmt``: codexglue-trans, tl-codesum, code-docstring,
    atlas, avatar) into schema JSONL at ``output`` (ttune.data.convert.convert_to_file)."""
    from ttune.data.convert import convert_to_file  # lazy: start-up time

    return convert_to_file(fmt, input, output, split=split, reverse=reverse)


def build_dataset(
    task: str,
    source: str | Path,
    output: str | Path,
    lang: str = "python",
    limit: int | None = 200,
    per_file: int = 2,
) -> dict:
    """Build task records from real code under ``source`` (folder or .zip): ``summarize`` and
    ``assert`` (ttune.data.build.build_to_file) or ``types`` (annotated Python functions,
    ttune.data.types.build_types)."""
    from ttune.data.build import build_to_file, write_built  # lazy: loads tree-sitter
    from ttune.data.types import build_types  # lazy: loads tree-sitter (through ttune.data.build)

    if task == "types":
        return write_built(task, build_types(source, limit=limit, per_file=per_file), output)
    return build_to_file(task, source, output, lang=lang, limit=limit, per_file=per_file)


def clean_dataset(
    train: str | Path,
    tests: list[str | Path],
    output_dir: str | Path,
    preset: str | None = None,
    graph_size=None,
    **options: Any,
) -> dict:
    """Deduplicate ``train``, deduplicate and decontaminate each test file against it, apply the
    optional length / CPG-size filters (``preset="paper"``: 400 tokens, 50 nodes); writes the
    cleaned files and hygiene_report.json into ``output_dir`` and returns the report
    (ttune.data.hygiene.clean_dataset; the CPG filter reads the graph code of task ``task``)."""
    from ttune.data.hygiene import HygieneConfig, clean_dataset  # lazy: start-up time
    from ttune.tasks import get_task  # lazy: start-up time

    task = get_task(options.get("task") or HygieneConfig.task)
    return clean_dataset(
        train,
        tests,
        output_dir,
        preset=preset,
        graph_size=graph_size,
        graph_code=task.graph_code,
        **options,
    )


def evaluate(
    checkpoint: str | Path, task: str, test: str | Path, output: str | Path, **kw: Any
) -> dict:
    """Generate for the test file's records with the trained method in ``checkpoint``, score them
    with the task's metrics and write the results JSON and its predictions file; see
    ttune.train.evaluate.evaluate for the options."""
    from ttune.train.evaluate import evaluate as _evaluate  # lazy: loads torch

    return _evaluate(checkpoint, task, test, output, **kw)


def fit_ranker(checkpoint: str | Path, train: str | Path, **kw: Any) -> dict:
    """Fit the candidate ranker of the trained method in ``checkpoint`` on a training file and
    write it into the folder (``ranker.json``); see ttune.rank.fit_ranker_file."""
    from ttune.rank import fit_ranker_file  # lazy: loads torch

    return fit_ranker_file(checkpoint, train, **kw)


def compare_results(
    predictions_a: str | Path, predictions_b: str | Path, metric: str, lang: str | None = None
) -> dict:
    """Paired Wilcoxon signed-rank test of two prediction files of :func:`evaluate` on the same
    records (ttune.train.evaluate.compare_results)."""
    from ttune.train.evaluate import compare_results as _compare  # lazy: loads torch

    return _compare(predictions_a, predictions_b, metric, lang=lang)


# ---------------------------------------------------------------- end-user commands


def summarize_file(path, function=None, model=None, transducer=None, **kw: Any) -> list[dict]:
    """One summary per function or method of a Python, Java or C# file: [{"name", "line",
    "summary"}] (see ttune.use.summarize_file; default model: the built-in one)."""
    from ttune.use import summarize_file as _summarize  # lazy: loads tree-sitter

    return _summarize(path, function, model=model, transducer=transducer, **kw)


def generate_assert(
    test_file, function, focal=None, model=None, transducer=None, **kw: Any
) -> dict:
    """The assertion of one test function: {"name", "line", "focal", "assertion"} (see
    ttune.use.generate_assert)."""
    from ttune.use import generate_assert as _assert  # lazy: loads tree-sitter

    return _assert(test_file, function, focal, model=model, transducer=transducer, **kw)


def translate_file(path, to, function=None, model=None, transducer=None, **kw: Any) -> list[dict]:
    """Each function of a file translated into language ``to``: [{"name", "line", "translation"}]
    (see ttune.use.translate_file)."""
    from ttune.use import translate_file as _translate  # lazy: loads tree-sitter

    return _translate(path, to, function, model=model, transducer=transducer, **kw)


def iter_summaries(path, function=None, model=None, transducer=None, **kw):
    """Summaries of the functions of a file or a folder, yielded as each batch is generated:
    {"file", "name", "line", "summary"} (see ttune.use.iter_summaries)."""
    from ttune.use import iter_summaries as _iter  # lazy: loads tree-sitter

    return _iter(path, function, model=model, transducer=transducer, **kw)


def iter_asserts(test_path, function=None, focal=None, model=None, transducer=None, **kw):
    """Assertions of the test functions of a file or a folder, yielded as generated:
    {"file", "name", "line", "focal", "assertion"} (see ttune.use.iter_asserts)."""
    from ttune.use import iter_asserts as _iter  # lazy: loads tree-sitter

    return _iter(test_path, function, focal, model=model, transducer=transducer, **kw)


def iter_translations(path, to, function=None, model=None, transducer=None, **kw):
    """Translations of the functions of a file or a folder, yielded as generated:
    {"file", "name", "line", "translation"} (see ttune.use.iter_translations)."""
    from ttune.use import iter_translations as _iter  # lazy: loads tree-sitter

    return _iter(path, to, function, model=model, transducer=transducer, **kw)


# ---------------------------------------------------------------- comparison


def compare(config: CompareConfig, on_event=None) -> dict:
    """Train and evaluate every method x seed of ``config`` on the same data, budget and
    generation settings; finished runs in its output folder are kept. Returns the results dict
    (ttune.compare.run_comparison; ``on_event`` receives a ttune.compare.ProgressEvent)."""
    from ttune.compare import run_comparison  # lazy: loads torch

    return run_comparison(config, on_event=on_event)


def compare_report(output_dir: str | Path) -> dict:
    """Rewrite results.csv, results.json, the plots and report.md of a comparison folder from its
    finished runs (no training); ttune.compare.rebuild_report."""
    from ttune.compare import rebuild_report  # lazy: start-up time

    return rebuild_report(output_dir)


def search(config: SearchConfig, on_trial=None) -> dict:
    """Run (or resume) the hybrid method search of ``config``: best.json, report.md and the plot
    in its output folder; returns the summary (ttune.search.run_search; ``on_trial`` receives each
    finished trial's record)."""
    from ttune.search import run_search  # lazy: loads torch and optuna

    return run_search(config, on_trial=on_trial)


# ---------------------------------------------------------------- pretraining


def pretrain(config: PretrainConfig) -> Path:
    """Pretrain a small T5 backbone from scratch (corpus, tokenizer, span corruption) or resume the
    run in ``config.output_dir``; returns the backbone folder (ttune.pretrain.loop.pretrain)."""
    from ttune.pretrain.loop import pretrain as _pretrain  # lazy: loads torch

    return _pretrain(config)
