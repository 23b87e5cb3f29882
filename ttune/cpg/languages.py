"""The language table: one :class:`Language` record per programming language ttune reads.

Every part of ttune that depends on the language reads this table and nothing else: the tree-sitter
grammar (:mod:`ttune.cpg.ts`), the front end and the file extensions (:mod:`ttune.cpg.extract`), the
wrapper that lets a bare method parse (:mod:`ttune.data.syntax`), how a method's body is delimited
(:mod:`ttune.data.decode`), comment syntax and translation targets (:mod:`ttune.use`), the CodeBLEU
language name (:mod:`ttune.metrics.code_bleu`), which record sides are code
(:mod:`ttune.pretrain.corpus`) and the CLI's help texts. Adding a language is one front end (a
module whose ``build(source, cpg, config)`` adds the AST and returns the statement IR, see
``python.py``) plus one record::

    from ttune.cpg.languages import Language, register_language

    register_language(Language(
        name="kotlin", display_name="Kotlin", extensions=(".kt",),
        grammar="tree_sitter_kotlin", front_end="my_package.kotlin_front_end",
        wrapper=(b"class __W__ {\\n", b"\\n}"), line_comment="//", codebleu=None))

A package can do this from a module named in the ``ttune.languages`` entry-point group (a module
that registers on import, or a zero-argument callable that does or returns a Language); the group
is read the first time a language, an extension or the list of languages is asked for and not
found among the registered ones.

This module imports nothing heavy (tree-sitter loads in ``ts.py``, front ends on first use).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Literal

from ttune.plugins import load_entry_points

ENTRY_POINT_GROUP = "ttune.languages"
"""Entry-point group of third-party languages."""

BRACE_WRAPPER = (b"class __W__ {\n", b"\n}")
"""The class put around a bare Java or C# member (as the data sets hold them) so that it parses.
The C-family front ends give the wrapper's own syntax no CPG node and map spans back."""


class UnknownLanguageError(ValueError):
    """A language name or file extension that no record has (one line, listing the known ones)."""


@dataclass(frozen=True)
class Language:
    """Everything ttune needs to know about one programming language."""

    name: str
    """The name used everywhere: ``--lang``, records' ``source_lang``/``target_lang``,
    ``CPG.language``, built-in model folder names (``summarize-python``)."""
    display_name: str
    """How help texts and messages write it (``C#``)."""
    extensions: tuple[str, ...]
    """File extensions, lower case with the dot; the first is the usual one (builders read it)."""
    grammar: str
    """The tree-sitter grammar: an importable module with a ``language()`` function returning the
    grammar (``tree_sitter_java``), or ``module:function`` for another function name
    (``tree_sitter_typescript:language_tsx``). Loaded by :mod:`ttune.cpg.ts` only."""
    front_end: str
    """Module of the CPG front end, whose ``build(source, cpg, config)`` adds the AST nodes and
    returns a ``FrontEndResult`` (``ttune.cpg.java``); ``module:function`` for another name."""
    line_comment: str
    """What starts a line comment (``#``, ``//``): translations are labelled with it."""
    wrapper: tuple[bytes, bytes] | None = None
    """(prefix, suffix) put around a bare method so that it parses (a Java method needs a class);
    None: a function parses on its own."""
    blocks: Literal["braces", "indentation"] = "braces"
    """How a method's extent is marked: ``braces`` (the first balanced ``{...}`` block ends it) or
    ``indentation`` (Python: the next top-level definition starts the next one)."""
    codebleu: str | None = None
    """Language name of the ``codebleu`` package (``c_sharp``); None: CodeBLEU cannot score it."""
    aliases: tuple[str, ...] = ()
    """Other spellings accepted for ``name`` (lower case: ``c#``, ``cs``, ``c_sharp``)."""

    def __post_init__(self) -> None:
        if not self.name or not self.name.isidentifier() or self.name != self.name.lower():
            raise ValueError(f"a language name must be a lower-case identifier, got {self.name!r}")
        if not self.extensions or any(
            not e.startswith(".") or e != e.lower() for e in self.extensions
        ):
            raise ValueError(
                f"language {self.name}: extensions must be lower case and start "
                f"with a dot, got {self.extensions!r}"
            )
        if self.blocks not in ("braces", "indentation"):
            raise ValueError(
                f"language {self.name}: blocks must be braces or indentation, got {self.blocks!r}"
            )
        if not self.grammar or not self.front_end or not self.line_comment:
            raise ValueError(
                f"language {self.name}: grammar, front_end and line_comment are required"
            )


_TABLE: dict[str, Language] = {}
_ALIASES: dict[str, str] = {}
_loaded = {"entry_points": False}


