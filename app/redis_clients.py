"""The two Redis roles, as explicit, lazily created connections.

``REDIS_URL`` holds queued work (RQ); ``CACHE_REDIS_URL`` holds cached copies.
They are separate clients so a cache outage or a cache flush never touches the
queues, and the cache client gets short timeouts (a slow cache must degrade to
the database, not stall the request).
"""
from __future__ import annotations

from flask import Flask, current_app
from redis import Redis


class RedisNotConfigured(RuntimeError):
    """REDIS_URL is empty: there is no queue server to talk to."""


def make_queue_redis(url: str) -> Redis:
    if not url:
        raise RedisNotConfigured("REDIS_URL is not set (run `make run`, or point REDIS_URL at a Redis server)")
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10, health_check_interval=30)


def make_cache_redis(url: str, timeout: float) -> Redis:
    """The cache client. With no URL it is a client that cannot connect, so the
    app serves from the database (as for a cache that is down) instead of failing."""
    if not url:
        return Redis(unix_socket_path="/nonexistent/CACHE_REDIS_URL-is-not-set", socket_connect_timeout=timeout)
    return Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)


class RedisClients:
    """Flask extension holding one client per Redis role per app."""

    def init_app(self, app: Flask) -> None:
        app.extensions["redis_clients"] = {"queue": None}

    def queue(self, app: Flask | None = None) -> Redis:
        app = app or current_app
        state = app.extensions["redis_clients"]
        if state["queue"] is None:
            state["queue"] = make_queue_redis(app.config["REDIS_URL"])
        return state["queue"]


def queue_redis() -> Redis:
    """The queue Redis of the current app."""
    from app.extensions import redis_clients

    return redis_clients.queue()
