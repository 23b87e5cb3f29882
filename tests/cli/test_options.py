"""The CLI's options are the config dataclasses' fields: name by name, default by default, help by
docstring; enumerations are choices; method and task lists come from their registries; the help
text has no `<bool>`, `{file}` or hard line breaks (issue 11, step 3 and defects 11, 12)."""

from __future__ import annotations

import dataclasses
import re

import pytest
from typer.main import get_command
from typer.testing import CliRunner

import ttune.api
from ttune.cli.main import app
from ttune.cli.options import cli_default, field_docs, option_name
from ttune.cli.pretrain import PRETRAIN_FLAGS
from ttune.cli.search import SEARCH_FLAGS
from ttune.cli.train import TRAIN_FLAGS
from ttune.options import GenerationOptions
from ttune.pretrain.config import PretrainConfig
from ttune.search import SearchConfig
from ttune.train.config import TrainConfig

runner = CliRunner()
GROUP = get_command(app)


def command(*path: str):
    cmd = GROUP
    for name in path:
        cmd = cmd.commands[name]
    return cmd


def options_of(cmd) -> dict[str, object]:
    return {p.name: p for p in cmd.params if p.param_type_name == "option"}


CASES = [
    (("train",), TrainConfig, TRAIN_FLAGS, ()),
    (("pretrain",), PretrainConfig, PRETRAIN_FLAGS, ("command",)),
    (("search",), SearchConfig, SEARCH_FLAGS, ("command",)),
    *[
        ((name,), GenerationOptions, {}, ())
        for name in ("predict", "eval", "summarize", "assert", "translate")
    ],
]


@pytest.mark.parametrize("path,cls,flags,skip", CASES, ids=[" ".join(c[0]) for c in CASES])
def test_every_field_is_an_option_with_its_name_default_and_docstring(path, cls, flags, skip):
    opts = options_of(command(*path))
    docs = field_docs(cls)
    for f in dataclasses.fields(cls):
        if f.name in skip:
            assert f.name not in opts
            continue
        p = opts[f.name]
        flag = flags.get(f.name)
        assert option_name(f.name, flag) in p.opts, (f.name, p.opts)
        if flag is None:  # no rename: the option is the field name with dashes
            assert p.opts[0] == "--" + f.name.replace("_", "-")
        default = (
            cli_default(f) if flag is None or flag.default == "<field default>" else flag.default
        )
        if default is ...:
            assert p.required, f.name
        elif f.type == "bool" or isinstance(default, bool):
            assert p.default is default, f.name
        elif isinstance(default, (list, dict)) or default is None:
            assert p.default in (None, [], ()), (f.name, p.default)
        else:
            assert p.default == default, (f.name, p.default, default)
        assert docs.get(f.name), f"{cls.__name__}.{f.name} has no attribute docstring"
        assert p.help.startswith(flag.help if flag and flag.help else docs[f.name]), f.name


def test_the_renamed_options_are_the_documented_ones():
    """Renames are few and deliberate: the README and the tests use these names."""
    assert {k: option_name(k, v) for k, v in TRAIN_FLAGS.items() if v.name} == {
        "train_file": "--train",
        "valid_file": "--valid",
        "output_dir": "--output",
        "method_options": "--method-option",
        "max_train_records": "--limit",
        "early_stopping_patience": "--patience",
        "early_stopping_metric": "--metric",
        "num_workers": "--workers",
    }


