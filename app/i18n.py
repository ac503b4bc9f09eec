"""Which language a page, an email or a text message is in, and saying core text in it.

Korean first, English second (``LOCALES``). A request's language is, in order: the signed-in
member's saved choice (``users.locale``), the ``locale`` cookie (set by the footer's switch,
``POST /language``), the best match of ``Accept-Language``, and ``APP_LOCALE``. Mail and SMS are
written in the recipient's language (``recipient_locale``), not the sender's.

Nothing here calls the database or Redis: the member is the one Flask-Login already loaded, the
catalogs are read from disk once per process (Flask-Babel caches them) and Babel's locale data is
in memory. Responses that depend on the language say so (``Vary: Accept-Language, Cookie``).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from flask import Flask, Response, current_app, has_request_context, request
from flask_babel import force_locale, get_locale, gettext
from flask_login import current_user

from app.config import LOCALES
from app.extensions import babel
from app.page_cache import page_language
from app.phrases import Phrase
from app.times import init_times

LOCALE_COOKIE = "locale"
LOCALE_COOKIE_MAX_AGE = 400 * 24 * 3600  # the longest a browser keeps a cookie (RFC 6265bis)
LANGUAGE_NAMES = {"ko": "한국어", "en": "English"}  # each in its own language, as switches show them


def normalise(value: object) -> str | None:
    """``"ko"``, ``"en"`` (or ``"ko-KR"``, ``"en_US"``) -> the catalog's locale; anything else -> None."""
    if not isinstance(value, str):
        return None
    base = value.strip().lower().replace("_", "-").split("-", 1)[0]
    return base if base in LOCALES else None


def recipient_locale(user: Any, default: str | None = None) -> str:
    """The language to write to ``user`` in: their saved choice, else ``APP_LOCALE``."""
    return normalise(getattr(user, "locale", None)) or default or current_app.config["APP_LOCALE"]


def signup_locale() -> str | None:
    """A new member's language: the one the sign-up page was in (None outside a request: APP_LOCALE)."""
    return current_locale() if has_request_context() else None


def select_locale() -> str:
    """Flask-Babel's locale selector for a request (see the module docstring for the order)."""
    default = current_app.config["APP_LOCALE"]
    if not has_request_context():
        return default
    # A member's saved choice; otherwise the same answer the anonymous page cache keys its pages by
    # (the ``locale`` cookie, Accept-Language, APP_LOCALE): one function for both.
    return _member_locale() or page_language()


def _member_locale() -> str | None:
    try:
        return normalise(current_user.locale) if current_user.is_authenticated else None
    except Exception:  # the member could not be loaded (database down): the page still has a language
        return None


def current_locale() -> str:
    locale = get_locale()
    return str(locale.language) if locale else current_app.config["APP_LOCALE"]


def translate(text: Any) -> Any:
    """Core text (``Phrase``, a string marked with ``N_``) in the current language; other values as they are."""
    if isinstance(text, Phrase):
        params = {k: translate(v) for k, v in text.params.items()}
        return gettext(text.msgid, **params) if params else gettext(text.msgid)
    if isinstance(text, str) and text:
        return gettext(text)
    return text


@contextmanager
def in_locale(locale: str) -> Iterator[None]:
    """Render mail or SMS in ``locale`` (a worker has no request: this sets the language for the block)."""
    with force_locale(locale):
        yield


def _vary_on_language(response: Response) -> Response:
    if response.mimetype == "text/html":  # the API's JSON is not translated (its messages stay English)
        response.vary.update(("Accept-Language", "Cookie"))
    return response


def init_i18n(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, default_timezone="UTC")
    app.after_request(_vary_on_language)
    app.jinja_env.globals.update(current_locale=current_locale, LANGUAGE_NAMES=LANGUAGE_NAMES,
                                 LOCALES=LOCALES, translate=translate)
    app.jinja_env.filters["translate"] = translate
    init_times(app)
