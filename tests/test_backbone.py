"""ttune.backbone: tokenizer, tiny and named-shape T5s, save/load, fingerprints."""

from __future__ import annotations

import pytest
import torch

CODE = ["def add(a, b):\n    return a + b\n", "int add(int a, int b) { return a + b; }\n"]


@pytest.fixture(scope="module")
def tok():
    from ttune.backbone import build_tokenizer

    return build_tokenizer(CODE * 5, vocab_size=400)


def test_tokenizer_special_ids_and_offsets(tok):
    assert (tok.pad_token_id, tok.eos_token_id, tok.unk_token_id) == (0, 1, 2)
    assert (
        tok.convert_tokens_to_ids("<extra_id_0>") == 3
        and tok.convert_tokens_to_ids("<extra_id_99>") == 102
    )
    text = "def add(a, b):"
    enc = tok(text, return_offsets_mapping=True)
    assert enc["input_ids"][-1] == 1  # ends with </s>
    pieces = [text[s:e] for s, e in enc["offset_mapping"][:-1]]
    assert "".join(pieces) == text  # offsets cover every character
    assert tok.decode(enc["input_ids"], skip_special_tokens=True) == text


def test_tiny_backbone_is_frozen_sized_and_seeded(tok):
    from ttune.backbone import tiny_backbone

    m = tiny_backbone(tok)
    assert m.config.vocab_size == len(tok) and m.config.d_model == 64 and m.config.num_layers == 2
    assert (m.config.pad_token_id, m.config.eos_token_id, m.config.decoder_start_token_id) == (
        0,
        1,
        0,
    )
    assert not any(p.requires_grad for p in m.parameters())
    again, other = tiny_backbone(tok), tiny_backbone(tok, seed=1)
    w = m.get_input_embeddings().weight
    assert torch.equal(w, again.get_input_embeddings().weight)
    assert not torch.equal(w, other.get_input_embeddings().weight)


def test_named_shapes():
    from ttune.backbone import BackboneError, t5_config

    c = t5_config("codet5p-220m")
    assert (
        c.d_model,
        c.d_ff,
        c.num_layers,
        c.num_decoder_layers,
        c.num_heads,
        c.d_kv,
        c.vocab_size,
    ) == (768, 3072, 12, 12, 12, 64, 32100)
    assert c.feed_forward_proj == "relu" and t5_config("tiny", vocab_size=99).vocab_size == 99
    assert t5_config("codet5p-770m").d_model == 1024
    with pytest.raises(BackboneError, match="unknown backbone shape 'huge'; known: tiny, small"):
        t5_config("huge")


def test_save_and_load_round_trip(tok, tmp_path):
    from ttune.backbone import backbone_fingerprint, load_backbone, save_backbone, tiny_backbone

    m = tiny_backbone(tok)
    save_backbone(m, tok, tmp_path / "bb")
    m2, tok2 = load_backbone(str(tmp_path / "bb"))
    assert not any(p.requires_grad for p in m2.parameters())
    assert tok2("def add(a, b):")["input_ids"] == tok("def add(a, b):")["input_ids"]
    ids = torch.tensor([tok("def add(a, b):")["input_ids"]])
    lab = torch.tensor([[5, 6, 1]])
    assert torch.equal(
        m(input_ids=ids, labels=lab).logits, m2.eval()(input_ids=ids, labels=lab).logits
    )
    fp = backbone_fingerprint(m2)
    assert {k: fp[k] for k in ("model_type", "d_model", "vocab_size", "num_layers")} == {
        "model_type": "t5",
        "d_model": 64,
        "vocab_size": len(tok),
        "num_layers": 2,
    }
    assert fp["name_or_path"].endswith("bb")


def test_missing_local_path_is_one_line_error(tmp_path):
    from ttune.backbone import load_backbone

    with pytest.raises(ValueError, match="backbone path not found") as e:
        load_backbone(str(tmp_path / "nope"))
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("shape", ["tiny-llama", "tiny-mamba"])
def test_init_and_load_a_causal_backbone(shape, tok, tmp_path):
    """init_backbone writes a random causal LM (here with a saved tokenizer); load_backbone reads
    it frozen, as a causal LM, with a pad token and generation ids set."""
    from ttune.backbone import backbone_fingerprint, init_backbone, is_causal, load_backbone

    tok.save_pretrained(tmp_path / "tok")
    path = init_backbone(tmp_path / "bb", shape=shape, tokenizer=str(tmp_path / "tok"))
    model, tokenizer = load_backbone(str(path))
    assert is_causal(model) and not any(p.requires_grad for p in model.parameters())
    assert tokenizer.pad_token_id == 0 and model.generation_config.eos_token_id == 1
    fp = backbone_fingerprint(model)
    assert fp["architecture"] == "causal" and fp["model_type"] == shape[5:]
    assert (fp["d_model"], fp["num_layers"], fp["vocab_size"]) == (32, 2, len(tok))


def test_causal_shapes_and_an_unknown_one():
    from ttune.backbone import BackboneError, causal_config, is_causal_shape

    cfg = causal_config("mamba-130m")
    assert (cfg.hidden_size, cfg.num_hidden_layers, cfg.vocab_size) == (768, 24, 50280)
    assert causal_config("tiny-gpt-bigcode", vocab_size=99).vocab_size == 99
    assert is_causal_shape("qwen2.5-coder-0.5b") and not is_causal_shape("codet5p-220m")
    with pytest.raises(BackboneError, match="unknown causal shape 'tiny-gpt5'; known: "):
        causal_config("tiny-gpt5")


@pytest.mark.parametrize("family", ["t5", "llama", "gpt_bigcode", "mamba"])
def test_blocks_are_the_repeated_layers_outermost_only(tok, family):
    """What FSDP shards: T5's 2 encoder + 2 decoder blocks, a causal LM's 3 layers; never a list
    nested in a block (T5's heterogeneous ``layer``), never the embeddings."""
    from ttune.backbone import blocks, tiny_backbone, tiny_causal_backbone

    if family == "t5":
        m = tiny_backbone(tok)
        expected = list(m.encoder.block) + list(m.decoder.block)
    else:
        m = tiny_causal_backbone(tok, family, hidden=16, num_layers=3)
        expected = [b for lst in m.modules() if isinstance(lst, torch.nn.ModuleList) for b in lst]
        assert len(expected) == 3
    got = blocks(m)
    assert [id(b) for b in got] == [id(b) for b in expected]
    inside = {id(p) for b in got for p in b.parameters()}
    assert id(m.get_input_embeddings().weight) not in inside
