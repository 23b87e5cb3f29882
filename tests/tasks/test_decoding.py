"""The copy bias and repetition penalty of ttune.tasks.decoding: exact score changes, the copy
sets the built-in tokenizer gives, and the batch path from records to the collated copy ids."""

from __future__ import annotations

import pytest
import torch

from ttune.builtin import builtin_backbone
from ttune.lite.tokenizer import LiteTokenizer
from ttune.tasks import Task, get_task
from ttune.tasks.decoding import (
    copy_token_ids,
    follow_tokens,
    pad_copy_ids,
    sequence_logprob,
    source_copy_ids,
    steer_scores,
    steered_cross_entropy,
    task_steer,
    teacher_forced_follow,
)
from ttune.train.data import Collator, attach_copy_ids, encode_records


@pytest.fixture(scope="module")
def tok():
    return LiteTokenizer(builtin_backbone())


def test_copy_sets_are_first_tokens_of_the_four_spellings(tok):
    sets = copy_token_ids(["download", "to", "zlib", "file", "download"], tok)
    # "to" is too short, every spelling of "zlib" starts with a fragment of under 3 characters
    # in this vocabulary, the repeated "download" counts once.
    assert len(sets) == 2 and len(sets[1]) == 4  # " file", " File", "file", "File": whole words
    for word, ids in zip(["download", "file"], sets):
        firsts = {
            tok([v], add_special_tokens=False)["input_ids"][0][0]
            for v in (" " + word, " " + word.capitalize(), word, word.capitalize())
        }
        assert set(ids) <= firsts and len(ids) == len(set(ids)) >= 1
        for t in ids:  # every bonus token is a word or a fragment of at least 3 characters
            assert len(tok.batch_decode([[t]])[0].strip()) >= 3
    assert copy_token_ids([], tok) == [] and copy_token_ids(["ab", "x"], tok) == []


def test_steer_scores_exact_values():
    scores = torch.zeros(2, 10)
    generated = torch.tensor([[0, 5, 3], [0, 4, 4]])
    copy_ids = torch.tensor([[[5, 6], [8, -1]], [[7, -1], [-1, -1]]])
    out = steer_scores(scores, generated, copy_ids, copy_bias=4.0, repeat_penalty=2.0, start_id=0)
    want = torch.zeros(2, 10)
    want[0, 8] = 4.0  # word (5, 6) is used: 5 was generated; word (8) is not
    want[0, [3, 5]] = -2.0  # generated, the start token 0 is not penalised
    want[1, 7] = 4.0
    want[1, 4] = -2.0
    assert torch.equal(out, want)
    # Off: unchanged; the beams of one row follow that row's copy set.
    assert torch.equal(steer_scores(scores, generated, copy_ids, 0.0, 0.0), scores)
    # Not spent (copy_from="source"): word (5, 6) keeps its bonus after 5 was generated.
    kept = steer_scores(scores, generated, copy_ids, 4.0, 0.0, start_id=0, spend=False)
    assert kept[0].tolist() == [0, 0, 0, 0, 0, 4.0, 4.0, 0, 4.0, 0]
    beams = steer_scores(
        torch.zeros(4, 10), torch.zeros(4, 1, dtype=torch.long), copy_ids, 1.0, 0.0, start_id=0
    )
    assert beams[:2, 8].tolist() == [1.0, 1.0] and beams[2:, 7].tolist() == [1.0, 1.0]
    assert beams.sum().item() == 2 * 3 + 2 * 1


def test_pad_copy_ids_shapes():
    t = pad_copy_ids([[[1, 2], [3]], []])
    assert t.tolist() == [[[1, 2], [3, -1]], [[-1, -1], [-1, -1]]]
    assert pad_copy_ids([[], []]).shape == (2, 1, 1)


def test_task_defaults_and_validation():
    s = get_task("summarize")
    assert (s.copy_bias, s.repeat_penalty, s.steers) == (5.0, 2.0, True)
    t = get_task("translate")
    assert (t.copy_bias, t.copy_from, t.repeat_penalty) == (1.0, "source", 0.0)
    for name in ("assert", "types", "custom"):
        assert not get_task(name).steers
    with pytest.raises(ValueError, match="copy_from"):
        Task("x", copy_from="target")
    with pytest.raises(ValueError, match="copy_bias"):
        Task("x", copy_bias=-1.0)
    with pytest.raises(ValueError, match="repeat_penalty"):
        Task("x", repeat_penalty=float("nan"))
    rec = {"source": "def rgb_to_yiq(r, g, b):\n    return r\n", "source_lang": "python"}
    assert s.copy_words(rec) == ["rgb", "to", "yiq"]
    # A follow bias reads the source; a task without a copy bias (assert) switches to it.
    a = get_task("assert").with_decoding(follow_bias=3.0)
    assert (a.copy_from, a.follow_bias, a.copy_bias) == ("source", 3.0, 0.0)
    assert get_task("assert").with_decoding(follow_bias=0.0).copy_from == "name"
    with pytest.raises(ValueError, match="follow_bias needs copy_from='source'"):
        s.with_decoding(follow_bias=3.0)  # its copy bias reads the name


