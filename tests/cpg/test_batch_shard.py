"""`ttune cpg DIR --shard K/N`: disjoint, deterministic shards whose union is the whole run."""

from __future__ import annotations

from dataclasses import asdict

import pytest
from typer.testing import CliRunner

from ttune.cli.main import app
from ttune.cpg import CPGError
from ttune.cpg.batch import (
    DirectoryReport,
    parse_shard,
    process_directory,
    select_shard,
    shard_of,
    supported_files,
)

from .tree import files_of, make_tree


def _add(total: DirectoryReport, part: DirectoryReport) -> None:
    total.files += part.files
    total.lines += part.lines
    total.nodes += part.nodes
    total.files_with_syntax_errors += part.files_with_syntax_errors
    for t, n in part.edges.items():
        total.edges[t] += n
    total.skipped = sorted(total.skipped + part.skipped)


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_union_of_shards_is_the_whole_run(tmp_path, n):
    root = make_tree(tmp_path / "src")
    whole = process_directory(root, fmt="json", out_dir=tmp_path / "whole", workers=1)
    assert whole.files == 11 and len(whole.skipped) == 1
    union, outputs = DirectoryReport(), {}
    for k in range(1, n + 1):
        part = process_directory(
            root, fmt="json", out_dir=tmp_path / f"s{k}", workers=1, shard=(k, n)
        )
        _add(union, part)
        got = files_of(tmp_path / f"s{k}") if (tmp_path / f"s{k}").exists() else {}
        assert not set(got) & set(outputs)  # disjoint
        outputs.update(got)
    assert asdict(union) == asdict(whole)
    assert outputs == files_of(tmp_path / "whole")


def test_shards_are_fixed_by_the_path_alone(tmp_path):
    root = make_tree(tmp_path / "src")
    files = supported_files(root)
    parts = [select_shard(files, root, (k, 4)) for k in range(1, 5)]
    assert sorted(f for p in parts for f in p) == sorted(files)
    assert sum(map(len, parts)) == len(files)
    # another file in the tree, or another order of the walk, moves no file to another shard
    (root / "extra.py").write_text("x = 1\n")
    again = [select_shard(list(reversed(supported_files(root))), root, (k, 4)) for k in range(1, 5)]
    for before, after in zip(parts, again):
        assert set(before) <= set(after)
    assert shard_of("pkg0/textwrap.py", 4) == shard_of("pkg0/textwrap.py", 4)
    assert {shard_of(f"f{i}.py", 3) for i in range(60)} == {1, 2, 3}


@pytest.mark.parametrize(
    "spec,why",
    [
        ("0/2", "1 <= K <= N"),
        ("3/2", "1 <= K <= N"),
        ("1/0", "1 <= K <= N"),
        ("2", "K/N"),
        ("a/b", "K/N"),
        ("-1/2", "K/N"),
    ],
)
def test_bad_shard_is_one_line(tmp_path, spec, why):
    with pytest.raises(CPGError, match="--shard"):
        parse_shard(spec)
    root = make_tree(tmp_path / "src")
    r = CliRunner().invoke(app, ["cpg", str(root), "--shard", spec])
    assert r.exit_code == 1
    assert r.stderr.count("\n") == 1 and why in r.stderr and "--shard" in r.stderr, r.stderr


def test_cli_shard_prints_the_shards_totals(tmp_path):
    root = make_tree(tmp_path / "src")
    runner = CliRunner()
    counts = []
    for k in (1, 2):
        r = runner.invoke(app, ["cpg", str(root), "--shard", f"{k}/2", "--workers", "1"])
        assert r.exit_code == 0, r.output
        counts.append(int(r.stdout.split("files: ")[1].split()[0]))
    assert sum(counts) == 11
    r = runner.invoke(app, ["cpg", str(root / "c.cs"), "--shard", "1/2"])
    assert r.exit_code == 1 and "need a directory" in r.stderr
    r = runner.invoke(app, ["cpg", str(root), "--engine", "spark"])
    assert r.exit_code == 1 and "unknown engine 'spark'" in r.stderr
