"""Rate limits never fail open: when their storage fails, this process counts in memory.

The sign-in and code limits keep their counters on the queue Redis (persisted,
``noeviction``: a full cache cannot reset them). They used to be skipped when
that Redis failed, so whoever could make it fail (fill its memory, wait for an
outage) could guess passwords and codes at full speed. Now a failure switches
the process to its own in-memory counters, with the same strategy and limits:
per process rather than app-wide, so the effective limit is at most the number
of gunicorn workers times the configured one, never unlimited. The storage is
tried again every ``RETRY_STORAGE_SECONDS`` (a dead Redis costs one timeout per
period, not one per request). The switch is logged once as an error, and the
return once as a warning.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any

from limits.storage import MemoryStorage
from limits.strategies import STRATEGIES

log = logging.getLogger(__name__)

RETRY_STORAGE_SECONDS = 5.0


class LimitFallback:
    def __init__(self, strategy: str) -> None:
        """``strategy``: flask-limiter's RATELIMIT_STRATEGY (the same one as the storage's)."""
        self.strategy: Any = STRATEGIES[strategy](MemoryStorage())
        self._retry_at = 0.0
        self._down = False
        self._lock = threading.Lock()

    def active(self) -> bool:
        """True while the storage failed less than RETRY_STORAGE_SECONDS ago."""
        return time.monotonic() < self._retry_at

    def start(self, limit_setting: str, exc: Exception) -> None:
        with self._lock:
            first = not self._down
            self._down = True
            self._retry_at = time.monotonic() + RETRY_STORAGE_SECONDS
        if first:
            log.error("rate limit storage unavailable (%s: %s); limits are counted in this process's "
                      "memory until it answers", limit_setting, exc)

    def storage_answered(self) -> None:
        if not self._down:
            return
        with self._lock:
            was_down, self._down = self._down, False
        if was_down:
            log.warning("rate limit storage answers again; limits are counted there")
