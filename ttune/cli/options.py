"""Command-line options generated from config dataclasses (the litgpt way).

A config dataclass is the one place where an option is declared: the field name gives the option
name (underscores become dashes), its annotation the type (``Literal[...]`` becomes a choice, a
``bool`` a ``--x/--no-x`` flag), its default the default and its attribute docstring the help.
:func:`with_config` puts a dataclass's fields on a typer command and hands the command the built
config; a :class:`Flag` changes how one field appears (another name, a short flag, a parser for
values such as ``KEY=VALUE`` lists, choices read from a registry).

Help text may hold ``{methods}`` or ``{tasks}``: the help formatter (ttune.cli.main) replaces them
with the registered names when help is shown, so that no list is written twice and plain commands
do not import the registries.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import json
import textwrap
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import MISSING, dataclass
from typing import Any, Optional, Union, get_args, get_origin

import typer

from ttune.cli.errors import errors_as_fail


@dataclass(frozen=True)
class Flag:
    """How one config field appears on the command line, where its name and type are not enough."""

    name: str | None = None
    """Long option name without the dashes (default: the field name with dashes)."""
    short: str | None = None
    """Short option, e.g. ``-o``."""
    cli_type: Any = None
    """Type on the command line (default: the field's); ``parse`` turns it into the field's."""
    parse: Callable[[Any], Any] | None = None
    """Command-line value -> field value (may raise ValueError with a one-line message)."""
    choices: Callable[[], Sequence[str]] | None = None
    """Allowed values, read when the option is parsed (for registries that load lazily)."""
    help: str | None = None
    """Help text (default: the field's attribute docstring)."""
    default: Any = "<field default>"
    """Default on the command line (default: the field's; None = "the dataclass's")."""
    help_extra: str = ""
    """Appended to the help text, e.g. "One of: {methods}." (filled in when help is shown)."""


def field_docs(cls: type) -> dict[str, str]:
    """The attribute docstrings of a dataclass and its dataclass bases, one paragraph each."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        body = tree.body[0].body  # type: ignore[attr-defined]
        for node, after in zip(body, body[1:]):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                docs[node.target.id] = " ".join(after.value.value.split())
    return docs


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    if get_origin(tp) in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(get_args(tp)) == 2:
            return args[0], True
    return tp, False


def option_name(field_name: str, flag: Flag | None = None) -> str:
    """The long option of a field: ``--`` + its flag name or the field name with dashes."""
    return "--" + ((flag.name if flag and flag.name else None) or field_name.replace("_", "-"))


def cli_default(f: dataclasses.Field) -> Any:
    """The default a field has on the command line: its dataclass default; ``None`` (meaning
    "the dataclass's own") for a field built by a default factory; ``...`` when required."""
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:  # type: ignore[misc]
        return None
    return ...


def _check_choice(choices: Callable[[], Sequence[str]], option: str) -> Callable[[Any], Any]:
    def callback(value: Any) -> Any:
        if value is not None:
            known = list(choices())
            if value not in known:
                raise typer.BadParameter(
                    f"unknown {option[2:]} {value!r}; known: {', '.join(known)}",
                    param_hint=f"'{option}'",
                )
        return value

    return callback


def config_parameters(
    cls: type, flags: dict[str, Flag] | None = None, skip: Sequence[str] = ()
) -> list[inspect.Parameter]:
    """Keyword-only typer parameters for the fields of dataclass ``cls`` (``skip``: left out)."""
    flags = flags or {}
    hints = typing.get_type_hints(cls)
    docs = field_docs(cls)
    params = []
    for f in dataclasses.fields(cls):
        if f.name in skip or not f.init:
            continue
        flag = flags.get(f.name, Flag())
        tp, optional = _unwrap_optional(hints[f.name])
        if flag.cli_type is not None:
            tp = flag.cli_type
        default = cli_default(f) if flag.default == "<field default>" else flag.default
        name = option_name(f.name, flag)
        decls = [name] + ([flag.short] if flag.short else [])
        if tp is bool and flag.cli_type is None:
            decls = [f"{name}/--no-{name[2:]}"] + ([flag.short] if flag.short else [])
        callback = _check_choice(flag.choices, name) if flag.choices else None
        optional_tp = Optional[tp]  # noqa: UP045 (typer reads typing.Optional of a runtime type)
        annotation = optional_tp if (optional or default is None) and tp is not bool else tp
        if get_origin(tp) in (list, tuple) and flag.cli_type is not None:
            annotation = tp
            default = [] if default is None or default == () else default
        text = " ".join(t for t in (flag.help or docs.get(f.name, ""), flag.help_extra) if t)
        info = typer.Option(
            default,
            *decls,
            help=text,
            callback=callback,
            show_default=default not in (None, ..., [], ""),
        )
        params.append(
            inspect.Parameter(
                f.name, inspect.Parameter.KEYWORD_ONLY, default=info, annotation=annotation
            )
        )
    return params


def build_config(
    cls: type, values: dict[str, Any], flags: dict[str, Flag] | None = None, **fixed: Any
) -> Any:
    """``cls(**values)`` after each Flag's ``parse``; a factory field left at None keeps the
    dataclass's default. ``fixed``: fields set by the command itself."""
    flags = flags or {}
    kwargs = dict(fixed)
    by_name = {f.name: f for f in dataclasses.fields(cls)}
    for name, value in values.items():
        flag = flags.get(name)
        if flag and flag.parse is not None:
            value = flag.parse(value)
        field_default = by_name[name].default
        if value is None and (
            by_name[name].default_factory is not MISSING  # type: ignore[misc]
            or field_default not in (MISSING, None)
        ):
            continue  # "the dataclass's default"
        kwargs[name] = value
    return cls(**kwargs)


def with_config(
    cls: type,
    *,
    flags: dict[str, Flag] | None = None,
    skip: Sequence[str] = (),
    fixed: Callable[[], dict[str, Any]] | None = None,
    param: str = "config",
    errors: tuple[type[BaseException], ...] = (ValueError,),
) -> Callable:
    """Decorator: the command gets the fields of ``cls`` as options and receives ``param=cls(...)``
    built from them (``fixed()``: fields the command sets itself). A bad value (``errors``) ends the
    command with one line on stderr before it does anything. Several decorators combine."""
    names = [f.name for f in dataclasses.fields(cls) if f.name not in skip and f.init]

    def decorate(func: Callable) -> Callable:
        hints = typing.get_type_hints(func, include_extras=True)
        own = [
            p.replace(annotation=hints.get(p.name, p.annotation))
            for p in inspect.signature(func).parameters.values()
            if p.name != param
        ]
        generated = config_parameters(cls, flags, skip)
        clash = {p.name for p in own} & set(names)
        if clash:
            raise TypeError(
                f"{func.__name__}: parameters {sorted(clash)} are also fields of {cls.__name__}"
            )

        @functools.wraps(func)
        def command(**kwargs: Any) -> Any:
            values = {n: kwargs.pop(n) for n in names}
            with errors_as_fail(*errors):
                config = build_config(cls, values, flags, **(fixed() if fixed else {}))
            return func(**kwargs, **{param: config})

        all_params = own + generated
        command.__signature__ = inspect.Signature(all_params)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in all_params}
        del command.__wrapped__  # typer must read the signature above, not the function's
        return command

    return decorate


# ---------------------------------------------------------------- parsers of list-valued options
def key_values(items: Sequence[str], option: str) -> dict[str, Any]:
    """``KEY=VALUE`` items as a dict; VALUE is read as JSON where it parses (8, 0.1, true, [..]),
    else kept as a string."""
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"{option} {item!r}: expected KEY=VALUE")
        key, value = item.split("=", 1)
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def comma_list(text: str | None) -> tuple[str, ...] | None:
    """``a,b,c`` -> ("a", "b", "c"); None stays None."""
    if text is None:
        return None
    return tuple(s.strip() for s in text.split(",") if s.strip())
