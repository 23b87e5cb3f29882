from __future__ import annotations

import json

import pytest

from ttune.metrics import check_metric_name
from ttune.tasks import (
    DataError,
    Task,
    UnknownTaskError,
    function_name,
    get_task,
    identifier_words,
    read_jsonl,
    task_line,
    task_names,
)


def test_names_and_defaults():
    assert task_names() == ["assert", "custom", "summarize", "translate", "types"]
    for name in task_names():
        t = get_task(name)
        assert t.name == name and t.max_source_len == 400
        for m in t.metrics:
            check_metric_name(m)
    assert get_task("translate").metrics[:2] == ("sacrebleu", "codebleu")
    assert get_task("assert").graph_side == "test"
    with pytest.raises(
        UnknownTaskError,
        match="unknown task 'x'; known: assert, custom, summarize, translate, types",
    ):
        get_task("x")
    assert callable(read_jsonl)


def test_format_input_and_graph_code_offsets():
    rec = {
        "source": "int f() { return 1; }",
        "target": "one",
        "source_lang": "java",
        "target_lang": "en",
    }
    assert get_task("summarize").format_input(rec) == rec["source"]  # the shipped models' layout
    t = get_task("summarize").with_options(tagged=True)
    assert t.format_input(rec) == "summarize: f\n" + rec["source"]
    assert t.graph_code(rec) == (rec["source"], "java", len("summarize: f\n"))
    plain = t.with_options(tagged=False)
    assert plain.format_input(rec) == rec["source"]
    assert plain.graph_code(rec) == (rec["source"], "java", 0)
    pt = plain.with_options(prefix="résumé: ")
    text = pt.format_input(rec)
    code, lang, off = pt.graph_code(rec)
    assert text.encode()[off : off + len(code.encode())] == code.encode()
    assert off == len("résumé: ".encode())
    tagged = t.with_options(prefix="é ")
    code, _, off = tagged.graph_code(rec)
    assert tagged.format_input(rec).encode()[off:] == code.encode() and off == len(
        "é summarize: f\n".encode()
    )


def test_task_lines():
    py = {
        "source": "def rgb_to_yiq(r, g, b):\n    return r\n",
        "source_lang": "python",
        "target_lang": "en",
    }
    assert task_line("summarize", py) == "summarize: rgb to yiq\n"
    java = {
        "source": "@Override public synchronized String getHTTPResponse2 ( int x ) "
        "{ return g ( x ) ; }",
        "source_lang": "java",
        "target_lang": "en",
    }
    assert task_line("summarize", java) == "summarize: get http response 2\n"
    cs = {
        "source": '[Obsolete("x")] public override string ToString() { return F(1); }',
        "source_lang": "csharp",
        "target_lang": "csharp",
    }
    assert function_name(cs["source"], "csharp") == "ToString"
    assert task_line("summarize", {"source": "x = 1", "source_lang": "python"}) == "summarize:\n"
    assert (
        task_line("translate", {**java, "target_lang": "csharp"}) == "translate java to csharp:\n"
    )
    assert task_line("translate", {**py, "target_lang": "java"}) == "translate python to java:\n"
    assert task_line("assert", java) == "assert:\n" and task_line("custom", java) == ""
    assert identifier_words("XMLHttpRequest") == ["xml", "http", "request"]
    assert identifier_words("__init__") == ["init"] and identifier_words("parseURL") == [
        "parse",
        "url",
    ]


