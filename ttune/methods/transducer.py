"""``transducer``: Transducer Tuning (Yusuf & Jiang, arXiv 2412.13467).

inputs_embeds = fusion(embed(input_ids), GVE(graph)), then the frozen backbone reads them (in
forward and in generate). Only the transducer's own parameters train; see
:mod:`ttune.transducer.model` for the architecture and parameter arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from ttune.methods.base import AdaptedModel, GraphOptions, MethodConfig, MethodConfigError
from ttune.methods.registry import register_method
from ttune.transducer.model import Transducer, TransducerConfig, TransducerConfigError


@dataclass
class TransducerMethodConfig(TransducerConfig, MethodConfig):
    """The transducer's configuration (fields of :class:`ttune.transducer.TransducerConfig`)."""

    name = "transducer"
    version = 1
    search_space = {"graph_bottleneck": (2, 32), "fusion_dim": (2, 32)}
    renamed_fields = {"max_nodes": "max_graph_nodes"}

    def __post_init__(self) -> None:
        try:
            super().__post_init__()
        except TransducerConfigError as e:
            raise MethodConfigError(f"transducer: {e}") from None

    def graph_options(self) -> GraphOptions:
        return GraphOptions(
            max_graph_nodes=self.max_graph_nodes, max_label_tokens=self.max_label_tokens
        )


class TransducerModel(AdaptedModel):
    """The backbone reading transducer-rewritten embeddings. ``needs_graph`` is True."""

    needs_graph = True

    def __init__(self, backbone, config: TransducerMethodConfig) -> None:
        super().__init__(backbone, config)
        emb = backbone.get_input_embeddings()
        try:
            self.transducer = Transducer(config, emb.weight.shape[1], emb).to(emb.weight.device)
        except (TransducerConfigError, ValueError) as e:
            raise MethodConfigError(f"transducer: {e}") from None

    def prepare_inputs(
        self, input_ids: Tensor, attention_mask: Tensor, graph=None, token_spans=None
    ) -> dict:
        embeds = self.transducer(self.embed(input_ids), attention_mask, graph, token_spans)
        return {"inputs_embeds": embeds, "attention_mask": attention_mask}


def apply(backbone, config: TransducerMethodConfig, tokenizer=None) -> TransducerModel:
    return TransducerModel(backbone, config)


register_method("transducer", TransducerMethodConfig, apply)
