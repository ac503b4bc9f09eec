"""Flask-Caching backend for the cache Redis: JSON values and our own client.

Flask-Caching's Redis backend pickles by default, and anyone who can write to a
pickle cache runs code in every process that reads it. This backend stores JSON.
It also builds the Redis client itself, with the short timeouts of the cache
role, and exposes it as ``.client`` for the versioned post cache.
"""
from __future__ import annotations

import json
from typing import Any

from flask import Flask
from flask_caching.backends.rediscache import RedisCache
from redis import Redis

from app.redis_clients import make_cache_redis


class JSONRedisSerializer:
    """cachelib serializer interface (dumps/loads) speaking JSON."""

    def dumps(self, value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":")).encode()

    def loads(self, value: bytes | None) -> Any:
        if value is None:
            return None
        return json.loads(value)


class JSONRedisCache(RedisCache):
    serializer = JSONRedisSerializer()

    def __init__(self, client: Redis, **kwargs: Any) -> None:
        super().__init__(host=client, **kwargs)
        self.client = client

    @classmethod
    def factory(cls, app: Flask, config: dict[str, Any], args: list[Any], kwargs: dict[str, Any]) -> "JSONRedisCache":
        client = make_cache_redis(config["CACHE_REDIS_URL"], config["CACHE_REDIS_TIMEOUT"],
                                  tls_ca_file=config["REDIS_TLS_CA_FILE"])
        return cls(client, key_prefix=config["CACHE_KEY_PREFIX"], **kwargs)
