"""Byte offsets <-> LSP positions (UTF-16 code units by default) and settings merging."""

import subprocess
import sys

from ttune.lsp.settings import Settings, merge
from ttune.lsp.text import LineIndex


def test_positions_count_utf16_units():
    text = "a = 1\nb = '\U0001f600é'  # x\n"
    index = LineIndex(text)
    x = text.encode("utf-8").index(b"# x")
    # Line 1: "b = '" (5) + emoji (2 units) + "é" (1) + "'  " (3) = 11 UTF-16 units before "#".
    assert index.position(x) == {"line": 1, "character": 11}
    assert index.offset(1, 11) == x
    assert index.offset(0, 99) == 5  # clamped to the line's end
    assert index.offset(9, 0) == len(text.encode("utf-8"))
    assert index.range(0, 1) == {
        "start": {"line": 0, "character": 0},
        "end": {"line": 0, "character": 1},
    }


def test_settings_merge_and_reject():
    s, problems = merge(
        Settings(), {"numBeams": 3, "transducer": {"summarize": "/m"}, "device": None}
    )
    assert (s.num_beams, s.transducer, s.device, problems) == (3, {"summarize": "/m"}, "cpu", [])
    s2, problems = merge(s, {"numBeams": 0, "transducer": {"sum": "/x"}, "maxFileBytes": 10})
    assert (s2.num_beams, s2.transducer, s2.max_file_bytes) == (3, {"summarize": "/m"}, 10)
    assert (
        merge(Settings(max_new_tokens=5), {"maxNewTokens": 0})[0].max_new_tokens is None
    )  # the model's own
    assert problems == [
        "ttune.transducer: must map tasks (summarize, assert, translate) to folders",
        "ttune.numBeams: must be a positive integer",
    ]


def test_importing_the_server_loads_no_torch():
    code = (
        "import sys, ttune.lsp; "
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
