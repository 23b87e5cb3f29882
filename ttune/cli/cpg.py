"""`ttune cpg`: code property graphs of a file or a directory."""

from __future__ import annotations

from pathlib import Path

import typer

from ttune.cpg.languages import describe, describe_extensions


def cpg(
    path: Path = typer.Argument(
        ..., help=f"A source file ({describe_extensions()}) or a directory of them."
    ),
    lang: str | None = typer.Option(
        None, "--lang", help=f"{describe()} (default: from the file extension)."
    ),
    fmt: str = typer.Option("summary", "--format", help="summary, json, dot or graphml."),
    edges: str | None = typer.Option(
        None, "--edges", help="Edge types to keep, e.g. AST,CFG,CDG,DDG,CALL (default: all)."
    ),
    function: str | None = typer.Option(
        None, "--function", "-f", help="Only the method or function with this name."
    ),
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        help="Write here instead of stdout (a folder when PATH is a folder).",
    ),
    workers: int | None = typer.Option(
        None, "--workers", help="Processes for a directory (default: CPU count)."
    ),
    shard: str | None = typer.Option(
        None,
        "--shard",
        help="Only shard K of N of a directory (K/N, 1 <= K <= N; shards are disjoint, fixed by "
        "each file's path, and together cover the tree): one job of a job array.",
    ),
    engine: str = typer.Option(
        "local",
        "--engine",
        help="Where a directory is extracted: local (worker processes) or dask (a Dask cluster, "
        "pip install 'ttune[distributed]').",
    ),
    scheduler: str | None = typer.Option(
        None,
        "--scheduler",
        help="With --engine dask: the address of a running Dask scheduler (default: a local "
        "cluster of --workers processes).",
    ),
    max_bytes: int = typer.Option(
        2_000_000, "--max-bytes", help="Refuse source files larger than this."
    ),
    max_extract_nodes: int = typer.Option(
        1_000_000,
        "--max-extract-nodes",
        "--max-nodes",
        help="Refuse to extract a graph of more nodes than this (a guard, not a filter).",
    ),
) -> None:
    """Extract the code property graph (AST, CFG, CDG, DDG, CALL edges) of PATH."""
    from ttune import api
    from ttune.cli.main import fail
    from ttune.cpg import CPGConfig, CPGError
    from ttune.cpg.batch import ENGINES, FORMATS, parse_shard

    try:
        config = CPGConfig(max_bytes=max_bytes, max_extract_nodes=max_extract_nodes)
        if fmt not in FORMATS:
            raise CPGError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
        if engine not in ENGINES:
            raise CPGError(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}")
        shard_k_n = parse_shard(shard)
        if not path.is_dir() and (shard_k_n or engine != "local" or scheduler):
            raise CPGError("--shard, --engine and --scheduler need a directory")
        if path.is_dir():
            if fmt != "summary" and output is None:
                raise CPGError("a directory with --format json/dot/graphml needs --output FOLDER")
            report = api.cpg_directory(
                path,
                fmt=fmt,
                out_dir=output,
                edge_types=edges,
                lang=lang,
                config=config,
                workers=workers,
                shard=shard_k_n,
                engine=engine,
                address=scheduler,
            )
            for p, reason in report.skipped:
                typer.echo(f"skipped {p}: {reason}", err=True)
            typer.echo(report.format(), nl=False)
            if report.files == 0 and report.skipped:
                raise typer.Exit(1)
            return
        graph = api.cpg_of_file(path, lang, function=function, config=config)
        if graph.syntax_errors:
            typer.echo(
                f"warning: {path}: {graph.syntax_errors} syntax error node(s); "
                "the graph marks them as ERROR nodes",
                err=True,
            )
        text = api.render_cpg(graph, fmt, edges)
    except CPGError as exc:
        raise fail(str(exc)) from None
    if output is None:
        typer.echo(text, nl=False)
    else:
        from ttune.io import atomic_write_text

        atomic_write_text(output, text)


def register(app: typer.Typer) -> None:
    app.command("cpg")(cpg)
