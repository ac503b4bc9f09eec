"""Ids in URLs are at most 2^63 - 1: a bigger number is a 404, not a database error.

Every table's id is a signed 64-bit integer (BIGINT on PostgreSQL, INTEGER on
SQLite); werkzeug's ``int`` converter takes any length of digits, and the
drivers raise (OverflowError, NumericValueOutOfRange) on a number that does not
fit, which was a 500. Replacing the app's ``int`` converter bounds every
``<int:...>`` route at once, including routes added later. The bound is in the
converter's regular expression too: werkzeug checks a route's methods before
converting, so a number that matched the pattern and failed only the
conversion made a PATCH or DELETE a 405 instead of a 404.
"""
from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

MAX_ID = 2**63 - 1


def at_most(number: int) -> str:
    """A regular expression (no groups) for the decimal numbers 0..``number``."""
    digits = str(number)
    choices = [r"\d{1,%d}" % (len(digits) - 1)] if len(digits) > 1 else []
    for i, digit in enumerate(digits):
        rest = len(digits) - i - 1
        if digit != "0":
            choices.append(digits[:i] + f"[0-{int(digit) - 1}]" + (r"\d{%d}" % rest if rest else ""))
    choices.append(digits)
    return "(?:" + "|".join(choices) + ")"


class DatabaseIdConverter(IntegerConverter):
    """werkzeug's ``int``, with ``max`` defaulting to the largest signed 64-bit integer."""

    regex = at_most(MAX_ID)

    def __init__(self, map: Any, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_ID,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def init_ids(app: Flask) -> None:
    app.url_map.converters["int"] = DatabaseIdConverter