def test_assert_graph_reads_the_test_method_only():
    src = ' testA ( ) { int x = f ( ) ; "<AssertPlaceHolder>" ; }\nf ( int ) { return 1 ; }'
    rec = {
        "source": src,
        "target": "assertEquals ( 1 , x )",
        "source_lang": "java",
        "target_lang": "java",
    }
    t = get_task("assert").with_options(tagged=True)
    code, lang, off = t.graph_code(rec)
    assert (
        code == 'testA ( ) { int x = f ( ) ; "<AssertPlaceHolder>" ; }'
        and lang == "java"
        and off == len("assert:\n ")
    )
    assert t.format_input(rec).startswith("assert:\n ")
    assert t.format_input(rec).encode()[off : off + len(code)] == code.encode()
    both = t.with_options(graph_side="both")
    assert both.graph_code(rec) == (src, "java", len("assert:\n"))
    py = {
        "source": 'def test_a(self):\n    "<AssertPlaceHolder>"\n\ndef f(x):\n    return x\n',
        "target": "assert f(1)",
        "source_lang": "python",
        "target_lang": "python",
    }
    assert t.graph_code(py) == (
        'def test_a(self):\n    "<AssertPlaceHolder>"',
        "python",
        len("assert:\n"),
    )


def test_task_validation_and_bad_record():
    with pytest.raises(ValueError, match="graph_side"):
        Task("t", graph_side="left")
    with pytest.raises(ValueError, match="positive"):
        Task("t", max_source_len=0)
    with pytest.raises(ValueError, match="unknown metric"):
        Task("t", metrics=("bleurt",))
    with pytest.raises(DataError, match="no string 'source'"):
        get_task("custom").format_input({"target": "x"})


def test_summaries_never_repeat_a_trigram_code_may():
    from ttune.tasks import get_task

    assert get_task("summarize").no_repeat_ngram_size == 3
    assert {get_task(n).no_repeat_ngram_size for n in ("assert", "translate", "custom")} == {0}


def test_generate_texts_passes_the_task_setting():
    import torch

    from ttune.tasks import Task
    from ttune.train.inference import generate_texts

    seen = []

    class Fake(torch.nn.Module):
        def generate(self, **kw):
            seen.append({k: v for k, v in kw.items() if k not in ("input_ids", "attention_mask")})
            return torch.zeros(1, 2, dtype=torch.long)

    class Tok:
        def batch_decode(self, ids, skip_special_tokens=True):
            return ["x"] * len(ids)

    collate = lambda ex: {
        "input_ids": torch.ones(len(ex), 3, dtype=torch.long),  # noqa: E731
        "attention_mask": torch.ones(len(ex), 3, dtype=torch.long),
    }
    generate_texts(Fake(), [{}], collate, Tok(), 8, 2, 5, task=Task("x", no_repeat_ngram_size=3))
    generate_texts(Fake(), [{}], collate, Tok(), 8, 2, 5)
    generate_texts(Fake(), [{}], collate, Tok(), 8, 2, 5, task=Task("x", repeat_penalty=1.0))
    assert seen[:2] == [
        {"num_beams": 2, "max_new_tokens": 5, "no_repeat_ngram_size": 3},
        {"num_beams": 2, "max_new_tokens": 5},
    ]
    assert set(seen[2]) == {"num_beams", "max_new_tokens", "logits_processor"}


@pytest.fixture
def fresh_tasks(monkeypatch):
    """ttune.tasks as if just imported: no task loaded yet; restored after the test."""
    import ttune.tasks as tasks

    monkeypatch.setattr(tasks, "_TASKS", {})
    monkeypatch.setattr(tasks, "_loaded", {"builtins": False, "entry_points": False})
    return tasks


