"""Training, prediction and checkpoints of adaptation methods.

- :mod:`ttune.train.config`: :class:`TrainConfig`, every option of a run.
- :mod:`ttune.train.data`: records -> token ids, byte spans onto the CPG, -100-padded labels,
graphs.
- :mod:`ttune.cpg.cache`: CPGs extracted once per (code, language, extractor version), on disk.
- :mod:`ttune.train.engine`: the accelerate training loop (:func:`train`), validation, early
stopping.
- :mod:`ttune.train.checkpoint`: resumable checkpoints (safetensors + JSON, written atomically).
- :mod:`ttune.train.predict`: generation from the source only, ``predict_file``,
``checkpoint_info``.

Importing this package loads nothing heavy; the submodules import torch when they need it.
"""
