"""ttune.scan: the linear-time selective scan computes what transformers' token loop computes
(outputs, last state and gradients), and Mamba backbones built or loaded by ttune run it."""

from __future__ import annotations

import pytest
import torch
from transformers.models.mamba import modeling_mamba

from ttune.backbone import build_tokenizer, load_backbone, save_backbone, tiny_causal_backbone
from ttune.scan import TRANSFORMERS_SCAN, SelectiveScan, selective_scan


def test_the_scan_function_has_exact_gradients():
    """gradcheck in float64 of the autograd function, every input and both outputs."""
    g = torch.Generator().manual_seed(0)
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64, requires_grad=True)  # noqa: E731
    delta = torch.rand(5, 2, 3, generator=g, dtype=torch.float64).add(0.1).requires_grad_()
    A = (-torch.rand(3, 4, generator=g, dtype=torch.float64) - 0.5).requires_grad_()
    args = (delta, r(5, 2, 3), A, r(5, 2, 4), r(5, 2, 4))
    assert torch.autograd.gradcheck(SelectiveScan.apply, args)


def inputs(seed: int, batch=2, d=6, n=4, length=9, dtype=torch.float32) -> dict:
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g, dtype=dtype)  # noqa: E731
    return dict(
        hidden_states=r(batch, d, length),
        dt=r(batch, d, length),
        A=-torch.rand(d, n, generator=g).mul(4).add(0.5),
        B=r(batch, n, length),
        C=r(batch, n, length),
        D=r(d),
        z=r(batch, d, length),
        delta_bias=r(d),
    )


@pytest.mark.parametrize("with_d_z", [True, False])
def test_selective_scan_matches_transformers(with_d_z):
    x = inputs(1)
    if not with_d_z:
        x.update(D=None, z=None)
    for v in x.values():
        if v is not None:
            v.requires_grad_()
    kw = dict(delta_softplus=True, return_last_state=True)
    (y0, s0), (y1, s1) = TRANSFORMERS_SCAN(**x, **kw), selective_scan(**x, **kw)
    assert y1.shape == y0.shape == (2, 6, 9) and s1.shape == s0.shape == (2, 6, 4)
    torch.testing.assert_close(y1, y0, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(s1, s0, rtol=1e-5, atol=1e-5)
    w = torch.randn(y0.shape, generator=torch.Generator().manual_seed(2))
    names = [k for k, v in x.items() if v is not None]
    g0 = torch.autograd.grad((y0 * w).sum() + s0.sum(), [x[k] for k in names])
    g1 = torch.autograd.grad((y1 * w).sum() + s1.sum(), [x[k] for k in names])
    for k, a, b in zip(names, g0, g1, strict=True):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5, msg=k)


def test_mamba_backbones_run_the_linear_scan(tmp_path):
    texts = [f"def f{i}(x):\n    return x + {i}\n" for i in range(40)]
    tok = build_tokenizer(texts, vocab_size=300)
    model = tiny_causal_backbone(tok, "mamba", hidden=16)
    assert modeling_mamba.mamba_selective_scan is selective_scan
    ids = tok(texts[:3], return_tensors="pt", padding=True).input_ids
    with torch.no_grad():
        fast = model(ids).logits
        modeling_mamba.mamba_selective_scan = TRANSFORMERS_SCAN
        try:
            slow = model(ids).logits
            loaded, _ = load_backbone(str(save_backbone(model, tok, tmp_path / "bb")))
            assert modeling_mamba.mamba_selective_scan is selective_scan  # loading routes it again
        finally:
            modeling_mamba.mamba_selective_scan = selective_scan
        torch.testing.assert_close(fast, slow, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(loaded(ids).logits, fast, rtol=1e-5, atol=1e-5)
