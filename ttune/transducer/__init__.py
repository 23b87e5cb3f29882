"""The transducer: a CPG read by a tiny graph encoder and fused into a frozen model's input
embeddings.

``featurize`` (collator side: CPG -> PyG ``Data``), ``TransducerConfig`` and ``Transducer`` (model
side: token embeddings + a PyG ``Batch`` of graphs -> new token embeddings).
"""

from ttune.transducer.fusion import FUSIONS, NodeFusion, PaperFusion
from ttune.transducer.gve import GNNS, GraphVectorizationEngine, RMSNorm
from ttune.transducer.model import Transducer, TransducerConfig, TransducerConfigError
from ttune.transducer.vectorize import VECTORIZERS, FeaturizeError, featurize, make_vectorizer

__all__ = [
    "FUSIONS",
    "GNNS",
    "VECTORIZERS",
    "FeaturizeError",
    "GraphVectorizationEngine",
    "NodeFusion",
    "PaperFusion",
    "RMSNorm",
    "Transducer",
    "TransducerConfig",
    "TransducerConfigError",
    "featurize",
    "make_vectorizer",
]
