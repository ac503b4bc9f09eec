"""/metrics families for the queues and the delivery log.

Read at scrape time: queue depths and registry sizes from the queue Redis (one
pipelined round trip), delivery counts from the database (one GROUP BY). A
queue Redis that is down gives ``filmclub_rq_up 0`` instead of an error page.
"""
from __future__ import annotations

import logging
from typing import Iterable

from flask import Flask
from prometheus_client.core import GaugeMetricFamily, Metric
from redis.exceptions import RedisError
from rq import Queue
from sqlalchemy import func, select

from app.extensions import db
from app.main.metrics import register_metrics_source
from app.redis_clients import RedisNotConfigured, queue_redis
from jobs.queues import ALL

log = logging.getLogger(__name__)

REGISTRIES = ("started", "scheduled", "deferred", "finished", "failed")


def _registry(queue: Queue, name: str):
    return getattr(queue, f"{name}_job_registry")


def queue_metrics() -> Iterable[Metric]:
    up = GaugeMetricFamily("filmclub_rq_up", "1 if the queue Redis answered this scrape")
    try:
        redis = queue_redis()
        pipe = redis.pipeline(transaction=False)
        for name in ALL:
            queue = Queue(name, connection=redis)
            pipe.llen(queue.key)
            for registry in REGISTRIES:
                pipe.zcard(_registry(queue, registry).key)
        pipe.scard("rq:workers")
        replies = pipe.execute()
    except (RedisError, RedisNotConfigured) as exc:
        log.warning("metrics: queue Redis unavailable: %s", exc)
        up.add_metric([], 0)
        yield up
        return
    up.add_metric([], 1)
    yield up
    depth = GaugeMetricFamily("filmclub_rq_queue_jobs", "Jobs waiting in each RQ queue", labels=["queue"])
    registries = GaugeMetricFamily(
        "filmclub_rq_registry_jobs",
        "Jobs in each RQ registry per queue (finished and failed are kept for their TTLs)",
        labels=["queue", "registry"])
    per_queue = 1 + len(REGISTRIES)
    for index, name in enumerate(ALL):
        chunk = replies[index * per_queue:(index + 1) * per_queue]
        depth.add_metric([name], chunk[0])
        for registry, count in zip(REGISTRIES, chunk[1:]):
            registries.add_metric([name, registry], count)
    workers = GaugeMetricFamily("filmclub_rq_workers", "RQ workers registered with the queue Redis")
    workers.add_metric([], replies[-1])
    yield from (depth, registries, workers)


def delivery_metrics() -> Iterable[Metric]:
    from app.models.delivery import Delivery

    rows = db.session.execute(
        select(Delivery.channel, Delivery.status, func.count()).group_by(Delivery.channel, Delivery.status)).all()
    family = GaugeMetricFamily("filmclub_deliveries", "Delivery rows by channel and status "
                               "(pending, sending, sent, failed)", labels=["channel", "status"])
    for channel, status, count in sorted(rows):
        family.add_metric([channel, status], count)
    yield family


def register_queue_metrics(app: Flask) -> None:
    register_metrics_source(app, queue_metrics)
    register_metrics_source(app, delivery_metrics)
