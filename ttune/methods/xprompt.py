r"""``xprompt``: prompt tuning with hierarchical structured pruning and rewinding.

Ma et al., EMNLP 2022, "XPrompt: Exploring the Extreme of Prompt Tuning". One training run goes
through three stages; the trainer calls :meth:`XPromptModel.after_optimizer_step` after every
optimizer step, and the stage, masks, importance sums and stage-(a) snapshot are saved with the
method's weights, so a killed run resumes in the stage it was in.

(a) **Prompt tuning** of m soft tokens :math:`P \in \mathbb{R}^{m \times d}` for ``stage_a_steps``
    optimizer steps; then :math:`P` is snapshotted.
(b) **Hierarchical structured pruning.** The prompt the backbone reads is

    .. math::
        \tilde P_{i} = \gamma_i \,(P_{i} \odot \mathrm{repeat}(\zeta_{i}, d/k))

    with token masks :math:`\gamma \in \{0,1\}^m` and piece masks :math:`\zeta \in \{0,1\}^{m
    \times k}` over k equal pieces of each token's vector. Training continues for
    ``token_rounds + piece_rounds`` rounds of ``round_steps`` steps; during a round the importance
    of every mask variable is the expected absolute gradient of the loss with respect to it,
    :math:`I = \mathbb{E}_{batch} |\partial L / \partial \gamma|` (resp. :math:`\zeta`), averaged
    over the round's training batches. At the end of a token round the ``token_prune_ratio``
    fraction of the surviving tokens with the lowest importance is removed; then piece rounds
    remove ``piece_prune_ratio`` of the surviving pieces (ranked over all surviving tokens
    together). Pruned entries are set to zero, their AdamW moments too, and the mask gives them a
    zero gradient, so they stay zero.
(c) **Rewinding** (lottery-ticket style): the surviving entries restart from their stage-(a)
    values (:math:`P \leftarrow P^{(a)} \odot \mathrm{mask}`), the prompt's optimizer state is
    reset, and training continues with the masks fixed until the run ends.

Trainable parameters: the surviving pieces times d/k (m d before pruning). CodeT5+ 220M
(d = 768), m = 20, k = 16: 20 x 768 = 15,360 before pruning; after one token round at 0.25
(15 tokens left) and one piece round at 0.25 (240 -> 180 pieces): 180 x 48 = 8,640.
:meth:`XPromptModel.num_trainable` reports the surviving count (the stored tensor keeps its
m x d shape, with zeros where pruned).

Choices where the paper leaves details open: pieces are ranked globally across the surviving
tokens (not per token); each round removes ``floor(ratio x survivors)`` entries and always keeps at
least one token and one piece per surviving token; pruning happens while the prompt keeps
training (the importance is gathered on the same batches); the rewind resets AdamW's moments of
the prompt; prompt rows start as embeddings of random vocabulary tokens (seeded), as in
``prompt``.

Args (config fields):
    num_virtual_tokens (int): m. pieces (int): k (must divide d).
    stage_a_steps (int), round_steps (int), token_rounds (int), piece_rounds (int),
    token_prune_ratio (float), piece_prune_ratio (float), seed (int).

Shapes:
    - embeds: ``[B, T, d]`` -> ``[B, m + T, d]``; token_mask ``[m]``; piece_mask ``[m, k]``
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ttune.methods.base import AdaptedModel, CheckpointError, MethodConfig, MethodConfigError
from ttune.methods.prompt import SoftPrompt
from ttune.methods.registry import register_method

STAGES = ("prompt-tuning", "pruning", "rewinding")
STATE_PREFIX = "xprompt_state."


@dataclass
class XPromptConfig(MethodConfig):
    """Prompt tuning -> token- then piece-level pruning -> rewinding, in one run."""

    name = "xprompt"
    version = 1

    num_virtual_tokens: int = 20
    """Prompt length m before pruning."""
    pieces: int = 16
    """Number k of equal pieces each token vector is split into (must divide d_model)."""
    stage_a_steps: int = 1000
    """Optimizer steps of plain prompt tuning (stage a) before pruning starts."""
    round_steps: int = 100
    """Optimizer steps per pruning round (importance is averaged over their batches)."""
    token_rounds: int = 1
    """Token-level pruning rounds."""
    piece_rounds: int = 1
    """Piece-level pruning rounds (after the token rounds)."""
    token_prune_ratio: float = 0.25
    """Fraction of the surviving tokens removed per token round."""
    piece_prune_ratio: float = 0.25
    """Fraction of the surviving pieces removed per piece round."""
    seed: int = 0
    """Seed of the prompt initialisation."""

    def __post_init__(self) -> None:
        def need(ok: bool, what: str, v) -> None:
            if not ok:
                raise MethodConfigError(f"xprompt: {what} (got {v!r})")

        for name, low in (
            ("num_virtual_tokens", 1),
            ("pieces", 1),
            ("stage_a_steps", 1),
            ("round_steps", 1),
            ("token_rounds", 0),
            ("piece_rounds", 0),
        ):
            v = getattr(self, name)
            need(
                isinstance(v, int) and not isinstance(v, bool) and v >= low,
                f"{name} must be an integer >= {low}",
                v,
            )
        for name in ("token_prune_ratio", "piece_prune_ratio"):
            v = getattr(self, name)
            need(
                isinstance(v, (int, float)) and not isinstance(v, bool) and 0.0 <= v < 1.0,
                f"{name} must be in [0, 1)",
                v,
            )

    @property
    def pruning_end(self) -> int:
        """The optimizer step after which stage (c) begins."""
        return self.stage_a_steps + (self.token_rounds + self.piece_rounds) * self.round_steps


class XPromptModel(AdaptedModel):
    """Soft prompt with token and piece masks; ``after_optimizer_step`` runs the stages."""

    def __init__(self, backbone, config: XPromptConfig) -> None:
        super().__init__(backbone, config)
        emb = backbone.get_input_embeddings()
        m, k, d = config.num_virtual_tokens, config.pieces, emb.weight.shape[1]
        if d % k:
            raise MethodConfigError(f"xprompt: pieces {k} does not divide d_model {d}")
        self.prompt = SoftPrompt(m, emb, "vocab", config.seed)
        kw = {"device": emb.weight.device}
        fkw = {**kw, "dtype": torch.float32}
        self.register_buffer("stage", torch.zeros((), dtype=torch.long, **kw))
        self.register_buffer("round", torch.zeros((), dtype=torch.long, **kw))
        self.register_buffer("batches", torch.zeros((), dtype=torch.long, **kw))
        self.register_buffer("token_mask", torch.ones(m, **fkw))
        self.register_buffer("piece_mask", torch.ones(m, k, **fkw))
        self.register_buffer("token_importance", torch.zeros(m, **fkw))
        self.register_buffer("piece_importance", torch.zeros(m, k, **fkw))
        self.register_buffer("snapshot", torch.zeros(m, d, **fkw))

    # ------------------------------------------------------------------ the prompt
    @property
    def stage_name(self) -> str:
        return STAGES[int(self.stage)]

    def full_mask(self) -> Tensor:
        """The 0/1 mask over the prompt's entries. Shapes: ``[m, d]``."""
        d = self.prompt.weight.shape[1]
        pieces = self.piece_mask.repeat_interleave(d // self.config.pieces, 1)
        return self.token_mask[:, None] * pieces

    def masked_prompt(self) -> Tensor:
        """The prompt the backbone reads. In stage (b) training, the masks are differentiable
        variables whose gradient magnitudes are accumulated as importance scores."""
        d = self.prompt.weight.shape[1]
        token, piece = self.token_mask, self.piece_mask
        if int(self.stage) == 1 and self.training and torch.is_grad_enabled():
            token = token.clone().requires_grad_(True)
            piece = piece.clone().requires_grad_(True)
            token.register_hook(self._accumulate(self.token_importance))
            piece.register_hook(self._accumulate(self.piece_importance))
            self.batches += 1
        mask = token[:, None] * piece.repeat_interleave(d // self.config.pieces, 1)
        return self.prompt.weight * mask.to(self.prompt.weight.dtype)

    @staticmethod
    def _accumulate(into: Tensor):
        def hook(grad: Tensor) -> None:
            into.add_(grad.detach().abs().float())

        return hook

    def prepare_inputs(
        self, input_ids: Tensor, attention_mask: Tensor, graph=None, token_spans=None
    ) -> dict:
        embeds = self.embed(input_ids)
        B = embeds.shape[0]
        prompt = self.masked_prompt().unsqueeze(0).expand(B, -1, -1).to(embeds.dtype)
        ones = attention_mask.new_ones(B, prompt.shape[1])
        return {
            "inputs_embeds": torch.cat([prompt, embeds], 1),
            "attention_mask": torch.cat([ones, attention_mask], 1),
        }

    # ------------------------------------------------------------------ the stages
    def after_optimizer_step(self, step: int, optimizer=None) -> None:
        """Advance the stage machine after optimizer step ``step`` (1-based)."""
        c = self.config
        if int(self.stage) == 0 and step >= c.stage_a_steps:
            self.snapshot.copy_(self.prompt.weight.detach().float())
            self.stage.fill_(1)
            self._reset_importance()
            if c.token_rounds + c.piece_rounds == 0:
                self._rewind(optimizer)
            return
        since = step - c.stage_a_steps
        if int(self.stage) == 1 and since > 0 and since % c.round_steps == 0:
            if int(self.round) < c.token_rounds:
                self._prune_tokens()
            else:
                self._prune_pieces()
            self.round += 1
            self._zero_pruned(optimizer)
            self._reset_importance()
            if int(self.round) >= c.token_rounds + c.piece_rounds:
                self._rewind(optimizer)

    def _reset_importance(self) -> None:
        self.token_importance.zero_()
        self.piece_importance.zero_()
        self.batches.zero_()

    def _prune_tokens(self) -> None:
        alive = self.token_mask > 0
        n = int(alive.sum())
        remove = min(int(self.config.token_prune_ratio * n), n - 1)
        if remove <= 0:
            return
        score = self.token_importance.masked_fill(~alive, float("inf"))
        drop = score.argsort(stable=True)[:remove]
        self.token_mask[drop] = 0.0
        self.piece_mask[drop] = 0.0

    def _prune_pieces(self) -> None:
        alive = self.piece_mask > 0
        alive_tokens = alive.any(1)
        n = int(alive.sum())
        remove = min(int(self.config.piece_prune_ratio * n), n - int(alive_tokens.sum()))
        if remove <= 0:
            return
        score = self.piece_importance.masked_fill(~alive, float("inf"))
        # a token's best surviving piece is never removed (each surviving token keeps one piece)
        best = score.masked_fill(~alive, -float("inf")).argmax(1)
        keep = torch.zeros_like(alive)
        keep[torch.arange(len(best), device=best.device), best] = True
        score = score.masked_fill(keep & alive, float("inf"))
        drop = score.flatten().argsort(stable=True)[:remove]
        flat = self.piece_mask.view(-1)
        flat[drop] = 0.0

    def _zero_pruned(self, optimizer) -> None:
        mask = self.full_mask().to(self.prompt.weight.dtype)
        with torch.no_grad():
            self.prompt.weight.mul_(mask)
        state = getattr(optimizer, "state", {}) if optimizer is not None else {}
        for v in state.get(self.prompt.weight, {}).values():
            if torch.is_tensor(v) and v.shape == mask.shape:
                v.mul_(mask.to(v.dtype))

    def _rewind(self, optimizer) -> None:
        with torch.no_grad():
            rewound = self.snapshot * self.full_mask()
            self.prompt.weight.copy_(rewound.to(self.prompt.weight.dtype))
        self.stage.fill_(2)
        state = getattr(optimizer, "state", None) if optimizer is not None else None
        if state is not None:
            state.pop(self.prompt.weight, None)

    # ------------------------------------------------------------------ counts and saving
    def num_trainable(self) -> int:
        """Surviving pieces x d/k (the m x d tensor keeps zeros where pruned)."""
        d = self.prompt.weight.shape[1]
        if self.piece_mask.is_meta:
            return self.prompt.weight.numel()
        return int(self.piece_mask.sum()) * (d // self.config.pieces)

    def method_state_dict(self) -> dict[str, Tensor]:
        """The prompt plus the stage machine (stage, round, masks, importance, snapshot)."""
        out = super().method_state_dict()
        for name, buf in self.named_buffers():
            if "." not in name:
                out[STATE_PREFIX + name] = buf.detach().cpu().contiguous()
        return out

    def load_method_state_dict(self, sd: dict[str, Tensor]) -> None:
        own = {n: b for n, b in self.named_buffers() if "." not in n}
        state = {k[len(STATE_PREFIX) :]: v for k, v in sd.items() if k.startswith(STATE_PREFIX)}
        if sorted(state) != sorted(own):
            raise CheckpointError(
                f"xprompt state does not match: has {sorted(state)}, expected {sorted(own)}"
            )
        for n, b in own.items():
            if tuple(state[n].shape) != tuple(b.shape):
                raise CheckpointError(
                    f"xprompt state {n} has shape {tuple(state[n].shape)}, "
                    f"expected {tuple(b.shape)}"
                )
        super().load_method_state_dict(
            {k: v for k, v in sd.items() if not k.startswith(STATE_PREFIX)}
        )
        with torch.no_grad():
            for n, b in own.items():
                b.copy_(state[n].to(device=b.device, dtype=b.dtype))


def apply(backbone, config: XPromptConfig, tokenizer=None) -> XPromptModel:
    return XPromptModel(backbone, config)


register_method("xprompt", XPromptConfig, apply)
