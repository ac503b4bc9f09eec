"""/metrics families for the queues and the delivery log.

Read at scrape time: queue depths and registry sizes from the queue Redis (one
pipelined round trip), delivery counts from the database (one GROUP BY). A
queue Redis that is down gives ``filmclub_rq_up 0`` instead of an error page.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from flask import Flask, current_app
from prometheus_client.core import GaugeMetricFamily, Metric
from redis.exceptions import RedisError
from rq import Queue
from sqlalchemy import func, select

from app.extensions import db
from app.main.metrics import register_metrics_source
from app.models.delivery import PENDING, SENDING, Delivery
from app.models.types import utcnow
from app.outbox import ALL
from app.redis_clients import RedisNotConfigured, queue_redis

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
    rows = db.session.execute(
        select(Delivery.channel, Delivery.status, func.count()).group_by(Delivery.channel, Delivery.status)).all()
    family = GaugeMetricFamily("filmclub_deliveries", "Delivery rows by channel and status "
                               "(pending, sending, sent, failed)", labels=["channel", "status"])
    for channel, status, count in sorted(rows):
        family.add_metric([channel, status], count)
    yield family


@dataclass(frozen=True)
class Overdue:
    """Deliveries due and unsent for longer than ``DELIVERY_OVERDUE_SECONDS``."""

    count: int
    oldest_due_at: datetime | None
    now: datetime

    @property
    def oldest_seconds(self) -> float:
        """How long ago the oldest overdue delivery was due; 0 when none is overdue."""
        return (self.now - self.oldest_due_at).total_seconds() if self.oldest_due_at else 0.0


def overdue_deliveries() -> Overdue:
    """One query on the partial index of unsent rows (``status``, ``due_at``)."""
    now = utcnow()
    limit = now - timedelta(seconds=current_app.config["DELIVERY_OVERDUE_SECONDS"])
    count, oldest = db.session.execute(
        select(func.count(), func.min(Delivery.due_at))
        .where(Delivery.status.in_((PENDING, SENDING)), Delivery.due_at < limit)).one()
    return Overdue(count, oldest, now)


def overdue_metrics() -> Iterable[Metric]:
    overdue = overdue_deliveries()
    count = GaugeMetricFamily("filmclub_deliveries_overdue",
                              "Deliveries due and unsent for longer than DELIVERY_OVERDUE_SECONDS")
    count.add_metric([], overdue.count)
    oldest = GaugeMetricFamily("filmclub_deliveries_oldest_overdue_seconds",
                               "Seconds since the oldest overdue delivery was due (0 when none is overdue)")
    oldest.add_metric([], round(overdue.oldest_seconds, 3))
    yield from (count, oldest)


def register_queue_metrics(app: Flask) -> None:
    register_metrics_source(app, queue_metrics)
    register_metrics_source(app, delivery_metrics)
    register_metrics_source(app, overdue_metrics)
