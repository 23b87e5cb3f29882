"""Ablations of the transducer, registered as methods of their own (issue 6, part 2).

Each is a thin preset of :class:`ttune.methods.transducer.TransducerMethodConfig`: the same fields,
one of them given another default, and a check in ``__post_init__`` that the preset's defining
property still holds when a user overrides fields (``transducer-no-ddg`` with DDG put back would be
a lie in every results table). They build the same :class:`TransducerModel`, save and load like
``transducer``, and can be compared with it by ``ttune compare``.

=====================  ===================================================================
method                 what changes against ``transducer`` (gnn="gatv2", fusion="node", all edges)
=====================  ===================================================================
transducer-nograph     ``gnn="none"``: no graph encoder. Each node's label vector goes
                       through RMSNorm -> down -> up projection alone; no message passing, the
                       CPG's edges are never read. The fusion still attends over the nodes (with
                       the span bias toward the nodes covering each token), so this measures
                       what the edges add on top of the node labels.
transducer-linear      ``gnn="linear"``: the GNN layer replaced by a per-node ``Linear(b, b)``
                       (the paper's GVE_Linear): the same depth as gatv2, no edges.
transducer-paper       ``fusion="paper"``: the released code's fusion (one pooled graph vector
                       at every position, no residual gate); see ttune.transducer.fusion.
transducer-no-ast      ``edge_types`` without AST (the GNN never sees AST edges)
transducer-no-cfg      ``edge_types`` without CFG
transducer-no-cdg      ``edge_types`` without CDG
transducer-no-ddg      ``edge_types`` without DDG
=====================  ===================================================================

Edges of a removed type are dropped inside the GVE before the GNN (``relation_of`` maps the type
to -1), so the CPG cache and featurization stay shared with ``transducer``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ttune.cpg.graph import EDGE_TYPES
from ttune.methods.base import MethodConfigError
from ttune.methods.registry import register_method
from ttune.methods.transducer import TransducerMethodConfig, apply


def _without(edge_type: str) -> tuple[str, ...]:
    return tuple(t for t in EDGE_TYPES if t != edge_type)


def _require(config: TransducerMethodConfig, ok: bool, what: str) -> None:
    if not ok:
        raise MethodConfigError(f"{config.name}: this ablation needs {what}")


@dataclass
class NoGraphConfig(TransducerMethodConfig):
    """Transducer without a graph encoder: node-label vectors only, no edges (``gnn="none"``)."""

    name = "transducer-nograph"
    gnn: str = "none"
    """Fixed to "none" (no message passing) by this ablation."""

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(self, self.gnn == "none", 'gnn="none"')


@dataclass
class LinearGNNConfig(TransducerMethodConfig):
    """Transducer with the GNN replaced by a per-node linear map (``gnn="linear"``)."""

    name = "transducer-linear"
    gnn: str = "linear"
    """Fixed to "linear" (a per-node Linear(b, b) instead of GATv2) by this ablation."""

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(self, self.gnn == "linear", 'gnn="linear"')


@dataclass
class PaperFusionConfig(TransducerMethodConfig):
    """Transducer with the paper's fusion (``fusion="paper"``) instead of the corrected node
    fusion."""

    name = "transducer-paper"
    fusion: str = "paper"
    """Fixed to "paper" (the released design) by this ablation."""

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(self, self.fusion == "paper", 'fusion="paper"')


class _NoEdgeMixin:
    """Check shared by the edge-type ablations: ``removed`` never comes back into ``edge_types``."""

    removed = ""

    def _check_removed(self) -> None:
        _require(self, self.removed not in self.edge_types, f"edge_types without {self.removed}")


@dataclass
class NoASTConfig(_NoEdgeMixin, TransducerMethodConfig):
    """Transducer whose GNN never sees AST edges."""

    name = "transducer-no-ast"
    removed = "AST"
    edge_types: tuple[str, ...] = field(default_factory=lambda: _without("AST"))
    """CPG edge types the GNN sees: all but AST."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._check_removed()


@dataclass
class NoCFGConfig(_NoEdgeMixin, TransducerMethodConfig):
    """Transducer whose GNN never sees CFG edges."""

    name = "transducer-no-cfg"
    removed = "CFG"
    edge_types: tuple[str, ...] = field(default_factory=lambda: _without("CFG"))
    """CPG edge types the GNN sees: all but CFG."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._check_removed()


@dataclass
class NoCDGConfig(_NoEdgeMixin, TransducerMethodConfig):
    """Transducer whose GNN never sees CDG edges."""

    name = "transducer-no-cdg"
    removed = "CDG"
    edge_types: tuple[str, ...] = field(default_factory=lambda: _without("CDG"))
    """CPG edge types the GNN sees: all but CDG."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._check_removed()


@dataclass
class NoDDGConfig(_NoEdgeMixin, TransducerMethodConfig):
    """Transducer whose GNN never sees DDG edges."""

    name = "transducer-no-ddg"
    removed = "DDG"
    edge_types: tuple[str, ...] = field(default_factory=lambda: _without("DDG"))
    """CPG edge types the GNN sees: all but DDG."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._check_removed()


ABLATIONS = (
    "transducer-nograph",
    "transducer-linear",
    "transducer-paper",
    "transducer-no-ast",
    "transducer-no-cfg",
    "transducer-no-cdg",
    "transducer-no-ddg",
)

register_method("transducer-nograph", NoGraphConfig, apply)
register_method("transducer-linear", LinearGNNConfig, apply)
register_method("transducer-paper", PaperFusionConfig, apply)
register_method("transducer-no-ast", NoASTConfig, apply)
register_method("transducer-no-cfg", NoCFGConfig, apply)
register_method("transducer-no-cdg", NoCDGConfig, apply)
register_method("transducer-no-ddg", NoDDGConfig, apply)