def test_prediction_batches_carry_copy_ids_training_batches_do_not(tok):
    rec = {
        "source": "def download_zlib(dest):\n    return dest\n",
        "source_lang": "python",
        "target": "Download zlib.",
    }
    task = get_task("summarize")
    pred = encode_records([rec], task, tok, 64, None, with_labels=False)
    train = encode_records([rec], task, tok, 64, 16, with_labels=True)
    assert pred[0].copy_ids == copy_token_ids(["download", "zlib"], tok)
    assert train[0].copy_ids is None
    off = encode_records([rec], task.with_options(copy_bias=0.0), tok, 64, None, with_labels=False)
    assert off[0].copy_ids is None
    pad = tok.pad_token_id
    batch = Collator(pad, with_labels=False, with_graph=False)(pred)
    assert batch["copy_ids"].tolist() == pad_copy_ids([pred[0].copy_ids]).tolist()
    assert "copy_ids" not in Collator(pad, with_labels=True, with_graph=False)(train)
    attach_copy_ids(train, [rec], task, tok)  # training under the steering: both in the batch
    assert train[0].copy_ids == pred[0].copy_ids
    both = Collator(pad, with_labels=True, with_graph=False)(train)
    assert both["copy_ids"].tolist() == batch["copy_ids"].tolist() and "labels" in both


def test_source_copy_sets_are_the_code_tokens(tok):
    spans = [(-1, -1), (0, 3), (4, 6), (-1, -1), (7, 9), (9, 11)]
    assert source_copy_ids([5, 9, 5, 7, 2, 9], spans) == [[9], [5], [2], [9]]  # order, repeats
    rec = {"source": "int Add(int a) { return a; }", "source_lang": "java", "target": "x"}
    task = get_task("translate").with_options(tagged=True)  # the task line is not code
    [ex] = encode_records([rec], task, tok, 64, None, with_labels=False)
    code = [t for t, (a, _b) in zip(ex.input_ids, ex.token_spans) if a >= 0]
    assert ex.copy_ids == [[t] for t in code]
    assert len(code) < len(ex.input_ids) - 1  # the task line's tokens and EOS are left out


def test_follow_tokens_continue_the_longest_suffix_found_in_the_source():
    source = torch.tensor([[5, 6, 7, 5, 8, -1], [3, 4, 3, 4, 9, 2]])

    def follow(*rows, start_id=0):
        gen = torch.tensor([[0, *r] if start_id is not None else list(r) for r in rows])
        ids = follow_tokens(gen, source, start_id, 1)
        return [sorted({t for t in row if t >= 0}) for row in ids.tolist()]

    assert follow([], []) == [[5], [3]]  # the source's first token
    # One token: what follows each of its occurrences ("5" -> 6 and 8; "3" -> 4 twice).
    assert follow([5], [3]) == [[6, 8], [4]]
    # The longest suffix wins: "7 5" occurs once (-> 8), "4 9" once (-> 2).
    assert follow([7, 5], [4, 9]) == [[8], [2]]
    # After the source's last token: end of sequence (1), also in a row padded with -1.
    assert follow([5, 8], [9, 2]) == [[1], [1]]
    # "4 3" is found although the output's "1 4 3" is not (nor "4 3" in the first row).
    assert follow([1, 4, 3], [1, 4, 3]) == [[], [4]]
    # Tokens that are not in the source are stepped over: after the anchor "6 7", 11 is an
    # insertion (-> 5, the token after the anchor) or replaces 5 (-> 8, one further).
    assert follow([6, 7, 11], [3, 4, 11])[0] == [5, 8]
    # Two tokens not in the source after the anchor "3 4" (at 0 and at 2): insertions (-> 3
    # and 9) or replacements of two tokens (-> 9, and past the source's end: EOS).
    assert follow([5, 6, 7, 11], [3, 4, 11, 12]) == [[5, 8], [1, 3, 9]]
    # A one-token anchor before a stepped-over token does not count.
    assert follow([12, 6, 11], [12, 9, 11]) == [[], []]
    # Without a start token (a causal LM's prompt) the start rule does not apply.
    assert follow([], [], start_id=None) == [[], []]


