"""What free text people type may hold, in one place: the API schemas and the HTML forms use these rules.

Why: text a member or an admin types ends up in mail headers (a subject, a
name), in SMS and in pages. The email package refuses a header value holding
any line-break-class character (``\\r``, ``\\n``, ``\\x0b``, ``\\x0c``,
``\\x1c``-``\\x1e``, ``\\x85``, ``\\u2028``, ``\\u2029``: what ``str.splitlines``
splits on), PostgreSQL cannot store NUL, and JSON can carry unpaired
surrogates that no database or mail can encode. Anything the app accepts must
be sendable, so such text is refused at input with a message naming the field
and the character, never accepted and failed later in a worker.

* Single-line fields (subjects, titles, names, places): no control characters
  (category Cc, which includes tab and every line break above), no line or
  paragraph separators, no unpaired surrogates.
* Multi-line fields (post and announcement bodies): line breaks are kept.
  Browsers send CRLF from a textarea; ``normalise_newlines`` turns CRLF and a
  lone CR into LF, on every path (API and forms) before anything else. Then
  the same rules as one line, except that LF and tab are allowed.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from flask_wtf import FlaskForm
from markupsafe import Markup
from pydantic import AfterValidator, BeforeValidator
from wtforms import PasswordField, StringField, TextAreaField
from wtforms.validators import ValidationError

from app.i18n import translate
from app.phrases import N_, Phrase

# The characters str.splitlines() breaks on; every one is refused by the email package in a header.
LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
MULTI_LINE_ALLOWED = frozenset("\n\t")


def normalise_newlines(text: str | None) -> str | None:
    """CRLF and lone CR become LF (what a textarea sends, and old Mac files)."""
    if text is None:
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def describe(char: str) -> str:
    """``U+2028 LINE SEPARATOR``: how a character is named in an error message."""
    name = unicodedata.name(char, "")
    if not name and unicodedata.category(char) == "Cc":
        name = {"\n": "LINE FEED", "\r": "CARRIAGE RETURN", "\t": "TAB", "\x00": "NUL", "\x0b": "LINE TABULATION",
                "\x0c": "FORM FEED", "\x85": "NEXT LINE"}.get(char, "CONTROL")
    return f"U+{ord(char):04X}{' ' + name if name else ''}"


def _problem(text: str, allowed: frozenset[str], line_break_hint: str) -> str | None:
    for char in text:
        if char in allowed:
            continue
        if char in LINE_BREAKS:
            return Phrase("contains a line break (%(char)s); %(hint)s", char=describe(char), hint=line_break_hint)
        category = unicodedata.category(char)
        if category == "Cc":
            return Phrase("contains a control character (%(char)s)", char=describe(char))
        if category == "Cs":
            return Phrase("contains an unpaired surrogate (%(char)s), which is not text", char=describe(char))
    return None


def single_line_problem(text: str) -> str | None:
    """None if ``text`` may go into a mail header; else what is wrong ("contains a line break (U+2028 ...)...")."""
    return _problem(text, frozenset(), N_("it must be a single line"))


# Invisible or unassigned: bidirectional overrides (U+202E makes "gnp.exe" read "exe.png"), zero-width
# characters that make two names look alike, private-use and unassigned code points.
NOT_PRINTABLE = {"Cf": N_("an invisible formatting character"), "Co": N_("a private-use character"),
                 "Cn": N_("an unassigned code point")}


def display_name_problem(text: str) -> str | None:
    """None if ``text`` is one printable line (a member's display name); else what is wrong."""
    problem = single_line_problem(text)
    if problem:
        return problem
    for char in text:
        what = NOT_PRINTABLE.get(unicodedata.category(char))
        if what:
            return Phrase("contains %(what)s (%(char)s); a name must be printable text", what=what, char=describe(char))
    if not text.strip():
        return N_("is only spaces")
    return None


def multi_line_problem(text: str) -> str | None:
    """None if ``text`` (already normalised) is fine as a message body; else what is wrong."""
    return _problem(text, MULTI_LINE_ALLOWED, N_("use plain new lines (Enter) only"))


# --- pydantic (API schemas) -------------------------------------------------------------------

def _check_single_line(text: str) -> str:
    problem = single_line_problem(text)
    if problem:
        raise ValueError(problem)
    return text


def _check_display_name(text: str) -> str:
    problem = display_name_problem(text)
    if problem:
        raise ValueError(problem)
    return text


def _check_multi_line(text: str) -> str:
    problem = multi_line_problem(text)
    if problem:
        raise ValueError(problem)
    return text


def _normalise_if_text(value: object) -> object:
    return normalise_newlines(value) if isinstance(value, str) else value


# Use as ``Annotated[str, Field(...), *SINGLE_LINE]``.
SINGLE_LINE = (AfterValidator(_check_single_line),)
DISPLAY_NAME = (AfterValidator(_check_display_name),)
MULTI_LINE = (BeforeValidator(_normalise_if_text), AfterValidator(_check_multi_line))

SingleLineText = Annotated[str, *SINGLE_LINE]
MultiLineText = Annotated[str, *MULTI_LINE]


# --- WTForms (HTML forms) ---------------------------------------------------------------------

def field_problem(field, problem: str) -> str:
    """"Title contains a line break (...)." in the reader's language (the label is already in it)."""
    return translate(Phrase("%(field)s %(problem)s.", field=str(field.label.text), problem=problem))


class SingleLine:
    """WTForms validator: the field's text must be one line without control characters."""

    def __call__(self, form, field) -> None:
        problem = single_line_problem(field.data or "")
        if problem:
            raise ValidationError(field_problem(field, problem))


class DisplayName:
    """WTForms validator: a member's name is one printable line."""

    def __call__(self, form, field) -> None:
        problem = display_name_problem(field.data or "")
        if problem:
            raise ValidationError(field_problem(field, problem))


class MultiLine:
    """WTForms validator for a textarea; pair it with ``filters=[normalise_newlines]``."""

    def __call__(self, form, field) -> None:
        problem = multi_line_problem(field.data or "")
        if problem:
            raise ValidationError(field_problem(field, problem))


class TextRulesForm(FlaskForm):
    """A FlaskForm whose text fields follow these rules without each field saying so.

    Every text input (``StringField`` and its kinds, passwords excepted) must be
    one line without control characters; every ``TextAreaField`` is normalised
    (CRLF -> LF) before validation and may hold new lines and tabs. A form
    opts in by its base class, so no field of it can be forgotten.
    """

    def validate(self, extra_validators=None) -> bool:
        extra = {name: list(rules) for name, rules in (extra_validators or {}).items()}
        for name, field in self._fields.items():
            if isinstance(field, PasswordField) or not isinstance(field, StringField):
                continue
            if isinstance(field, TextAreaField):
                field.data = normalise_newlines(field.data)
                rule: SingleLine | MultiLine = MultiLine()
            else:
                rule = SingleLine()
            extra.setdefault(name, []).append(rule)
        return super().validate(extra_validators=extra)


# --- showing multi-line text in pages ---------------------------------------------------------

_BLANK_LINES = re.compile(r"\n[ \t]*\n+")


def paragraphs_html(text: str | None) -> Markup:
    """``<p>`` per paragraph (split on blank lines), ``<br>`` for a single line break; every piece escaped.

    The Jinja filter ``paragraphs``. Text is normalised first, so rows stored
    with CRLF before input was normalised show their paragraphs too.
    """
    text = (normalise_newlines(text) or "").strip("\n")
    if not text.strip():
        return Markup("")
    paragraphs = [p.strip("\n") for p in _BLANK_LINES.split(text) if p.strip()]
    return Markup("\n").join(Markup("<p>{}</p>").format(Markup("<br>\n").join(p.split("\n")))
                             for p in paragraphs)
