"""Every command, every option that takes a value, given a bad value: a non-zero exit, exactly one
`error: ...` line on stderr and no traceback (issue 11, step 6).

In-process (typer's CliRunner) for speed. Each command starts from arguments that fail before any
model or corpus is touched (missing input files, an unknown shape), so the bad value under test
either fails first (numbers, choices: while the options are parsed) or beside them."""

from __future__ import annotations

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from ttune.cli.main import app

runner = CliRunner()
MISSING = "/nonexistent/ttune-test"

# Arguments of each command that fail early; the option under test is added or replaced.
BASE = {
    ("summarize",): [f"{MISSING}.py"],
    ("assert",): [f"{MISSING}.py"],
    ("translate",): [f"{MISSING}.py", "--to", "csharp"],
    ("cpg",): [f"{MISSING}.py"],
    ("init-backbone",): ["--output", "{tmp}/bb", "--shape", "no-such-shape"],
    ("pretrain",): ["--output", "{tmp}/pt", "--sources", "no-such-source"],
    ("train",): ["--model", MISSING, "--train", f"{MISSING}.jsonl", "--output", "{tmp}/run"],
    ("predict",): [
        "--checkpoint",
        MISSING,
        "--input",
        f"{MISSING}.jsonl",
        "--output",
        "{tmp}/p.jsonl",
    ],
    ("info",): [MISSING],
    ("lsp",): [],
    ("eval",): [
        "--checkpoint",
        MISSING,
        "--task",
        "summarize",
        "--test",
        f"{MISSING}.jsonl",
        "--output",
        "{tmp}/r.json",
    ],
    ("fit-ranker",): ["--checkpoint", MISSING, "--train", f"{MISSING}.jsonl"],
    ("compare",): [
        "--task",
        "summarize",
        "--model",
        MISSING,
        "--train",
        f"{MISSING}.jsonl",
        "--test",
        f"{MISSING}.jsonl",
        "--output",
        "{tmp}/cmp",
    ],
    ("search",): [
        "--model",
        MISSING,
        "--train",
        f"{MISSING}.jsonl",
        "--valid",
        f"{MISSING}.jsonl",
        "--output",
        "{tmp}/srch",
    ],
    ("data", "convert"): [
        "--format",
        "no-such-format",
        "--input",
        MISSING,
        "--output",
        "{tmp}/c.jsonl",
    ],
    ("data", "build"): ["summarize", "--source", MISSING, "--output", "{tmp}/b.jsonl"],
    ("data", "clean"): ["--train", f"{MISSING}.jsonl", "--output-dir", "{tmp}/clean"],
    ("data", "significance"): ["--a", f"{MISSING}.jsonl", "--b", f"{MISSING}.jsonl"],
}


def all_commands(cmd=None, path=()):
    cmd = cmd or get_command(app)
    for name, sub in sorted(getattr(cmd, "commands", {}).items()):
        if getattr(sub, "commands", None):
            yield from all_commands(sub, (*path, name))
        else:
            yield (*path, name), sub


def bad_value(param) -> str:
    """A value the option must refuse: not a number for numbers, an unknown name for choices,
    a missing path or an unknown name for text."""
    desc = param.type_descriptor
    if desc.is_choice:
        return "no-such-choice"
    if desc.annotation in (int, float):
        return "not-a-number"
    return MISSING + "-value"


def cases():
    for path, cmd in all_commands():
        for p in cmd.params:
            if p.param_type_name == "option" and not p.is_flag and p.name != "help":
                yield pytest.param(path, p.opts[0], p, id=f"{' '.join(path)} {p.opts[0]}")


def test_every_command_is_covered():
    assert {path for path, _ in all_commands()} == set(BASE)


@pytest.mark.parametrize("path,option,param", list(cases()))
def test_bad_value_is_one_line(path, option, param, tmp_path):
    base = [a.replace("{tmp}", str(tmp_path)) for a in BASE[path]]
    args = list(base)
    if option in args:  # replace the base's own value
        i = args.index(option)
        del args[i : i + 2]
    value = bad_value(param)
    # Numbers that parse but are out of range are checked too (0 beams, 0 steps, ...).
    r = runner.invoke(app, [*path, *args, option, value])
    assert r.exit_code != 0, (path, option, r.output)
    assert "Traceback" not in r.output and "Traceback" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), (path, option, r.stderr)
    assert not any((tmp_path / name).exists() for name in ("run", "cmp", "pt", "bb", "srch")), (
        "a failed command left an output folder behind"
    )


@pytest.mark.parametrize(
    "args,pattern",
    [
        (
            ["summarize", "examples/inventory.py", "--num-beams", "0"],
            "num_beams: must be an integer >= 1",
        ),
        (["predict", "-c", "x", "-i", "y", "-o", "z", "--num-beams", "0"], "num_beams: must be"),
        (["summarize", "examples/inventory.py", "--device", "banana"], "'banana' is not a device"),
        (
            ["train", "--model", "m", "--train", "t", "-o", "o", "--device", "cuda:x"],
            "not a device",
        ),
        (
            [
                "eval",
                "-c",
                "x",
                "--task",
                "summarize",
                "--test",
                "t",
                "-o",
                "o",
                "--batch-size",
                "0",
            ],
            "batch_size: must be",
        ),
    ],
)
def test_out_of_range_values_fail_before_anything_loads(args, pattern):
    """Defect 1: `--num-beams 0` (ZeroDivisionError) and `--device banana` (RuntimeError) were
    tracebacks."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    r = runner.invoke(app, [str(root / a) if a.startswith("examples/") else a for a in args])
    assert r.exit_code == 1, r.output
    [line] = [x for x in r.stderr.splitlines() if x.strip()]
    assert line.startswith("error: ") and re.search(pattern, line), line


def test_cuda_on_a_cpu_only_torch_is_one_line(monkeypatch, tmp_path):
    """Defect 1: `--device cuda` on a CPU-only torch was an AssertionError from torch."""
    import torch

    from ttune.options import OptionError, resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(
        OptionError, match=r"^device: cuda is not available \(.*\); use --device cpu$"
    ):
        resolve_device("cuda")
    assert resolve_device("cpu") == "cpu" and resolve_device("auto") in ("cpu", "mps")
    r = runner.invoke(
        app, ["train", "--model", "m", "--train", "t", "-o", "o", "--device", "cuda:0"]
    )
    assert r.exit_code == 1, r.output
    assert r.stderr.startswith("error: device: cuda:0 is not available"), r.stderr
    r = runner.invoke(app, ["pretrain", "-o", str(tmp_path / "pt"), "--device", "cuda"])
    assert r.exit_code == 1 and r.stderr.startswith("error: device: cuda is not available")
    assert not (tmp_path / "pt").exists()