def test_parsed_defaults_build_the_dataclass_defaults(monkeypatch, tmp_path):
    """With only the required options, each command hands the library exactly the dataclass's
    defaults (so the two cannot drift apart)."""
    seen = {}
    monkeypatch.setattr(ttune.api, "train", lambda c: seen.setdefault("train", c) and tmp_path)
    monkeypatch.setattr(
        ttune.api, "pretrain", lambda c: seen.setdefault("pretrain", c) and tmp_path
    )

    def fake_predict_file(checkpoint, input, output, **kw):
        seen["predict"] = kw
        return {"records": 0, "output": str(output), "scores": {}}

    monkeypatch.setattr(ttune.api, "predict_file", fake_predict_file)
    r = runner.invoke(app, ["train", "--model", "m", "--train", "t.jsonl", "-o", "out"])
    assert r.exit_code == 0, r.output
    assert seen["train"] == TrainConfig(model="m", train_file="t.jsonl", output_dir="out")
    r = runner.invoke(app, ["pretrain", "-o", "out"])
    assert r.exit_code == 0, r.output
    assert dataclasses.replace(seen["pretrain"], command="") == PretrainConfig(output_dir="out")
    r = runner.invoke(app, ["predict", "-c", "ck", "-i", "in.jsonl", "-o", "out.jsonl"])
    assert r.exit_code == 0, r.output
    fields = [f.name for f in dataclasses.fields(GenerationOptions)]
    assert {k: seen["predict"][k] for k in fields} == dataclasses.asdict(GenerationOptions())


