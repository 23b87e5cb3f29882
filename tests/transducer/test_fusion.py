"""Attention-Based Fusion Layer: the corrected `node` mode and the released `paper` mode."""

from __future__ import annotations

import torch
from torch_geometric.data import Batch

from transducer.conftest import SRC, hand_cpg

B, T, D, G = 2, 7, 16, 12


def _setup(tok, seed=0):
    """Two graphs (5 and 3 nodes), token embeddings with one padding position in example 1."""
    from ttune.transducer import featurize

    g = Batch.from_data_list(
        [featurize(hand_cpg(), tok), featurize(hand_cpg(), tok, max_graph_nodes=3)]
    )
    gen = torch.Generator().manual_seed(seed)
    nodes = torch.randn(g.num_nodes, G, generator=gen)
    embeds = torch.randn(B, T, D, generator=gen)
    mask = torch.ones(B, T, dtype=torch.long)
    mask[1, -1] = 0
    spans = torch.tensor([[[0, 3], [4, 5], [6, 7], [14, 20], [21, 22], [-1, -1], [-1, -1]]] * B)
    return g, nodes, embeds, mask, spans


def _node(span_bias=2.0, gate=1.0, trained=True):
    """A node fusion; ``trained`` gives W_o random weights, as after training (it starts at
    zero)."""
    from ttune.transducer import NodeFusion

    torch.manual_seed(0)
    f = NodeFusion(D, G, 4, span_bias)
    with torch.no_grad():
        f.gate.fill_(gate)
        if trained:
            torch.nn.init.normal_(f.o.weight)
    return f


def test_node_fresh_layer_is_exact_identity(tok):
    g, nodes, embeds, mask, spans = _setup(tok)
    f = _node(trained=False)
    assert torch.count_nonzero(f.o.weight) == 0 and f.gate.item() == 1.0
    assert torch.equal(f(embeds, mask, nodes, g.batch, g.span, spans), embeds)


def test_node_zero_gate_is_exact_identity(tok):
    g, nodes, embeds, mask, spans = _setup(tok)
    out = _node(gate=0.0)(embeds, mask, nodes, g.batch, g.span, spans)
    assert torch.equal(out, embeds)


def test_node_padding_tokens_unchanged_and_real_tokens_changed(tok):
    g, nodes, embeds, mask, spans = _setup(tok)
    out = _node(gate=1.0)(embeds, mask, nodes, g.batch, g.span, spans)
    assert torch.equal(out[1, -1], embeds[1, -1])
    assert (out[mask.bool()] - embeds[mask.bool()]).abs().sum(-1).min() > 0


def test_node_empty_graph_gives_zero_update(tok):
    from ttune.cpg.graph import CPG
    from ttune.transducer import featurize

    _, _, embeds, mask, spans = _setup(tok)
    g = Batch.from_data_list([featurize(hand_cpg(), tok), featurize(CPG("python"), tok)])
    nodes = torch.randn(g.num_nodes, G)
    out = _node(gate=1.0)(embeds, mask, nodes, g.batch, g.span, spans)
    assert torch.equal(out[1], embeds[1]) and not torch.equal(out[0], embeds[0])
    assert torch.isfinite(out).all()


def test_node_examples_attend_only_to_their_own_graph(tok):
    g, nodes, embeds, mask, spans = _setup(tok)
    f = _node(gate=1.0)
    out = f(embeds, mask, nodes, g.batch, g.span, spans)
    changed = nodes.clone()
    changed[g.batch == 1] += 1.0
    out2 = f(embeds, mask, changed, g.batch, g.span, spans)
    assert torch.equal(out[0], out2[0]) and not torch.allclose(out[1], out2[1])


def test_node_span_bias_targets_covering_nodes(tok):
    """With zero query weights the scores are only the span bias: a token attends uniformly to
    the nodes covering it, and uniformly to all nodes when none covers it."""
    g, nodes, embeds, mask, spans = _setup(tok)
    f = _node(span_bias=60.0, gate=1.0)
    with torch.no_grad():
        f.q.weight.zero_()
    out = f(embeds, mask, nodes, g.batch, g.span, spans)
    v = f.v(nodes[g.batch == 0])  # example 0: 5 nodes
    # token 2 = bytes [6, 7): covered by FILE, METHOD, PARAM (nodes 0, 1, 2)
    expect = embeds[0, 2] + f.o(v[[0, 1, 2]].mean(0))
    assert torch.allclose(out[0, 2], expect, atol=1e-5)
    # token 4 = bytes [21, 22): FILE, METHOD, RETURN, IDENTIFIER (nodes 0, 1, 3, 4)
    assert torch.allclose(out[0, 4], embeds[0, 4] + f.o(v[[0, 1, 3, 4]].mean(0)), atol=1e-5)
    # token 5 has no span: all 5 nodes
    assert torch.allclose(out[0, 5], embeds[0, 5] + f.o(v.mean(0)), atol=1e-5)


