"""`ttune cpg DIR --engine dask` (the optional extra ttune[distributed]) on a local cluster of two
worker processes writes the files and totals of the local single-process run."""

from __future__ import annotations

from dataclasses import asdict

from typer.testing import CliRunner

from ttune.cli.main import app
from ttune.cpg.batch import process_directory

from .tree import files_of, make_tree


def test_dask_cluster_equals_one_process(tmp_path):
    root = make_tree(tmp_path / "src")
    one = process_directory(root, fmt="json", out_dir=tmp_path / "one", workers=1)
    two = process_directory(root, fmt="json", out_dir=tmp_path / "dask", workers=2, engine="dask")
    assert asdict(two) == asdict(one) and one.files == 11
    assert files_of(tmp_path / "dask") == files_of(tmp_path / "one")


def test_dask_shard_through_the_cli(tmp_path):
    root = make_tree(tmp_path / "src")
    r = CliRunner().invoke(
        app, ["cpg", str(root), "--engine", "dask", "--workers", "2", "--shard", "2/2"]
    )
    assert r.exit_code == 0, r.output
    local = process_directory(root, workers=1, shard=(2, 2))
    assert r.stdout == local.format()