def test_steer_scores_follow_bias_exact_values():
    source = pad_copy_ids([[[5], [6], [5], [7]], [[3]]])  # [B, S, 1]: the source in order
    generated = torch.tensor([[0, 5], [0, 3]])
    out = steer_scores(
        torch.zeros(2, 10), generated, source, 0.0, 0.0, start_id=0, follow_bias=2.0, eos_id=1
    )
    want = torch.zeros(2, 10)
    want[0, [6, 7]] = 2.0  # "5" is followed by 6 and by 7
    want[1, 1] = 2.0  # the second row's source ended: EOS
    assert torch.equal(out, want)
    both = steer_scores(
        torch.zeros(2, 10), generated, source, 1.0, 0.0, 0, False, follow_bias=2.0, eos_id=1
    )
    assert both[0].tolist() == [0, 0, 0, 0, 0, 1.0, 3.0, 3.0, 0, 0]  # copy + follow add up
    beams = steer_scores(
        torch.zeros(4, 10), torch.zeros(4, 1, dtype=torch.long), source, 0.0, 0.0, 0, False, 2.0
    )
    assert beams[:2, 5].tolist() == [2.0, 2.0] and beams[2:, 3].tolist() == [2.0, 2.0]


def test_follow_bias_needs_the_source_and_a_prediction_batch_carries_it(tok):
    with pytest.raises(ValueError, match="copy_from='source'"):
        Task("x", follow_bias=1.0)
    with pytest.raises(ValueError, match="follow_bias"):
        Task("x", copy_from="source", follow_bias=-1.0)
    task = Task("x", copy_from="source", follow_bias=2.0)
    assert task.steers
    rec = {"source": "int Add(int a) { return a; }", "source_lang": "java", "target": "x"}
    [ex] = encode_records([rec], task, tok, 64, None, with_labels=False)
    assert ex.copy_ids == [[t] for t, (a, _b) in zip(ex.input_ids, ex.token_spans) if a >= 0]


@pytest.mark.parametrize("start_id", [None, 7])
def test_teacher_forced_follow_is_follow_tokens_of_every_prefix(start_id):
    g = torch.Generator().manual_seed(0)
    for _ in range(10):  # a small alphabet: many repeated suffixes, edits of one to three tokens
        source = torch.randint(0, 6, (5, 40), generator=g)
        source[0, 30:] = -1  # a shorter source
        target = source[:, :30].clamp(min=0).clone()
        edit = torch.rand(target.shape, generator=g) < 0.2
        target = torch.where(edit, torch.randint(0, 9, target.shape, generator=g), target)
        target[1, 25:] = -100  # a shorter target
        steps = list(teacher_forced_follow(target, source, start_id, eos_id=11))
        assert len(steps) == 30
        for t, got in enumerate(steps):
            generated = target[:, :t].clamp(min=0)
            if start_id is not None:
                generated = torch.cat([torch.full((5, 1), start_id), generated], 1)
            want = follow_tokens(generated, source, start_id, eos_id=11)
            for n in range(5):
                if t and target[n, t - 1] < 0:
                    continue  # past the row's end: no loss there
                assert set(got[n].tolist()) - {-1} == set(want[n].tolist()) - {-1}, (t, n)


def test_steered_cross_entropy_is_the_loss_of_the_steered_scores():
    g = torch.Generator().manual_seed(1)
    B, L, V = 3, 6, 20
    logits = torch.randn(B, L, V, generator=g, requires_grad=True)
    source = torch.randint(3, V, (B, 9), generator=g)
    labels = torch.randint(0, V, (B, L), generator=g)
    labels[:, :5] = source[:, :5]  # a copy, then a last token that may differ
    labels[2, 4:] = -100
    plain = steered_cross_entropy(logits, labels, lambda gen, s, f=None: s, start_id=0)
    want = torch.nn.functional.cross_entropy(logits.flatten(0, 1), labels.flatten())
    assert torch.allclose(plain, want)  # no steering: the model's own loss

    task = get_task("translate").with_decoding(copy_bias=1.0, follow_bias=4.0)
    steer = task_steer(task, source[..., None], start_id=0, eos_id=1)
    follow = teacher_forced_follow(labels, source, 0, 1)
    got = steered_cross_entropy(logits, labels, steer, 0, follow)
    prefix = torch.cat([torch.zeros(B, 1, dtype=torch.long), labels.clamp(min=0)], 1)
    rows = [steer(prefix[:, : t + 1], logits[:, t]) for t in range(L)]  # steer finds them itself
    want = torch.nn.functional.cross_entropy(torch.stack(rows, 1).flatten(0, 1), labels.flatten())
    assert torch.allclose(got, want)
    assert got < plain  # the copy the target makes is what the bias adds
    got.backward()
    assert logits.grad.abs().sum() > 0 and logits.grad[2, 4:].abs().sum() == 0


