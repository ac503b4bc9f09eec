"""The process table (``Procfile`` at the top of the repository), read.

One line per process, ``name: command``, as foreman, honcho and Heroku read it. ``$NAME`` in a
command is what each launcher fills in (a bind address, a worker name); everything else is the
same wherever the process runs. ``make run`` builds its commands here (``deploy/local/stack.py``);
the other launchers are checked against the table by ``tests/test_process_table.py``.
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path

PROCFILE = Path(__file__).resolve().parent.parent / "Procfile"
_PLACEHOLDER = re.compile(r"\$([A-Z][A-Z0-9_]*)")


def load(path: Path = PROCFILE) -> dict[str, list[str]]:
    """Each process's command line as arguments, placeholders kept (``$REDIS_URL``)."""
    table: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, command = line.partition(":")
            table[name.strip()] = shlex.split(command)
    return table


def placeholders(args: list[str]) -> set[str]:
    return {name for arg in args for name in _PLACEHOLDER.findall(arg)}


def command(name: str, path: Path = PROCFILE, **values: object) -> list[str]:
    """Process ``name``'s command line with every ``$NAME`` filled in from ``values`` (all required)."""
    args = load(path)[name]
    missing = placeholders(args) - set(values)
    if missing:
        raise KeyError(f"{name}: no value for {', '.join(sorted(missing))}")
    return [_PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), arg) for arg in args]
