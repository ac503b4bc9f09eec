"""Rate limits (flask-limiter): per client address, per email, per phone number.

Each app gets its own ``Limiter`` (flask-limiter keeps its storage and switches
on the instance, so one module-level limiter shared by several apps would let the
last app configured win). Counters live where ``RATELIMIT_STORAGE_URI`` says:
by default the queue Redis, whose ``noeviction`` policy means an attacker cannot
reset a limit by filling a cache. Limits are strings from config, e.g.
``"10 per minute;50 per hour"``; every one of them must hold.

If the storage is unreachable the limit is skipped (logged): sign-in stays up
with a Redis outage, and codes are still protected by their attempt counter.
"""
from __future__ import annotations

import logging
import math
import time

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse_many
from werkzeug.exceptions import TooManyRequests

log = logging.getLogger(__name__)

_EXTENSION_KEY = "accounts_limiter"


class RateLimited(TooManyRequests):
    """429 with a message saying what was limited and when to try again."""

    def __init__(self, description: str, retry_after: int) -> None:
        super().__init__(description)
        self.retry_after = retry_after

    def get_headers(self, environ=None, scope=None):  # type: ignore[override]
        return [*super().get_headers(environ, scope), ("Retry-After", str(self.retry_after))]


def init_limiter(app: Flask) -> None:
    app.extensions[_EXTENSION_KEY] = Limiter(
        get_remote_address, app=app, storage_uri=app.config["RATELIMIT_STORAGE_URI"],
        key_prefix=app.config["RATELIMIT_KEY_PREFIX"], enabled=app.config["RATELIMIT_ENABLED"],
        storage_options={"socket_connect_timeout": 1, "socket_timeout": 2}
        if app.config["RATELIMIT_STORAGE_URI"].startswith("redis") else {},
    )


def client_address() -> str:
    return get_remote_address() or "unknown"


def enforce(limit_setting: str, scope: str, identity: str, what: str) -> None:
    """Count one attempt by ``identity`` against every limit in ``config[limit_setting]``.

    Raises RateLimited (429) when one is exhausted; ``what`` names the identity in
    the message ("from your address", "for this email address").
    """
    exhausted = _hit(limit_setting, scope, identity)
    if exhausted is not None:
        limit, retry_after = exhausted
        raise RateLimited(f"too many requests {what}: the limit is {limit}; "
                          f"try again in {retry_after} seconds", retry_after)


def allowed(limit_setting: str, scope: str, identity: str) -> bool:
    """Like ``enforce`` but answers True/False, for limits that must not show in the answer."""
    return _hit(limit_setting, scope, identity) is None


def enforce_address(limit_setting: str, scope: str) -> None:
    enforce(limit_setting, f"{scope}-address", client_address(), "from your address")


def _hit(limit_setting: str, scope: str, identity: str) -> tuple[str, int] | None:
    """None if every limit had room (one hit counted on each), else (limit, seconds to wait)."""
    app = current_app._get_current_object()
    if not app.config["RATELIMIT_ENABLED"]:
        return None
    strategy = app.extensions[_EXTENSION_KEY].limiter
    items = parse_many(app.config[limit_setting])
    try:
        for item in items:
            if not strategy.test(item, scope, identity):
                reset_at = strategy.get_window_stats(item, scope, identity).reset_time
                return str(item), max(1, math.ceil(reset_at - time.time()))
        for item in items:
            strategy.hit(item, scope, identity)
    except Exception as exc:  # storage down: fail open, loudly (see module docstring)
        log.error("rate limit storage unavailable (%s); %s not limited: %s", limit_setting, scope, exc)
    return None
