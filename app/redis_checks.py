"""Start-up checks of the queue Redis: what RQ needs from the server.

- Cluster mode stops start-up: RQ keeps a job's keys and its queue in one
  transaction, which a sharded cluster refuses (CROSSSLOT). ElastiCache calls
  this "cluster mode enabled"; use a replication group with it disabled.
- A ``maxmemory-policy`` other than ``noeviction`` is logged as an error: under
  memory pressure Redis would silently delete queued jobs. ElastiCache's default
  parameter group uses ``volatile-lru``. ElastiCache disables ``CONFIG``, so
  when the policy cannot be read the check says where to look instead.
- A server reached without a password on a host that is not loopback is logged
  as a warning (``app.security.redis_password``).

Called explicitly: by the ``jobs.worker`` classes when a worker starts, by the web
at the first use of the queue client, and by ``flask check-redis`` (the Docker
entry point and the systemd web unit run it before starting). Two commands, once
per process.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import click
from flask import current_app
from flask.cli import with_appcontext
from redis import Redis
from redis.exceptions import ConnectionError, RedisError, ResponseError, TimeoutError

from app.security.redis_password import warn_if_open

log = logging.getLogger(__name__)

REQUIRED_POLICY = "noeviction"


class UnsupportedRedisError(RedisError):
    """The queue Redis cannot run RQ (cluster mode). A RedisError, so callers
    that treat the queue as unavailable (enqueue, /healthz) report it."""


@dataclass
class QueueRedisReport:
    version: str
    policy: str | None  # None: CONFIG GET is disabled or not permitted
    problems: list[str]


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def check_queue_redis(client: Redis, label: str = "queue Redis") -> QueueRedisReport:
    """Check the server behind ``client``; raise UnsupportedRedisError for cluster mode.

    Connection errors propagate (the caller decides whether that is fatal).
    """
    server = client.info("server")
    cluster = client.info("cluster")
    if int(cluster.get("cluster_enabled", 0)):
        raise UnsupportedRedisError(
            f"the {label} runs in cluster mode (cluster_enabled:1), which RQ does not support: its jobs and "
            "queues must live on one shard. Use a Redis (ElastiCache: a replication group) with cluster "
            "mode disabled."
        )
    problems: list[str] = []
    open_problem = warn_if_open(client, label)
    if open_problem:
        problems.append(open_problem)
    policy: str | None
    try:
        found = client.config_get("maxmemory-policy")
        policy = _text(next(iter(found.values()))) if found else None
    except ResponseError as exc:  # CONFIG renamed away (ElastiCache) or no ACL permission
        policy = None
        message = (f"could not read the {label}'s maxmemory-policy ({exc}); ElastiCache disables CONFIG: "
                   f"make sure its parameter group sets maxmemory-policy to {REQUIRED_POLICY}")
        log.warning("%s", message)
        problems.append(message)
    if policy is not None and policy != REQUIRED_POLICY:
        message = (f"the {label}'s maxmemory-policy is {policy!r}, not {REQUIRED_POLICY!r}: when it fills up, "
                   "Redis will evict queued jobs and they are lost. Set maxmemory-policy noeviction "
                   "(ElastiCache: in the queue cluster's parameter group).")
        log.error("%s", message)
        problems.append(message)
    return QueueRedisReport(version=_text(server.get("redis_version", "?")), policy=policy, problems=problems)


def check_queue_redis_once(client: Redis, url: str) -> bool:
    """The web's first-use check. True when done; False when Redis did not answer (checked next time).

    Not tried while the client knows Redis is down (``app.redis_clients.Outage``, logged there).
    """
    from app.redis_clients import no_retries, outage_of, redact_url

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


@click.command("check-redis")
@with_appcontext
def check_redis_command() -> None:
    """Check the queue and cache Redis; exit 1 if one is unreachable or the queue is a cluster."""
    from app.extensions import cache
    from app.redis_clients import make_queue_redis, redact_url

    url = current_app.config["REDIS_URL"]
    client = make_queue_redis(url, tls_ca_file=current_app.config["REDIS_TLS_CA_FILE"],
                              retries=current_app.config["REDIS_RETRIES"],
                              max_backoff=current_app.config["REDIS_RETRY_MAX_BACKOFF"])
    try:
        report = check_queue_redis(client)
    except RedisError as exc:
        raise click.ClickException(f"queue Redis {redact_url(url)}: {exc}") from None
    state = "ok" if not report.problems else "WARNING"
    click.echo(f"queue Redis {redact_url(url)}: {state} (redis {report.version}, "
               f"maxmemory-policy {report.policy or 'unknown'})")
    cache_url = current_app.config["CACHE_REDIS_URL"]
    try:
        cache.cache.client.ping()
    except RedisError as exc:
        raise click.ClickException(f"cache Redis {redact_url(cache_url)}: {exc}") from None
    click.echo(f"cache Redis {redact_url(cache_url)}: ok")
