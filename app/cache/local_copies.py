"""A bounded, per-process copy of cache entries, each labelled with its generation.

A cache hit that fetches the entry from Redis pays for the entry's bytes three
times (Redis writes them, the kernel copies them, the client parses them); for
the whole list of 1,000 posts that is about 300 KB per request. A process that
already holds the bytes needs only the namespace's current generation token
(a short string) to know they are still good: the entry was read together
with the token, and every invalidation replaces the token, with random values
that never come back. So a hit costs one small Redis round trip, and a change
made by any process is seen by every other process at its next request.

A copy also expires when the entry it came from would have (the Redis TTL),
so a missed invalidation is bounded by ``CACHE_TTL`` here as it is in Redis.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import NamedTuple


class LocalCopy(NamedTuple):
    generation: bytes
    value: bytes
    expires_at: float


class LocalCopies:
    """Least-recently-used copies, at most ``max_bytes`` of values in all (0 keeps none)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._copies: OrderedDict[tuple[str, str], LocalCopy] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> LocalCopy | None:
        copy = self._copies.get(key)
        if copy is None:
            return None
        if copy.expires_at <= time.monotonic():
            self.discard(key)
            return None
        return copy

    def put(self, key: tuple[str, str], generation: bytes, value: bytes, lifetime: float) -> None:
        size = len(value)
        if size > self.max_bytes or lifetime <= 0:
            return
        with self._lock:
            old = self._copies.pop(key, None)
            if old is not None:
                self._bytes -= len(old.value)
            self._copies[key] = LocalCopy(generation, value, time.monotonic() + lifetime)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, evicted = self._copies.popitem(last=False)
                self._bytes -= len(evicted.value)

    def touch(self, key: tuple[str, str]) -> None:
        """Mark as recently used (called on a hit)."""
        with self._lock:
            if key in self._copies:
                self._copies.move_to_end(key)

    def discard(self, key: tuple[str, str]) -> None:
        with self._lock:
            old = self._copies.pop(key, None)
            if old is not None:
                self._bytes -= len(old.value)

    def clear(self) -> None:
        with self._lock:
            self._copies.clear()
            self._bytes = 0

    @property
    def size_bytes(self) -> int:
        return self._bytes
