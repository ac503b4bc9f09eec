"""Reminder benchmark: lateness of 200 reminders due at once, and a 10,000-RSVP fan-out.

    python -m bench.reminder_bench [--lateness 200] [--fanout 10000] [--workers N]

Everything real, as `make run` starts it: a private redis-server, the
``python -m scheduler --interval 1`` process, one ``rq worker`` per core
(``jobs.worker.AppSimpleWorker``), a SQLite (WAL) database and an SMTP sink process.

1. **Lateness**: 200 members RSVP to a screening whose reminder falls due in a
   few seconds; report p50/p99 of (sent time in the delivery log - due time).
   Target p99 <= 1.5 s.
2. **Fan-out**: 10,000 RSVPs to one screening. Time to create their reminder
   rows (target < 1 s), then time from the due time to the last delivery,
   against the mail benchmark's time for 10,000 messages plus 2 s: a
   10,000-member announcement measured in the same run, on the same workers
   (the plain-sender limit is printed too).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from redis import Redis

from app import create_app
from app.extensions import db
from app.models.delivery import Delivery
from app.models.screening import Reminder, Rsvp
from app.models.types import utcnow
from app.models.user import User
from app.screenings import service
from app.screenings.reminders import bulk_add_reminders
from bench.mail_bench import (_start_workers, _wait_for_workers, _worker_env, close_database, measure_announcement,
                              measure_limit, stop_processes)
from bench.smtp_sink import SMTPSink
from deploy.local.redis_server import RedisServer, free_port

ROOT = Path(__file__).resolve().parent.parent
LATENESS_TARGET_P99 = 1.5
CREATE_TARGET_SECONDS = 1.0
FANOUT_SLACK_SECONDS = 2.0
LEAD_SECONDS = 5


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.reminder_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--lateness", type=int, default=200, help="reminders due at the same second")
    parser.add_argument("--fanout", type=int, default=10_000, help="RSVPs for the fan-out screening")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--worker-class", default="jobs.worker.AppSimpleWorker")
    return parser.parse_args(argv)


def _members(app, count: int) -> list[int]:
    from sqlalchemy import insert, select

    with app.app_context():
        db.drop_all()
        db.create_all()
        admin = User(email="bench-admin@example.com", name="Admin", is_admin=True, email_verified_at=utcnow())
        admin.set_password("bench-password")  # bench.mail_bench.measure_announcement signs in with it
        db.session.add(admin)
        db.session.execute(insert(User), [{"email": f"r{n:06d}@members.example", "name": f"r{n}",
                                           "email_verified_at": utcnow()} for n in range(count)])
        db.session.commit()
        return list(db.session.scalars(select(User.id).where(User.is_admin.is_(False)).order_by(User.id)))


def _screening_with_rsvps(app, user_ids: list[int], starts_in: float) -> tuple[int, float, float]:
    """Create the screening and RSVPs; returns (screening id, reminder due epoch, seconds to create reminders)."""
    from sqlalchemy import insert, select

    with app.app_context():
        admin = db.session.scalar(select(User).where(User.is_admin.is_(True)))
        screening = service.create_screening(admin, title="Bench night", film="Stalker", place="Hall",
                                             capacity=len(user_ids), starts_at=utcnow() + timedelta(seconds=starts_in))
        now = utcnow()
        db.session.execute(insert(Rsvp), [{"screening_id": screening.id, "user_id": uid, "created_at": now}
                                          for uid in user_ids])
        began = time.perf_counter()
        bulk_add_reminders(screening, user_ids)
        db.session.commit()
        create_seconds = time.perf_counter() - began
        due = (screening.starts_at - timedelta(seconds=LEAD_SECONDS)).timestamp()
        return screening.id, due, create_seconds


def _sent_times(app, screening_id: int, expected: int, timeout: float) -> list[float]:
    from sqlalchemy import String, cast, func, literal, select

    key = literal("reminder:") + cast(Reminder.id, String)
    query = (select(Delivery.sent_at).join(Reminder, Delivery.idempotency_key == key)
             .where(Reminder.screening_id == screening_id, Delivery.status == "sent"))
    deadline = time.monotonic() + timeout
    with app.app_context():
        while True:
            done = db.session.scalar(select(func.count()).select_from(query.subquery()))
            db.session.commit()
            if done >= expected:
                return sorted(t.timestamp() for t in db.session.scalars(query))
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {done} of {expected} reminders sent after {timeout} s")
            time.sleep(0.2)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    os.environ.setdefault("APP_ENV", "testing")
    with tempfile.TemporaryDirectory(prefix="reminder-bench-") as tmp, \
            RedisServer(Path(tmp) / "redis", appendonly=False) as redis_server, \
            SMTPSink(free_port()) as sink:
        database_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        print(f"reminder benchmark: {args.lateness} reminders due at once, fan-out of {args.fanout}, "
              f"{args.workers} worker(s), {os.cpu_count()} CPU(s), SQLite (WAL), scheduler --interval 1")
        limit = measure_limit(sink, args.workers, args.fanout)
        limit_seconds = args.fanout / limit
        print(f"  limit: {args.fanout} messages by {args.workers} plain sender(s): {limit_seconds:.2f} s "
              f"({limit:.0f} msg/s)")

        leads = f"{LEAD_SECONDS}s"
        app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_server.url,
                          "CACHE_REDIS_URL": redis_server.url[:-2] + "/1", "MAIL_SERVER": "127.0.0.1",
                          "MAIL_PORT": sink.port, "SECRET_KEY": "bench", "DEV_MAIL_DIR": "",
                          "REMINDER_LEADS": (LEAD_SECONDS,)})
        members = _members(app, max(args.fanout, args.lateness))
        env = _worker_env(database_url, redis_server.url, sink.port, 100)
        env.update(REMINDER_LEADS=leads)
        redis = Redis.from_url(redis_server.url)
        workers = _start_workers(env, redis_server.url, args.workers, args.worker_class, Path(tmp))
        log = open(Path(tmp) / "scheduler.log", "ab")
        scheduler = subprocess.Popen([sys.executable, "-m", "scheduler", "--url", redis_server.url,
                                      "--interval", "1"], env=env, cwd=ROOT, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_for_workers(redis, args.workers)
            # 1. lateness
            screening_id, due, _ = _screening_with_rsvps(app, members[:args.lateness], LEAD_SECONDS + 4)
            late = [t - due for t in _sent_times(app, screening_id, args.lateness, timeout=60)]
            p50, p99 = _percentile(late, 0.5), _percentile(late, 0.99)
            print(f"  lateness of {args.lateness} reminders due at the same second: p50 {p50:.2f} s, "
                  f"p99 {p99:.2f} s, max {max(late):.2f} s (target p99 <= {LATENESS_TARGET_P99} s: "
                  f"{'met' if p99 <= LATENESS_TARGET_P99 else 'MISSED'})")
            # 2. fan-out
            screening_id, due, create_seconds = _screening_with_rsvps(app, members[:args.fanout], LEAD_SECONDS + 8)
            print(f"  creating {args.fanout} reminders: {create_seconds:.3f} s (target < {CREATE_TARGET_SECONDS} s: "
                  f"{'met' if create_seconds < CREATE_TARGET_SECONDS else 'MISSED'})")
            sent = _sent_times(app, screening_id, args.fanout, timeout=300)
            last = sent[-1] - due
            rate, _, recipients = measure_announcement(app, args.fanout)
            mail_seconds = recipients / rate
            target = mail_seconds + FANOUT_SLACK_SECONDS
            print(f"  due to last of {args.fanout} deliveries: {last:.2f} s (first {sent[0] - due:.2f} s); "
                  f"the mail benchmark's {recipients}-member announcement in this run: {mail_seconds:.2f} s; "
                  f"target <= {mail_seconds:.2f} s + {FANOUT_SLACK_SECONDS:.0f} s = {target:.2f} s: "
                  f"{'met' if last <= target else 'MISSED'} (the plain-sender limit: {limit_seconds:.2f} s)")
        finally:
            stop_processes([scheduler, *workers])
            log.close()
            close_database(app)
    return 0


if __name__ == "__main__":
    sys.exit(main())
