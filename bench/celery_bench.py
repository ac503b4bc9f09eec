"""The same announcement through Celery, side by side with the app's (part of ``bench.mail_bench``).

Same members, same message (``AnnouncementMail``, checked at the sink), same SMTP sink, same database, same machine,
measured right after the RQ rounds: Celery (``bench/celery_app.py``: prefork,
one process per core, one task per message, an SMTP connection kept per
process, late acks) with a Redis broker this benchmark starts itself (a
private redis-server on a free port, never 6379). Each round: the plain-sender
limit, then the announcement: one ``INSERT ... SELECT`` of a delivery row per
member (as the app's request does) and one task published per row, timed from
the start of the insert to the last ``sent_at`` in the delivery log, then the
limit again (the round's limit is the mean of the two). The figure reported
against the app is each side's median ratio to the limit of its own rounds, so
a change in the machine's load between the two phases does not pass for a
difference between them. One round by default (``--celery-rounds``): at one
task per message Celery is the slowest part of ``make bench``.
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import String, cast, func, insert, literal, select, update

from app.extensions import db
from app.models.delivery import EMAIL, PENDING, Delivery
from app.models.types import utcnow
from app.models.user import User
from bench.cache_bench import process_tree_cpu
from bench.celery_app import TASK, create_celery  # ImportError when Celery is not installed: reported by mail_bench
from bench.mail_bench import (AnnouncementMail, PhaseFigures, _figures, _last_sent_at, _wait_until_sent,
                              check_same_message, measure_limit, stop_processes)
from deploy.local.redis_server import RedisServer, free_port

ROOT = Path(__file__).resolve().parent.parent
KIND = "bench-celery"


def _insert_rows(app, round_number: int, mail: AnnouncementMail) -> list[int]:
    """One pending delivery per member in one statement, as ``create_announcement`` writes them; their ids."""
    prefix = f"celery:{round_number}:"
    with app.app_context():
        now = utcnow()
        members = select(
            literal(prefix) + cast(User.id, String), literal(EMAIL), literal(KIND), User.email, User.id,
            literal(mail.subject), literal(mail.body), literal(PENDING), literal(0), literal(now, Delivery.due_at.type),
            literal(now, Delivery.created_at.type),
        ).order_by(User.id)
        columns = ["idempotency_key", "channel", "kind", "recipient", "user_id", "subject", "body", "status",
                   "attempts", "due_at", "created_at"]
        db.session.execute(insert(Delivery).from_select(columns, members))
        db.session.commit()
        ids = list(db.session.scalars(select(Delivery.id).where(Delivery.idempotency_key.startswith(prefix))
                                      .order_by(Delivery.id)))
        db.session.commit()
        return ids


def _one_round(app, task, round_number: int, mail: AnnouncementMail) -> tuple[float, int]:
    """(messages/s from the insert to the last delivery, messages)."""
    began = time.time()
    ids = _insert_rows(app, round_number, mail)
    for delivery_id in ids:  # one task per message, as the seed's stack queued them
        task.delay(delivery_id)
    where = Delivery.idempotency_key.startswith(f"celery:{round_number}:")
    _wait_until_sent(app, len(ids), where)
    return len(ids) / (_last_sent_at(app, where) - began), len(ids)


def _wait_ready(app, task, log_path: Path, process: subprocess.Popen, mail: AnnouncementMail,
                timeout: float = 300) -> None:
    """Warm up: a few messages through every pool process (each builds its Flask app and SMTP connection)."""
    deadline = time.monotonic() + timeout

    ids = _insert_rows(app, 0, mail)[:64]
    for delivery_id in ids:
        task.delay(delivery_id)
    with app.app_context():
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the Celery worker exited with {process.returncode}; see {log_path}")
            done = db.session.scalar(select(func.count()).where(Delivery.id.in_(ids), Delivery.status == "sent"))
            db.session.commit()
            if done == len(ids):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Celery worker did not send its warm-up messages; see {log_path}")
            time.sleep(0.2)
        # the rest of the warm-up rows are not sent: mark them failed so no later count includes them
        db.session.execute(update(Delivery).where(Delivery.idempotency_key.startswith("celery:0:"),
                                                  Delivery.status == "pending").values(status="failed"))
        db.session.commit()


def run(app, env: dict[str, str], sink, tmp: Path, workers_n: int, rounds: int, recipients: int,
        mail: AnnouncementMail) -> PhaseFigures:
    figures = PhaseFigures("Celery")
    log_path = tmp / "celery.log"
    with RedisServer(tmp / f"celery-broker-{free_port()}", appendonly=False) as broker:
        producer = create_celery(broker.url)
        task = producer.tasks[TASK]
        with log_path.open("ab") as log:
            worker = subprocess.Popen([sys.executable, "-m", "bench.celery_app", "--broker", broker.url,
                                       "--concurrency", str(workers_n)], env=env, cwd=ROOT, stdout=log,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_ready(app, task, log_path, worker, mail)
            for n in range(1, rounds + 1):
                before, plain = measure_limit(sink, workers_n, recipients, mail)
                sent_before = sink.tally()
                cpu_before = process_tree_cpu([worker.pid, broker.process.pid])
                rate, figures.recipients = _one_round(app, task, n, mail)
                figures.worker_cpu_s.append(process_tree_cpu([worker.pid, broker.process.pid]) - cpu_before)
                sent = sink.tally() - sent_before
                if sent.messages != figures.recipients:
                    raise RuntimeError("the sink counted a different number of messages than Celery sent")
                check_same_message(plain, "Celery", sent)
                figures.message = sent.describe()
                figures.rates.append(rate)
                after, _ = measure_limit(sink, workers_n, recipients, mail)
                figures.limits.append((before + after) / 2)
                print(f"  limit before and after Celery's round {n}: {before:.0f} and {after:.0f} msg/s")
        finally:
            stop_processes([worker], timeout=30)
            producer.close()
    print(f"  limit, {workers_n} plain sender(s) (Celery's rounds)  {statistics.median(figures.limits):6.0f} msg/s  "
          f"(rounds: {_figures(figures.limits)})")
    print(f"  Celery, prefork x {workers_n}, one task per message, acks late, insert to last delivery  "
          f"{figures.rate:6.0f} msg/s  (rounds: {_figures(figures.rates)}); ratio to limit {figures.ratio:.2f}; "
          f"workers' CPU {figures.cpu_ms_per_message:.2f} ms/message")
    print(f"    the same message on both sides: {figures.message}")
    return figures