def test_register_task_adds_a_task_beside_the_builtins(fresh_tasks):
    from ttune.tasks import register_task

    doc = Task(
        "docstring",
        300,
        32,
        ("smooth_bleu4", "exact_match"),
        prefix="doc: ",
        description="code -> its docstring",
    )
    assert register_task(doc) is doc  # before any lookup: the built-ins still load
    assert task_names() == ["assert", "custom", "docstring", "summarize", "translate", "types"]
    assert get_task("docstring") is doc and get_task("summarize").no_repeat_ngram_size == 3
    rec = {"source": "def f(): pass", "target": "nothing", "source_lang": "python"}
    assert get_task("docstring").format_input(rec) == "doc: def f(): pass"
    assert get_task("docstring").graph_code(rec) == ("def f(): pass", "python", 5)
    register_task(
        Task(
            "docstring",
            300,
            32,
            ("smooth_bleu4", "exact_match"),
            prefix="doc: ",
            description="code -> its docstring",
        )
    )  # an equal task again: harmless
    with pytest.raises(ValueError, match="task 'summarize' is already registered"):
        register_task(Task("summarize", 10, 10))
    assert get_task("summarize").max_source_len == 400
    register_task(Task("summarize", 10, 10), overwrite=True)
    assert get_task("summarize").max_source_len == 10
    with pytest.raises(TypeError, match="needs a ttune.tasks.Task"):
        register_task({"name": "x"})
    with pytest.raises(ValueError, match="non-empty string"):
        register_task(Task(" "))


def test_tasks_from_the_entry_point_group(fresh_tasks, monkeypatch):
    class EP:
        def __init__(self, obj):
            self.obj = obj

        def load(self):
            return self.obj

    groups = []

    def fake_entry_points(group):
        groups.append(group)
        return [
            EP(Task("review", 400, 64, ("chrf",))),
            EP(lambda: fresh_tasks.register_task(Task("lint", 200, 16, ("exact_match",)))),
        ]

    monkeypatch.setattr(fresh_tasks, "entry_points", fake_entry_points)
    assert get_task("summarize").name == "summarize" and groups == []  # built-ins need no scan
    assert get_task("review").metrics == ("chrf",) and groups == ["ttune.tasks"]
    assert task_names() == ["assert", "custom", "lint", "review", "summarize", "translate", "types"]
    assert groups == ["ttune.tasks"]  # scanned once


def test_backbone_task_line_reads_the_pretraining_objectives(tmp_path):
    from ttune.tasks import backbone_task_line

    def folder(name: str, cfg) -> str:
        d = tmp_path / name
        d.mkdir()
        if cfg is not None:
            (d / "pretrain_config.json").write_text(
                cfg if isinstance(cfg, str) else json.dumps(cfg), encoding="utf-8"
            )
        return str(d)

    mixture = {"summarize_share": 0.2, "generate_share": 0.1, "docstring_share": None}
    assert backbone_task_line(folder("mixture", mixture))
    assert backbone_task_line(folder("assert-only", {"assert_share": 0.05}))
    # ttune pretrain before the supervised objectives: docstring generation, no task line
    assert not backbone_task_line(folder("old", {"docstring_share": 0.25, "prefix_share": 0.25}))
    assert not backbone_task_line(folder("unsupervised", {"summarize_share": 0.0}))
    assert not backbone_task_line(folder("none", None))
    assert not backbone_task_line(folder("broken", "{not json"))
    assert not backbone_task_line("org/some-hub-model")
    # the built-in backbone by name: pretrained with the supervised tasks
    assert backbone_task_line("ttune-tiny")
    # the option names it reads are those of ttune pretrain's supervised objectives
    from ttune.pretrain.config import SUPERVISED, PretrainConfig
    from ttune.tasks import SUPERVISED_SHARES

    assert SUPERVISED_SHARES == tuple(f"{t}_share" for t in SUPERVISED)
    assert all(hasattr(PretrainConfig, k) for k in SUPERVISED_SHARES)


def test_trained_task_follows_the_saved_layout():
    from ttune.tasks import trained_task

    rec = {"source": "def rgb_to_yiq(r, g, b):\n    return r\n", "source_lang": "python"}
    on = trained_task("summarize", {"task_line": "on"})
    assert on.tagged and on.format_input(rec).startswith("summarize: rgb to yiq\ndef rgb_to_yiq")
    for cfg in ({"task_line": "off"}, {}):  # {}: a method saved before the option existed
        off = trained_task("summarize", cfg)
        assert not off.tagged and off.format_input(rec) == rec["source"]
