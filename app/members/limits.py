"""Rate limits (the ``limits`` library, which flask-limiter is built on): per client address, per
email, per phone number.

Every limit is counted where the request is handled (``enforce``): the sign-in, sign-up and code
routes name what they count and for whom. flask-limiter's ``Limiter`` added three hooks to every
request (before, after, teardown) to evaluate limits declared on routes or as defaults; this app
declares none, so they evaluated nothing, at about 30 us a request: the most expensive part of an
anonymous read after Flask itself (``app.light_requests``). So each app keeps only what the
limits are counted with: a storage (``RATELIMIT_STORAGE_URI``: by default the queue Redis, whose
``noeviction`` policy means an attacker cannot reset a limit by filling a cache) and the strategy
(``RATELIMIT_STRATEGY``, default fixed-window). Limits are strings from config, e.g.
``"10 per minute;50 per hour"``; every one of them must hold. Keys carry ``RATELIMIT_KEY_PREFIX``
(``LIMITS:LIMITER/<prefix>/<scope>/<identity>/...``, the keys flask-limiter wrote), so two apps
sharing one Redis keep separate counts.

If the storage fails, the limits never fail open: this process counts in its
own memory instead (``app.security.limit_fallback``), logged once when it
starts and once when the storage is back.
"""
from __future__ import annotations

import logging
import math
import time

from flask import Flask, current_app, request
from flask_babel import ngettext
from limits import parse_many
from limits.storage import storage_from_string
from limits.strategies import STRATEGIES
from werkzeug.exceptions import TooManyRequests

from app.security.limit_fallback import LimitFallback

log = logging.getLogger(__name__)

_EXTENSION_KEY = "accounts_limiter"
_FALLBACK_KEY = "accounts_limiter_fallback"


class RateLimited(TooManyRequests):
    """429 with a message saying what was limited and when to try again."""

    def __init__(self, description: str, retry_after: int) -> None:
        super().__init__(description)
        self.retry_after = retry_after

    def get_headers(self, environ=None, scope=None):  # type: ignore[override]
        return [*super().get_headers(environ, scope), ("Retry-After", str(self.retry_after))]


def init_limiter(app: Flask) -> None:
    """The storage and strategy the limits are counted with (no request hook: see the module docstring)."""
    uri = app.config["RATELIMIT_STORAGE_URI"]
    options = {"socket_connect_timeout": 1, "socket_timeout": 2} if uri.startswith("redis") else {}
    strategy = app.config.get("RATELIMIT_STRATEGY") or "fixed-window"
    app.extensions[_EXTENSION_KEY] = STRATEGIES[strategy](storage_from_string(uri, **options))
    app.extensions[_FALLBACK_KEY] = LimitFallback(strategy)


def client_address() -> str:
    """The client's address (after ``TRUSTED_PROXIES``), as flask-limiter's ``get_remote_address`` gave it."""
    return request.remote_addr or "127.0.0.1"


def enforce(limit_setting: str, scope: str, identity: str, what: str) -> None:
    """Count one attempt by ``identity`` against every limit in ``config[limit_setting]``.

    Raises RateLimited (429) when one is exhausted; ``what`` names the identity in
    the message ("from your address", "for this email address").
    """
    enforce_all(limit_setting, [(scope, identity, what)])


def enforce_all(limit_setting: str, keys: list[tuple[str, str, str]]) -> None:
    """One request, several identities (an email address and a phone number): each is counted
    once, and only if all of them have room; else RateLimited for the first that has none."""
    app = current_app._get_current_object()
    if not app.config["RATELIMIT_ENABLED"] or not keys:
        return
    items = parse_many(app.config[limit_setting])
    prefix = app.config["RATELIMIT_KEY_PREFIX"]
    fallback = app.extensions[_FALLBACK_KEY]
    if fallback.active():
        return _count(fallback.strategy, items, prefix, keys)
    try:
        _count(app.extensions[_EXTENSION_KEY], items, prefix, keys)
    except RateLimited:
        raise
    except Exception as exc:  # storage down: never fail open (see module docstring)
        fallback.start(limit_setting, exc)
        return _count(fallback.strategy, items, prefix, keys)
    fallback.storage_answered()


def _count(strategy, items, prefix: str, keys: list[tuple[str, str, str]]) -> None:
    for scope, identity, what in keys:
        for item in items:
            if not strategy.test(item, prefix, scope, identity):
                reset_at = strategy.get_window_stats(item, prefix, scope, identity).reset_time
                retry_after = max(1, math.ceil(reset_at - time.time()))
                raise RateLimited(f"too many requests {what}: the limit is {item}; "
                                  f"try again in {retry_after} seconds", retry_after)
    for scope, identity, _ in keys:
        for item in items:
            strategy.hit(item, prefix, scope, identity)


def enforce_address(limit_setting: str, scope: str) -> None:
    enforce(limit_setting, f"{scope}-address", client_address(), "from your address")


def wait_phrase(seconds: int) -> str:
    """``42 seconds``, ``3 minutes``, ``2 hours``: how long to wait, in words for a page."""
    if seconds < 120:
        return ngettext("%(num)s second", "%(num)s seconds", seconds)
    if seconds < 2 * 3600:
        return ngettext("%(num)s minute", "%(num)s minutes", math.ceil(seconds / 60))
    return ngettext("%(num)s hour", "%(num)s hours", math.ceil(seconds / 3600))
