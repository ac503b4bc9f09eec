"""Who may do what: how a session cookie becomes a member, what 'not signed in' looks like, the
one verified check (an unverified member may not post or RSVP) and the one admin check."""
from __future__ import annotations

from functools import wraps
from typing import Callable, TypeVar

from flask import Flask, Response, abort, redirect, request, url_for
from flask_login import current_user

from app.error_pages import APIError, PageError, error_response
from app.extensions import login_manager
from app.members import sessions
from app.phrases import N_


def init_login(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"

    # The cookie names a server-side session; a signed-out (or ended) one loads nobody.
    login_manager.user_loader(sessions.load)

    @login_manager.unauthorized_handler
    def unauthorized() -> Response:
        if request.blueprint == "api" or request.path.startswith("/api/"):
            return error_response(401, "sign in first (POST /api/auth/login)")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


F = TypeVar("F", bound=Callable)

UNVERIFIED_MESSAGE = ("verify your account first: enter the code we sent you "
                      "(POST /api/auth/verify, or the page /auth/verify); "
                      "POST /api/auth/verify/resend sends a new one")
UNVERIFIED_PAGE = N_("Verify your account first: enter the code we sent you when you signed up. "
                   "No code, or it expired? You can ask for a new one on the same page.")


def refuse_unverified(page_message: str = UNVERIFIED_PAGE, api_message: str = UNVERIFIED_MESSAGE) -> None:
    """403: as JSON under /api/, else a page whose link leads to entering the code."""
    if request.blueprint == "api":
        raise APIError(403, api_message)
    raise PageError(403, page_message, link=(N_("Enter your code"), url_for("accounts.verify")))


def require_verified(page_message: str = UNVERIFIED_PAGE, api_message: str = UNVERIFIED_MESSAGE) -> None:
    """The one verified check: a signed-in member who has not verified yet gets a 403 saying how to.

    Call it (or use ``verified_required``) after the sign-in check, so an anonymous visitor
    still gets 401 or the sign-in page.
    """
    if current_user.is_authenticated and not current_user.is_verified:
        refuse_unverified(page_message, api_message)


def verified_required(view: F) -> F:
    """403 with a clear message for a signed-in member who has not verified yet.

    Put it under ``login_required`` so an anonymous visitor still gets 401/redirect.
    """

    @wraps(view)
    def wrapper(*args, **kwargs):
        require_verified()
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def admin_refusal(message: str | None = None) -> Response | None:
    """The one admin check: None for a signed-in admin; otherwise the answer to give instead.

    Not signed in: Flask-Login's answer (401 JSON under /api/, the sign-in page otherwise).
    Signed in but not an admin: 403 with ``message`` (a page for people, JSON under /api/).
    """
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.is_admin:
        abort(403, message)
    return None


def admin_required(message: str | None = None) -> Callable[[F], F]:
    """Decorate a view with ``admin_refusal(message)``."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args, **kwargs):
            refusal = admin_refusal(message)
            if refusal is not None:
                return refusal
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
