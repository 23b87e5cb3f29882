r"""``topro``: token-level prompt decomposition around a base method.

Ma et al., EACL 2024, "ToPro: Token-Level Prompt Decomposition for Cross-Lingual Sequence
Labeling", label a sentence by applying one prompt template to each token separately. On the
``types`` task (:mod:`ttune.data.types`) the tokens to label are the function's identifiers: a
function with n identifiers becomes n prompted examples

.. code-block:: text

    <code without annotations>
    # the type of `x` is <extra_id_0>          -> target: the type of x

(:meth:`ToProModel.expand_records`), and the n generated types are put back together as the
function's ``x: T; y: U`` prediction (:meth:`ToProModel.merge_predictions`), which the task's
per-identifier metrics score. The model itself is the base method (``prompt``, ``lora``,
``transducer``, any registered one), unchanged: the comparison with that base method trained on
the plain ``types`` records (all identifiers' types in one output sequence) isolates the
decomposition. The trainer and :func:`ttune.train.predict.predict` call both hooks.

Trainable parameters: exactly the base method's (e.g. ``prompt`` with 25 tokens on CodeT5+ 220M:
25 x 768 = 19,200); the decomposition adds none.

Choices where the paper gives no detail for this setting: the template is a code comment after the
function (ToPro's templates are natural-language questions with the token quoted; T5's
``<extra_id_0>`` sentinel stands for the answer slot); the n examples of a function are trained as
independent examples in the same shuffled stream; an identifier's prediction is the generated
text, stripped.

Args (config fields):
    base (str): the wrapped method's name. base_options (dict): its config fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import Tensor

from ttune.data.types import format_types, identifiers_of, parse_types
from ttune.methods.base import (
    AdaptedModel,
    GraphOptions,
    MethodConfig,
    MethodConfigError,
    MethodError,
)
from ttune.methods.registry import apply_method, make_config, register_method

TOKEN_TASKS = ("types",)


@dataclass
class ToProConfig(MethodConfig):
    """ToPro around ``base`` configured by ``base_options``."""

    name = "topro"
    version = 1

    base: str = "prompt"
    """The wrapped method: any registered method but topro (prompt, lora, transducer, ...)."""
    base_options: dict[str, Any] = field(default_factory=dict)
    """Config fields of the base method, e.g. {"num_virtual_tokens": 25}."""

    def __post_init__(self) -> None:
        if not isinstance(self.base, str) or self.base == "topro":
            raise MethodConfigError(f"topro: base must name another method, got {self.base!r}")
        if not isinstance(self.base_options, dict):
            raise MethodConfigError(
                f"topro: base_options must be an object, got {self.base_options!r}"
            )
        try:
            self.base_config()
        except ValueError as e:
            why = str(e).splitlines()[0]
            raise MethodConfigError(f"topro: base {self.base!r}: {why}") from None

    def base_config(self) -> MethodConfig:
        """The wrapped method's config."""
        return make_config(self.base, **self.base_options)

    def graph_options(self) -> GraphOptions:
        """The base method's featurization options (it reads the graphs, if any)."""
        return self.base_config().graph_options()


class ToProModel(AdaptedModel):
    """The base method's model, reading one prompted example per identifier."""

    def __init__(self, backbone, config: ToProConfig, inner: AdaptedModel) -> None:
        super().__init__(backbone, config, model=inner.model)
        self.base = inner

    @property
    def needs_graph(self) -> bool:  # type: ignore[override]
        return self.base.needs_graph

    # ------------------------------------------------------------------ decomposition
    def expand_records(self, records: list[dict], task) -> list[dict]:
        """One record per identifier: ``query`` names it, ``target`` (if any) is its type alone."""
        if getattr(task, "name", None) not in TOKEN_TASKS:
            raise MethodError(
                f"topro decomposes token-level tasks ({', '.join(TOKEN_TASKS)}); "
                f"task {getattr(task, 'name', '?')!r} is not one"
            )
        out = []
        for i, rec in enumerate(records):
            gold = parse_types(rec["target"]) if isinstance(rec.get("target"), str) else None
            rid = rec.get("id", i)
            for name in identifiers_of(rec):
                one = {k: v for k, v in rec.items() if k not in ("target", "identifiers")}
                one.update(id=f"{rid}#{name}", query=name, identifiers=[name])
                if gold is not None:
                    one["target"] = gold.get(name, "")
                out.append(one)
        return out

    def merge_predictions(self, records: list[dict], predictions: list[str], task) -> list[str]:
        """The per-identifier predictions of :meth:`expand_records` back as one text per record."""
        names = [identifiers_of(rec) for rec in records]
        if sum(map(len, names)) != len(predictions):
            raise MethodError(
                f"topro: {len(predictions)} predictions for {sum(map(len, names))} identifiers"
            )
        out, k = [], 0
        for ids in names:
            mine = predictions[k : k + len(ids)]
            out.append(format_types([(n, p.strip()) for n, p in zip(ids, mine)]))
            k += len(ids)
        return out

    # ------------------------------------------------------------------ the base method
    def prepare_inputs(
        self, input_ids: Tensor, attention_mask: Tensor, graph=None, token_spans=None
    ) -> dict:
        return self.base.prepare_inputs(input_ids, attention_mask, graph, token_spans)

    def _generate(self, inputs: dict, **kw) -> Tensor:
        return self.base._generate(inputs, **kw)

    def after_optimizer_step(self, step: int, optimizer=None) -> None:
        self.base.after_optimizer_step(step, optimizer)

    def trainable_parameters(self):
        return self.base.trainable_parameters()

    def num_trainable(self) -> int:
        return self.base.num_trainable()

    def method_state_dict(self) -> dict[str, Tensor]:
        return self.base.method_state_dict()

    def load_method_state_dict(self, sd: dict[str, Tensor]) -> None:
        self.base.load_method_state_dict(sd)


def apply(backbone, config: ToProConfig, tokenizer=None) -> ToProModel:
    return ToProModel(backbone, config, apply_method(backbone, config.base_config(), tokenizer))


register_method("topro", ToProConfig, apply)
