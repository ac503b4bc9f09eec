"""One sending rate for every worker on every host: a token bucket in the queue Redis.

Mail and SMS providers cap an account's rate (Amazon SES answers ``454 Throttling failure: Maximum
sending rate exceeded`` above the account's quota, often a few dozen messages a second). Workers scale
out across hosts, so the cap cannot live in one process: each message takes its turn from a bucket kept
in the queue Redis (``MAIL_MAX_PER_SECOND``, ``SMS_MAX_PER_SECOND``; unset: no cap, no Redis call).

How a turn is taken: one Lua script, atomic on the server, reads the server's own clock (``TIME``, so
the hosts' clocks never matter) and *reserves* the next free slot: it answers how long the caller must
wait before sending, and the caller sleeps that long and sends without asking again. One round trip per
message; with N workers asking at once each gets its own slot, 1/rate apart. The bucket holds at most
one second of slots in reserve (a worker idle for a while does not earn a burst beyond the quota).

When the provider answers 454 all the same (another sender on the account, a quota lowered), the sender
that heard it calls ``slow_down``: the next slots move back by a pause, for every worker sharing the
bucket, and the message is tried again; nothing is failed for a 454 (``jobs.mailer``).
"""
from __future__ import annotations

import logging
import time
from typing import Callable

from redis import Redis

from app.redis_clients import queue_redis

log = logging.getLogger(__name__)

KEY_PREFIX = "filmclub:send-rate:"

# KEYS[1] the bucket; ARGV[1] rate (per second), ARGV[2] burst (slots), ARGV[3] pause (seconds, 0: take
# a slot). State: 'next', the server time (seconds) of the next free slot. Returns the wait in
# microseconds (a Lua number would be truncated to an integer reply: keep the unit small).
_SCRIPT = """
if redis.replicate_commands then redis.replicate_commands() end
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local pause = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local next_free = tonumber(redis.call('HGET', KEYS[1], 'next') or '0')
local earliest = now - (burst - 1) / rate
if next_free < earliest then next_free = earliest end
local wait = 0
if pause > 0 then
  if next_free < now + pause then next_free = now + pause end
else
  local slot = next_free
  if slot < now then slot = now end
  wait = slot - now
  next_free = next_free + 1 / rate
end
redis.call('HSET', KEYS[1], 'next', string.format('%.6f', next_free))
redis.call('EXPIRE', KEYS[1], math.ceil(next_free - now) + 60)
return math.floor(wait * 1000000)
"""


class SendRate:
    """``acquire()`` before each message; ``slow_down(seconds)`` when the provider says too fast."""

    def __init__(self, redis: Redis, name: str, per_second: float, burst: float = 1.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if not per_second > 0:
            raise ValueError(f"per_second must be above 0, got {per_second!r}")
        self.redis = redis
        self.key = KEY_PREFIX + name
        self.per_second = per_second
        self.burst = max(1.0, min(burst, per_second))
        self._script = redis.register_script(_SCRIPT)
        self._sleep = sleep

    def acquire(self) -> float:
        """Wait for this message's turn; returns the seconds waited."""
        wait = self._call(0.0) / 1_000_000
        if wait > 0:
            self._sleep(wait)
        return wait

    def slow_down(self, seconds: float) -> None:
        """Nobody sharing this bucket sends for ``seconds`` from now (then the rate resumes)."""
        log.warning("%s: the provider asked to slow down; every sender pauses %.1f s", self.key, seconds)
        self._call(max(seconds, 0.001))

    def _call(self, pause: float) -> int:
        return int(self._script(keys=[self.key], args=[repr(self.per_second), repr(self.burst), repr(pause)]))


def rate_for(config, setting: str, name: str) -> SendRate | None:
    """The shared rate ``setting`` names (MAIL_MAX_PER_SECOND, SMS_MAX_PER_SECOND), or None when unset."""
    per_second = config.get(setting)
    if not per_second:
        return None
    return SendRate(queue_redis(), name, float(per_second))


def mail_rate(config) -> SendRate | None:
    return rate_for(config, "MAIL_MAX_PER_SECOND", "mail")


def sms_rate(config) -> SendRate | None:
    return rate_for(config, "SMS_MAX_PER_SECOND", "sms")
