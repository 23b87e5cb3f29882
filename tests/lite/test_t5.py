"""The plain-torch T5 gives transformers' logits and greedy ids on the same weights."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import T5Config as HFConfig
from transformers import T5ForConditionalGeneration

from ttune.backbone import PAD_ID, build_tokenizer, save_backbone, tiny_backbone
from ttune.lite.t5 import (
    LiteT5Error,
    T5Config,
    ban_repeated_ngrams,
    beam_search,
    greedy,
    load_t5,
)

TEXTS = ["def add(a, b):\n    return a + b\n", "class Stack:\n    def push(self, x): pass\n"]


def _batch(vocab: int, B: int = 3, T: int = 11, seed: int = 0):
    """Random ids with right padding in rows 1 and 2 (lengths T, T-4, 3)."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, vocab, (B, T), generator=g)
    mask = torch.ones(B, T, dtype=torch.long)
    mask[1, T - 4 :] = 0
    mask[2, 3:] = 0
    ids[mask == 0] = PAD_ID
    dec = torch.randint(3, vocab, (B, 6), generator=g)
    dec[:, 0] = PAD_ID
    return ids, mask, dec


def _gated_untied(folder, tok):
    """A random T5 with a gated-GELU feed-forward and an untied LM head, saved to ``folder``."""
    cfg = HFConfig(
        vocab_size=len(tok),
        d_model=32,
        d_kv=8,
        d_ff=48,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=4,
        feed_forward_proj="gated-gelu",
        tie_word_embeddings=False,
        dropout_rate=0.0,
        pad_token_id=PAD_ID,
        eos_token_id=1,
        decoder_start_token_id=PAD_ID,
    )
    torch.manual_seed(0)
    model = T5ForConditionalGeneration(cfg).eval()
    save_backbone(model, tok, folder)
    return model


@pytest.fixture(scope="module")
def small_models(tmp_path_factory):
    """[(transformers model, lite model)]: a tiny ReLU T5 (tied) and a gated-GELU one (untied)."""
    tok = build_tokenizer(TEXTS * 4, vocab_size=300)
    a, b = tmp_path_factory.mktemp("relu"), tmp_path_factory.mktemp("gated")
    relu = tiny_backbone(tok, d_model=32, d_ff=64, num_layers=2, num_heads=4, seed=1)
    save_backbone(relu, tok, a)
    gated = _gated_untied(b, tok)
    return [(relu, load_t5(a)), (gated, load_t5(b))]


def _hf_logits(model, embeds, mask, dec):
    with torch.no_grad():
        return model(inputs_embeds=embeds, attention_mask=mask, decoder_input_ids=dec).logits


def test_logits_equal_on_random_configs(small_models):
    for hf, lite in small_models:
        ids, mask, dec = _batch(hf.config.vocab_size)
        embeds = hf.get_input_embeddings()(ids)
        ref = _hf_logits(hf, embeds, mask, dec)
        with torch.no_grad():
            out = lite(embeds, mask, dec)
        assert out.shape == ref.shape == (3, 6, hf.config.vocab_size)
        torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)


def test_logits_equal_on_the_builtin_backbone(hf_tiny, lite_tiny):
    hf, tok = hf_tiny
    ids, mask, dec = _batch(len(tok), T=40, seed=3)
    embeds = hf.get_input_embeddings()(ids)
    ref = _hf_logits(hf, embeds, mask, dec)
    with torch.no_grad():
        out = lite_tiny(embeds, mask, dec)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-4)
    assert float(ref.abs().max()) > 1.0  # a real model's logits, not zeros


