"""Text the core writes for people, marked so the edge can say it in the reader's language.

The core (models, services, the outbox, jobs) must not import the web, and often runs where no
request decides a language (a worker, a command). So it does not translate: it marks. ``N_`` marks a
fixed sentence for extraction (``make catalogs``) and returns it unchanged; ``Phrase`` is a ``str``
(English, so logs, the API's JSON and comparisons keep working) that also remembers its message id
and parameters, so ``app.i18n.translate`` can say it again in Korean at the edge.
"""
from __future__ import annotations

from typing import Any


def N_(text: str) -> str:
    """Mark ``text`` for the catalogs without translating it here."""
    return text


class Phrase(str):
    """English text with ``%(name)s`` parameters, translatable later: ``Phrase("%(n)s seats", n=3)``."""

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, **params: Any) -> "Phrase":
        text = super().__new__(cls, msgid % params if params else msgid)
        text.msgid, text.params = msgid, params
        return text
