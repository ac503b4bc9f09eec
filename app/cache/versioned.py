"""A get-or-compute cache with race-free invalidation and stampede protection.

Entries live in *namespaces*. A namespace is a Redis hash of entries (one field
per entry) plus a generation key holding a random token.

* Hit: when this process holds a copy of the entry (``local_copies``) read
  with the namespace's current generation token, and it knows that token is
  still current because Redis has not told it otherwise (``tracking``): the
  copy's bytes, with no Redis round trip. Otherwise: ``GET`` token, ``HGET``
  entry and ``PTTL`` in one round trip, and the entry becomes the process's
  copy. (With local copies turned off: one ``HGET``.)
* Miss: one script call either returns the entry (someone stored it meanwhile)
  or takes the namespace's recompute lock and reads the generation token
  (creating it if the namespace has none yet).
  Only the lock holder computes; the others poll for the entry (stampede
  protection) and compute themselves only if the holder gives up.
* Store: a script writes the entry only if the generation token is still the
  one read *before* the database was queried.
* Invalidate (after the writer's commit): a new random generation token and the
  entries deleted, atomically. A reader that queried the old rows before the
  commit read the old token, so its store is refused: it cannot put stale rows
  where later readers will find them.

Any Redis error degrades to computing from the database; the circuit stays open
for a few seconds so a dead cache costs one timeout, not one per request.
"""
from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Callable

from redis import Redis
from redis.exceptions import RedisError

from app.cache.local_copies import LocalCopies
from app.cache.stats import CacheStats
from app.cache.channel import ChannelGenerations, channel_name, invalidation_message
from app.cache.tracking import GenerationTracker, TrackingUnsupported

log = logging.getLogger(__name__)

CIRCUIT_OPEN_SECONDS = 5.0
POLL_SECONDS = 0.01
# Generation tokens outlive their entries (CACHE_TTL) by far; an expired token
# only costs a recompute, since a store needs the token it read to be current.
# A token made by a miss lives only as long as its lock until an entry is stored
# under it: a request for a post id that does not exist (nothing is stored) leaves
# no key behind for long, however many ids are tried.
GENERATION_TTL_SECONDS = 86_400

# KEYS: entries hash, generation key, lock key. ARGV: field, lock token, lock ms,
# a new generation token (used if the namespace has none; it lives as long as the lock).
# Returns {1, value} when the entry exists, {2, generation} when the lock was
# taken, {3} when another reader holds the lock.
_GET_OR_LOCK = """
local value = redis.call('HGET', KEYS[1], ARGV[1])
if value then return {1, value} end
if redis.call('SET', KEYS[3], ARGV[2], 'NX', 'PX', ARGV[3]) then
  local generation = redis.call('GET', KEYS[2])
  if not generation then
    generation = ARGV[4]
    redis.call('SET', KEYS[2], generation, 'PX', ARGV[3])
  end
  return {2, generation}
end
return {3}
"""

# KEYS: entries hash, generation key, lock key. ARGV: field, value, expected
# generation, ttl seconds, lock token, generation TTL seconds. Returns 1 if stored.
_STORE_IF_CURRENT = """
local stored = 0
if (redis.call('GET', KEYS[2]) or '') == ARGV[3] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[4]) end
  if redis.call('TTL', KEYS[2]) < tonumber(ARGV[6]) / 2 then redis.call('EXPIRE', KEYS[2], ARGV[6]) end
  stored = 1
end
if redis.call('GET', KEYS[3]) == ARGV[5] then redis.call('DEL', KEYS[3]) end
return stored
"""


# KEYS: lock key. ARGV: lock token. Drops the lock if it is still ours.
_RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class CacheResult:
    value: bytes
    hit: bool


