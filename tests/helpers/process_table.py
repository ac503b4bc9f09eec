"""Compare a launcher's command line with the process table (``Procfile``, ``deploy.procfile``).

A launcher conforms when it runs the table's program with every option of the table's command
(the same value, unless the table has a ``$NAME`` there: then the launcher's own) and the same
arguments. It may add options of its own. Shell spellings are undone first: ``${NAME:-default}``
becomes its default, paths to the program and to ``deploy/...`` files lose their prefix.
"""
from __future__ import annotations

import re
from pathlib import Path

from deploy import procfile

# Options that take no value (so the word after them is an argument or another option).
FLAGS = {"--with-scheduler", "--burst", "--preload"}
_DEFAULT = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:[-=]([^${}]*)\}")


def shell_defaults(text: str) -> str:
    """``${WEB_BIND:-0.0.0.0:${PORT:-8000}}`` -> ``0.0.0.0:8000`` (innermost first)."""
    while _DEFAULT.search(text):
        text = _DEFAULT.sub(lambda m: m.group(1), text)
    return text


def _normalise(arg: str) -> str:
    return re.sub(r"^.*?/(deploy/)", r"\1", arg)


def parse(args: list[str]) -> tuple[str, dict[str, str | None], list[str]]:
    """(program, options, arguments) of a command line."""
    program, options, arguments = Path(args[0]).name, {}, []
    i = 1
    while i < len(args):
        arg = _normalise(args[i])
        if arg.startswith("-") and arg != "-":
            takes_value = arg not in FLAGS and i + 1 < len(args) and not args[i + 1].startswith("--")
            options[arg] = _normalise(args[i + 1]) if takes_value else None
            i += 2 if takes_value else 1
        else:
            arguments.append(arg)
            i += 1
    return program, options, arguments


def _matches(table_value: str | None, value: str | None) -> bool:
    if table_value is not None and procfile.placeholders([table_value]):
        return True
    return table_value == value


def drift(name: str, args: list[str]) -> list[str]:
    """What in ``args`` differs from process ``name`` of the table (empty: it conforms)."""
    program, options, arguments = parse(procfile.load()[name])
    got_program, got_options, got_arguments = parse(args)
    problems = [] if got_program == program else [f"program {got_program!r}, the table says {program!r}"]
    for option, value in options.items():
        if option not in got_options:
            problems.append(f"no {option} (the table has {option} {value or ''})".rstrip())
        elif not _matches(value, got_options[option]):
            problems.append(f"{option} {got_options[option]!r}, the table says {value!r}")
    if len(arguments) != len(got_arguments) or not all(map(_matches, arguments, got_arguments)):
        problems.append(f"arguments {got_arguments}, the table says {arguments}")
    return problems