def test_cached_steps_equal_the_whole_decoder_pass(lite_tiny):
    ids, mask, dec = _batch(lite_tiny.cfg.vocab_size, seed=4)
    with torch.no_grad():
        embeds = lite_tiny.shared(ids)
        whole = lite_tiny(embeds, mask, dec)
        cross = lite_tiny.cross_cache(lite_tiny.encode(embeds, mask))
        cache, steps = None, []
        for t in range(dec.shape[1]):
            logits, cache = lite_tiny.decode_step(dec[:, t : t + 1], cross, mask, cache)
            steps.append(logits)
    torch.testing.assert_close(torch.cat(steps, 1), whole, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("ngram", [0, 2, 3])
def test_greedy_ids_equal_generate(small_models, hf_tiny, lite_tiny, ngram):
    for hf, lite in [*small_models, (hf_tiny[0], lite_tiny)]:
        ids, mask, _ = _batch(hf.config.vocab_size, T=20, seed=5)
        embeds = hf.get_input_embeddings()(ids)
        extra = {"no_repeat_ngram_size": ngram} if ngram else {}
        with torch.no_grad():
            ref = hf.generate(
                inputs_embeds=embeds, attention_mask=mask, num_beams=1, max_new_tokens=12, **extra
            )
        out = greedy(lite, embeds, mask, 12, ngram)
        assert out.tolist() == ref.tolist()
        assert out.shape[1] > 2


@pytest.mark.parametrize(("beams", "ngram", "new"), [(2, 0, 12), (4, 3, 12), (3, 2, 30)])
def test_beam_search_ids_equal_generate(small_models, hf_tiny, lite_tiny, beams, ngram, new):
    for hf, lite in [*small_models, (hf_tiny[0], lite_tiny)]:
        ids, mask, _ = _batch(hf.config.vocab_size, T=20, seed=7)
        embeds = hf.get_input_embeddings()(ids)
        extra = {"no_repeat_ngram_size": ngram} if ngram else {}
        with torch.no_grad():
            ref = hf.generate(
                inputs_embeds=embeds,
                attention_mask=mask,
                num_beams=beams,
                max_new_tokens=new,
                **extra,
            )
        out = beam_search(lite, embeds, mask, new, beams, ngram)
        assert out.tolist() == ref.tolist()
        assert out.shape[1] > 2


def test_greedy_stops_when_asked(lite_tiny):
    ids, mask, _ = _batch(lite_tiny.cfg.vocab_size, seed=6)
    calls = []
    out = greedy(
        lite_tiny, lite_tiny.shared(ids), mask, 30, should_stop=lambda: calls.append(1) or True
    )
    assert out.shape[1] == 2 and len(calls) == 1


def test_ban_repeated_ngrams():
    ids = torch.tensor([[0, 5, 6, 7, 5, 6], [0, 1, 2, 3, 4, 5]])
    scores = torch.zeros(2, 9)
    out = ban_repeated_ngrams(ids, scores, 3)
    assert out[0].isinf().nonzero().flatten().tolist() == [7]  # 5 6 -> 7 already seen
    assert not out[1].isinf().any()
    assert torch.equal(ban_repeated_ngrams(ids[:, :2], scores, 3), scores)


def test_config_refuses_other_models(tmp_path):
    with pytest.raises(LiteT5Error, match="not a T5"):
        T5Config.from_json({"model_type": "bart", "vocab_size": 10})
    with pytest.raises(LiteT5Error, match="feed_forward_proj"):
        T5Config.from_json(
            {
                "model_type": "t5",
                "feed_forward_proj": "silu",
                **dict(vocab_size=9, d_model=4, d_kv=2, d_ff=4, num_layers=1, num_heads=2),
            }
        )
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "t5"}))
    with pytest.raises(LiteT5Error, match="cannot read"):
        load_t5(tmp_path)


@pytest.mark.parametrize(
    ("beams", "copy_from"), [(1, "name"), (3, "name"), (1, "source"), (1, "follow"), (3, "follow")]
)
def test_steered_decoding_equals_generate_with_the_logits_processor(
    hf_tiny, lite_tiny, beams, copy_from
):
    from ttune.tasks import Task
    from ttune.tasks.decoding import pad_copy_ids, task_steer
    from ttune.train.inference import decoding_kwargs

    hf = hf_tiny[0]
    ids, mask, _ = _batch(hf.config.vocab_size, T=20, seed=9)
    embeds = hf.get_input_embeddings()(ids)
    copy_ids = pad_copy_ids([[[11, 12], [40]], [[7]], []])
    if copy_from == "follow":  # the source's tokens in order, followed as a copy
        copy_ids = pad_copy_ids([[[11], [12], [40], [12]], [[7], [8]], []])
        task = Task("x", copy_bias=1.0, copy_from="source", follow_bias=12.0)
    else:
        task = Task(
            "x", no_repeat_ngram_size=3, copy_bias=3.0, repeat_penalty=2.0, copy_from=copy_from
        )

    class Adapted:  # what decoding_kwargs reads of an adapted model
        model, causal = hf, False

    batch = {"copy_ids": copy_ids}
    extra = decoding_kwargs(Adapted(), batch, task)
    assert batch == {} and "logits_processor" in extra
    with torch.no_grad():
        ref = hf.generate(
            inputs_embeds=embeds, attention_mask=mask, num_beams=beams, max_new_tokens=12, **extra
        )
        plain = hf.generate(
            inputs_embeds=embeds,
            attention_mask=mask,
            num_beams=beams,
            max_new_tokens=12,
            no_repeat_ngram_size=task.no_repeat_ngram_size,
        )
    cfg = lite_tiny.cfg
    steer = task_steer(task, copy_ids, cfg.decoder_start_token_id, cfg.eos_token_id)
    ngram = task.no_repeat_ngram_size
    if beams == 1:
        out = greedy(lite_tiny, embeds, mask, 12, ngram, None, steer)
    else:
        out = beam_search(lite_tiny, embeds, mask, 12, beams, ngram, None, steer)
    assert out.tolist() == ref.tolist()
    assert ref.tolist() != plain.tolist()  # the steering changed the output
