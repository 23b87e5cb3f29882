"""ttune: Transducer Tuning for code models.

Importing ``ttune`` is cheap on purpose: heavy modules (torch, transformers, tree-sitter
grammars) load only when a command needs them, so ``ttune --help`` and editor start-up stay fast.
"""

__version__ = "0.1.0"
