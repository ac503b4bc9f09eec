"""The two Redis roles, as explicit, lazily created connections.

``REDIS_URL`` holds queued work (RQ); ``CACHE_REDIS_URL`` holds cached copies.
They are separate clients so a cache outage or a cache flush never touches the
queues, and the cache client gets short timeouts (a slow cache must degrade to
the database, not stall the request).

Both ride out a managed-Redis failover (ElastiCache promotes a replica and moves
the DNS name): a dropped connection, a server still loading its data, and the
``READONLY`` error of a demoted primary are retried with exponential backoff on
a fresh connection. The queue client waits long enough for a failover
(``REDIS_RETRIES`` attempts, backoff up to ``REDIS_RETRY_MAX_BACKOFF`` s); the
cache client retries once, quickly, because the cache degrades to the database.
A wrong password or a missing ACL permission is never retried: it fails at once.

``rediss://`` URLs verify the server certificate and host name; a private CA is
given with ``REDIS_TLS_CA_FILE`` (or ``?ssl_ca_certs=/path`` in the URL, which
also reaches the ``rq`` and ``rqscheduler`` command lines). Passwords and ACL
user names go percent-encoded in the URL: ``rediss://user:p%40ss@host:6379/0``.
"""
from __future__ import annotations

import logging
import ssl
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator, TypeVar
from urllib.parse import urlsplit

from flask import Flask, current_app
from redis import Redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import (
    AuthenticationError,
    AuthorizationError,
    ConnectionError,
    ReadOnlyError,
    TimeoutError,
)
from redis.retry import Retry

log = logging.getLogger(__name__)
T = TypeVar("T")

# The first wait; each retry doubles it, up to the configured maximum.
RETRY_BASE_BACKOFF = 0.1
DEFAULT_RETRIES = 6
DEFAULT_MAX_BACKOFF = 2.0
# Errors a failover produces: the old connection drops or times out, the new
# server refuses connections for a moment (OSError at connect), answers LOADING
# (BusyLoadingError is a ConnectionError), or a demoted primary answers READONLY.
FAILOVER_ERRORS: tuple[type[Exception], ...] = (ConnectionError, TimeoutError, ReadOnlyError, OSError)
# Cache: a timeout is not retried (a slow cache costs one timeout, then the
# request reads the database).
CACHE_RETRY_ERRORS: tuple[type[Exception], ...] = (ConnectionError, ReadOnlyError, ConnectionRefusedError,
                                                   ConnectionResetError)
_NEVER_RETRIED = (AuthenticationError, AuthorizationError, ssl.SSLCertVerificationError)
_retrying = threading.local()


class RedisNotConfigured(RuntimeError):
    """REDIS_URL is empty: there is no queue server to talk to."""


class _DoNotRetry(Exception):
    """Carries an error through Retry without being retried."""


def _permanent(exc: BaseException) -> bool:
    """Errors no failover explains: bad credentials, an untrusted certificate."""
    if isinstance(exc, _NEVER_RETRIED):
        return True
    return isinstance(exc, ConnectionError) and isinstance(exc.__context__, ssl.SSLCertVerificationError)


class FailoverRetry(Retry):
    """redis-py's Retry with two changes.

    Permanent errors (which redis-py reports as ConnectionError) fail at once.
    Only the outermost retry on a thread retries: redis-py nests the connect
    retry inside the command retry, which would multiply the waits (a reconnect
    inside a retried command is attempted once per outer attempt), while a
    connection made by the pool before the command still gets the full retries.
    """

    def call_with_retry(self, do: Callable[[], T], fail: Callable[[Exception], Any], *args: Any,
                        **kwargs: Any) -> T:
        if getattr(_retrying, "active", False):
            return do()

        def once() -> T:
            try:
                return do()
            except (ConnectionError, OSError) as exc:
                if _permanent(exc):
                    raise _DoNotRetry() from exc
                raise

        _retrying.active = True
        try:
            return super().call_with_retry(once, fail, *args, **kwargs)
        except _DoNotRetry as wrapped:
            assert wrapped.__cause__ is not None
            raise wrapped.__cause__ from None
        finally:
            _retrying.active = False


@contextmanager
def no_retries() -> Iterator[None]:
    """Commands inside try once: for probes (/healthz) that must answer now, not after a failover."""
    outer = getattr(_retrying, "active", False)
    _retrying.active = True
    try:
        yield
    finally:
        _retrying.active = outer


