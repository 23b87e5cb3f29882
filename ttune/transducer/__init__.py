"""The transducer: a CPG read by a tiny graph encoder and fused into a frozen model's input
embeddings.

``featurize`` (collator side: CPG -> PyG ``Data``; ``graph_features`` + ``collate_graphs`` for
the plain-torch inference path), ``TransducerConfig`` and ``Transducer`` (model
side: token embeddings + a PyG ``Batch`` of graphs -> new token embeddings).
"""

from ttune.transducer.fusion import FUSIONS, NodeFusion, PaperFusion
from ttune.transducer.graphops import GATv2, GraphBatch, collate_graphs
from ttune.transducer.gve import GNNS, PLAIN_GNNS, GraphVectorizationEngine, RMSNorm
from ttune.transducer.model import Transducer, TransducerConfig, TransducerConfigError
from ttune.transducer.vectorize import (
    VECTORIZERS,
    FeaturizeError,
    featurize,
    graph_features,
    make_vectorizer,
)

__all__ = [
    "FUSIONS",
    "GATv2",
    "GNNS",
    "GraphBatch",
    "PLAIN_GNNS",
    "VECTORIZERS",
    "FeaturizeError",
    "GraphVectorizationEngine",
    "NodeFusion",
    "PaperFusion",
    "RMSNorm",
    "Transducer",
    "TransducerConfig",
    "TransducerConfigError",
    "collate_graphs",
    "featurize",
    "graph_features",
    "make_vectorizer",
]
