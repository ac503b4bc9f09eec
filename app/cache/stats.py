"""Cache hit and miss counters shared by every web process.

Counting in Redis on every request would add a round trip to each hit, the very
cost the cache exists to avoid. Each process counts in memory and adds its
counts to a Redis hash at most once a second, so ``/metrics`` sees every
process's hits within about a second.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import Counter

from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

FLUSH_INTERVAL_SECONDS = 1.0


class CacheStats:
    def __init__(self, client: Redis, key: str) -> None:
        self.client = client
        self.key = key
        self._pending: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._last_flush = time.monotonic()

    def count(self, outcome: str) -> None:
        """Record one ``hit``, ``miss`` or ``error``; flush if a second has passed."""
        with self._lock:
            self._pending[outcome] += 1
        if time.monotonic() - self._last_flush >= FLUSH_INTERVAL_SECONDS:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, Counter()
            self._last_flush = time.monotonic()
        if not pending:
            return
        try:
            pipe = self.client.pipeline(transaction=False)
            for outcome, n in pending.items():
                pipe.hincrby(self.key, outcome, n)
            pipe.execute()
        except RedisError:
            with self._lock:  # keep the counts for the next flush
                self._pending.update(pending)

    def totals(self) -> dict[str, int]:
        """Counts from every process (flushed) plus this process's unflushed ones."""
        self.flush()
        try:
            stored = self.client.hgetall(self.key)
        except RedisError:
            stored = {}
        totals = {outcome: 0 for outcome in ("hit", "miss", "error")}
        for outcome, n in stored.items():
            totals[outcome.decode()] = int(n)
        with self._lock:
            for outcome, n in self._pending.items():
                totals[outcome] = totals.get(outcome, 0) + n
        return totals
