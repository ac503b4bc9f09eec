"""``POST /language``: the footer's switch. It keeps the choice and goes back where the member was.

Anyone gets a ``locale`` cookie; a signed-in member's choice is also saved (``users.locale``), so it
follows them to another device and decides the language of their mail and SMS. An unknown language
is a 400 page saying which ones exist; ``next`` must be a path on this site (never an open redirect).

The form carries no CSRF token (a token would start a session on every anonymous page, and cached
pages are stored only when they start none); instead the browser's ``Origin`` (or ``Referer``) must be
this site, as for the dashboard's actions: another site cannot switch a visitor's language either.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from app.config import LOCALES
from app.extensions import db
from app.i18n import LOCALE_COOKIE, LOCALE_COOKIE_MAX_AGE, normalise
from app.phrases import Phrase
from app.security.proxies import same_origin

bp = Blueprint("language", __name__)


def _safe_next(target: str) -> str:
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and "\\" not in target \
            and not parts.netloc and not parts.scheme:
        return target
    return url_for("posts.index")


@bp.post("/language")
def choose() -> Response:
    if not same_origin():
        abort(403, Phrase("cross-site request refused: choose the language on this site's own pages"))
    locale = normalise(request.form.get("locale", ""))
    if locale is None:
        abort(400, Phrase("choose one of the languages offered: %(languages)s", languages=", ".join(LOCALES)))
    if current_user.is_authenticated and current_user.locale != locale:
        current_user.locale = locale
        db.session.commit()
    response = redirect(_safe_next(request.form.get("next", "")))
    response.set_cookie(LOCALE_COOKIE, locale, max_age=LOCALE_COOKIE_MAX_AGE, samesite="Lax",
                        secure=request.is_secure, httponly=True)
    return response
