"""Reminder benchmark: lateness of 200 reminders due at once, and fan-outs of 10,000 and 100,000 RSVPs.

    python -m bench.reminder_bench [--lateness 200] [--fanout 10000] [--large 100000] [--workers N]

Everything real, as `make run` starts it: a private redis-server, the
``python -m scheduler --interval 1`` process, one ``rq worker`` per core
(``jobs.worker.AppSimpleWorker``), an SMTP sink process, on SQLite (WAL) and,
when TEST_DATABASE_URL points at one, PostgreSQL.

1. **Lateness**: 200 members RSVP to a screening whose reminder falls due in a
   few seconds; report p50/p99 of (sent time in the delivery log - due time).
   Target p99 <= 1.5 s.
2. **Fan-out**: 10,000 RSVPs to one screening. Time to create their reminder
   rows (target < 1 s), then time from the due time to the last delivery,
   against an announcement to the same members measured in the same run, on
   the same workers, plus 2 s (the plain-sender limit is printed too). Then the
   same with 100,000 (one round): ``reminders.100k_margin_s`` is the seconds
   to spare (the announcement's time + 2 s - the reminders' time), positive
   when the target is met; the 10,000 case is ``reminders.10k_margin_s``.
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
from app.config import normalise_database_url
from app.extensions import db
from app.models.delivery import Delivery
from app.models.screening import Reminder, Rsvp
from app.models.types import utcnow
from app.models.user import User
from app.screenings import service
from app.screenings.reminders import bulk_add_reminders
from bench.databases import databases
from bench.mail_bench import (AnnouncementMail, _record, _start_workers, _wait_for_workers, _worker_env,
                              close_database, measure_announcement, measure_limit, stop_processes)
from bench.results import Results, required_target
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
    parser.add_argument("--large", type=int, default=100_000,
                        help="RSVPs for the large fan-out, one round (0: skip); default 100,000")
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


def _add_members(app, first: int, count: int) -> list[int]:
    """``count`` more verified members after the first ``first``; the ids of all non-admin members."""
    from sqlalchemy import insert, select

    with app.app_context():
        for start in range(first, first + count, 20_000):
            db.session.execute(insert(User), [{"email": f"r{n:06d}@members.example", "name": f"r{n}",
                                               "email_verified_at": utcnow()}
                                              for n in range(start, min(first + count, start + 20_000))])
        db.session.commit()
        return list(db.session.scalars(select(User.id).where(User.is_admin.is_(False)).order_by(User.id)))


def _fan_out(app, members: list[int], count: int) -> tuple[float, float, float, int]:
    """``count`` reminders due at once, then an announcement to every member, on the same workers.

    Returns (seconds from the due time to the last reminder delivered, seconds to create the reminders,
    the announcement's seconds from request to last delivery, its recipients).
    """
    # due late enough that creating the RSVPs and reminders (about 10 s for 100,000 here) ends before it
    screening_id, due, create_seconds = _screening_with_rsvps(app, members[:count], LEAD_SECONDS + 8 + count / 4000)
    sent = _sent_times(app, screening_id, count, timeout=max(300, count / 50))
    last = sent[-1] - due
    rate, _, recipients = measure_announcement(app, len(members) + 1)
    return last, create_seconds, recipients / rate, recipients


def main(argv: list[str] | None = None, results=None) -> int:
    args = _parse(argv)
    results = results if results is not None else Results()
    os.environ.setdefault("APP_ENV", "testing")
    with tempfile.TemporaryDirectory(prefix="reminder-bench-") as tmp:
        for database in databases(Path(tmp)):
            try:
                _bench_on(database.url, Path(tmp), args, results)
            finally:
                database.drop()
    return 0


def _bench_on(database_url: str, tmp: Path, args: argparse.Namespace, results) -> None:
    db_name = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    with RedisServer(tmp / f"redis-{free_port()}", appendonly=False) as redis_server, SMTPSink(free_port()) as sink:
        print(f"reminder benchmark: {args.lateness} reminders due at once, fan-outs of {args.fanout} and "
              f"{args.large or 'no'} (one round), {args.workers} worker(s), {os.cpu_count()} CPU(s), "
              f"{'SQLite (WAL)' if db_name == 'sqlite' else 'PostgreSQL'}, scheduler --interval 1")
        leads = f"{LEAD_SECONDS}s"
        app = create_app({"SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
                          "REDIS_URL": redis_server.url, "CACHE_REDIS_URL": redis_server.url[:-2] + "/1",
                          "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": sink.port, "SECRET_KEY": "bench",
                          "DEV_MAIL_DIR": "", "REMINDER_LEADS": (LEAD_SECONDS,)})
        limit, _ = measure_limit(sink, args.workers, args.fanout, AnnouncementMail.of(app))
        limit_seconds = args.fanout / limit
        print(f"  limit: {args.fanout} messages by {args.workers} plain sender(s): {limit_seconds:.2f} s "
              f"({limit:.0f} msg/s; the announcement's text and HTML)")
        members = _members(app, max(args.fanout, args.lateness))
        env = _worker_env(database_url, redis_server.url, sink.port, 100)
        env.update(REMINDER_LEADS=leads)
        redis = Redis.from_url(redis_server.url)
        workers = _start_workers(env, redis_server.url, args.workers, args.worker_class, tmp)
        log = open(tmp / "scheduler.log", "ab")
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
            # 2. fan-outs: reminders due at once against an announcement to the same members, same workers
            for count in (args.fanout, args.large):
                if not count:
                    continue
                if count > len(members):
                    members = _add_members(app, len(members), count - len(members))
                last, create_seconds, mail_seconds, recipients = _fan_out(app, members, count)
                target = mail_seconds + FANOUT_SLACK_SECONDS
                print(f"  creating {count} reminders: {create_seconds:.3f} s"
                      + (f" (target < {CREATE_TARGET_SECONDS} s: "
                         f"{'met' if create_seconds < CREATE_TARGET_SECONDS else 'MISSED'})" if count == args.fanout
                         else ""))
                print(f"  due to last of {count} reminder deliveries: {last:.2f} s; the {recipients}-member "
                      f"announcement in this run: {mail_seconds:.2f} s; target <= {mail_seconds:.2f} s + "
                      f"{FANOUT_SLACK_SECONDS:.0f} s = {target:.2f} s"
                      + (" (one round)" if count == args.large else ""))
                size = "100k" if count == args.large else "10k"
                _record(results, f"reminders.{size}_margin_s.{db_name}", target - last,
                        required_target("reminders.100k_margin_s"), "seconds to spare", unit="s",
                        note=f"{count} reminders: due to last delivery {last:.2f} s; {recipients}-member "
                             f"announcement {mail_seconds:.2f} s + {FANOUT_SLACK_SECONDS:.0f} s"
                             + ("; one round" if count == args.large else ""))
            print(f"  (the plain-sender limit for {args.fanout} messages: {limit_seconds:.2f} s)")
        finally:
            stop_processes([scheduler, *workers])
            log.close()
            close_database(app)


if __name__ == "__main__":
    sys.exit(main())
