"""Every word a template shows goes through the catalogs: text outside ``{% trans %}`` / ``_()`` fails.

The scanner reads each template with Jinja's own lexer: template text (``data``) outside a trans block
must hold no words once tags, entities and punctuation are gone; a string literal in an expression
that reads like words (a space in it) must be the argument of ``_``, ``gettext`` or ``ngettext``;
and a few attributes people read (placeholder, title, alt, aria-label) must not hold literal words.
"""
from __future__ import annotations

import re
from pathlib import Path

from jinja2 import Environment

TEMPLATES = Path(__file__).resolve().parent.parent / "app" / "templates"
# Text that is not language: the club's separators, arrows, entities; code shown to developers.
ALLOWED = re.compile(r"&\w+;|&#\d+;|[·←→—–:;,.()!?%/#|*+=\-\[\]'\"]|\d+")
READ_ATTRIBUTES = re.compile(r'\b(?:placeholder|title|alt|aria-label)="([^"{]*[A-Za-z][^"{]*)"')
TRANSLATING_CALLS = {"_", "gettext", "ngettext"}
# A CSS class name added by an expression (' field-error'): not words.
CSS_CLASSES = re.compile(r"^['\"]\s*[a-z]+(?:-[a-z]+)+\s*['\"]$")


def _environment() -> Environment:
    return Environment(extensions=["jinja2.ext.i18n"])


def _outside_tags(data: str, in_tag: bool) -> tuple[str, bool]:
    """The text of ``data`` outside HTML tags, and whether it ends inside one."""
    kept = []
    for char in data:
        if in_tag:
            in_tag = char != ">"
        elif char == "<":
            in_tag = True
        else:
            kept.append(char)
    return "".join(kept), in_tag


def template_problems(source: str) -> list[str]:
    problems = []
    calls: list[str | None] = []  # the function each open parenthesis belongs to
    previous_name = None
    in_trans = False
    in_tag = False  # inside ``<...>`` that an expression cut in two (``<a href="{{ ... }}">``)
    block_words: list[str] = []
    for _, token, value in _environment().lex(source):
        if token == "whitespace":
            continue
        if token == "operator" and value in "()":
            token = "lparen" if value == "(" else "rparen"
        if token == "block_begin":
            block_words = []
        elif token == "name" and block_words is not None:
            block_words.append(value)
        if token == "block_end" and block_words:
            if block_words[0] == "trans":
                in_trans = True
            elif block_words[0] == "endtrans":
                in_trans = False
            block_words = []
        if token == "data" and not in_trans:
            for attribute in READ_ATTRIBUTES.findall(value):
                problems.append(f"attribute text {attribute!r}")
            text, in_tag = _outside_tags(value, in_tag)
            text = ALLOWED.sub(" ", text)
            if re.search(r"[^\W\d_]", text):
                problems.append(f"text {' '.join(text.split())!r}")
        elif token == "lparen":
            calls.append(previous_name)
        elif token == "rparen" and calls:
            calls.pop()
        elif token == "string" and " " in value.strip() and re.search(r"[A-Za-z]{2}", value) \
                and not CSS_CLASSES.match(value):
            if not (calls and calls[-1] in TRANSLATING_CALLS):
                problems.append(f"string {value!r}")
        previous_name = value if token == "name" else None
    return problems


def all_templates() -> list[Path]:
    return sorted(p for p in TEMPLATES.rglob("*") if p.suffix in (".html", ".txt"))


def test_every_template_marks_its_words_for_translation():
    found = {str(p.relative_to(TEMPLATES)): template_problems(p.read_text()) for p in all_templates()}
    assert len(found) >= 25
    assert {name: problems for name, problems in found.items() if problems} == {}


def test_the_scanner_finds_unmarked_text_literals_and_attributes():
    assert template_problems("<p>Hello there</p>") == ["text 'Hello there'"]
    assert template_problems("{{ 'not verified' if x else '' }}") == ["string \"'not verified'\""]
    assert template_problems('<input placeholder="Your name">') == ["attribute text 'Your name'"]
    assert template_problems('<p>{{ _("Hello there") }} · {{ ngettext("%(num)s seat", "%(num)s seats", n) }}</p>') == []
    assert template_problems("{% trans %}Hello {{ name }}{% endtrans %} &larr; 2026") == []
    assert template_problems("{{ url_for('posts.index') }} {{ 'a' if x else 'b' }}") == []
    assert template_problems("<div class=\"field{{ ' field-error' if f.errors }}\">") == []  # a CSS class
