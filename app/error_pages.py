"""Every error answer in one place: pages for people, JSON under ``/api/``.

A person who meets an error gets the site's layout, a heading and a sentence in
plain words saying what happened, and links back (the page they came from, the
posts, signing in when that would help). The words come from the error's own
description when a view gave one (``abort(403, "only the author can edit this
post")``), else from ``PLAIN_WORDS``: werkzeug's stock descriptions and Flask-WTF's
CSRF messages speak to developers. ``/api/*`` answers keep the API's JSON shape
(``{"error", "status"}``), also for routes that do not exist and for crashes.
A view can offer a specific way forward by raising ``PageError`` with a link.
"""
from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, jsonify, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.exceptions import BAD_QUERY, CONFLICT, FORBIDDEN, INVALID, NOT_FOUND, Refused
from app.extensions import db
from app.i18n import translate
from app.phrases import N_

log = logging.getLogger(__name__)

PLAIN_WORDS: dict[int, tuple[str, str]] = {
    400: (N_("Something in this request is not right"),
          N_("The page sent something the site could not use. Go back, reload the page and try again.")),
    401: (N_("Please sign in"), N_("Sign in to see this page.")),
    403: (N_("You cannot do this"), N_("Your account is not allowed to open this page or do this action.")),
    404: (N_("Page not found"), N_("There is nothing here: the link may be mistyped, or what it pointed to was removed.")),
    405: (N_("This page cannot be used this way"),
          N_("This address is for a form's button, not for opening as a link. Go back and use the button.")),
    413: (N_("What you sent is too large"),
          N_("The text is longer than the site can take at once. Go back, shorten it and send it again.")),
    429: (N_("Too many attempts"), N_("Please wait a moment and try again.")),
    500: (N_("Something went wrong on our side"),
          N_("Sorry: the site failed to answer. The error has been logged; please try again in a moment.")),
    502: (N_("Another service did not answer"), N_("Please try again in a moment.")),
    503: (N_("The site is busy"), N_("Please try again in a moment.")),
}
CSRF_WORDS = (N_("This form has expired or did not come from this site's page. "
              "Go back, reload the page and send it again."))


class PageError(HTTPException):
    """An HTML error with its own message and one link forward (e.g. "Enter your code")."""

    def __init__(self, code: int, message: str, link: tuple[str, str] | None = None) -> None:
        self.code = code
        super().__init__(message)
        self.link = link


class APIError(Exception):
    """An API error: its status, a message and, for invalid fields, their details."""

    def __init__(self, status: int, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.details = status, message, details


def error_response(status: int, message: str, details: list[dict[str, Any]] | None = None) -> Response:
    """The API's error body: ``{"error", "status", "details"?}``."""
    payload: dict[str, Any] = {"error": message, "status": status}
    if details:
        payload["details"] = details
    response = jsonify(payload)
    response.status_code = status
    return response


# What each domain refusal (app.exceptions) is over HTTP.
STATUS_FOR: dict[str, int] = {BAD_QUERY: 400, FORBIDDEN: 403, NOT_FOUND: 404, CONFLICT: 409, INVALID: 422}


def status_for(exc: Refused) -> int:
    return STATUS_FOR[exc.reason]


def register_error_pages(app: Flask) -> None:
    app.register_error_handler(HTTPException, _answer)
    app.register_error_handler(Refused, _refused)


def _refused(exc: Refused) -> Response | tuple[str, int]:
    """A domain refusal a view did not handle itself: its status from ``STATUS_FOR``."""
    status = status_for(exc)
    if request.path.startswith("/api/") or request.blueprint == "api":
        details = [{"field": exc.field, "message": exc.message}] if exc.field else None
        return error_response(status, exc.message, details)
    return _page(PageError(status, exc.page_message))


def _answer(exc: HTTPException) -> Response | HTTPException:
    if exc.code is None:  # not an error: a response wrapped in an exception
        return exc
    if request.path.startswith("/api/") or request.blueprint == "api":
        return _json(exc)
    return _page(exc)


def _json(exc: HTTPException) -> Response:
    if exc.code == 500:
        forget_failed_transaction()
        description = "internal error: it has been logged"
    else:
        description = exc.description or exc.name
    response = error_response(exc.code or 500, description)
    _copy_headers(exc, response)
    return response


def _page(exc: HTTPException) -> tuple[str, int] | Response:
    code = exc.code or 500
    title, words = PLAIN_WORDS.get(code, (exc.name, N_("Please go back and try again.")))
    title, words = translate(title), translate(words)
    if isinstance(exc, CSRFError):
        message = translate(CSRF_WORDS)
    elif _has_own_description(exc):
        message = _sentence(translate(exc.description or ""))
    else:
        message = words
    if code >= 500:
        forget_failed_transaction()
    context = {"code": code, "title": title, "message": message, "links": _links(exc, code)}
    try:
        body = render_template("errors/error.html", **context)
    except Exception:  # the layout itself failed (database down?): plain words without it
        log.exception("error page %s could not use the layout", code)
        body = render_template("errors/plain.html", **context)
    response = Response(body, status=code, mimetype="text/html")
    _copy_headers(exc, response)
    return response


def _has_own_description(exc: HTTPException) -> bool:
    if isinstance(exc, InternalServerError):
        return False  # never show a crash's details to people
    return bool(exc.description) and exc.description != type(exc).description


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def _links(exc: HTTPException, code: int) -> list[tuple[str, str]]:
    links: list[tuple[str, str]] = []
    if isinstance(exc, PageError) and exc.link:
        links.append((translate(exc.link[0]), exc.link[1]))
    back = _same_site_referrer()
    if back:
        links.append((translate(N_("Go back to the page you came from")), back))
    if code in (401, 403) and not _signed_in():
        links.append((translate(N_("Sign in")), url_for("auth.login", next=request.full_path.rstrip("?"))))
    links.append((translate(N_("Go to the film club's posts")), url_for("posts.index")))
    return links


def _same_site_referrer() -> str | None:
    referrer = request.referrer or ""
    parts = urlsplit(referrer)
    if referrer and parts.netloc == request.host and parts.scheme in ("http", "https") \
            and referrer != request.url:
        return referrer
    return None


def _signed_in() -> bool:
    try:
        return bool(current_user.is_authenticated)
    except Exception:  # the user could not be loaded (database down)
        return False


def _copy_headers(exc: HTTPException, response: Response) -> None:
    """Keep what the error says beyond its body: ``Allow`` (405), ``Retry-After`` (429)."""
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value


def forget_failed_transaction() -> None:
    try:
        db.session.rollback()
    except Exception:
        log.exception("rollback after an error failed")
