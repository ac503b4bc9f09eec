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

An outage longer than the retry window (a Redis restart, a failover that takes
minutes) is remembered per client (``Outage``): the command that used up its
retries logs it once, and until a command succeeds again each command tries
once, without the backoff. So a request during a five-minute outage costs one
refused connection, not seven seconds per command (the work it enqueues waits
in the database for the sweeper), and the long-running processes that wait for
Redis (``jobs.worker``, ``python -m scheduler``) log the outage once, not once
per attempt. The first command that succeeds logs how long it lasted.

``rediss://`` URLs verify the server certificate and host name; a private CA is
given with ``REDIS_TLS_CA_FILE`` (or ``?ssl_ca_certs=/path`` in the URL, which
also reaches the ``rq`` and ``rqscheduler`` command lines). Passwords and ACL
user names go percent-encoded in the URL: ``rediss://user:p%40ss@host:6379/0``.
"""
from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, TypeVar
from urllib.parse import urlsplit

from flask import Flask, current_app
from redis import Redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import AuthenticationError, AuthorizationError, ConnectionError, ReadOnlyError, TimeoutError
from redis.retry import Retry

from app import defaults
from app.exceptions import RedisNotConfigured, StopWaiting
from app.redis_checks import check_queue_redis

log = logging.getLogger(__name__)
T = TypeVar("T")

# The first wait; each retry doubles it, up to the configured maximum.
RETRY_BASE_BACKOFF = 0.1
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


class Outage:
    """Whether one client's Redis is known to be unreachable, and since when.

    Shared by every connection of the client: redis-py deep-copies the retry
    policy into each connection, and the copies keep pointing here.
    """

    def __init__(self, label: str) -> None:
        self.label = label
        self.since: float | None = None  # time.monotonic() when the outage was noticed
        self.last_error = ""
        self._lock = threading.Lock()

    def __deepcopy__(self, memo: dict) -> "Outage":
        return self

    @property
    def down(self) -> bool:
        return self.since is not None

    def begin(self, exc: BaseException) -> None:
        """Record that a command used up its retries; logged once per outage."""
        with self._lock:
            self.last_error = str(exc)
            if self.since is not None:
                return
            self.since = time.monotonic()
        log.warning("%s unreachable: %s. Waiting for it: each command now tries once, without retries, "
                    "until one succeeds", self.label, exc)

    def end(self) -> None:
        """A command succeeded: the outage, if there was one, is over (logged once)."""
        if self.since is None:
            return
        with self._lock:
            since, self.since = self.since, None
        if since is not None:
            log.warning("%s answers again, after %.0f s", self.label, time.monotonic() - since)




class _DoNotRetry(Exception):
    """Carries an error through Retry without being retried."""


def _permanent(exc: BaseException) -> bool:
    """Errors no failover explains: bad credentials, an untrusted certificate."""
    if isinstance(exc, _NEVER_RETRIED):
        return True
    return isinstance(exc, ConnectionError) and isinstance(exc.__context__, ssl.SSLCertVerificationError)


class FailoverRetry(Retry):
    """redis-py's Retry with three changes.

    Permanent errors (which redis-py reports as ConnectionError) fail at once.
    Only the outermost retry on a thread retries: redis-py nests the connect
    retry inside the command retry, which would multiply the waits (a reconnect
    inside a retried command is attempted once per outer attempt), while a
    connection made by the pool before the command still gets the full retries.
    While an ``Outage`` is on (a command used up its retries), commands try once.
    """

    def __init__(self, *args: Any, outage: Outage | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.outage = outage or Outage("Redis")

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
            if self.outage.down:
                result = self._try_once(once, fail)
            else:
                result = super().call_with_retry(once, fail, *args, **kwargs)
        except _DoNotRetry as wrapped:
            assert wrapped.__cause__ is not None
            raise wrapped.__cause__ from None
        except self._supported_errors as exc:
            self.outage.begin(exc)
            raise
        finally:
            _retrying.active = False
        if not isinstance(result, socket.socket):  # a socket: only connected, nothing answered yet
            self.outage.end()
        return result

    def _try_once(self, do: Callable[[], T], fail: Callable[[Exception], Any]) -> T:
        try:
            return do()
        except self._supported_errors as exc:
            fail(exc)  # as Retry does: drop the broken connection
            raise




WAIT_OUT_FIRST_PAUSE = 0.5
WAIT_OUT_MAX_PAUSE = 5.0  # a waiting process is back within a few seconds of Redis


def pause(seconds: float, stop_requested: Callable[[], bool]) -> None:
    """Sleep, in short steps, so a stop request (a signal handler setting a flag) is seen within 0.1 s."""
    deadline = time.monotonic() + seconds
    while not stop_requested() and (left := deadline - time.monotonic()) > 0:
        time.sleep(min(0.1, left))


def wait_out(call: Callable[[], T], client: Redis, stop_requested: Callable[[], bool],
             on_outage: Callable[[], None] | None = None) -> T:
    """``call()`` again and again until ``client``'s Redis answers: for long-running processes.

    Pauses 0.5 s, doubling up to ``WAIT_OUT_MAX_PAUSE``, between attempts; the outage is
    logged once (``Outage``), not per attempt. Raises StopWaiting when a stop is asked for.
    """
    wait = WAIT_OUT_FIRST_PAUSE
    while True:
        try:
            return call()
        except (ConnectionError, TimeoutError) as exc:
            if stop_requested():
                raise StopWaiting() from exc
            outage = outage_of(client)
            if outage is not None:
                outage.begin(exc)  # logged once per outage (a no-op if the client noted it already)
            if on_outage is not None:
                on_outage()
            pause(wait, stop_requested)
            if stop_requested():
                raise StopWaiting() from exc
            wait = min(wait * 2, WAIT_OUT_MAX_PAUSE)


@contextmanager
def no_retries() -> Iterator[None]:
    """Commands inside try once: for probes (/healthz) that must answer now, not after a failover."""
    outer = getattr(_retrying, "active", False)
    _retrying.active = True
    try:
        yield
    finally:
        _retrying.active = outer


def failover_retry(retries: int = defaults.REDIS_RETRIES, max_backoff: float = defaults.REDIS_RETRY_MAX_BACKOFF,
                   errors: tuple[type[Exception], ...] = FAILOVER_ERRORS, label: str = "Redis") -> FailoverRetry:
    return FailoverRetry(ExponentialBackoff(cap=max_backoff, base=RETRY_BASE_BACKOFF), retries,
                         supported_errors=errors, outage=Outage(label))


def outage_of(client: Redis) -> Outage | None:
    """The outage state of a client built here (or given our retries), else None."""
    retry = client.connection_pool.connection_kwargs.get("retry")
    return retry.outage if isinstance(retry, FailoverRetry) else None


def retry_window(retries: int = defaults.REDIS_RETRIES, max_backoff: float = defaults.REDIS_RETRY_MAX_BACKOFF) -> float:
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


def make_queue_redis(url: str, *, tls_ca_file: str = "", retries: int = defaults.REDIS_RETRIES,
                     max_backoff: float = defaults.REDIS_RETRY_MAX_BACKOFF) -> Redis:
    if not url:
        raise RedisNotConfigured("REDIS_URL is not set (run `make run`, or point REDIS_URL at a Redis server)")
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10, health_check_interval=30,
                          retry=failover_retry(retries, max_backoff, label=f"queue Redis {redact_url(url)}"),
                          retry_on_error=list(FAILOVER_ERRORS), **_tls_options(url, tls_ca_file))


def make_cache_redis(url: str, timeout: float, *, tls_ca_file: str = "") -> Redis:
    """The cache client. With no URL it is a client that cannot connect, so the
    app serves from the database (as for a cache that is down) instead of failing."""
    retry = failover_retry(retries=1, max_backoff=0.05, errors=CACHE_RETRY_ERRORS,
                           label=f"cache Redis {redact_url(url)}" if url else "cache Redis (not configured)")
    if not url:
        return Redis(unix_socket_path="/nonexistent/CACHE_REDIS_URL-is-not-set", socket_connect_timeout=timeout,
                     retry=retry)
    return Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout, retry=retry,
                          retry_on_error=list(CACHE_RETRY_ERRORS), **_tls_options(url, tls_ca_file))


def add_failover_retry(client: Redis, retries: int = defaults.REDIS_RETRIES,
                       max_backoff: float = defaults.REDIS_RETRY_MAX_BACKOFF) -> Redis:
    """Give a client someone else built (``rq worker --url``) the queue client's retries.

    Updates its pool in place (as rq itself does for socket timeouts) and drops
    the connections already made, so every new one carries the policy.
    """
    pool = client.connection_pool
    kwargs = pool.connection_kwargs
    where = kwargs.get("path") or f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"
    label = f"queue Redis {where}/{kwargs.get('db', 0)}"
    kwargs.update(retry=failover_retry(retries, max_backoff, label=label), retry_on_error=list(FAILOVER_ERRORS))
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
                app.config["REDIS_URL"], tls_ca_file=app.config["REDIS_TLS_CA_FILE"],
                retries=app.config["REDIS_RETRIES"],
                max_backoff=app.config["REDIS_RETRY_MAX_BACKOFF"],
            )
        if not state["checked"]:
            state["checked"] = check_queue_redis_once(state["queue"], app.config["REDIS_URL"])
        return state["queue"]


def queue_redis() -> Redis:
    """The queue Redis of the current app."""
    return RedisClients().queue()  # the clients live in the app's extensions, not in the object


def check_queue_redis_once(client: Redis, url: str) -> bool:
    """The web's first-use check. True when done; False when Redis did not answer (checked next time).

    Not tried while the client knows Redis is down (``Outage``, logged there).
    """
    outage = outage_of(client)
    if outage is not None and outage.down:
        return False
    try:
        with no_retries():  # best effort: the caller's own command still rides out a failover
            check_queue_redis(client)
        return True
    except (ConnectionError, TimeoutError) as exc:
        log.warning("queue Redis %s unreachable, start-up check postponed: %s", redact_url(url), exc)
        return False