class VersionedCache:
    def __init__(self, client: Redis, prefix: str, ttl: int, lock_timeout: float,
                 local_bytes: int = 32 * 1024 * 1024, invalidation: str = "auto") -> None:
        """``invalidation``: how a process learns that its copies are stale (``CACHE_INVALIDATION``):
        ``tracking`` (Redis client-side caching), ``channel`` (messages, ``app.cache.channel``), or
        ``auto``: tracking, and the channel when Redis refuses tracking."""
        self.client = client
        self.local = LocalCopies(local_bytes)
        self.invalidation = invalidation
        self.tracker: GenerationTracker | None = None
        if local_bytes > 0:
            self.tracker = (ChannelGenerations(client, prefix) if invalidation == "channel"
                            else GenerationTracker(client))
        self.channel = channel_name(prefix)
        self.prefix = prefix
        self.ttl = ttl
        self.lock_timeout = lock_timeout
        self.stats = CacheStats(client, f"{prefix}stats")
        self._get_or_lock = client.register_script(_GET_OR_LOCK)
        self._store_if_current = client.register_script(_STORE_IF_CURRENT)
        self._release_lock = client.register_script(_RELEASE_LOCK)
        self._open_until = 0.0
        self._state_lock = threading.Lock()

    def _keys(self, namespace: str, field: str) -> tuple[str, str, str]:
        base = f"{self.prefix}{namespace}"
        return f"{base}:entries", f"{base}:gen", f"{base}:lock:{field}"

    def get_or_compute(self, namespace: str, field: str, compute: Callable[[], bytes],
                       keep: Callable[[bytes], bool] | None = None) -> CacheResult:
        """The entry's bytes, from the cache when present, else from ``compute()``.

        ``keep(value)`` False: the computed value is answered but not stored (a
        post that does not exist: anyone can ask for any number of ids)."""
        if time.monotonic() < self._open_until:
            return CacheResult(compute(), hit=False)
        entries, gen_key, lock_key = self._keys(namespace, field)
        try:
            tracker = self.tracker
            try:
                value = self._cached_value(entries, gen_key, field, tracker)
            except TrackingUnsupported as exc:
                self._tracking_refused(tracker, exc)
                value = self._cached_value(entries, gen_key, field, self.tracker)
            if value is not None:
                self.stats.count("hit")
                return CacheResult(value, hit=True)
            return self._miss(entries, gen_key, lock_key, field, compute, keep)
        except RedisError as exc:
            self._trip(exc)
            self.stats.count("error")
            return CacheResult(compute(), hit=False)

    def _tracking_refused(self, failed: GenerationTracker, exc: TrackingUnsupported) -> None:
        """Tracking refused (``auto``): the channel next; the channel refused too: no copies at all.
        Several threads may learn it at once: only the first to report ``failed`` moves on."""
        with self._state_lock:
            if self.tracker is not failed:
                return
            failed.close()
            if self.invalidation == "auto" and not isinstance(failed, ChannelGenerations):
                log.warning("%s: per-process cache copies are invalidated by messages on %s instead",
                            exc, self.channel)
                self.tracker = ChannelGenerations(self.client, self.prefix)
            else:
                log.warning("no per-process cache copies (%s): every hit asks Redis", exc)
                self.tracker = None

    def _cached_value(self, entries: str, gen_key: str, field: str,
                      tracker: GenerationTracker | None) -> bytes | None:
        if tracker is None:
            return self.client.hget(entries, field)
        copy_key = (entries, field)
        copy = self.local.get(copy_key)
        if copy is not None:
            if tracker.current(gen_key) == copy.generation:
                self.local.touch(copy_key)
                return copy.value
            self.local.discard(copy_key)
        # The token is read before the entry: a copy is never labelled with a
        # token newer than its bytes.
        generation, value, pttl_ms = tracker.fetch(gen_key, entries, field)
        if value is not None and generation is not None:
            self.local.put(copy_key, generation, value, pttl_ms / 1000 if pttl_ms > 0 else self.ttl)
        return value

    def _miss(self, entries: str, gen_key: str, lock_key: str, field: str,
              compute: Callable[[], bytes], keep: Callable[[bytes], bool] | None = None) -> CacheResult:
        token = secrets.token_hex(8)
        lock_ms = int(self.lock_timeout * 1000)
        deadline = time.monotonic() + self.lock_timeout
        keys = [entries, gen_key, lock_key]
        while True:
            reply = self._get_or_lock(keys=keys, args=[field, token, lock_ms, secrets.token_hex(8)])
            if reply[0] == 1:
                self.stats.count("hit")
                return CacheResult(reply[1], hit=True)
            if reply[0] == 2:
                return self._compute_holding_lock(keys, field, reply[1], token, compute, keep)
            if time.monotonic() >= deadline:
                # The lock holder is stuck or gone: answer from the database.
                self.stats.count("miss")
                return CacheResult(compute(), hit=False)
            time.sleep(POLL_SECONDS)

    def _compute_holding_lock(self, keys: list[str], field: str, generation: bytes, token: str,
                              compute: Callable[[], bytes], keep: Callable[[bytes], bool] | None) -> CacheResult:
        """Compute and store. A compute that fails releases the lock, so the requests waiting
        for this entry compute it themselves at once instead of waiting out CACHE_LOCK_TIMEOUT."""
        try:
            value = compute()
        except BaseException:
            self._release(keys[2], token)
            raise
        self.stats.count("miss")
        if keep is not None and not keep(value):
            self._release(keys[2], token)
            return CacheResult(value, hit=False)
        try:  # the store script releases the lock too
            self._store_if_current(keys=keys, args=[field, value, generation, self.ttl, token,
                                                    GENERATION_TTL_SECONDS])
        except RedisError as exc:
            self._trip(exc)
        return CacheResult(value, hit=False)

    def _release(self, lock_key: str, token: str) -> None:
        try:
            self._release_lock(keys=[lock_key], args=[token])
        except RedisError as exc:
            self._trip(exc)  # the lock expires on its own (CACHE_LOCK_TIMEOUT)

    def invalidate(self, *namespaces: str) -> None:
        """Drop every entry of these namespaces and refuse stores begun before now."""
        generation_keys = []
        try:
            pipe = self.client.pipeline(transaction=True)
            for namespace in namespaces:
                entries, gen_key, _ = self._keys(namespace, "")
                pipe.set(gen_key, secrets.token_hex(8), ex=GENERATION_TTL_SECONDS)
                pipe.delete(entries)
                generation_keys.append(gen_key)
            pipe.execute()
        except RedisError as exc:
            # The TTL bounds how long a stale entry can survive a missed invalidation.
            self._trip(exc)
            log.error("cache invalidation of %s failed: %s", ", ".join(namespaces), exc)
            return
        self._announce(generation_keys)

    def _announce(self, generation_keys: list[str]) -> None:
        """Tell the processes that learn of changes from the channel (``app.cache.channel``).

        Whatever this process's own mode: a writer (a worker, ``flask seed-demo``) may never have
        read, and the readers may be in channel mode. Outside the transaction, so a server that
        refuses ``PUBLISH`` (a proxy) cannot stop the invalidation itself; before the writer goes on,
        so no reader serves an old copy after the writer's request has answered."""
        try:
            self.client.publish(self.channel, invalidation_message(generation_keys))
            # Redis writes a reply and the messages it causes in one pass over its clients, but a busy
            # machine can pause it between the two writes: the writer would have its answer before a
            # reader's socket has the message (seen under load: a few ms of old copies after a write
            # returned). A command sent after the reply is read only once that pass is over, so its
            # answer means every message (this PUBLISH's, and the tracking pushes of the transaction
            # before it) is in every process's socket. One round trip per invalidation; none per hit.
            self.client.ping()
        except RedisError as exc:
            log.warning("cache invalidation could not be announced on %s: %s", self.channel, exc)

    def _trip(self, exc: Exception) -> None:
        with self._state_lock:
            already_open = time.monotonic() < self._open_until
            self._open_until = time.monotonic() + CIRCUIT_OPEN_SECONDS
        if not already_open:
            log.warning("cache Redis unavailable (%s); serving from the database for %.0f s",
                        exc, CIRCUIT_OPEN_SECONDS)
