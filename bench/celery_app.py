"""The seed's stack, done well, for the side-by-side mail benchmark (bench-only: requirements-bench.txt).

What the seed ran before this project: Celery with a Redis broker, one task per
email. Here it gets every advantage such a stack would be given by someone who
tuned it: prefork with one process per core, one task per message, the SMTP
connection and the Flask app kept per process (not opened per task), late acks
(a message is acknowledged once sent, so a killed process loses nothing, as
with the RQ path), JSON, no result backend. Each task does the same database
work per message as the app's one-job-per-email path: claim the delivery row,
send, mark it sent (``jobs.deliveries.claim_rows`` / ``mark_row_sent``).

Nothing is built at import: ``create_celery(broker_url)`` makes the Celery app
and registers the task; ``python -m bench.celery_app --broker URL --concurrency
N`` runs a worker (its environment carries the Flask app's configuration, as
for ``rq worker``).
"""
from __future__ import annotations

import argparse
import os
import sys
from datetime import timedelta

from celery import Celery
from flask import current_app

from app import create_app
from app.mail_html import html_part
from app.models.delivery import Delivery
from app.models.types import utcnow
from jobs.deliveries import claim_rows, mark_row_failed, mark_row_sent, release_row
from jobs.mailer import PermanentMailError, SMTPConnection, SMTPSettings, TransientMailError

QUEUE = "bench-celery"
TASK = "bench.send_delivery"

_per_process: dict[str, object] = {}  # filled lazily in each pool process: its Flask app and SMTP connection


def _process_state():
    """This pool process's Flask app (context pushed for its lifetime) and SMTP connection, made once."""
    if _per_process.get("pid") != os.getpid():
        flask_app = create_app()
        flask_app.app_context().push()
        settings = SMTPSettings.from_config(current_app.config)
        _per_process.update(pid=os.getpid(), settings=settings, connection=SMTPConnection(settings).__enter__())
    return _per_process["settings"], _per_process["connection"]


def _reconnect() -> None:
    old = _per_process.pop("connection", None)
    if old is not None:
        old.__exit__(None, None, None)
    _per_process["connection"] = SMTPConnection(_per_process["settings"]).__enter__()


def send_delivery(task, delivery_id: int) -> str:
    """Claim one delivery row, send it over this process's SMTP connection, mark it sent.

    The message is the app's, text and HTML part (``app.mail_html.html_part``, which keeps what it rendered
    for the next task, as it does for the app's own jobs).

    The claim and the marks are the app's own statements (``jobs.deliveries``: ``claim_rows``,
    ``mark_row_sent``...), as its one-message job uses them, less the claim heartbeat thread: a message
    to a local sink takes milliseconds, and a tuned Celery stack would not start a thread per task.
    """
    settings, connection = _process_state()
    token = utcnow()
    rows = claim_rows(Delivery.id == delivery_id, token)
    if not rows:
        return "skipped: already sent, failed or in flight"
    row = rows[0]
    try:
        answer = connection.deliver(settings.sender, row.recipient, row.subject, row.body, row.idempotency_key,
                                    html_part(row.subject, row.body, row.locale))
    except PermanentMailError as exc:
        mark_row_failed(row.id, token, str(exc))
        return f"failed: {exc}"
    except TransientMailError as exc:
        release_row(row, token, str(exc), due_at=utcnow() + timedelta(seconds=1))
        _reconnect()
        raise task.retry(exc=exc, countdown=1)
    mark_row_sent(row.id, token, answer)
    return answer


def create_celery(broker_url: str) -> Celery:
    celery = Celery("filmclub-bench", broker=broker_url, set_as_current=False)
    celery.conf.update(
        task_acks_late=True, task_reject_on_worker_lost=True, task_ignore_result=True, result_backend=None,
        task_serializer="json", accept_content=["json"], task_default_queue=QUEUE,
        worker_hijack_root_logger=False, broker_connection_retry_on_startup=True,
        worker_prefetch_multiplier=4,  # Celery's default; with short tasks it keeps every process busy
    )
    celery.task(name=TASK, bind=True, max_retries=5)(send_delivery)
    return celery


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.celery_app", description=__doc__.split("\n\n")[0])
    parser.add_argument("--broker", required=True)
    parser.add_argument("--concurrency", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    create_celery(args.broker).worker_main([
        "worker", "--pool", "prefork", "--concurrency", str(args.concurrency), "--queues", QUEUE,
        "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat",
        "--hostname", f"bench-celery-{os.getpid()}@%h",
    ])


if __name__ == "__main__":
    sys.exit(main())
