"""The HTML part of every email: the plain text laid out like the site, in the recipient's language.

Every delivery row keeps its plain text (``body``, what the text part and SMS send) and the language it
was written in (``locale``). The worker builds the HTML part from those when it sends: the club's name,
the subject as a heading, the text in paragraphs with its links made clickable, and a button to the
page the mail is about (the last link of the text: a reminder's screening, the welcome's programme).
No stored HTML, so a template change reaches mail already queued, and no second copy of each body.

An announcement's rows share one subject, body and language, so each worker keeps the last few parts it
rendered (``RENDERED_KEPT``, per app): rendering the layout took about 160 us a message, a tenth of what
sending one costs. The part depends only on its three inputs and the app's configuration, never on the
time or the recipient, so a kept copy is the same bytes a new rendering would give; a worker started
after a template change renders afresh.
"""
from __future__ import annotations

import re

from flask import current_app, render_template
from markupsafe import Markup, escape

from app.i18n import in_locale, normalise
from app.links import page_url
from app.text_rules import normalise_newlines

URL = re.compile(r"https?://[^\s<>\"')]+")
_BLANK_LINES = re.compile(r"\n[ \t]*\n+")


def _line(text: str) -> Markup:
    """One line, escaped, with its URLs as links."""
    out, last = [], 0
    for match in URL.finditer(text):
        out.append(escape(text[last:match.start()]))
        out.append(Markup('<a href="{0}" style="color:#0b5cad;">{0}</a>').format(match.group(0)))
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


def paragraphs(text: str) -> Markup:
    text = (normalise_newlines(text) or "").strip("\n")
    pieces = [p.strip("\n") for p in _BLANK_LINES.split(text) if p.strip()]
    return Markup("\n").join(
        Markup('<p style="margin:0 0 .9rem;">{}</p>').format(Markup("<br>\n").join(_line(line) for line in p.split("\n")))
        for p in pieces)


RENDERED_KEPT = 64


def html_part(subject: str, body: str, locale: str | None) -> str:
    """The HTML alternative of a mail whose plain text is ``body``."""
    language = normalise(locale) or current_app.config["APP_LOCALE"]
    rendered: dict[tuple[str, str, str], str] = current_app.extensions.setdefault("mail_html.rendered", {})
    key = (language, subject, body)
    html = rendered.get(key)
    if html is None:
        html = _render(subject, body, language)
        if len(rendered) >= RENDERED_KEPT:
            rendered.pop(next(iter(rendered)), None)  # the oldest first: dicts keep insertion order
        rendered[key] = html
    return html


def _render(subject: str, body: str, language: str) -> str:
    links = URL.findall(body)
    with in_locale(language):
        return render_template("email/layout.html", lang=language, subject=subject, body_html=paragraphs(body),
                               link=links[-1] if links else None, home=page_url("posts.index"))
