"""Pretraining a small T5 backbone (or, with ``arch``, a Mamba or Llama causal LM) on local code,
from scratch or from a backbone (``ttune pretrain``).

``config`` (PretrainConfig), ``corpus`` (what code is read, from where), ``spans`` (T5 span
corruption), ``objectives`` (prefix LM, the supervised task pairs in the T5 and the causal layout,
the per-step choice), ``loop``
(tokenizer, packing, AdamW loop, checkpoints, the final backbone folder).
Importing this package loads only the config; ``loop`` imports torch and transformers.
"""

from ttune.pretrain.config import PretrainConfig, PretrainError


def pretrain(config: PretrainConfig):
    """Pretrain (or resume) the run of ``config``; returns the backbone folder (a Path)."""
    from ttune.pretrain.loop import pretrain as run  # lazy: loads torch; configs stay light

    return run(config)


__all__ = ["PretrainConfig", "PretrainError", "pretrain"]
