"""Hand delivery rows to the workers: email in id-range batches, SMS one job per message."""
from __future__ import annotations

import logging
from typing import Iterable

from flask import current_app
from redis.exceptions import RedisError

from app.redis_clients import queue_redis
from jobs.batches import batches_for_ids, enqueue_batches
from jobs.enqueue import enqueue_now

log = logging.getLogger(__name__)

SMS_SENDER = "jobs.sms.send_sms_delivery"


def enqueue_deliveries(deliveries: Iterable[tuple[int, str]], queue: str, key: str) -> int:
    """Enqueue send jobs for ``(delivery_id, channel)`` pairs; returns how many jobs were queued.

    Email rows go out in the same id-range batch jobs as announcements (one
    SMTP connection per 100 messages; deterministic job ids, so the sweeper
    never queues a range twice). ``key`` names the SMS jobs. Whatever fails to
    enqueue stays pending in the database for the delivery sweeper.
    """
    email_ids, queued = [], 0
    for delivery_id, channel in deliveries:
        if channel == "email":
            email_ids.append(delivery_id)
        elif enqueue_now(SMS_SENDER, delivery_id, job_id=f"{key}-{delivery_id}", queue=queue):
            queued += 1
    if email_ids:
        config = current_app.config
        try:
            queued += enqueue_batches(queue_redis(), queue, batches_for_ids(email_ids, config["MAIL_BATCH_SIZE"]),
                                      config)
        except RedisError as exc:
            log.error("could not enqueue %d email deliveries: %s; the sweeper will send them", len(email_ids), exc)
    return queued
