"""Start-up checks of the queue Redis: what RQ needs from the server.

- Cluster mode stops start-up: RQ keeps a job's keys and its queue in one
  transaction, which a sharded cluster refuses (CROSSSLOT). ElastiCache calls
  this "cluster mode enabled"; use a replication group with it disabled.
- A ``maxmemory-policy`` other than ``noeviction`` is logged as an error: under
  memory pressure Redis would silently delete queued jobs. ElastiCache's default
  parameter group uses ``volatile-lru``. ElastiCache disables ``CONFIG``, so
  when the policy cannot be read the check says where to look instead.

Called explicitly: by the ``jobs.worker`` classes when a worker starts, by the web
at the first use of the queue client, and by ``flask check-redis`` (the Docker
entry point and the systemd web unit run it before starting). Two commands, once
per process.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import ResponseError

from app.exceptions import UnsupportedRedisError

log = logging.getLogger(__name__)

REQUIRED_POLICY = "noeviction"




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
