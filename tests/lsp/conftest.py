"""A tiny model made here (random T5, d_model 64, and a transducer on it) and a way to start the
real language server (tests/lsp/guarded_server.py: `ttune lsp` with sockets refused) under a
pytest-lsp client."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

HERE = Path(__file__).parent
SCRATCH = Path(tempfile.mkdtemp(prefix="ttune-lsp-tests-"))
NET_LOG = SCRATCH / "network.log"
SERVER_ENV = {
    **os.environ,
    "TTUNE_CACHE": str(SCRATCH / "cache"),
    "TTUNE_TEST_NET_LOG": str(NET_LOG),
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
CONFIG = ClientServerConfig(
    server_command=[sys.executable, str(HERE / "guarded_server.py")], server_env=SERVER_ENV
)

PY = '''import os


def area(w, h):
    """Unsaved docstring."""
    return w * h


class Shape:
    def scale(self, k):
        def twice(v):
            return v * 2
        return twice(k)


def test_area():
    r = area(2, 3)
'''

JAVA = """public class StackTest {
    @Test
    public void testPush() {
        Stack s = new Stack();
        s.push(1);
        "<AssertPlaceHolder>";
    }

    int size(int n) { return n + 1; }
}
"""


def build_models(root: Path) -> dict[str, str]:
    """A tiny random T5 and a transducer saved onto it (weights perturbed so the graph path
    matters); {"backbone", "transducer"} folders."""
    import torch

    from ttune.backbone import build_tokenizer, load_backbone, save_backbone, tiny_backbone
    from ttune.methods import apply_method, make_config, save_method

    tok = build_tokenizer([PY, JAVA] * 8, vocab_size=300)
    bdir = save_backbone(
        tiny_backbone(tok, d_model=64, d_ff=128, num_layers=2, num_heads=4), tok, root / "backbone"
    )
    backbone, tok = load_backbone(str(bdir))
    adapted = apply_method(backbone, make_config("transducer"), tok)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for _, p in adapted.trainable_parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.05)
    tdir = save_method(adapted, root / "transducer", meta={"task": "summarize"})
    # The EOS token is suppressed, so generation runs to maxNewTokens (for the cancellation test).
    gen = (
        json.loads((bdir / "generation_config.json").read_text())
        if (bdir / "generation_config.json").exists()
        else {}
    )
    gen["suppress_tokens"] = [tok.eos_token_id]
    (bdir / "generation_config.json").write_text(json.dumps(gen))
    return {"backbone": str(bdir), "transducer": str(tdir)}


@pytest.fixture(scope="session")
def models() -> dict[str, str]:
    path = SCRATCH / "models.json"
    if not path.exists():
        path.write_text(json.dumps(build_models(SCRATCH / "models")))
    return json.loads(path.read_text())


def options(models: dict[str, str], **extra) -> dict:
    """initializationOptions naming the tiny model for every task."""
    t = models["transducer"]
    return {
        "model": models["backbone"],
        "transducer": {"summarize": t, "assert": t, "translate": t},
        "maxNewTokens": 6,
        **extra,
    }


def plain(value):
    """A message as plain JSON (pygls' client hands results over as nested namedtuples)."""
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


async def start(init_options: dict, configuration: dict | None = None) -> LanguageClient:
    """A client connected to a fresh server, initialized with ``init_options`` (and answering
    workspace/configuration with ``configuration``); records ttune/status notifications."""
    client = await CONFIG.start()
    client.statuses = []

    @client.feature("ttune/status")
    def _status(params):
        client.statuses.append(plain(params))

    if configuration is not None:
        client.set_configuration(configuration, section="ttune")
    await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            initialization_options=init_options,
        )
    )
    return client


def open_doc(client: LanguageClient, name: str, text: str, language: str) -> str:
    uri = (SCRATCH / "docs" / name).as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)
        )
    )
    return uri
