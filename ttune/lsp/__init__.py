"""ttune's language server (``ttune lsp``): the backend of editor extensions.

Custom requests ``ttune/summarize``, ``ttune/summarizeDocument``, ``ttune/generateAssert``,
``ttune/translate`` and ``ttune/cpg``, code lenses, hover and a ``ttune/status`` notification,
documented in docs/editor.md. Importing this package loads pygls, not torch.
"""

from ttune.lsp.server import build_server, serve

__all__ = ["build_server", "serve"]
