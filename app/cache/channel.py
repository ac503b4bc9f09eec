"""Which generation tokens are current, known from messages on a channel: for a Redis without
``CLIENT TRACKING``.

``tracking`` needs Redis 6's client-side caching, which some managed offerings, Redis-compatible
servers and proxies refuse. Without it every hit asked Redis for the entry (``HGET``): the entry's
bytes over the network on every request, measured at 0.71-0.76 of the ceiling. Here each web
process instead subscribes to one channel (``<CACHE_KEY_PREFIX>invalidations``) on which every
invalidation names the generation keys it replaced (``VersionedCache.invalidate`` publishes after
its transaction, before the writer's request goes on), and a hit costs what it costs with
tracking: a non-blocking look at the subscriber socket, no round trip.

Why it is as safe as tracking, the same argument: the process subscribes (and Redis confirms)
before it reads any token, so every invalidation after that read is delivered to it; Redis writes
the message to the subscriber's socket in the same event-loop pass in which it answers the
``PUBLISH``, and the writer sends one more command (a PING) that Redis reads only after that pass:
by the time the writer's request answers, the message is in every process's socket buffer, and
the next hit drains it first (``tests/test_cache_channel.py``: readers in three threads racing a
writer). Any doubt drops every token known: a broken or
reconnected subscription, a fork, a PING that gets no PONG.

What tracking saw and a channel does not: a token that expires, is evicted or flushed. An entry's
copy already expires with its entry (``local_copies``); for a flush, the subscriber also checks once
per ``verify_interval`` (with its PING) that a marker key it wrote is still there: a flushed cache
drops every token within about a second (a flush is an operator's act, not a change of rows: the
rows' changes all come with a message).
"""
from __future__ import annotations

import json
import secrets
from typing import Any

from redis.exceptions import ResponseError

from app.cache.tracking import GenerationTracker
from app.exceptions import TrackingUnsupported

MARKER_TTL_SECONDS = 86_400


def channel_name(prefix: str) -> str:
    return f"{prefix}invalidations"


def invalidation_message(generation_keys: list[str]) -> str:
    return json.dumps(generation_keys)


class ChannelGenerations(GenerationTracker):
    """``GenerationTracker``'s interface (``current``, ``fetch``, ``close``), fed by a channel."""

    def __init__(self, client, prefix: str, verify_interval: float = 1.0) -> None:
        super().__init__(client, verify_interval)
        self.channel = channel_name(prefix).encode()
        self.marker_key = f"{prefix}subscribers-marker"
        self._marker: bytes | None = None

    def _subscribe(self, subscriber: Any, data: Any) -> None:
        """The channel instead of tracking (the connections are the tracker's); remember the cache's marker."""
        try:
            subscriber.send_command("SUBSCRIBE", self.channel)
            subscriber.read_response()  # the confirmation: from here on every message reaches us
        except ResponseError as exc:  # a proxy or service without pub/sub
            raise TrackingUnsupported(f"SUBSCRIBE refused: {exc}") from None
        self._marker = self._read_marker()

    def _read_marker(self) -> bytes:
        """The cache's marker (written if missing): a flush removes it, and a new one says so."""
        data = self._data
        data.send_packed_command(data.pack_commands([
            ("SET", self.marker_key, secrets.token_hex(8), "NX", "EX", MARKER_TTL_SECONDS),
            ("GET", self.marker_key), ("EXPIRE", self.marker_key, MARKER_TTL_SECONDS),
        ]), check_health=False)
        _, marker, _ = data.read_response(), data.read_response(), data.read_response()
        return marker

    def _verify(self) -> None:
        super()._verify()  # PING: the subscription still works, and every earlier message is applied
        marker = self._read_marker()
        if marker != self._marker:
            self._known.clear()
            self._marker = marker

    def _apply(self, message: Any) -> None:
        if not (isinstance(message, list) and len(message) == 3 and message[0] == b"message"
                and message[1] == self.channel):
            return
        try:
            keys = json.loads(message[2])
        except ValueError:
            self._known.clear()  # not ours to read: forget everything rather than guess
            return
        if not isinstance(keys, list):
            self._known.clear()
            return
        for key in keys:
            self._known.pop(str(key), None)
