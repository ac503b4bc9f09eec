"""Bulk mail benchmark: an announcement to 10,000 members against the limit, in one run.

    python -m bench.mail_bench [--recipients 10000] [--per-job 1000] [--workers N]

Measured side by side on the same machine, against the same SMTP sink
(``bench.smtp_sink``, its own process):

1. **limit**: plain Python senders, one process per worker, each over one
   reused SMTP connection, building messages with the app's ``build_message``;
   no database, no queue. Nothing that sends this mail can go faster here.
2. **announcement**: ``POST /api/announcements`` through the app (in-process),
   real ``rq worker`` processes (one per core, ``jobs.worker.AppSimpleWorker``
   as ``make run`` and the deploy files start them, then the forking
   ``AppWorker`` for comparison), batches of ``MAIL_BATCH_SIZE`` over one SMTP
   connection each, every row claimed and marked in the delivery log (SQLite in
   WAL mode unless ``--database-url``). Timed from the request to the last
   ``sent_at`` in the delivery log.
3. **one RQ job per email**: the same workers running ``send_email_delivery``
   once per message (``--per-job`` messages, reported as a rate).

The limit and the announcement are measured in interleaved rounds (limit,
announcement, limit, ...) and the ratio is the median of the per-round ratios,
so a change in the machine's other load between rounds moves both sides.
Prints messages/s for each, the announcement/limit ratio (target >= 0.8), the
request time, and the workers' peak RSS (worker plus work horse).
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from redis import Redis

from app import create_app
from app.config import normalise_database_url
from app.extensions import db
from app.safe_jobs import JSONQueue
from app.models.delivery import Delivery
from app.models.types import utcnow
from app.models.user import User
from bench.databases import Database, databases
from bench.smtp_sink import SMTPSink
from deploy.local.redis_server import RedisServer, free_port
from jobs.mailer import SMTPConnection, SMTPSettings, build_message

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 0.8
# The limit and the announcement send the same message, so only the sending machinery differs.
SUBJECT = "Season programme"
BODY = "Films!\n" * 20


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.mail_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000, help="announcement size and limit run size")
    parser.add_argument("--per-job", type=int, default=300, help="messages for the one-job-per-email run")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="worker processes (default: cores)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved limit/announcement rounds (default 3)")
    parser.add_argument("--batch-size", type=int, default=100, help="MAIL_BATCH_SIZE")
    parser.add_argument("--worker-classes", default="jobs.worker.AppSimpleWorker,jobs.worker.AppWorker",
                        help="comma-separated; the announcement is measured with each, one job per email "
                             "with the last")
    parser.add_argument("--database-url", default="",
                        help="default: a fresh SQLite file (WAL), then a throwaway PostgreSQL database when "
                             "TEST_DATABASE_URL is set; a URL given here has its tables dropped and created")
    return parser.parse_args(argv)


# --- the limit: plain senders ----------------------------------------------------------------

def _plain_sender(port: int, count: int, offset: int, start: multiprocessing.synchronize.Event) -> None:
    settings = SMTPSettings(host="127.0.0.1", port=port, sender="Film Club <noreply@filmclub.example>")
    start.wait()
    with SMTPConnection(settings) as connection:
        for n in range(offset, offset + count):
            recipient = f"plain{n}@members.example"
            connection.send(build_message(settings.sender, recipient, SUBJECT, BODY,
                                          f"plain:{n}"))


def measure_limit(sink, senders: int, total: int) -> float:
    context = multiprocessing.get_context("fork")
    start = context.Event()
    share = [total // senders + (1 if i < total % senders else 0) for i in range(senders)]
    offsets = [sum(share[:i]) for i in range(senders)]
    processes = [context.Process(target=_plain_sender, args=(sink.port, share[i], offsets[i], start))
                 for i in range(senders)]
    for process in processes:
        process.start()
    time.sleep(0.3)
    before = sink.count
    began = time.perf_counter()
    start.set()
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise RuntimeError(f"plain sender exited with {process.exitcode}")
    elapsed = time.perf_counter() - began
    assert sink.count - before == total, (sink.count - before, total)
    return total / elapsed


# --- the app: workers, announcement, one job per email ------------------------------------------

class RSSSampler(threading.Thread):
    """Peak resident memory of each worker together with its work horse, sampled every 50 ms.

    Reads ``/proc`` directly (the worker's children from its ``children``
    file, sizes from ``statm``): psutil's ``children()`` scans every process
    on the machine, and at 20 Hz that took a measurable share of a core from
    the workers being measured.
    """

    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.pids, self.peaks, self.running = pids, {pid: 0 for pid in pids}, True
        self.page_size = os.sysconf("SC_PAGE_SIZE")

    def _rss(self, pid: int) -> int:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * self.page_size

    def _family_rss(self, pid: int) -> int:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            child_pids = [int(child) for child in children.read().split()]
        total = self._rss(pid)
        for child in child_pids:
            try:
                total += self._rss(child)
            except OSError:  # the horse finished between the two reads
                pass
        return total

    def run(self) -> None:
        while self.running:
            for pid in self.pids:
                try:
                    self.peaks[pid] = max(self.peaks[pid], self._family_rss(pid))
                except OSError:
                    continue
            time.sleep(0.05)

    def stop(self) -> dict[int, int]:
        self.running = False
        self.join()
        return self.peaks


def _worker_env(database_url: str, redis_url: str, smtp_port: int, batch_size: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "MAIL_"))}
    env.update({"APP_ENV": "testing", "SECRET_KEY": secrets.token_hex(16), "DATABASE_URL": database_url,
                "REDIS_URL": redis_url, "CACHE_REDIS_URL": redis_url.rsplit("/", 1)[0] + "/1",
                "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp_port), "MAIL_BATCH_SIZE": str(batch_size),
                "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore"})
    return env


def _start_workers(env: dict[str, str], redis_url: str, count: int, worker_class: str, log_dir: Path):
    import subprocess

    rq = str(Path(sys.executable).with_name("rq"))
    processes = []
    for n in range(count):
        log = open(log_dir / f"worker{n}.log", "ab")
        processes.append(subprocess.Popen(
            [rq, "worker", "--url", redis_url, "--worker-class", worker_class, "--logging_level", "WARNING",
             "--name", f"bench-{os.getpid()}-{n}", "high", "default", "low"],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        log.close()
    return processes


def stop_processes(processes, timeout: float = 15) -> None:
    """SIGTERM (warm shutdown for workers), then SIGKILL whatever is still there after ``timeout``."""
    import subprocess

    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def close_database(app) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _wait_for_workers(redis, count: int, timeout: float = 60) -> None:
    from rq import Worker

    deadline = time.monotonic() + timeout
    while len(Worker.all(connection=redis)) < count:
        if time.monotonic() > deadline:
            raise RuntimeError("workers did not start; see their logs")
        time.sleep(0.1)


def _wait_until_sent(app, total: int, where, timeout: float = 300) -> None:
    from sqlalchemy import func, select

    deadline = time.monotonic() + timeout
    with app.app_context():
        while True:
            done = db.session.scalar(select(func.count()).where(where, Delivery.status.in_(("sent", "failed"))))
            db.session.commit()
            if done >= total:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {done} of {total} sent after {timeout} s")
            time.sleep(0.25)  # the end time is read from the log (max sent_at), not from this poll


def _last_sent_at(app, where) -> float:
    from sqlalchemy import func, select

    with app.app_context():
        failed = db.session.scalar(select(func.count()).where(where, Delivery.status != "sent"))
        if failed:
            raise RuntimeError(f"{failed} deliveries not sent")
        return db.session.scalar(select(func.max(Delivery.sent_at)).where(where)).timestamp()


def measure_announcement(app, members: int) -> tuple[float, float, int]:
    """(messages/s request-to-last-delivery, request ms, recipients)."""

    client = app.test_client()
    response = client.post("/api/auth/login", json={"email": "bench-admin@example.com", "password": "bench-password"})
    assert response.status_code == 200, response.get_json()
    began = time.time()
    response = client.post("/api/announcements", json={"subject": SUBJECT, "body": BODY})
    request_ms = (time.time() - began) * 1000
    assert response.status_code == 202, response.get_json()
    announcement_id, recipients = response.get_json()["id"], response.get_json()["recipient_count"]
    where = Delivery.announcement_id == announcement_id
    _wait_until_sent(app, recipients, where)
    return recipients / (_last_sent_at(app, where) - began), request_ms, recipients


def measure_job_per_email(app, redis, count: int) -> float:
    from sqlalchemy import insert, select

    with app.app_context():
        now = utcnow()
        db.session.execute(insert(Delivery), [
            {"idempotency_key": f"single:{n}", "kind": "bench-single", "recipient": f"single{n}@members.example",
             "subject": "One job each", "body": "Films!\n" * 20, "due_at": now, "created_at": now}
            for n in range(count)])
        db.session.commit()
        ids = list(db.session.scalars(select(Delivery.id).where(Delivery.kind == "bench-single")))
        db.session.commit()
    queue = JSONQueue("default", connection=redis)
    began = time.time()
    for start in range(0, len(ids), 500):
        queue.enqueue_many([JSONQueue.prepare_data("jobs.email.send_email_delivery", args=(i,), job_id=f"single-{i}",
                                               result_ttl=60) for i in ids[start:start + 500]])
    where = Delivery.kind == "bench-single"
    _wait_until_sent(app, count, where)
    return count / (_last_sent_at(app, where) - began)


def _prepare_database(app, members: int) -> None:
    from sqlalchemy import insert

    with app.app_context():
        db.drop_all()
        db.create_all()
        admin = User(email="bench-admin@example.com", name="Bench admin", is_admin=True)
        admin.set_password("bench-password")
        db.session.add(admin)
        db.session.execute(insert(User), [{"email": f"m{n:06d}@members.example", "name": f"m{n}",
                                           "password_hash": None, "email_verified_at": utcnow()}
                                          for n in range(members - 1)])
        db.session.commit()


def _run_with_workers(app, redis, env, redis_url: str, sink, workers_n: int, worker_class: str, log_dir: Path,
                      args: argparse.Namespace, per_job: bool) -> None:
    """Interleaved rounds: the limit, then the announcement, ``--rounds`` times, with the workers started once.

    Each round measures the two back to back, so a change in the machine's
    other load between rounds moves both; the ratio reported is the median of
    the per-round ratios.
    """
    processes = _start_workers(env, redis_url, workers_n, worker_class, log_dir)
    short = worker_class.rsplit(".", 1)[-1]
    try:
        _wait_for_workers(redis, workers_n)
        sampler = RSSSampler([p.pid for p in processes])
        sampler.start()
        limits, announcements, requests_ms = [], [], []
        for _ in range(args.rounds):
            limits.append(measure_limit(sink, workers_n, args.recipients))
            sent_before = sink.count
            announcement, request_ms, recipients = measure_announcement(app, args.recipients)
            assert sink.count - sent_before == recipients, "the sink counted a different number of messages"
            announcements.append(announcement)
            requests_ms.append(request_ms)
        ratios = [a / limit for a, limit in zip(announcements, limits)]
        ratio = statistics.median(ratios)
        print(f"  limit, {workers_n} plain sender(s) over reused connections  "
              f"{statistics.median(limits):6.0f} msg/s  (rounds: {_figures(limits)})")
        print(f"  announcement, {workers_n} x {short}, request to last delivery (log included)  "
              f"{statistics.median(announcements):6.0f} msg/s  (rounds: {_figures(announcements)}); "
              f"request {statistics.median(requests_ms):.0f} ms for {recipients} members")
        print(f"    ratio to limit {ratio:.2f} (rounds: {' '.join(f'{r:.2f}' for r in ratios)}; "
              f"target >= {TARGET_RATIO}: {'met' if ratio >= TARGET_RATIO else 'NOT met'})")
        if per_job:
            rate = measure_job_per_email(app, redis, args.per_job)
            print(f"  one RQ job per email, {workers_n} x {short} ({args.per_job} messages)  {rate:6.0f} msg/s  "
                  f"(the announcement is {statistics.median(announcements) / rate:.1f}x faster)")
        peaks = [v / 2**20 for v in sampler.stop().values()]
        print(f"    {short} peak RSS (worker + work horse): max {max(peaks):.0f} MiB, "
              f"median {statistics.median(peaks):.0f} MiB")
    finally:
        stop_processes(processes)
        from rq import Worker

        for worker in Worker.all(connection=redis):  # forget the stopped workers before the next phase
            worker.register_death()


def _figures(rates: list[float]) -> str:
    return " ".join(f"{rate:.0f}" for rate in rates)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    os.environ.setdefault("APP_ENV", "testing")

    with tempfile.TemporaryDirectory(prefix="mail-bench-") as tmp:
        targets = ([Database("given", args.database_url)] if args.database_url
                   else list(databases(Path(tmp))))
        for database in targets:
            try:
                _bench_on(database.url, Path(tmp), args)
            finally:
                database.drop()
    return 0


def _bench_on(database_url: str, tmp: Path, args: argparse.Namespace) -> None:
    workers_n = max(1, args.workers)
    with RedisServer(tmp / f"redis-{free_port()}", appendonly=False) as redis_server, SMTPSink(free_port()) as sink:
        print(f"mail benchmark: {args.recipients} recipients, {workers_n} worker(s), "
              f"batches of {args.batch_size}, {args.rounds} interleaved rounds, {os.cpu_count()} CPU(s), database "
              f"{'SQLite (WAL)' if database_url.startswith('sqlite') else 'PostgreSQL ' + database_url.split('@')[-1]}")
        app = create_app({"SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
                          "REDIS_URL": redis_server.url, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": sink.port,
                          "MAIL_BATCH_SIZE": args.batch_size, "SECRET_KEY": "bench", "DEV_MAIL_DIR": ""})
        _prepare_database(app, args.recipients)
        redis = Redis.from_url(redis_server.url)
        env = _worker_env(database_url, redis_server.url, sink.port, args.batch_size)
        classes = [c.strip() for c in args.worker_classes.split(",") if c.strip()]
        try:
            for index, worker_class in enumerate(classes):
                last = index == len(classes) - 1
                _run_with_workers(app, redis, env, redis_server.url, sink, workers_n, worker_class,
                                  tmp, args, per_job=last)
        finally:
            close_database(app)


if __name__ == "__main__":
    sys.exit(main())
