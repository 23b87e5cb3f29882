"""Does a decoded record parse? (tree-sitter through :func:`ttune.cpg.ts.parse`, the only entry
point).

The data sets hold bare Java / C# methods; those are wrapped in the language table's ``wrapper``
(``class __W__ { ... }``) to parse, as the CPG front ends do. Used by tests (parse rate of
converted data) and by the builders.
"""

from __future__ import annotations

import re

from ttune.cpg.base import iter_nodes
from ttune.cpg.languages import get_language
from ttune.cpg.ts import SNode, parse


def count_error_nodes(root: SNode) -> int:
    """Number of ERROR nodes (tree-sitter's recovery nodes) in the tree."""
    return sum(node.is_error for node in iter_nodes(root))


def parse_code(code: str, lang: str) -> SNode:
    """Parse a snippet; bare members of a language with a ``wrapper`` (Java, C#) are parsed inside
    it."""
    return parse_wrapped(code, lang)[0]


def parse_wrapped(code: str, lang: str) -> tuple[SNode, bytes, int, int]:
    """(tree, the bytes parsed, start and end byte of ``code`` in them): :func:`parse_code` with
    what a caller needs to read node texts back (node offsets count the wrapper's prefix)."""
    language = get_language(lang)
    data = code.encode("utf-8")
    prefix, suffix = language.wrapper or (b"", b"")
    wrapped = prefix + data + suffix
    return parse(wrapped, language.name), wrapped, len(prefix), len(prefix) + len(data)


def has_error_node(code: str, lang: str) -> bool:
    return count_error_nodes(parse_code(code, lang)) > 0


def parses(code: str, lang: str) -> bool:
    """Whether ``code`` parses with neither an ERROR node nor a MISSING one (a token tree-sitter
    made up to recover, such as an unclosed brace): the test of a generated program."""
    return not any(node.is_error or node.is_missing for node in iter_nodes(parse_code(code, lang)))


def parses_as_statement(code: str, lang: str) -> bool:
    """Whether ``code`` parses as exactly one statement with neither an ERROR nor a MISSING node:
    the test of a generated assertion. A brace language (Java, C#) reads it inside a method body,
    with the final ``;`` added when it has none (ATLAS writes its assertions without one);
    Python reads it as a module. Comments do not count as statements."""
    language = get_language(lang)
    body = code.strip()
    if not body:
        return False
    if language.blocks == "braces":
        if not body.endswith((";", "}")):
            body += " ;"
        prefix, suffix = language.wrapper or (b"", b"")
        prefix, suffix = prefix + b"void __m__() {\n", b"\n}" + suffix
    else:
        prefix, suffix = b"", b""
    data = body.encode("utf-8")
    start, end = len(prefix), len(prefix) + len(data)
    root = parse(prefix + data + suffix, language.name)
    statements = 0
    for node in iter_nodes(root):
        if node.is_error or node.is_missing:
            return False
        parent = node.parent
        if parent is None or not node.named or "comment" in node.type:
            continue
        inside = start <= node.start_byte and node.end_byte <= end
        outer = parent is root or parent.start_byte < start or parent.end_byte > end
        if inside and outer:
            statements += 1  # a node of the code whose parent is the wrapper's: a statement
    return statements == 1


def parse_ok_rate(codes: list[str], lang: str) -> float:
    """Fraction of ``codes`` that parse with no ERROR node."""
    if not codes:
        return 0.0
    return sum(not has_error_node(c, lang) for c in codes) / len(codes)


_LITERAL = re.compile(r"\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'")
_TIGHT = (
    (re.compile(r"\s*\.\s*(?=[A-Za-z_$])"), "."),  # a . b -> a.b (not 1 . 5 or a ...)
    (re.compile(r"(?<=[\w$)\]>])\s+(?=[(\[])"), ""),  # f ( -> f(, a [ -> a[
    (re.compile(r"([(\[])\s+"), r"\1"),  # ( x -> (x
    (re.compile(r"\s+([)\],;])"), r"\1"),  # x ) -> x), x , -> x,
)


def compact_tokens(code: str) -> str:
    """Code written as space-separated tokens (ATLAS, the tokenised data sets) in ordinary
    spacing: ``org . junit . Assert . assertEquals ( 1 , x . size ( ) )`` ->
    ``org.junit.Assert.assertEquals(1, x.size())``. String and character literals are kept as
    they are; operators keep their spaces."""
    out, pos = [], 0
    for m in _LITERAL.finditer(code):
        out += [_tighten(code[pos : m.start()]), m.group(0)]
        pos = m.end()
    out.append(_tighten(code[pos:]))
    return "".join(out).strip()


def _tighten(text: str) -> str:
    for pattern, repl in _TIGHT:
        text = pattern.sub(repl, text)
    return text
