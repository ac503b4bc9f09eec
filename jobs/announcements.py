"""The announcement fan-out job: turn an announcement's delivery rows into batch jobs.

It runs on the ``low`` queue right after the request commits; the request
itself only writes rows. Batch job ids come from the row ids (see
``app.outbox``), so running this twice, or after the sweeper, queues nothing
twice.
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import func, select

from app.extensions import db
from app.models.delivery import PENDING, Delivery
from app.outbox import LOW, batches_covering, batches_for_ids, enqueue_batches
from app.redis_clients import queue_redis


def fan_out(announcement_id: int, only_pending: bool = False) -> dict[str, int]:
    """Queue the batch jobs of every id range the announcement's rows span.

    ``only_pending`` (a retry of failed deliveries): only the ranges that hold a
    pending row of the announcement, not every range of a 10,000-member send.
    """
    if only_pending:
        ids = db.session.scalars(select(Delivery.id).where(Delivery.announcement_id == announcement_id,
                                                           Delivery.status == PENDING)).all()
        db.session.commit()
        batches = batches_for_ids(ids, current_app.config["MAIL_BATCH_SIZE"])
        return {"batches": len(batches), "enqueued": enqueue_batches(queue_redis(), LOW, batches, current_app.config)}
    first_id, last_id = db.session.execute(
        select(func.min(Delivery.id), func.max(Delivery.id))
        .where(Delivery.announcement_id == announcement_id)).one()
    db.session.commit()
    if first_id is None:
        return {"batches": 0, "enqueued": 0}
    size = current_app.config["MAIL_BATCH_SIZE"]
    batches = batches_covering(first_id, last_id, size)
    enqueued = enqueue_batches(queue_redis(), LOW, batches, current_app.config)
    return {"batches": len(batches), "enqueued": enqueued}
