"""Code property graphs from tree-sitter: AST, CFG, CDG, DDG and CALL edges over one shared
node-kind vocabulary for Python, Java and C# (the language table, :mod:`ttune.cpg.languages`).

    >>> from ttune.cpg import extract
    >>> cpg = extract("def f(x):\\n    return x + 1\\n", "python")

Exporters (JSON, DOT, GraphML, networkx, PyG) live in :mod:`ttune.cpg.export`. Importing this
package is cheap: tree-sitter loads on first parse, networkx/torch only inside the exporters.
"""

from .base import CPGConfig, CPGError
from .extract import EXTRACTOR_VERSION, detect_language, extract, extract_file, method_subgraph
from .graph import CPG, EDGE_TYPES, NODE_KINDS, SCHEMA_VERSION
from .languages import (
    Language,
    UnknownLanguageError,
    get_language,
    language_names,
    register_language,
)

__all__ = [
    "CPG",
    "CPGConfig",
    "CPGError",
    "EDGE_TYPES",
    "EXTRACTOR_VERSION",
    "Language",
    "NODE_KINDS",
    "SCHEMA_VERSION",
    "SUPPORTED_LANGUAGES",
    "UnknownLanguageError",
    "detect_language",
    "extract",
    "extract_file",
    "get_language",
    "language_names",
    "method_subgraph",
    "register_language",
]


def __getattr__(name: str):
    # Read from the language table each time (languages may be registered after import).
    if name == "SUPPORTED_LANGUAGES":
        return language_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
