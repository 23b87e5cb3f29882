"""Node-label vectorizers."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from transducer.conftest import hand_cpg


def test_embedding_vectorizer_is_masked_mean(tok):
    from ttune.transducer import featurize, make_vectorizer

    d = featurize(hand_cpg(), tok)
    emb = nn.Embedding(len(tok), 16)
    vec = make_vectorizer("embedding", 16, emb)
    x = vec(d.label_ids, d.label_mask, d.kind)
    ids = d.label_ids[3][d.label_mask[3]]
    assert x.shape == (5, 16)
    assert torch.allclose(x[3], emb.weight[ids].mean(0))
    assert list(vec.parameters()) == [] and not x.requires_grad  # the table is not the transducer's


def test_hashed_vectorizer(tok):
    from ttune.transducer import featurize, make_vectorizer

    d = featurize(hand_cpg(), tok)
    x = make_vectorizer("hashed", 1024)(d.label_ids, d.label_mask, d.kind)
    assert x.shape == (5, 1024)
    assert torch.equal(x[2], x[4])  # both labels are "x"
    assert not torch.equal(x[2], x[3])
    n = int(d.label_mask[3].sum())
    counts = x[3] * n**0.5  # signed token counts per bucket
    assert torch.allclose(counts, counts.round(), atol=1e-5) and counts.abs().sum() <= n + 1e-5
    again = make_vectorizer("hashed", 1024)(d.label_ids, d.label_mask, d.kind)
    assert torch.equal(x, again)


def test_kind_vectorizer(tok):
    from ttune.cpg.graph import NODE_KINDS
    from ttune.transducer import featurize, make_vectorizer

    d = featurize(hand_cpg(), tok)
    x = make_vectorizer("kind", len(NODE_KINDS))(d.label_ids, d.label_mask, d.kind)
    assert torch.equal(x.argmax(1), d.kind) and torch.equal(x.sum(1), torch.ones(5))


def test_width_mismatch_is_an_error():
    from ttune.transducer import FeaturizeError, make_vectorizer

    with pytest.raises(FeaturizeError, match="gives 23-d vectors, but node_dim is 8"):
        make_vectorizer("kind", 8)
    with pytest.raises(FeaturizeError, match="unknown vectorizer"):
        make_vectorizer("bert", 8)
