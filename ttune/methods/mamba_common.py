"""What the MambaPEFT methods share: finding a Mamba backbone's mixers, and the search space.

Yoshimura, Hayashi, Maeda, ICLR 2025, "MambaPEFT: Exploring Parameter-Efficient Fine-Tuning for
Mamba" (official code: sony/MambaPEFT). ttune's methods of that set, one module each:

================  =====================================  =============  ======================
method            what trains                            module         size field
================  =====================================  =============  ======================
mamba-lora        LoRA on in_proj / x_proj / out_proj    mamba_lora     ``r``
mamba-partial     A_log, D, conv1d, biases (selectable)  mamba_partial  (none)
prompt            soft tokens before the input           prompt         ``num_virtual_tokens``
affix             learned tokens at every mixer's input  mamba_affix    ``num_tokens``
additional-scan   extra state dimensions (A, B, C)       mamba_scan     ``num_states``
parallel-adapter  a bottleneck beside every mixer        mamba_adapter  ``bottleneck``
================  =====================================  =============  ======================

:data:`MAMBA_METHODS` lists them: the candidates of a hybrid search (:mod:`ttune.search`) on a
Mamba backbone; each config's ``search_space`` names the field that sets its size.

The methods act through forward hooks and wrapped mixer calls on Hugging Face's ``MambaMixer``
(transformers' pure-PyTorch path, used on CPU and whenever the CUDA kernels are absent). The
fused CUDA training kernel (``mamba_inner_fn``, used only when ``mamba_ssm`` is installed and the
model trains without a cache) reads ``x_proj`` / ``out_proj`` weights directly and would bypass
the hooks; ttune does not install ``mamba_ssm``.
"""

from __future__ import annotations

from torch import nn

from ttune.methods.base import MethodConfigError

MAMBA_METHODS: tuple[str, ...] = (
    "mamba-lora",
    "mamba-partial",
    "prompt",
    "affix",
    "additional-scan",
    "parallel-adapter",
)
"""The MambaPEFT method names, in the table's order."""


def mamba_mixers(backbone: nn.Module, method: str, versions=("mamba", "mamba2")) -> list:
    """The mixer module of every layer of a Mamba backbone, in layer order; another backbone (or
    a Mamba version the method does not support) -> MethodConfigError naming the method."""
    model_type = str(getattr(backbone.config, "model_type", ""))
    if model_type not in versions:
        raise MethodConfigError(
            f"{method}: needs a {' or '.join(versions)} backbone, not {model_type or 'this model'}"
        )
    return [layer.mixer for layer in backbone.base_model.layers]


def check_positive(method: str, field: str, value) -> None:
    """``value`` must be an int >= 1 (not a bool)."""
    if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        raise MethodConfigError(f"{method}: {field} must be an integer >= 1, got {value!r}")


def check_bool(method: str, field: str, value) -> None:
    if not isinstance(value, bool):
        raise MethodConfigError(f"{method}: {field} must be true or false, got {value!r}")