def failover_retry(retries: int = DEFAULT_RETRIES, max_backoff: float = DEFAULT_MAX_BACKOFF,
                   errors: tuple[type[Exception], ...] = FAILOVER_ERRORS) -> Retry:
    return FailoverRetry(ExponentialBackoff(cap=max_backoff, base=RETRY_BASE_BACKOFF), retries,
                         supported_errors=errors)


def retry_window(retries: int = DEFAULT_RETRIES, max_backoff: float = DEFAULT_MAX_BACKOFF) -> float:
    """Seconds a command keeps retrying (backoff sleeps only, without connect timeouts)."""
    return sum(min(max_backoff, RETRY_BASE_BACKOFF * 2 ** n) for n in range(1, retries + 1))


def _tls_options(url: str, tls_ca_file: str) -> dict[str, Any]:
    """Certificate and host name verification for rediss:// URLs (options in the URL still win)."""
    if urlsplit(url).scheme != "rediss":
        return {}
    options: dict[str, Any] = {"ssl_cert_reqs": "required", "ssl_check_hostname": True}
    if tls_ca_file:
        options["ssl_ca_certs"] = tls_ca_file
    return options


def make_queue_redis(url: str, *, tls_ca_file: str = "", retries: int = DEFAULT_RETRIES,
                     max_backoff: float = DEFAULT_MAX_BACKOFF) -> Redis:
    if not url:
        raise RedisNotConfigured("REDIS_URL is not set (run `make run`, or point REDIS_URL at a Redis server)")
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10, health_check_interval=30,
                          retry=failover_retry(retries, max_backoff), retry_on_error=list(FAILOVER_ERRORS),
                          **_tls_options(url, tls_ca_file))


def make_cache_redis(url: str, timeout: float, *, tls_ca_file: str = "") -> Redis:
    """The cache client. With no URL it is a client that cannot connect, so the
    app serves from the database (as for a cache that is down) instead of failing."""
    retry = failover_retry(retries=1, max_backoff=0.05, errors=CACHE_RETRY_ERRORS)
    if not url:
        return Redis(unix_socket_path="/nonexistent/CACHE_REDIS_URL-is-not-set", socket_connect_timeout=timeout,
                     retry=retry)
    return Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout, retry=retry,
                          retry_on_error=list(CACHE_RETRY_ERRORS), **_tls_options(url, tls_ca_file))


def add_failover_retry(client: Redis, retries: int = DEFAULT_RETRIES,
                       max_backoff: float = DEFAULT_MAX_BACKOFF) -> Redis:
    """Give a client someone else built (``rq worker --url``) the queue client's retries.

    Updates its pool in place (as rq itself does for socket timeouts) and drops
    the connections already made, so every new one carries the policy.
    """
    pool = client.connection_pool
    pool.connection_kwargs.update(retry=failover_retry(retries, max_backoff), retry_on_error=list(FAILOVER_ERRORS))
    pool.reset()
    return client


def redact_url(url: str) -> str:
    """The URL without its password, for logs and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = f"{parts.username}:" if parts.username else ":"
    host = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=f"{user}***@{host}").geturl()


class RedisClients:
    """Flask extension holding one client per Redis role per app."""

    def init_app(self, app: Flask) -> None:
        app.extensions["redis_clients"] = {"queue": None, "checked": False}

    def queue(self, app: Flask | None = None) -> Redis:
        """The queue client; its server is checked once, at first use (see ``app.redis_checks``)."""
        app = app or current_app
        state = app.extensions["redis_clients"]
        if state["queue"] is None:
            state["queue"] = make_queue_redis(
                app.config["REDIS_URL"], tls_ca_file=app.config.get("REDIS_TLS_CA_FILE", ""),
                retries=app.config.get("REDIS_RETRIES", DEFAULT_RETRIES),
                max_backoff=app.config.get("REDIS_RETRY_MAX_BACKOFF", DEFAULT_MAX_BACKOFF),
            )
        if not state["checked"]:
            from app.redis_checks import check_queue_redis_once

            state["checked"] = check_queue_redis_once(state["queue"], app.config["REDIS_URL"])
        return state["queue"]


def queue_redis() -> Redis:
    """The queue Redis of the current app."""
    from app.extensions import redis_clients

    return redis_clients.queue()
