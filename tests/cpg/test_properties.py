"""Property tests: any input either gives a well-formed CPG or a CPGError, never another
exception; spans stay inside the source; CFG/CDG edges stay inside one method."""

from __future__ import annotations

import sysconfig
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ttune.cpg import CPGError, extract

from .conftest import check_invariants

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_STDLIB = Path(sysconfig.get_paths()["stdlib"])
_SAMPLES = ["textwrap.py", "fnmatch.py", "contextlib.py", "json/decoder.py", "shlex.py"]
CORPUS = [(_STDLIB / name).read_bytes() for name in _SAMPLES if (_STDLIB / name).is_file()]

TOKENS = [
    "def f(a):",
    "class C:",
    "if x:",
    "elif y:",
    "else:",
    "while True:",
    "for i in r:",
    "try:",
    "except E as e:",
    "except:",
    "finally:",
    "with o as p:",
    "match v:",
    "case [a, *b]:",
    "case _:",
    "return",
    "raise",
    "break",
    "continue",
    "pass",
    "x = 1",
    "x += y",
    "a, b = b, a",
    "self.x = x",
    "f(x)",
    "lambda q: q",
    "yield",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ":",
    ",",
    "\n",
    "    ",
    "        ",
    "#",
    "'",
    '"',
    "\\",
    "=",
    ":=",
    "@dec",
    "async",
    "await",
    "global g",
    "é",
    "\t",
    "\r\n",
]


def _check(source: bytes) -> None:
    try:
        cpg = extract(source, "python")
    except CPGError as e:
        assert "\n" not in str(e)
        return
    check_invariants(cpg, len(source))


@SETTINGS
@given(st.binary(max_size=3000))
def test_random_bytes(data):
    _check(data)


@SETTINGS
@given(st.text(max_size=2000))
def test_random_text(text):
    try:
        cpg = extract(text, "python")
    except CPGError as e:  # NUL characters, lone surrogates
        assert "\n" not in str(e)
        return
    check_invariants(cpg, len(text.encode("utf-8")))


@SETTINGS
@given(st.lists(st.sampled_from(TOKENS), max_size=300))
def test_random_token_soup(tokens):
    _check(" ".join(tokens).encode())


_MUTATION = st.tuples(
    st.sampled_from(["delete", "insert", "duplicate"]),
    st.floats(0, 1),
    st.integers(0, 400),
    st.one_of(st.binary(max_size=20), st.sampled_from([t.encode() for t in TOKENS])),
)


@SETTINGS
@given(st.integers(0, max(len(CORPUS) - 1, 0)), st.lists(_MUTATION, min_size=1, max_size=8))
def test_mutated_real_code(which, mutations):
    assert CORPUS, "no stdlib sample files found"
    data = bytearray(CORPUS[which])
    for op, where, length, blob in mutations:
        at = int(where * len(data))
        if op == "delete":
            del data[at : at + length]
        elif op == "insert":
            data[at:at] = blob
        else:
            data[at:at] = data[at : at + length]
    _check(bytes(data))


def test_unmutated_corpus_is_clean():
    for src in CORPUS:
        cpg = extract(src, "python")
        assert cpg.syntax_errors == 0
        check_invariants(cpg, len(src))
        counts = cpg.edge_counts()
        assert all(counts[t] > 0 for t in ("AST", "CFG", "CDG", "DDG"))
