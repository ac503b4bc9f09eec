"""Which generation tokens are current, known in this process without asking Redis.

A cache hit that asks Redis anything pays a network round trip: on a loopback
test machine that is about as much server CPU as the rest of the request. So
each process reads generation tokens on a connection with Redis *client-side
caching* turned on (``CLIENT TRACKING ... REDIRECT``): from then on, Redis
pushes a message to this process's subscriber connection as soon as a token it
read changes (an invalidation), expires, is evicted or is flushed. A token is
known current as long as no such message has arrived; before every answer the
subscriber socket is drained (a non-blocking poll, no round trip).

Why that is safe: Redis writes the push to our socket in the same event-loop
pass in which it answers the writer's invalidation, so by the time the writer
has its answer (and long before its HTTP response is out), the push is in
this process's socket buffer and the next drain sees it. Any doubt resets the
process's knowledge: a broken or reconnected connection, a flush message, a
fork. The subscriber connection is also checked with a PING at least once per
``verify_interval`` seconds (in-order delivery: the PONG comes after every
earlier push), so a connection that died silently is noticed within about a
second.
"""
from __future__ import annotations

import os
import select
import threading
import time
from typing import Any

from redis import Redis
from redis.connection import AbstractConnection
from redis.exceptions import RedisError, ResponseError

from app.exceptions import TrackingUnsupported

INVALIDATION_CHANNEL = b"__redis__:invalidate"
MAX_KNOWN_TOKENS = 100_000




class GenerationTracker:
    def __init__(self, client: Redis, verify_interval: float = 1.0) -> None:
        pool = client.connection_pool
        self._connection_class = pool.connection_class
        self._connection_kwargs = dict(pool.connection_kwargs)
        self.verify_interval = verify_interval
        self._lock = threading.Lock()
        self._known: dict[str, bytes] = {}
        self._pid = 0
        self._subscriber: AbstractConnection | None = None
        self._data: AbstractConnection | None = None
        self._poller: Any = None
        self._verified_at = 0.0

    # -- public --------------------------------------------------------------------------------------

    def current(self, generation_key: str) -> bytes | None:
        """The key's token if this process knows it is current, else None (then use ``fetch``)."""
        with self._lock:
            if self._data is None or self._pid != os.getpid():
                return None
            try:
                self._drain()
            except RedisError:
                self._reset()  # nothing is known any more; ``fetch`` reconnects or reports the error
                return None
            except BaseException:
                self._reset()
                raise
            return self._known.get(generation_key)

    def fetch(self, generation_key: str, entries_key: str, field: str) -> tuple[bytes | None, bytes | None, int]:
        """``GET`` token, ``HGET`` entry, ``PTTL`` entries in one round trip; the token is then known
        current (tracked) until Redis says otherwise."""
        with self._lock:
            try:
                self._ensure_connected()
                data = self._data
                data.send_packed_command(data.pack_commands([
                    ("GET", generation_key), ("HGET", entries_key, field), ("PTTL", entries_key),
                ]), check_health=False)
                generation, value, pttl_ms = data.read_response(), data.read_response(), data.read_response()
                if generation is not None:
                    if len(self._known) >= MAX_KNOWN_TOKENS:
                        self._known.clear()
                    self._known[generation_key] = generation
                # A change made after our GET may already be here: apply it now (it removes the token).
                self._drain()
            except BaseException:
                self._reset()
                raise
            return generation, value, pttl_ms

    def close(self) -> None:
        with self._lock:
            self._reset()

    # -- connections ---------------------------------------------------------------------------------

    def _ensure_connected(self) -> None:
        if self._data is not None and self._pid == os.getpid() and self._data._sock is not None:
            self._drain()
            return
        self._reset()
        subscriber = self._connection_class(**self._connection_kwargs)
        data = self._connection_class(**self._connection_kwargs)
        self._subscriber, self._data, self._pid = subscriber, data, os.getpid()
        self._subscribe(subscriber, data)
        self._poller = select.poll()
        self._poller.register(subscriber._sock.fileno(), select.POLLIN)
        self._verified_at = time.monotonic()

    def _subscribe(self, subscriber: Any, data: Any) -> None:
        """Make ``subscriber`` receive the invalidations of what ``data`` reads; TrackingUnsupported if refused."""
        try:
            subscriber.send_command("CLIENT", "ID")
            subscriber_id = subscriber.read_response()
            subscriber.send_command("SUBSCRIBE", INVALIDATION_CHANNEL)
            subscriber.read_response()
            data.send_command("CLIENT", "TRACKING", "ON", "REDIRECT", subscriber_id)
            if data.read_response() != b"OK":
                raise ResponseError("unexpected answer")
        except ResponseError as exc:  # Redis before 6, or a service that turned the commands off
            raise TrackingUnsupported(f"CLIENT TRACKING refused: {exc}") from None

    def _reset(self) -> None:
        """Forget every token and close both connections (a forked child only drops its copies)."""
        self._known.clear()
        self._poller = None
        for connection in (self._subscriber, self._data):
            if connection is not None:
                connection.disconnect()  # redis-py only shuts the socket down in the process that opened it
        self._subscriber = self._data = None

    # -- invalidation messages ---------------------------------------------------------------------

    def _drain(self) -> None:
        """Apply every invalidation that has arrived; PING the subscriber if it has been quiet too long."""
        if self._poller.poll(0):
            self._read_available()
        if time.monotonic() - self._verified_at >= self.verify_interval:
            self._verify()

    def _read_available(self) -> None:
        subscriber = self._subscriber
        while subscriber.can_read(timeout=0):
            self._apply(subscriber.read_response())

    def _verify(self) -> None:
        self._subscriber.send_command("PING")
        while True:
            message = self._subscriber.read_response()
            if isinstance(message, list) and message and message[0] == b"pong":
                break
            self._apply(message)
        self._verified_at = time.monotonic()

    def _apply(self, message: Any) -> None:
        if not (isinstance(message, list) and len(message) == 3 and message[0] == b"message"
                and message[1] == INVALIDATION_CHANNEL):
            return
        keys = message[2]
        if keys is None:  # FLUSHDB / FLUSHALL, or Redis dropped its tracking table
            self._known.clear()
            return
        for key in keys:
            self._known.pop(key.decode(), None)
