"""From a CPG to tensors, and from node labels to node vectors.

``featurize`` runs once per example in the data collator: it turns a :class:`ttune.cpg.CPG` into a
``torch_geometric.data.Data`` holding the node labels as token ids (not yet vectors);
``graph_features`` gives the same tensors as a dict (the plain-torch inference path batches those
with :func:`ttune.transducer.graphops.collate_graphs`). The
vectorizers run inside the model on a batch of such graphs and produce one vector per node:

- ``embedding`` (default): the frozen backbone's own token-embedding table, mean over the label's
  tokens (masked). No second model is needed and the node vectors live in the space the backbone
  already understands. The paper used a separate 1024-d embedding model instead.
- ``hashed``: a signed hashed bag of the label's token ids in a fixed dimension (no parameters,
  no table; useful when the backbone's table is too wide or for ablations).
- ``kind``: a one-hot of the node kind (``ttune.cpg.graph.NODE_KINDS``), ignoring the label.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ttune.cpg.base import CPGError
from ttune.cpg.export import to_tensors
from ttune.cpg.graph import CPG, NODE_KINDS

VECTORIZERS = ("embedding", "hashed", "kind")


class FeaturizeError(ValueError):
    """A CPG cannot be turned into tensors (unknown kind or edge type, bad sizes)."""


def graph_features(
    cpg: CPG, tokenizer, max_label_tokens: int = 16, max_graph_nodes: int | None = None
) -> dict[str, Any]:
    """Everything the transducer needs from one graph, as a dict of tensors (and ``num_nodes``):
    the CPG's tensor schema (:func:`ttune.cpg.export.to_tensors`) plus the node labels as token
    ids.

    Node labels are tokenized with the backbone's tokenizer (no special tokens), cut to
    ``max_label_tokens`` and padded with the pad id. A node with an empty label (the FILE node,
    synthetic METHOD_ENTRY/EXIT nodes) uses its kind name in lower case instead, so that every node
    has at least one token. With ``max_graph_nodes`` set, the first ``max_graph_nodes`` nodes are
    kept (the front ends add AST nodes in pre-order, so this is a pre-order prefix of the tree) and
    only the edges among them.

    Shapes:
        - label_ids: ``[N, max_label_tokens]`` long (pad id where masked)
        - label_mask: ``[N, max_label_tokens]`` bool
        - kind: ``[N]`` long, index into ``NODE_KINDS``
        - edge_index: ``[2, E]`` long; edge_type: ``[E]`` long, index into ``EDGE_TYPES``
        - span: ``[N, 2]`` long, (start, end) byte of the node in the graph's source text
    """
    if max_label_tokens < 1:
        raise FeaturizeError(f"max_label_tokens must be >= 1, got {max_label_tokens}")
    if max_graph_nodes is not None and max_graph_nodes < 1:
        raise FeaturizeError(f"max_graph_nodes must be >= 1 or None, got {max_graph_nodes}")
    try:
        data = to_tensors(cpg, first_nodes=max_graph_nodes)
    except CPGError as e:
        raise FeaturizeError(str(e)) from None
    n = data["num_nodes"]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    label_ids = torch.full((n, max_label_tokens), pad_id, dtype=torch.long)
    label_mask = torch.zeros((n, max_label_tokens), dtype=torch.bool)
    if n:
        texts = [label or node.kind.lower() for label, node in zip(data["labels"], cpg.nodes)]
        encoded = tokenizer(texts, add_special_tokens=False)["input_ids"]
        for i, ids in enumerate(encoded):
            ids = ids[:max_label_tokens]
            if ids:
                label_ids[i, : len(ids)] = torch.tensor(ids, dtype=torch.long)
                label_mask[i, : len(ids)] = True
    del data["labels"]  # the token ids stand for them; strings would only travel through batching
    data["label_ids"], data["label_mask"] = label_ids, label_mask
    return data


def featurize(cpg: CPG, tokenizer, max_label_tokens: int = 16, max_graph_nodes: int | None = None):
    """:func:`graph_features` as a torch_geometric ``Data`` (the training path's batches)."""
    from torch_geometric.data import Data  # lazy: the inference path batches without PyG

    return Data(**graph_features(cpg, tokenizer, max_label_tokens, max_graph_nodes))


class EmbeddingVectorizer(nn.Module):
    r"""Mean of the frozen backbone's token embeddings over each node label's tokens.

    .. math:: x_v = \frac{1}{|t(v)|} \sum_{j \in t(v)} E[j]

    The embedding table is held by reference, not registered: it belongs to the backbone, is never
    trained through this path (detached) and never saved with the transducer.

    Shapes:
        - input: ``label_ids``/``label_mask`` ``[N, L]``
        - output: ``[N, d_model]``
    """

    def __init__(self, embedding: nn.Embedding) -> None:
        super().__init__()
        self.__dict__["embedding"] = embedding  # bypass nn.Module registration on purpose
        self.out_dim = embedding.weight.shape[1]

    def forward(self, label_ids: Tensor, label_mask: Tensor, kind: Tensor) -> Tensor:
        emb = self.embedding(label_ids).detach()  # [N, L, d]
        m = label_mask.unsqueeze(-1).to(emb.dtype)  # [N, L, 1]
        return (emb * m).sum(1) / m.sum(1).clamp(min=1.0)  # [N, d]


class HashedVectorizer(nn.Module):
    r"""Signed hashed bag of label token ids (the hashing trick), scaled by 1/sqrt(#tokens).

    .. math:: x_v[h(j)] \mathrel{+}= s(j) / \sqrt{|t(v)|}

    with ``h`` a multiplicative hash into ``dim`` buckets and ``s(j) = \pm 1`` from another bit.

    Shapes:
        - input: ``label_ids``/``label_mask`` ``[N, L]``
        - output: ``[N, dim]``
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.out_dim = dim

    def forward(self, label_ids: Tensor, label_mask: Tensor, kind: Tensor) -> Tensor:
        h = (label_ids * 2654435761) % (1 << 32)  # Knuth's multiplicative hash
        bucket = h % self.out_dim  # [N, L]
        sign = ((h >> 16) & 1).float() * 2 - 1  # [N, L] in {-1, +1}
        val = sign * label_mask.float()
        out = torch.zeros(label_ids.shape[0], self.out_dim, device=label_ids.device)
        out.scatter_add_(1, bucket, val)
        return out / label_mask.sum(1, keepdim=True).clamp(min=1).float().sqrt()


class KindVectorizer(nn.Module):
    """One-hot of the node kind.

    Shapes:
        - input: ``kind`` ``[N]``
        - output: ``[N, len(NODE_KINDS)]``
    """

    def __init__(self) -> None:
        super().__init__()
        self.out_dim = len(NODE_KINDS)

    def forward(self, label_ids: Tensor, label_mask: Tensor, kind: Tensor) -> Tensor:
        return nn.functional.one_hot(kind, self.out_dim).float()


def make_vectorizer(name: str, node_dim: int, embedding: nn.Embedding | None = None) -> nn.Module:
    """Build the named vectorizer; ``node_dim`` is its output width (checked against the kind)."""
    if name == "embedding":
        if embedding is None:
            raise FeaturizeError("the embedding vectorizer needs the backbone's embedding table")
        vec: nn.Module = EmbeddingVectorizer(embedding)
    elif name == "hashed":
        vec = HashedVectorizer(node_dim)
    elif name == "kind":
        vec = KindVectorizer()
    else:
        raise FeaturizeError(f"unknown vectorizer {name!r}; known: {', '.join(VECTORIZERS)}")
    if vec.out_dim != node_dim:
        raise FeaturizeError(
            f"vectorizer {name!r} gives {vec.out_dim}-d vectors, but node_dim is {node_dim}"
        )
    return vec
