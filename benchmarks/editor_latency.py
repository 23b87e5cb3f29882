"""Editor latency of `ttune lsp`, measured through a real LSP client (pygls) over stdio.

    python benchmarks/editor_latency.py [--file examples/inventory.py] [--line 11] [--repeats 20]

Starts ``python -m ttune lsp`` with the built-in models, and reports: the time from starting the
process to the initialize response; the first ``ttune/summarize`` (the model loads on it) measured
from the initialize response; the median and 90th percentile of warm ``ttune/summarize`` calls of
one function (the file's unsaved text as the editor sends it); and the server's peak resident
memory (VmHWM of its process). Settings are the server's defaults (greedy decoding, CPU).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

ROOT = Path(__file__).resolve().parents[1]


def peak_rss_mb(pid: int) -> float:
    """Peak resident set size of a process (Linux: VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM (not Linux?)")


async def measure(file: Path, line: int, character: int, repeats: int) -> dict:
    client = LanguageClient("ttune-benchmark", "1")
    began = time.perf_counter()
    await client.start_io(
        sys.executable,
        "-m",
        "ttune",
        "lsp",
        env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")},
    )
    pid = client._server.pid  # the asyncio subprocess pygls started
    await client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities()))
    initialized = time.perf_counter()
    client.initialized(types.InitializedParams())
    uri = file.resolve().as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text=file.read_text(encoding="utf-8")
            )
        )
    )
    params = {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}
    t0 = time.perf_counter()
    first = await client.protocol.send_request_async("ttune/summarize", params)
    first_s = time.perf_counter() - t0
    warm = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        await client.protocol.send_request_async("ttune/summarize", params)
        warm.append(time.perf_counter() - t0)
    peak = peak_rss_mb(pid)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    warm.sort()
    return {
        "file": str(file),
        "function": first.name,
        "summary": first.summary,
        "initialize_s": round(initialized - began, 3),
        "first_summarize_with_model_load_s": round(first_s, 3),
        "warm_summarize_median_ms": round(1000 * statistics.median(warm), 1),
        "warm_summarize_p90_ms": round(1000 * warm[int(0.9 * (len(warm) - 1))], 1),
        "repeats": repeats,
        "server_peak_rss_mib": round(peak, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f}",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", type=Path, default=ROOT / "examples" / "inventory.py")
    ap.add_argument(
        "--line",
        type=int,
        default=None,
        help="0-based line inside the function (default: the first function's second line)",
    )
    ap.add_argument("--character", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    line = args.line
    if line is None:
        from ttune.use import find_functions

        fn = find_functions(args.file.read_text(encoding="utf-8"), "python")[0]
        line = fn.line  # 1-based line of its name = 0-based line of its first body line
    print(json.dumps(asyncio.run(measure(args.file, line, args.character, args.repeats)), indent=2))


if __name__ == "__main__":
    main()
