"""The inference path of one-shot commands in plain torch: a T5 backbone (:mod:`ttune.lite.t5`),
its tokenizer through the ``tokenizers`` library (:mod:`ttune.lite.tokenizer`) and the
transducer's graph layers in plain torch, so that ``ttune summarize`` imports neither transformers
nor torch_geometric. :func:`ttune.lite.predict.predictor` picks it when it applies and falls back to
the engine's path (:mod:`ttune.train.predict`) otherwise; training always uses the engine.
"""
