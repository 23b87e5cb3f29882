"""The method registry: names, configs, validation, third-party registration."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from methods.conftest import METHODS


def test_builtin_names():
    from ttune.methods import method_names
    from ttune.methods.ablations import ABLATIONS
    from ttune.methods.mamba_common import MAMBA_METHODS

    assert method_names() == sorted(
        set(METHODS + list(ABLATIONS) + list(MAMBA_METHODS) + ["hybrid"])
    )


def test_unknown_method_lists_known_names():
    from ttune.methods import UnknownMethodError, get_method, make_config

    msg = (
        "unknown method 'nope'; known: adapter, additional-scan, affix, cpg-prompt, full, "
        "hybrid, linear, lora, mamba-lora, mamba-partial, none, parallel-adapter, prefix, "
        "prompt, prompt-adapter, prompt-attention, topro, transducer, "
        "transducer-linear, transducer-no-ast, transducer-no-cdg, transducer-no-cfg, "
        "transducer-no-ddg, transducer-nograph, transducer-paper, xprompt"
    )
    with pytest.raises(UnknownMethodError) as e:
        get_method("nope")
    assert str(e.value) == msg and isinstance(e.value, ValueError)
    with pytest.raises(UnknownMethodError, match="known: adapter, additional-scan, affix"):
        make_config("nope")


@pytest.mark.parametrize("name", METHODS)
def test_config_round_trip(name):
    from ttune.methods import config_from_dict, make_config

    cfg = make_config(name)
    d = cfg.to_dict()
    assert d["method"] == name and d["version"] == 1
    back = config_from_dict(d)
    assert type(cfg).from_dict(d) == cfg
    assert type(back) is type(cfg) and back == cfg and back.to_dict() == d


def test_make_config_overrides_and_unknown_field():
    from ttune.methods import MethodConfigError, make_config

    cfg = make_config("transducer", gnn="typed", edge_types=["AST", "DDG"], fusion="paper")
    assert (cfg.gnn, cfg.edge_types, cfg.fusion) == ("typed", ("AST", "DDG"), "paper")
    with pytest.raises(
        MethodConfigError,
        match=r"unknown field\(s\) rank .*valid: r, alpha, dropout, target_modules",
    ):
        make_config("lora", rank=4)


@pytest.mark.parametrize(
    "name, bad, match",
    [
        ("lora", {"r": 0}, "r must be"),
        ("lora", {"dropout": 1.5}, "dropout"),
        ("prompt", {"num_virtual_tokens": 0}, "num_virtual_tokens"),
        ("prompt", {"init": "zeros"}, "init must be"),
        ("prefix", {"encoder_tokens": -1}, "encoder_tokens"),
        ("transducer", {"gnn": "gin"}, "unknown gnn 'gin'"),
        ("transducer", {"fusion": "concat"}, "unknown fusion"),
        ("transducer", {"edge_types": ["AST", "XYZ"]}, "unknown edge type"),
        ("transducer", {"graph_dim": 0}, "graph_dim must be"),
        ("transducer", {"vectorizer": "kind", "node_dim": 7}, "kind vectorizer"),
    ],
)
def test_validation_errors(name, bad, match):
    from ttune.methods import MethodConfigError, make_config

    with pytest.raises(MethodConfigError, match=match):
        make_config(name, **bad)


def test_from_dict_refuses_newer_version():
    from ttune.methods import MethodConfigError, config_from_dict, make_config

    with pytest.raises(MethodConfigError, match="version 9 is not supported"):
        config_from_dict({"method": "lora", "version": 9})
    with pytest.raises(MethodConfigError, match="config is for method 'lora', not 'prompt'"):
        make_config("prompt").from_dict({"method": "lora"})


def test_third_party_entry_point(monkeypatch):
    from ttune.methods import AdaptedModel, MethodConfig, method_names, registry

    @dataclass
    class EchoConfig(MethodConfig):
        name = "echo"
        version = 1

    def register():
        registry.register_method("echo", EchoConfig, lambda b, c, t=None: AdaptedModel(b, c))

    class FakeEP:
        def load(self):
            return register

    monkeypatch.setitem(registry._loaded, "entry_points", False)
    monkeypatch.setattr(
        registry, "entry_points", lambda group: [FakeEP()] if group == "ttune.methods" else []
    )
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    assert "echo" in method_names()
    assert registry.make_config("echo").to_dict() == {"method": "echo", "version": 1}


def test_register_rejects_mismatched_name():
    from ttune.methods import MethodConfigError, register_method
    from ttune.methods.lora import LoraConfig

    with pytest.raises(MethodConfigError, match="says name='lora'"):
        register_method("lora2", LoraConfig, lambda *a: None)


def test_renamed_fields_load_under_their_old_name():
    from ttune.methods import GraphOptions, MethodConfigError, config_from_dict, make_config

    cfg = make_config("transducer", max_nodes=50)  # `-m max_nodes=50` as older READMEs wrote it
    assert cfg.max_graph_nodes == 50 and cfg.to_dict()["max_graph_nodes"] == 50
    assert "max_nodes" not in cfg.to_dict()
    assert cfg.graph_options() == GraphOptions(max_graph_nodes=50, max_label_tokens=16)
    old = {"method": "transducer-no-ddg", "version": 1, "max_nodes": 7, "max_label_tokens": 4}
    back = config_from_dict(old)
    assert back.name == "transducer-no-ddg" and back.graph_options() == GraphOptions(7, 4)
    with pytest.raises(MethodConfigError, match="'max_nodes' is the old name of 'max_graph_nodes'"):
        make_config("transducer", max_nodes=5, max_graph_nodes=5)
    assert make_config("lora").graph_options() == GraphOptions()  # reads no graph: the defaults


def test_a_broken_plugin_is_named_in_a_warning_and_left_out(monkeypatch):
    from ttune.methods import UnknownMethodError, get_method, registry

    class BrokenEP:
        name, value = "broken", "broken_plugin"

        def load(self):
            raise ImportError("No module named 'broken_plugin'")

    monkeypatch.setitem(registry._loaded, "entry_points", False)
    monkeypatch.setattr(
        registry, "entry_points", lambda group: [BrokenEP()] if group == "ttune.methods" else []
    )
    with pytest.warns(
        UserWarning,
        match=r"ttune.methods entry point 'broken' \(broken_plugin\) "
        r"failed to load: ImportError: No module named",
    ):
        with pytest.raises(UnknownMethodError, match="unknown method 'broken'"):
            get_method("broken")
    assert get_method("lora").name == "lora"