def test_options_reach_the_config(monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr(ttune.api, "train", lambda c: seen.setdefault("c", c) and tmp_path)
    r = runner.invoke(
        app,
        [
            "train",
            "--model",
            "m",
            "--train",
            "t",
            "-o",
            "o",
            "--method",
            "lora",
            "-m",
            "r=4",
            "-m",
            "alpha=8.5",
            "--limit",
            "7",
            "--patience",
            "2",
            "--valid",
            "v",
            "--schedule",
            "constant",
            "--device",
            "cpu",
            "--no-progress",
            "--keep-checkpoints",
            "3",
        ],
    )
    assert r.exit_code == 0, r.output
    c = seen["c"]
    assert (c.method, c.method_options, c.max_train_records, c.early_stopping_patience) == (
        "lora",
        {"r": 4, "alpha": 8.5},
        7,
        2,
    )
    assert (c.schedule, c.device, c.progress, c.keep_checkpoints) == ("constant", "cpu", False, 3)


def test_enumerations_are_choices_and_lists_come_from_the_registries():
    from ttune.methods import method_names
    from ttune.tasks import task_names

    r = runner.invoke(app, ["train", "--help"], env={"COLUMNS": "1000"})
    text = " ".join(r.stdout.split())
    assert "<linear|constant>" in text and "<auto|no|bf16|fp16>" in text
    assert "One of: " + ", ".join(method_names()) + "." in text
    assert "One of: " + ", ".join(task_names()) + "." in text
    r = runner.invoke(app, ["pretrain", "--help"], env={"COLUMNS": "400"})
    assert "<cosine|linear|constant>" in r.stdout and "<float32|float16|bfloat16>" in r.stdout


def test_readme_names_no_method_list_of_its_own():
    """The README points at `ttune train --help` (the registry) instead of listing methods."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert (
        "`ttune train --help` lists\nevery registered name" in readme
        or "`ttune train --help` lists every registered name" in " ".join(readme.split())
    )
    assert "transducer-no-ddg" not in readme and "`-no-cfg`" not in readme


# ------------------------------------------------------------------ defect 11: consistent options
def test_short_options_mean_one_thing_everywhere():
    meaning: dict[str, set[str]] = {}

    def walk(cmd):
        for p in cmd.params:
            for o in p.opts:
                if re.fullmatch(r"-\w", o):
                    meaning.setdefault(o, set()).add(p.opts[0] if p.opts[0].startswith("--") else o)
        for sub in getattr(cmd, "commands", {}).values():
            walk(sub)

    walk(GROUP)
    assert {k: v for k, v in meaning.items() if len(v) > 1} == {}
    assert meaning["-f"] == {"--function"} and meaning["-o"] == {"--output"}


def test_model_commands_share_checkpoint_output_device_and_beams():
    for name in ("predict", "eval"):
        opts = options_of(command(name))
        assert "-c" in opts["checkpoint"].opts and "-o" in opts["output"].opts
    for name in (
        "train",
        "pretrain",
        "compare",
        "predict",
        "eval",
        "summarize",
        "assert",
        "translate",
    ):
        assert "device" in options_of(command(name)), name
    beams = {
        name: options_of(command(name))["num_beams"].default
        for name in ("predict", "eval", "summarize", "assert", "translate", "train")
    }
    assert set(beams.values()) == {1}, beams


# ------------------------------------------------------------------ defect 12: help text
def test_help_has_no_bool_type_no_braces_and_no_hard_breaks():
    commands = [
        "summarize",
        "assert",
        "translate",
        "cpg",
        "train",
        "predict",
        "info",
        "eval",
        "pretrain",
        "init-backbone",
        "compare",
        "search",
    ]
    for name in ["", *commands]:
        r = runner.invoke(app, [*([name] if name else []), "--help"], env={"COLUMNS": "100"})
        assert r.exit_code == 0, r.output
        assert "<bool>" not in r.stdout, name
        usage = next(line for line in r.stdout.splitlines() if "Usage:" in line)
        assert "{" not in usage, usage
    assert "[OPTIONS] PATH" in runner.invoke(app, ["summarize", "--help"]).stdout
    # A command's description is one paragraph: every line of it in `ttune --help` is wrapped by
    # the formatter at the panel's width, none is cut short by a line break in a docstring.
    r = runner.invoke(app, ["--help"], env={"COLUMNS": "100"})
    rows = [line for line in r.stdout.splitlines() if line.startswith("│ ")]
    for row, following in zip(rows, rows[1:]):
        cell = row[17:-1].rstrip()
        nxt = following[17:-1].strip()
        if cell and nxt and not following[2:16].strip():  # the next row continues this description
            assert len(cell) + 1 + len(nxt.split()[0]) > 100 - 20, (row, following)


def test_compare_options_agree_with_compare_config():
    """`ttune compare` keeps its hand-written options (lists given as text: seeds, methods,
    METHOD=LR pairs); each names a CompareConfig field and has its default."""
    from ttune.compare import CompareConfig

    renamed = {
        "train_file": "train",
        "valid_file": "valid",
        "test_file": "test",
        "output_dir": "output",
        "max_train_records": "limit",
        "early_stopping_patience": "patience",
        "test_metrics": "test_metric",
        "method_options": "method_option",
        "num_workers": "workers",
        "progress": "run_progress",
    }
    opts = options_of(command("compare"))
    docs = field_docs(CompareConfig)
    for f in dataclasses.fields(CompareConfig):
        if f.name == "command":
            assert f.name not in opts
            continue
        flag = "--" + renamed.get(f.name, f.name).replace("_", "-")
        [p] = [p for p in opts.values() if p.opts[0] == flag]
        assert docs.get(f.name), f.name
        default = cli_default(f)
        if f.name == "seeds":
            assert p.default == ",".join(map(str, default))
        elif default is ...:
            assert p.required or f.name == "methods", f.name
        elif isinstance(default, (dict, tuple)) or default is None:
            assert p.default in (None, [], ()), (f.name, p.default)
        else:
            assert p.default == default, (f.name, p.default, default)


def test_library_calls_check_generation_options_by_name(tmp_path):
    """The library functions behind summarize/assert/translate take GenerationOptions' fields as
    keywords: a misspelt one is one OptionError naming it, before any file is read."""
    from ttune.options import OptionError, generation_options

    assert generation_options({"num_beams": 2, "follow_bias": 0.0}) == GenerationOptions(
        num_beams=2, follow_bias=0.0
    )
    with pytest.raises(OptionError, match=r"unknown generation option\(s\) beams; known: "):
        generation_options({"beams": 2})
    with pytest.raises(OptionError, match="num_beam"):
        ttune.api.summarize_file(tmp_path / "missing.py", num_beam=2)
