"""Statement IR: what a language front end hands to the language-independent CFG/CDG/DDG builders.

A front end (python.py, java.py, csharp.py) walks the tree-sitter tree, adds one CPG node per named
syntax node (with AST edges), and for every method (and the file's top level where a language has
top-level statements) builds a :class:`MethodIR`: the method's body as a tree of the statement
classes below. Each statement names the CPG node id that stands for it in the control-flow graph
(``node``) and carries its variable definitions and uses (``defs``/``uses``) for reaching
definitions. The builders in cfg.py, cdg.py and ddg.py never look at tree-sitter.

Conventions
- ``node`` of a compound statement is the node of its *header* as evaluated at run time: the if's
  condition check, the loop's test / iteration step, the switch's subject. Use the
  CONTROL_STRUCTURE node of the statement itself for that.
- ``defs``/``uses`` of a compound statement cover only its header (the condition; for a for-each
  loop, the iterable is used and the loop variables are defined at the header).
- Variables are strings: ``x``; ``self.x`` / ``this.x`` for attribute and field access on the
  receiver. Augmented assignment (``x += 1``) both uses and defines ``x``. Tuple unpacking defines
  each name. Nested functions, lambdas and classes are a single ``Simple`` statement in the
  enclosing method (defining the function's name, in Python); their bodies get a MethodIR of their
  own.
- ``label`` on loops, switches and jumps is the Java/C# statement label (``outer:``) or None.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Stmt:
    node: int
    defs: list[str] = field(default_factory=list)
    uses: list[str] = field(default_factory=list)


@dataclass
class Simple(Stmt):
    """Any statement that falls through to the next one (expression, declaration, pass, nested
    def)."""


@dataclass
class Return(Stmt):
    """return / yield break: goes to the method exit (through enclosing finally blocks)."""


@dataclass
class Raise(Stmt):
    """raise / throw: goes to the innermost enclosing handler(s), else to the method exit."""


@dataclass
class Break(Stmt):
    label: str | None = None


@dataclass
class Continue(Stmt):
    label: str | None = None


@dataclass
class If(Stmt):
    """``then`` on true, ``orelse`` on false. An elif/else-if chain is an If inside ``orelse``."""

    then: list[Stmt] = field(default_factory=list)
    orelse: list[Stmt] | None = None


@dataclass
class Loop(Stmt):
    """while / for / for-each / do-while.

    ``kind``: "while", "for", "foreach" or "do". The header ``node`` is evaluated before each
    iteration ("do": after the body). ``orelse`` is Python's loop-else (runs when the loop ends
    without break). ``infinite`` marks a header that is always true (``while True``, ``for(;;)``):
    no false edge leaves it. ``init``: statements before the first test (a C-style for's
    initialiser); ``update``: statements after each iteration, before the next test.
    """

    kind: str = "while"
    body: list[Stmt] = field(default_factory=list)
    orelse: list[Stmt] | None = None
    init: list[Stmt] = field(default_factory=list)
    update: list[Stmt] = field(default_factory=list)
    infinite: bool = False
    label: str | None = None


@dataclass
class Handler:
    """One except/catch clause: ``node`` is the clause itself; ``defs`` the bound exception name."""

    node: int
    body: list[Stmt] = field(default_factory=list)
    defs: list[str] = field(default_factory=list)
    uses: list[str] = field(default_factory=list)
    catch_all: bool = False  # bare except / catch (Exception e) with no filter / catch without type


@dataclass
class Try(Stmt):
    """try with handlers, Python's try-else, and finally.

    ``node`` is the try statement (a CFG node that flows into the body). Any statement of the body
    may raise: each gets an "exception" edge to every handler (and, without a catch-all handler, on
    to finally / the method exit).
    """

    body: list[Stmt] = field(default_factory=list)
    handlers: list[Handler] = field(default_factory=list)
    orelse: list[Stmt] | None = None
    finalbody: list[Stmt] | None = None


@dataclass
class With(Stmt):
    """with / using / lock / synchronized: the header (defines the ``as`` names) then the body."""

    body: list[Stmt] = field(default_factory=list)


@dataclass
class Case:
    """One case of a switch / match. ``node`` is the case label test; ``default`` matches
    anything."""

    node: int
    body: list[Stmt] = field(default_factory=list)
    default: bool = False
    defs: list[str] = field(default_factory=list)  # names bound by a pattern
    uses: list[str] = field(default_factory=list)


@dataclass
class Switch(Stmt):
    """switch / match. ``fallthrough``: a case body that does not end in a jump runs on into the
    next case's body (Java/C-style switch); otherwise control leaves the switch (Python match,
    Java arrow cases, C# where falling through is illegal)."""

    cases: list[Case] = field(default_factory=list)
    fallthrough: bool = False
    label: str | None = None
    breakable: bool = True
    """An unlabelled ``break`` inside leaves the switch (Java/C#). False for Python's ``match``,
    where ``break`` belongs to the enclosing loop."""


@dataclass
class MethodIR:
    """One method's body for the flow builders. ``method`` is the METHOD (or FILE) node id;
    ``params`` maps each PARAM node id to the variable name it defines."""

    method: int
    body: list[Stmt] = field(default_factory=list)
    params: dict[int, str] = field(default_factory=dict)
