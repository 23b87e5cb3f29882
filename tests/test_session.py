"""ttune.session: models load once per (backbone, method, device) and generation is cancellable."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from lsp.conftest import PY, build_models

from ttune.session import Cancelled, ModelCache, find_functions, generate, summarize_record


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    m = build_models(tmp_path_factory.mktemp("session"))
    cache = ModelCache()
    first = cache.load("summarize", "python", model=m["backbone"], transducer=m["transducer"])
    return cache, m, first


def test_models_load_once(loaded):
    cache, m, first = loaded
    again = cache.load(
        "translate", "python", model=m["backbone"], transducer=m["transducer"], target_lang="java"
    )
    assert again.adapted is first.adapted and again.lock is first.lock and again.task == "translate"
    assert cache.is_loaded(
        cache.resolve("summarize", "python", model=m["backbone"], transducer=m["transducer"])
    )


def test_generation_is_deterministic_and_stops_when_asked(loaded):
    _, _, model = loaded
    [fn] = [f for f in find_functions(PY, "python") if f.name == "area"]
    record = summarize_record(fn, "python")
    assert record == {
        "id": "area:4",
        "source": fn.source,
        "source_lang": "python",
        "target_lang": "en",
    }
    a = generate(model, [record], max_new_tokens=5)
    assert a == generate(model, [record], max_new_tokens=5) and len(a) == 1
    with pytest.raises(Cancelled) as stopped:
        generate(model, [record], max_new_tokens=5, should_stop=lambda: True)
    assert stopped.value.steps == 0
    # Asked to stop mid-way: the stopping criterion ends decoding within a step of the flag.
    flag, calls = threading.Event(), []

    def stop_after_10() -> bool:
        calls.append(1)
        if len(calls) > 10:
            flag.set()
        return flag.is_set()

    with pytest.raises(Cancelled) as stopped:
        generate(model, [record], max_new_tokens=5000, should_stop=stop_after_10)
    assert 8 <= stopped.value.steps <= 11 and stopped.value.max_steps == 5000


def test_builtin_models_load_on_the_lite_path_with_the_engines_texts(monkeypatch):
    from ttune.lite.predict import ENV, LitePredictor

    [fn] = [f for f in find_functions(PY, "python") if f.name == "area"]
    record = summarize_record(fn, "python")
    lite = ModelCache().load("summarize", "python")
    assert isinstance(lite.adapted, LitePredictor)
    monkeypatch.setenv(ENV, "hf")
    engine = ModelCache().load("summarize", "python")
    assert not isinstance(engine.adapted, LitePredictor)
    for beams in (1, 3):
        text = generate(lite, [record, record], num_beams=beams)
        assert text == generate(engine, [record, record], num_beams=beams) and text[0]
    with pytest.raises(Cancelled) as stopped:
        generate(lite, [record], should_stop=lambda: True)
    assert stopped.value.steps == 0
    calls: list[int] = []
    with pytest.raises(Cancelled) as stopped:
        generate(lite, [record], should_stop=lambda: calls.append(1) or len(calls) > 4)
    assert stopped.value.steps == 3  # two polls before the batch, then one after each step


def test_the_lite_path_imports_no_transformers():
    code = (
        "import sys\n"
        "from ttune.session import ModelCache, find_functions, generate, summarize_record\n"
        "[fn] = find_functions('def f(x):\\n    return x + 1\\n', 'python')\n"
        "loaded = ModelCache().load('summarize', 'python')\n"
        "print(generate(loaded, [summarize_record(fn, 'python')], max_new_tokens=4))\n"
        "print(sorted(m for m in ('transformers', 'torch_geometric') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    texts, heavy = out.stdout.strip().splitlines()[-2:]
    assert heavy == "[]" and texts.startswith("['")
