"""CPG extraction throughput against tree-sitter parsing alone, measured side by side in one run.

    python benchmarks/cpg_throughput.py [--corpus python,java,csharp] [--limit N]

- python: every .py file of the running interpreter's standard library;
- java:   every .java file in Debian's openjdk-17-source (/usr/lib/jvm/openjdk-17/lib/src.zip);
- csharp: the C# side of CodeXGLUE Java->C# (all splits), one method per line, from
          $TTUNE_DATA_DIR (default ../shared/datasets).
For each corpus: the time of tree-sitter parsing alone (ts.parse_only), the time of full extraction
(every edge type: AST, CFG, CDG, DDG, CALL), lines per second, and the ratio. Target: ratio <= 3.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ttune.cpg import CPGConfig, CPGError, extract  # noqa: E402
from ttune.cpg.ts import parse_only  # noqa: E402

JDK_SRC = Path("/usr/lib/jvm/openjdk-17/lib/src.zip")


def python_corpus() -> list[bytes]:
    root = Path(sysconfig.get_paths()["stdlib"])
    return [p.read_bytes() for p in sorted(root.rglob("*.py")) if "site-packages" not in p.parts]


def java_corpus() -> list[bytes]:
    if not JDK_SRC.exists():
        print(f"java: {JDK_SRC} not found (apt-get install openjdk-17-source); skipped")
        return []
    with zipfile.ZipFile(JDK_SRC) as zf:
        return [zf.read(n) for n in sorted(zf.namelist()) if n.endswith(".java")]


def csharp_corpus() -> list[bytes]:
    data = Path(os.environ.get("TTUNE_DATA_DIR", ROOT.parent / "shared" / "datasets"))
    files = sorted((data / "codexglue-java-cs").glob("*.java-cs.txt.cs"))
    if not files:
        print(f"csharp: no CodeXGLUE C# files under {data}; skipped")
        return []
    return [line for f in files for line in f.read_bytes().splitlines() if line.strip()]


def measure(lang: str, sources: list[bytes]) -> None:
    lines = sum(s.count(b"\n") + 1 for s in sources)
    config = CPGConfig(max_bytes=50_000_000, max_extract_nodes=50_000_000)
    gc.collect()
    t0 = time.perf_counter()
    for s in sources:
        parse_only(s, lang)
    t_parse = time.perf_counter() - t0
    gc.collect()
    failed = errors = nodes = edges = 0
    t0 = time.perf_counter()
    for s in sources:
        try:
            cpg = extract(s, lang, config)
        except CPGError:
            failed += 1
            continue
        nodes += len(cpg.nodes)
        edges += len(cpg.edges)
        errors += cpg.syntax_errors > 0
    t_cpg = time.perf_counter() - t0
    ratio = t_cpg / t_parse if t_parse else float("nan")
    print(
        f"{lang:7} files {len(sources):>6}  lines {lines:>8}  parse {t_parse:7.2f} s "
        f"({lines / t_parse:>9,.0f} lines/s)  cpg {t_cpg:7.2f} s ({lines / t_cpg:>9,.0f} lines/s)  "
        f"ratio {ratio:5.2f}  [target <= 3: {'met' if ratio <= 3 else 'MISSED'}]  "
        f"nodes {nodes:,} edges {edges:,} with-syntax-errors {errors} refused {failed}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--corpus", default="python,java,csharp")
    ap.add_argument(
        "--limit", type=int, default=0, help="use only the first N files of each corpus"
    )
    args = ap.parse_args()
    corpora = {"python": python_corpus, "java": java_corpus, "csharp": csharp_corpus}
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpu(s), one process")
    for name in args.corpus.split(","):
        sources = corpora[name]()
        if args.limit:
            sources = sources[: args.limit]
        if sources:
            measure(name, sources)


if __name__ == "__main__":
    main()
