"""What a request that carries no session costs: nothing for the session it does not have.

A profile of the benchmark's ceiling route (bytes from memory, through the whole app: 195 us a request
in-process against 45 us for a bare Flask app) showed a third of the time going to work an anonymous
read never needs:

* Flask's cookie session builds an itsdangerous serializer on every request, with or without a cookie
  (``open_session``), and reads seven cookie settings before it finds there is nothing to save.
* Flask-Login's after-request hook asks ``"_remember" in session`` on every response. Since Flask 3.1
  that marks the session accessed, so every response, JSON and static bytes included, got
  ``Vary: Cookie`` (and the header's formatting cost) whether or not it depended on a cookie.
* Flask-WTF's CSRF hook looked up the view's exemptions before finding that a GET is never checked.
* flask-limiter's three hooks per request (see ``app.members.limits``: the app counts every limit where
  the request is handled, so they evaluated nothing).

Nothing is given up: a request with a session cookie opens and verifies it exactly as before, a session
that is written (sign-in, a CSRF token, a flash message) is saved as before, and a page that reads the
session (``current_user``, ``csrf_token()``) still answers ``Vary: Cookie``.
"""
from __future__ import annotations

from flask import Flask, current_app, request
from flask.globals import request_ctx
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from werkzeug.wrappers import Request, Response


class LightSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, free for requests that have none and do not start one."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        # ``in`` rather than ``get``: a MultiDict's ``get`` raises and catches a werkzeug exception when absent.
        name = self.get_cookie_name(app)
        if app.secret_key and (name not in request.cookies or not request.cookies[name]):
            return self.session_class()  # what the parent returns here, without building a serializer
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SecureCookieSession, response: Response) -> None:
        if not session.accessed and not session.modified and not session:
            return  # the parent would do nothing either: no Vary, no cookie to set or delete
        super().save_session(app, session, response)


class LightLoginManager(LoginManager):
    """Flask-Login, whose remember-cookie upkeep runs only when there is a session to keep."""

    def _update_remember_cookie(self, response: Response) -> Response:
        # ``request_ctx._session`` rather than ``flask.session``: reading it does not mark it accessed.
        # An empty session holds neither ``_remember`` nor ``_user_id``: the parent would do nothing.
        session = request_ctx._session
        if session is None or (not session and not session.modified):
            return response
        return super()._update_remember_cookie(response)


class LightCSRFProtect(CSRFProtect):
    """Flask-WTF's CSRF check, looking at the method first: a GET is never checked, so it need not
    find its view's exemptions first (the parent's order). Every POST, PUT, PATCH, DELETE is checked
    exactly as before."""

    def protect(self, apply_exemptions: bool = False) -> None:
        if request.method not in current_app.config["WTF_CSRF_METHODS"]:
            return
        super().protect(apply_exemptions)


class LightFlask(Flask):
    """Flask, remembering which of its hooks and views are coroutines.

    Flask asks ``inspect.iscoroutinefunction`` of every hook and view on every request (``ensure_sync``):
    about 1 us each, ten times a request. The answer never changes for a function, so it is kept."""

    MAX_REMEMBERED = 10_000  # hooks and views are a few dozen; anything else is asked every time

    def ensure_sync(self, func):  # type: ignore[no-untyped-def]
        remembered = self.__dict__.setdefault("_sync_functions", {})
        try:
            return remembered[func]
        except KeyError:
            pass
        except TypeError:  # not hashable
            return super().ensure_sync(func)
        synchronous = super().ensure_sync(func)
        if len(remembered) < self.MAX_REMEMBERED:
            remembered[func] = synchronous
        return synchronous
