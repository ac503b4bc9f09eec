"""Whole rendered pages for anonymous readers, in the post cache, with its race-free invalidation.

Which readers: only anonymous ones (``anonymous_reader``). A signed-in member's page holds their
name, admin and verify links and a sign-out form with a CSRF token bound to their session; caching
the shared part for them too would mean splicing per-member parts into cached bytes. Members are
few and their pages still render from the cached JSON; anonymous readers, the many, get the page
as stored bytes: no JSON parsing, no Jinja.

What changes the bytes of an anonymous page is ``page_variant()``: today the negotiated language.
Its first element comes from one place so that the language selector can be wired in at one
point; whatever else a template starts to depend on (a theme cookie, the request's path in a
form) must be added there. Responses say what they vary on (``Vary: Cookie, Accept-Language``).

An entry is a field of the same namespace as the JSON it is rendered from (``posts`` for the list
pages, ``post:<id>`` for one post), so the same invalidation after each commit drops both in one
step, and a page rendered from rows read before a commit is refused at its store as JSON is
(``app.cache.versioned``).

Never shared: a page whose rendering put something in the session or made a CSRF token (a form
for anonymous readers would) holds bytes of that one visitor. It is answered, not stored, and the
app says so once in its log: the cache stays correct whatever a template does, and the warning
says why pages stopped being cached.
"""
from __future__ import annotations

import logging
from typing import Callable

from flask import current_app, g, request
from flask.globals import request_ctx
from flask_login.config import COOKIE_NAME as REMEMBER_COOKIE
from werkzeug.wrappers import Response

from app.cache.versioned import CacheResult, VersionedCache

log = logging.getLogger(__name__)

PAGE_LANGUAGES = ("ko", "en")  # Korean first (the members are Korean), English second
LANGUAGE_COOKIE = "locale"
VARY = "Cookie, Accept-Language"
# Session keys that make a page someone's own: Flask-Login's member, and flashed messages.
_PERSONAL_SESSION_KEYS = ("_user_id", "_flashes")


def page_language() -> str:
    """The page's language: the ``locale`` cookie, else the best match of ``Accept-Language``
    among ``PAGE_LANGUAGES``, else ``APP_LOCALE`` (``ko`` when unset). The language selector
    (Flask-Babel) must answer the same for an anonymous reader: wire both to one function."""
    cookies = request.cookies  # (``in`` first: a MultiDict's ``get`` raises and catches when absent)
    raw = cookies[LANGUAGE_COOKIE] if LANGUAGE_COOKIE in cookies else ""
    chosen = raw.strip().lower().replace("_", "-").split("-", 1)[0]  # "en-US" -> "en"; "kor" is no language
    if chosen in PAGE_LANGUAGES:
        return chosen
    if request.environ.get("HTTP_ACCEPT_LANGUAGE"):  # (``in request.headers`` raises and catches when absent)
        best = request.accept_languages.best_match(PAGE_LANGUAGES)
        if best:
            return best
    return current_app.config.get("APP_LOCALE") or PAGE_LANGUAGES[0]


def page_variant() -> tuple[str, ...]:
    """Everything besides the route's own values that may change an anonymous page's bytes: the
    language, and the query string as sent (a template that links back to ``request.full_path``
    must not get another spelling's bytes; ``cached_page`` stores only queries of known arguments)."""
    return (page_language(), request.query_string.decode("latin-1"))


def anonymous_reader() -> bool:
    """No member can be behind this request, and nothing personal waits in its session.

    Reads the session without marking it accessed (the response says ``Vary: Cookie`` anyway).
    A remember-me cookie could sign a member in: such a request is not anonymous either."""
    if (current_app.config.get("REMEMBER_COOKIE_NAME") or REMEMBER_COOKIE) in request.cookies:
        return False
    session = request_ctx._session
    return not session or not any(key in session for key in _PERSONAL_SESSION_KEYS)


def _rendered_for_one_visitor() -> bool:
    """The rendering made a CSRF token or wrote to the session: its bytes belong to this visitor."""
    session = request_ctx._session
    return (g.get(current_app.config["WTF_CSRF_FIELD_NAME"]) is not None  # Flask-WTF's default is set at init
            or (session is not None and session.modified))


def cached_page(cache: VersionedCache, namespace: str, name: str, render: Callable[[], bytes | None],
                known_args: tuple[str, ...] = ()) -> Response | None:
    """The anonymous page ``name`` of ``namespace``: from the cache, else ``render()`` stored.

    ``render()`` returns the page's bytes, or None when there is no page (a post that does not exist:
    nothing is stored, and the caller answers 404). Returns None then too. A query with arguments
    other than ``known_args`` (each once) is rendered and not stored: the query string is part of
    the key, and nobody may fill the cache by adding ``?x=1``, ``?x=2``... to a page."""
    args = request.args
    if any(key not in known_args or len(args.getlist(key)) > 1 for key in args):
        value = render()
        return _page_response(value, hit=False) if value else None
    field = "html:" + ":".join((*page_variant(), name))

    def compute() -> bytes:
        return render() or b""

    def keep(value: bytes) -> bool:
        if value and _rendered_for_one_visitor():
            warned = current_app.extensions.setdefault("page_cache_warned", set())  # once per app and page
            if name not in warned:
                warned.add(name)
                log.warning("page %s holds a CSRF token or session data for anonymous readers: it is not "
                            "cached (render per-visitor parts for members only)", name)
            return False
        return bool(value)

    result: CacheResult = cache.get_or_compute(namespace, field, compute, keep=keep)
    return _page_response(result.value, result.hit) if result.value else None


def _page_response(value: bytes, hit: bool) -> Response:
    return Response(value, mimetype="text/html", headers={"X-Cache": "HIT" if hit else "MISS", "Vary": VARY})