def test_node_graph_encoder_gets_gradient_and_graph_changes_output(tok):
    from ttune.transducer import Transducer, TransducerConfig, featurize

    emb = torch.nn.Embedding(len(tok), D)
    torch.manual_seed(0)
    t = Transducer(TransducerConfig(), D, emb)
    enc = tok([SRC, SRC], return_tensors="pt")
    x = emb(enc["input_ids"]).detach()
    g1 = Batch.from_data_list([featurize(hand_cpg(), tok)] * 2)
    g2 = Batch.from_data_list([featurize(hand_cpg(ddg=False), tok)] * 2)
    t(x, enc["attention_mask"], g1).sum().backward()
    assert t.fusion.o.weight.grad.abs().sum() > 0  # W_o trains from step 0
    assert t.fusion.gate.grad.abs().sum() == 0  # (W_o = 0: nothing to scale yet)
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in t.gve.parameters())
    with torch.no_grad():
        t.fusion.o.weight.add_(0.01)  # as after one optimizer step
    t.zero_grad()
    out = t(x, enc["attention_mask"], g1)
    out.pow(2).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in t.gve.parameters())
    assert not torch.allclose(out, t(x, enc["attention_mask"], g2))  # different edges, other output


def _paper_grads(tok, dtype):
    from ttune.transducer import Transducer, TransducerConfig, featurize

    emb = torch.nn.Embedding(len(tok), D)
    torch.manual_seed(0)
    t = Transducer(TransducerConfig(fusion="paper", graph_dim=G), D, emb).to(dtype)
    enc = tok([SRC, "x = 1"], return_tensors="pt", padding=True)
    x = emb(enc["input_ids"]).detach().to(dtype)
    g = Batch.from_data_list(
        [featurize(hand_cpg(), tok), featurize(hand_cpg(ddg=False), tok, max_graph_nodes=3)]
    )
    out = t(x, enc["attention_mask"], g)
    (out * torch.randn_like(out)).sum().backward()
    gve = max(p.grad.abs().max().item() for p in t.gve.parameters())
    values = t.fusion.v.weight.grad.abs().max().item()
    return t, x, enc, g, out, gve, values


def test_paper_graph_encoder_gradient_is_zero(tok):
    """Every key row is the same pooled vector, so softmax is exactly uniform and the graph
    encoder's true gradient is zero. Autograd's softmax backward leaves only rounding residue:
    ~1e-8 in float32 and ~1e-17 in float64, against O(1) gradients of the value projection."""
    *_, gve32, v32 = _paper_grads(tok, torch.float32)
    *_, gve64, v64 = _paper_grads(tok, torch.float64)
    assert v32 > 1e-2 and gve32 < 1e-6 * v32
    assert v64 > 1e-2 and gve64 < 1e-13 * v64


def test_paper_output_ignores_graph_replaces_embeddings_and_attends_padding(tok):
    from ttune.transducer import featurize

    t, x, enc, g, out, *_ = _paper_grads(tok, torch.float32)
    other = Batch.from_data_list([featurize(hand_cpg(ddg=False), tok, max_graph_nodes=2)] * 2)
    with torch.no_grad():
        assert torch.equal(
            t(x, enc["attention_mask"], other), out
        )  # the graph has no effect at all
        assert torch.allclose(
            out[:, :1].expand_as(out), out, atol=1e-6
        )  # the same vector at every position
        assert not torch.allclose(out, x, atol=1e-2)  # no residual: replaced
        assert (enc["attention_mask"][1] == 0).any()
        x2 = x.clone()
        x2[1][enc["attention_mask"][1] == 0] += 1.0  # change only padding positions
        assert not torch.allclose(t(x2, enc["attention_mask"], g)[1], out[1])