def register_language(language: Language, *, overwrite: bool = False) -> Language:
    """Add ``language`` to the table (see the module docstring). Another record under a taken
    name, alias or extension raises ValueError unless ``overwrite``; the same record again is
    harmless. Returns ``language``."""
    if not isinstance(language, Language):
        raise TypeError(f"register_language needs a Language, not {type(language).__name__}")
    old = _TABLE.get(language.name)
    if old == language:
        return language
    if not overwrite:
        if old is not None:
            raise ValueError(f"language {language.name!r} is already registered")
        for alias in language.aliases:
            if alias in _ALIASES or alias in _TABLE:
                raise ValueError(f"language {language.name}: alias {alias!r} is taken")
        for ext in language.extensions:
            other = _by_extension(ext)
            if other is not None:
                raise ValueError(
                    f"language {language.name}: extension {ext} is already {other.name}'s"
                )
    if old is not None:
        for alias in old.aliases:
            _ALIASES.pop(alias, None)
    _TABLE[language.name] = language
    for alias in language.aliases:
        _ALIASES[alias] = language.name
    return language


def unregister_language(name: str) -> None:
    """Remove a registered language (tests and plugins that set one up temporarily)."""
    old = _TABLE.pop(name, None)
    if old is not None:
        for alias in old.aliases:
            _ALIASES.pop(alias, None)


def _load_entry_points() -> bool:
    """Read the ``ttune.languages`` entry points once; True when this call read them."""
    if _loaded["entry_points"]:
        return False
    _loaded["entry_points"] = True
    for obj in load_entry_points(entry_points(group=ENTRY_POINT_GROUP), ENTRY_POINT_GROUP):
        if isinstance(obj, Language):
            register_language(obj)
    return True


def _by_extension(ext: str) -> Language | None:
    for lang in _TABLE.values():
        if ext in lang.extensions:
            return lang
    return None


def find_language(name: str) -> Language | None:
    """The record of ``name`` or one of its aliases (any case), else None."""
    if not isinstance(name, str):
        return None
    key = name.strip().lower()
    lang = _TABLE.get(_ALIASES.get(key, key))
    if lang is None and _load_entry_points():
        lang = _TABLE.get(_ALIASES.get(key, key))
    return lang


def get_language(name: str) -> Language:
    """The record of ``name`` (or an alias); :class:`UnknownLanguageError` listing the known."""
    lang = find_language(name)
    if lang is None:
        raise UnknownLanguageError(
            f"unknown language {name!r}; supported: {', '.join(language_names())}"
        )
    return lang


def language_names() -> tuple[str, ...]:
    """Every language's name, in registration order."""
    _load_entry_points()
    return tuple(_TABLE)


def languages() -> tuple[Language, ...]:
    """Every record, in registration order."""
    _load_entry_points()
    return tuple(_TABLE.values())


def extensions() -> tuple[str, ...]:
    """Every file extension of every language, in table order."""
    return tuple(e for lang in languages() for e in lang.extensions)


def language_of_path(path: str | os.PathLike[str]) -> Language | None:
    """The language of a file from its extension (case-insensitive), else None."""
    ext = Path(path).suffix.lower()
    if not ext:
        return None
    lang = _by_extension(ext)
    if lang is None and _load_entry_points():
        lang = _by_extension(ext)
    return lang


def _or(words: list[str]) -> str:
    return ", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1 else "".join(words)


def describe(display: bool = False) -> str:
    """The languages as help texts write them: ``python, java or csharp`` (``display``:
    ``Python, Java or C#``)."""
    return _or([lang.display_name if display else lang.name for lang in languages()])


def describe_extensions() -> str:
    """``.cs, .java, .py, .pyi``: the extensions, sorted, for help texts and messages."""
    return ", ".join(sorted(extensions()))


for _lang in (
    Language(
        name="python",
        display_name="Python",
        extensions=(".py", ".pyi"),
        grammar="tree_sitter_python",
        front_end="ttune.cpg.python",
        line_comment="#",
        blocks="indentation",
        codebleu="python",
    ),
    Language(
        name="java",
        display_name="Java",
        extensions=(".java",),
        grammar="tree_sitter_java",
        front_end="ttune.cpg.java",
        line_comment="//",
        wrapper=BRACE_WRAPPER,
        codebleu="java",
    ),
    Language(
        name="csharp",
        display_name="C#",
        extensions=(".cs",),
        grammar="tree_sitter_c_sharp",
        front_end="ttune.cpg.csharp",
        line_comment="//",
        wrapper=BRACE_WRAPPER,
        codebleu="c_sharp",
        aliases=("c#", "cs", "c_sharp"),
    ),
):
    register_language(_lang)
del _lang