def test_syntax_fallback_returns_the_source_for_a_program_that_does_not_parse():
    records = [
        {"source": "public int F(){return 1;}", "target_lang": "csharp"},
        {"source": "public int G( {", "target_lang": "csharp"},  # the source does not parse
        {"source": "int x", "target_lang": "klingon"},  # a language ttune does not parse
        {"source": "public int H(){return 3;}", "target_lang": "csharp"},
    ]
    preds = ["public int F({", "garbage {", "x", "public int H(){return 4;}"]
    task = get_task("translate")
    assert task.fall_back(records, preds) == preds  # off by default
    on = task.with_decoding(syntax_fallback=True)
    assert on.fall_back(records, preds) == [records[0]["source"], *preds[1:]]
    assert on.with_decoding(syntax_fallback=False).fall_back(records, preds) == preds
    with pytest.raises(ValueError, match="syntax_fallback must be true or false"):
        Task("x", syntax_fallback="yes")


def test_copy_rewrite_copies_from_and_falls_back_to_the_rewritten_source(tok):
    from ttune.data.rewrite import java_to_csharp

    java = "public boolean isEmpty() {return size() == 0;}"
    rec = {"source": java, "source_lang": "java", "target_lang": "csharp", "target": "x"}
    rewritten = java_to_csharp(java)
    assert rewritten == "public virtual bool IsEmpty() {return Size() == 0;}"
    task = get_task("translate").with_decoding(follow_bias=4.0)
    on = task.with_decoding(copy_rewrite=True)
    assert task.copy_source(rec) == java and on.copy_source(rec) == rewritten
    # A pair without rules, or no source: the source as it is, or None.
    assert on.copy_source({**rec, "target_lang": "python"}) == java
    assert on.copy_source({"target": "x"}) is None
    # The copy (and follow) set: the rewritten code's tokens in order, tokenized alone.
    [plain] = encode_records([rec], task, tok, 64, None, with_labels=False)
    [ex] = encode_records([rec], on, tok, 64, None, with_labels=False)
    assert ex.input_ids == plain.input_ids  # the model reads the Java source either way
    assert ex.copy_ids == [[t] for t in tok([rewritten], add_special_tokens=False)["input_ids"][0]]
    assert ex.copy_ids != plain.copy_ids
    # The fallback puts the rewrite in place of an output that does not parse.
    broken = ["public bool IsEmpty( {"]
    assert on.with_decoding(syntax_fallback=True).fall_back([rec], broken) == [rewritten]
    assert task.with_decoding(syntax_fallback=True).fall_back([rec], broken) == [java]
    with pytest.raises(ValueError, match="copy_rewrite needs copy_from='source'"):
        get_task("summarize").with_decoding(copy_rewrite=True)
    with pytest.raises(ValueError, match="copy_rewrite must be true or false"):
        Task("x", copy_from="source", copy_rewrite="yes")


def test_sequence_logprob_sums_the_target_tokens_log_probabilities():
    logits = torch.log(torch.tensor([[[0.5, 0.25, 0.25], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]]]))
    labels = torch.tensor([[0, 1, -100]])  # the padded position does not count
    got = sequence_logprob(logits.expand(2, -1, -1), torch.cat([labels, torch.tensor([[2, 2, 2]])]))
    want = torch.tensor(
        [torch.log(torch.tensor(0.5 * 0.8)), torch.log(torch.tensor(0.25 * 0.1 * 0.6))]
    )
    assert torch.allclose(got, want)


def test_rerank_needs_candidates():
    assert get_task("assert").with_decoding(rerank=True).rerank
    assert get_task("assert").candidate_targets({"source": "x"}) == []  # off: no candidates
    with pytest.raises(ValueError, match="rerank needs a task with candidates"):
        get_task("summarize").with_decoding(rerank=True)
