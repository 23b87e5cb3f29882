"""Training, prediction and evaluation of adaptation methods.

- :mod:`ttune.train.config`: :class:`TrainConfig`, every option of a run.
- :mod:`ttune.train.data`: records -> token ids, byte spans onto the CPG, -100-padded labels,
  graphs (CPGs come from the cache, :mod:`ttune.cpg.cache`).
- :mod:`ttune.train.inference`: a method's examples and collators, the loss over a data set and
  generation from the source only, shared by validation and prediction.
- :mod:`ttune.train.engine`: the accelerate training loop (:class:`Trainer`, :func:`train`),
  validation, early stopping, :class:`TrainerCallback` hooks.
- :mod:`ttune.train.checkpoint`: resumable checkpoints of a method (the method-independent pieces
  live in :mod:`ttune.runs`).
- :mod:`ttune.train.predict`: ``predict``, ``predict_file``, ``checkpoint_info``.
- :mod:`ttune.train.evaluate`: ``evaluate`` (scores and a predictions file) and
  ``compare_results`` (paired Wilcoxon test of two evaluations).

Importing this package loads nothing; the submodules import torch.
"""
