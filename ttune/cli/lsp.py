"""`ttune lsp`: the language server for editors (stdio, or TCP for debugging)."""

from __future__ import annotations

import typer


def lsp(
    tcp: str | None = typer.Option(
        None, "--tcp", metavar="HOST:PORT", help="Listen on TCP instead of stdio (for debugging)."
    ),
) -> None:
    """Serve the Language Server Protocol on stdio: summaries, asserts, translations, CPGs."""
    from ttune.cli.main import fail

    address = None
    if tcp is not None:
        host, _, port = tcp.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise fail(f"--tcp wants HOST:PORT, got {tcp!r}")
        address = (host, int(port))
    from ttune.lsp import serve

    serve(address)


def register(app: typer.Typer) -> None:
    app.command("lsp")(lsp)
