"""Undo the layout encodings of the research data sets, giving back real, parseable code.

- code-docstring-corpus (Barone & Sennrich 2017) writes a function on one line: ``DCNL`` is a
  newline; ``DCSP`` at the start of a line is one indentation level, elsewhere (inside string
  literals) a single space.
- AVATAR (Ahmad et al. 2021) space-tokenises Python with ``NEW_LINE`` / ``INDENT`` / ``DEDENT``
layout
  tokens and writes spaces inside string literals as ``▁``.
"""

from __future__ import annotations

import ast
import re
import warnings

from ttune.cpg.languages import find_language

INDENT = "    "

_DCSP_INLINE = re.compile(r" ?DCSP ?")


def decode_dcnl(code: str, indent: str = INDENT) -> str:
    """Decode a code-docstring-corpus code line (``DCNL`` / ``DCSP``) into indented source."""
    lines = []
    for raw in re.split(r"\bDCNL\b", code):
        words = raw.split()
        depth = 0
        while depth < len(words) and words[depth] == "DCSP":
            depth += 1
        # Inside the line, DCSP stood for one literal space (mostly within string literals).
        body = _DCSP_INLINE.sub(" ", " ".join(words[depth:]))
        lines.append(indent * depth + body.rstrip() if body.strip() else "")
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines) + "\n" if lines else ""


def decode_dcnl_text(description: str) -> str:
    """Decode a code-docstring-corpus description: a Python string literal with ``DCNL`` /
    ``DCSP``."""
    s = description.strip()
    s = re.sub(r"\s*\bDCNL\b\s*", "\\\\n", s)
    s = _DCSP_INLINE.sub(" ", s)
    try:
        with warnings.catch_warnings():
            # Old docstrings hold invalid escapes ("\\_"); Python keeps them as text, quietly here.
            warnings.simplefilter("ignore", (DeprecationWarning, SyntaxWarning))
            value = ast.literal_eval(s)
        if not isinstance(value, str):
            raise ValueError
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        # Not a valid literal (truncated quotes): strip the quotes by hand.
        value = s[1:-1] if len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"" else s
        value = value.replace("\\n", "\n").replace("\\'", "'").replace('\\"', '"')
    lines = [ln.strip() for ln in value.split("\n")]
    return "\n".join(ln for ln in lines if ln).strip()


def _avatar_tokens(text: str) -> list[str]:
    """AVATAR's whitespace tokens with each tokenised string literal joined back into one token:
    the tokens between the quotes are concatenated and ``▁`` becomes a space (``"4 ▁ 4"`` ->
    ``"4 4"``, ``" ▁ "`` -> ``" "``, ``' a '`` -> ``'a'``). A lone ``\\`` (a line continuation
    that lost its newline) is dropped."""
    out: list[str] = []
    buf: list[str] | None = None
    quote = ""
    for tok in text.split():
        if buf is not None:
            buf.append(tok)
            if tok.endswith(quote) and not tok.endswith("\\" + quote):
                out.append("".join(buf).replace("\u2581", " "))
                buf = None
            continue
        if tok[0] in "\"'":
            q = tok[0]
            closed = len(tok) >= 2 and tok.endswith(q) and not tok.endswith("\\" + q)
            if not closed:
                buf, quote = [tok], q
                continue
            out.append(tok.replace("\u2581", " "))
            continue
        if tok == "\\":
            continue
        out.append(tok)
    if buf is not None:  # unterminated literal: keep what there is
        out.append("".join(buf).replace("\u2581", " "))
    return out


def decode_avatar_strings(text: str) -> str:
    """AVATAR Java (one line, tokenised): rejoin string and character literals."""
    return " ".join(_avatar_tokens(text))


def decode_avatar_python(text: str, indent: str = INDENT) -> str:
    """Turn AVATAR's one-line Python (``NEW_LINE`` / ``INDENT`` / ``DEDENT``) into indented
    source."""
    lines: list[str] = []
    depth = 0
    current: list[str] = []
    for tok in _avatar_tokens(text):
        if tok == "NEW_LINE":
            if current:
                lines.append(indent * depth + " ".join(current))
                current = []
        elif tok == "INDENT":
            depth += 1
        elif tok == "DEDENT":
            depth = max(0, depth - 1)
        else:
            current.append(tok)
    if current:
        lines.append(indent * depth + " ".join(current))
    return "\n".join(lines) + "\n" if lines else ""


def split_first_method(code: str) -> tuple[str, str]:
    """Split Java text into its first brace-balanced method and the rest (string/char literals
    respected). ATLAS writes the test method followed by the focal method: this separates them.
    Returns ``(code, "")`` when no balanced block closes."""
    depth = 0
    seen_open = False
    i, n = 0, len(code)
    while i < n:
        c = code[i]
        if c in "\"'":
            quote = c
            i += 1
            while i < n and code[i] != quote:
                i += 2 if code[i] == "\\" else 1
        elif c == "{":
            depth += 1
            seen_open = True
        elif c == "}":
            depth -= 1
            if seen_open and depth == 0:
                return code[: i + 1].strip(), code[i + 1 :].strip()
        i += 1
    return code.strip(), ""


_PY_TOP_DEF = re.compile(r"^(?:@|def |async def |class )", re.MULTILINE)


def split_test_and_focal(source: str, lang: str) -> tuple[str, str]:
    """Split an assert-task input into (test method, focal method or ""): a ``braces`` language of
    the language table (Java, C#; or an unknown one) by the first brace-balanced block (ATLAS), an
    ``indentation`` one (Python) at the second top-level ``def`` (the builders' layout: the
    dedented test function, a blank line, the dedented focal function)."""
    language = find_language(lang)
    if language is None or language.blocks == "braces":
        return split_first_method(source)
    for m in _PY_TOP_DEF.finditer(source):
        pos = m.start()
        if pos == 0:
            continue
        # A decorator line belongs to the def that follows it, so the split is at the first
        # top-level line whose previous line is not a decorator.
        prev_start = source.rfind("\n", 0, pos - 1) + 1
        if source[prev_start:pos].strip().startswith("@"):
            continue
        return source[:pos].rstrip(), source[pos:].strip()
    return source.rstrip(), ""
