"""Code property graphs from tree-sitter: AST, CFG, CDG, DDG and CALL edges over one shared
node-kind vocabulary for Python, Java and C#.

    >>> from ttune.cpg import extract
    >>> cpg = extract("def f(x):\\n    return x + 1\\n", "python")

Exporters (JSON, DOT, GraphML, networkx, PyG) live in :mod:`ttune.cpg.export`. Importing this
package is cheap: tree-sitter loads on first parse, networkx/torch only inside the exporters.
"""

from .base import CPGConfig, CPGError
from .extract import (
    EXTRACTOR_VERSION,
    SUPPORTED_LANGUAGES,
    detect_language,
    extract,
    extract_file,
    method_subgraph,
)
from .graph import CPG, EDGE_TYPES, NODE_KINDS, SCHEMA_VERSION

__all__ = [
    "CPG", "CPGConfig", "CPGError", "EDGE_TYPES", "EXTRACTOR_VERSION", "NODE_KINDS",
    "SCHEMA_VERSION", "SUPPORTED_LANGUAGES", "detect_language", "extract", "extract_file",
    "method_subgraph",
]
