"""Bulk mail benchmark: an announcement to 10,000 members against the limit, Celery, and 100,000, in one run.

    python -m bench.mail_bench [--recipients 10000] [--large 100000] [--per-job 300] [--workers N] [--no-celery]

Measured side by side on the same machine, against the same SMTP sink
(``bench.smtp_sink``, its own process), on SQLite (WAL) and, when
TEST_DATABASE_URL points at one, PostgreSQL:

1. **limit**: plain Python senders, one process per worker, each over one
   reused SMTP connection, building messages with the app's ``build_message``
   from the text and HTML part the app makes of the announcement
   (``AnnouncementMail``); no database, no queue. Nothing that sends this mail
   can go faster here. The sink checks that every side sent the same kind of
   message (``check_same_message``).
2. **announcement**: ``POST /api/announcements`` through the app (in-process),
   real ``rq worker`` processes (one per core, ``jobs.worker.AppSimpleWorker``
   as ``make run`` and the deploy files start them; ``--worker-classes`` adds
   others, such as the forking ``AppWorker``), batches of ``MAIL_BATCH_SIZE`` over one SMTP
   connection each, every row claimed and marked in the delivery log. Timed
   from the request to the last ``sent_at`` in the delivery log.
3. **one RQ job per email**: the same workers running ``send_email_delivery``
   once per message (``--per-job`` messages, reported as a rate).
4. **Celery** (``bench.celery_bench``): the seed's stack done well, the same
   members and message, against the limit measured before and after.
5. **the large case**: ``--large`` members (100,000), one round, fresh workers:
   ratio to the limit, cost per message and worker peak memory against the
   first run, and the request's time.

The limit and the announcement are measured in interleaved rounds (limit,
announcement, limit, ...) and the ratio is the median of the per-round ratios,
so a change in the machine's other load between rounds moves both sides.
Every ratio goes into the run's results (``bench.results``).
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
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from flask import render_template
from redis import Redis

from app import create_app
from app.config import normalise_database_url
from app.extensions import db
from app.i18n import in_locale
from app.links import page_url
from app.mail_html import html_part
from app.models.delivery import PENDING, SENDING, Delivery
from app.models.types import utcnow
from app.models.user import User
from app.safe_jobs import JSONQueue
from bench.cache_bench import process_tree_cpu
from bench.databases import Database, databases
from bench.results import Results, required_target
from bench.smtp_sink import SMTPSink, Tally
from deploy.local.redis_server import RedisServer, free_port
from jobs.mailer import SMTPConnection, SMTPSettings, build_message

ROOT = Path(__file__).resolve().parent.parent
# What the admin types; every side sends the message the app makes of it (``AnnouncementMail``).
SUBJECT = "Season programme"
BODY = "Films!\n" * 20
# Two sides send "the same message" when their mean sizes differ by less than this (addresses, ids and keys
# differ a little) and both have, or both lack, the HTML part.
SAME_SIZE_TOLERANCE = 0.05


@dataclass(frozen=True)
class AnnouncementMail:
    """The subject, text and HTML part a member gets for the bench announcement, in the default language.

    The plain senders and Celery send these, so every side of a comparison
    sends the same bytes but for the headers, and only the machinery differs.
    """
    subject: str
    body: str
    html: str | None  # None: text only (what a test compares against)

    @classmethod
    def of(cls, app) -> "AnnouncementMail":
        locale = app.config["APP_LOCALE"]
        with app.test_request_context("/"), in_locale(locale):  # as the request writes the rows
            body = render_template("email/announcement.txt", body=BODY, link=page_url("posts.index"))
        with app.app_context():  # as the worker renders the HTML: no request
            return cls(SUBJECT, body, html_part(SUBJECT, body, locale))


def check_same_message(reference: Tally, label: str, measured: Tally) -> None:
    """Raise unless ``measured`` is the same kind of message as ``reference`` (see SAME_SIZE_TOLERANCE)."""
    same_parts = (reference.with_html == reference.messages) == (measured.with_html == measured.messages)
    close = abs(measured.mean_size - reference.mean_size) <= SAME_SIZE_TOLERANCE * reference.mean_size
    if not (same_parts and close):
        raise RuntimeError(f"{label} sent other messages than the plain senders, so the ratio would compare "
                           f"message building, not the machinery: {measured.describe()}, against "
                           f"{reference.describe()}")


# --- the limit: plain senders ----------------------------------------------------------------

def _plain_sender(port: int, count: int, offset: int, mail: AnnouncementMail,
                  start: multiprocessing.synchronize.Event) -> None:
    settings = SMTPSettings(host="127.0.0.1", port=port, sender="Film Club <noreply@filmclub.example>")
    start.wait()
    with SMTPConnection(settings) as connection:
        for n in range(offset, offset + count):
            recipient = f"plain{n}@members.example"
            connection.send(build_message(settings.sender, recipient, mail.subject, mail.body, f"plain:{n}",
                                          mail.html))


def measure_limit(sink, senders: int, total: int, mail: AnnouncementMail) -> tuple[float, Tally]:
    """(messages/s of ``senders`` plain senders sending ``total`` copies of ``mail``, what the sink got)."""
    context = multiprocessing.get_context("fork")
    start = context.Event()
    share = [total // senders + (1 if i < total % senders else 0) for i in range(senders)]
    offsets = [sum(share[:i]) for i in range(senders)]
    processes = [context.Process(target=_plain_sender, args=(sink.port, share[i], offsets[i], mail, start))
                 for i in range(senders)]
    for process in processes:
        process.start()
    time.sleep(0.3)
    before = sink.tally()
    began = time.perf_counter()
    start.set()
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise RuntimeError(f"plain sender exited with {process.exitcode}")
    elapsed = time.perf_counter() - began
    received = sink.tally() - before
    if received.messages != total:
        raise RuntimeError(f"the sink counted {received.messages} messages from the plain senders, not {total}")
    return total / elapsed, received


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


def _wait_for_workers(redis, count: int, timeout: float = 180) -> None:
    from rq import Worker

    deadline = time.monotonic() + timeout
    while len(Worker.all(connection=redis)) < count:
        if time.monotonic() > deadline:
            raise RuntimeError("workers did not start; see their logs")
        time.sleep(0.1)


def _wait_until_sent(app, total: int, where, timeout: float | None = None) -> None:
    """Poll the delivery log until ``total`` rows are done (sent or failed); the deadline grows with ``total``
    (5 messages a second at least: Celery's one task per message ran at 20 a second on this machine at a load
    average of 13, and 10,000 of them missed a fixed 300 s deadline).

    The poll asks whether any row is still unsent (one row from the index of unsent rows), not how many
    are done: counting 100,000 rows four times a second took a fifth of a core from the workers being
    measured. The rows are counted once, at the end.
    """
    from sqlalchemy import exists, func, or_, select

    timeout = timeout or max(600.0, total / 5)
    deadline = time.monotonic() + timeout
    # the OR form, as the partial index of unsent rows is declared (UNSENT_WHERE), so the planner uses it
    unsent = select(exists().where(where, or_(Delivery.status == PENDING, Delivery.status == SENDING)))
    with app.app_context():
        while True:
            waiting = db.session.scalar(unsent)
            db.session.commit()
            if not waiting:
                done = db.session.scalar(select(func.count()).where(where, Delivery.status.in_(("sent", "failed"))))
                db.session.commit()
                if done >= total:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"deliveries still unsent after {timeout} s")
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


@dataclass
class PhaseFigures:
    """One worker class (or Celery) measured over rounds against the limit."""
    label: str
    limits: list[float] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)
    requests_ms: list[float] = field(default_factory=list)
    worker_cpu_s: list[float] = field(default_factory=list)  # workers + work horses + their Redis, per round
    recipients: int = 0
    peak_rss: list[int] = field(default_factory=list)
    message: str = ""  # what the sink received from this side, checked against the plain senders'

    @property
    def ratios(self) -> list[float]:
        return [rate / limit for rate, limit in zip(self.rates, self.limits)]

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    @property
    def rate(self) -> float:
        return statistics.median(self.rates)

    @property
    def seconds_per_message(self) -> float:
        return 1 / self.rate

    @property
    def cpu_ms_per_message(self) -> float:
        return statistics.median(self.worker_cpu_s) / self.recipients * 1000

    @property
    def peak_mib(self) -> float:
        return max(self.peak_rss) / 2**20


def _run_with_workers(app, redis, env, redis_url: str, sink, workers_n: int, worker_class: str, log_dir: Path,
                      rounds: int, recipients: int, mail: AnnouncementMail, per_job: int = 0,
                      limit_messages: int = 0) -> PhaseFigures:
    """Interleaved rounds: the limit, then the announcement, ``rounds`` times, with the workers started once.

    Each round measures the two back to back, so a change in the machine's
    other load between rounds moves both; the ratio reported is the median of
    the per-round ratios. With ``limit_messages`` fewer than the recipients
    (the large case), the limit is measured on that many messages right before
    and right after the announcement and the two rates averaged: the plain
    senders' rate does not depend on how many they send, and bracketing the
    long announcement follows the machine's load better than one long run first.
    """
    processes = _start_workers(env, redis_url, workers_n, worker_class, log_dir)
    short = worker_class.rsplit(".", 1)[-1]
    figures = PhaseFigures(short)
    try:
        _wait_for_workers(redis, workers_n)
        sampler = RSSSampler([p.pid for p in processes])
        sampler.start()
        server_pids = [p.pid for p in processes] + [_redis_pid(redis)]
        bracket = 0 < limit_messages < recipients
        for _ in range(rounds):
            limit, plain = measure_limit(sink, workers_n, limit_messages if bracket else recipients, mail)
            sent_before = sink.tally()
            cpu_before = process_tree_cpu(server_pids)
            rate, request_ms, figures.recipients = measure_announcement(app, recipients)
            figures.worker_cpu_s.append(process_tree_cpu(server_pids) - cpu_before)
            sent = sink.tally() - sent_before
            if sent.messages != figures.recipients:
                raise RuntimeError("the sink counted a different number of messages")
            check_same_message(plain, "the announcement", sent)
            figures.message = sent.describe()
            if bracket:
                after, _ = measure_limit(sink, workers_n, limit_messages, mail)
                print(f"  limit on {limit_messages} messages before and after: {limit:.0f} and {after:.0f} msg/s")
                limit = (limit + after) / 2
            figures.limits.append(limit)
            figures.rates.append(rate)
            figures.requests_ms.append(request_ms)
        print(f"  limit, {workers_n} plain sender(s) over reused connections  "
              f"{statistics.median(figures.limits):6.0f} msg/s  (rounds: {_figures(figures.limits)})")
        print(f"  announcement, {workers_n} x {short}, request to last delivery (log included)  "
              f"{figures.rate:6.0f} msg/s  (rounds: {_figures(figures.rates)}); "
              f"request {statistics.median(figures.requests_ms):.0f} ms for {figures.recipients} members; "
              f"workers' CPU {figures.cpu_ms_per_message:.2f} ms/message")
        print(f"    the same message on both sides: {figures.message}")
        if per_job:
            rate = measure_job_per_email(app, redis, per_job)
            print(f"  one RQ job per email, {workers_n} x {short} ({per_job} messages)  {rate:6.0f} msg/s  "
                  f"(the announcement is {figures.rate / rate:.1f}x faster)")
        peaks = list(sampler.stop().values())
        figures.peak_rss = peaks
        print(f"    {short} peak RSS (worker + work horse): max {max(peaks) / 2**20:.0f} MiB, "
              f"median {statistics.median(peaks) / 2**20:.0f} MiB")
        return figures
    finally:
        stop_processes(processes)
        from rq import Worker

        for worker in Worker.all(connection=redis):  # forget the stopped workers before the next phase
            worker.register_death()


def _redis_pid(redis) -> int:
    return int(redis.info("server")["process_id"])


def _figures(rates: list[float]) -> str:
    return " ".join(f"{rate:.0f}" for rate in rates)


def _record(results, name: str, value: float, target: float | None, label: str, note: str = "",
            **kwargs) -> None:
    ratio = results.add(name, value, target, note=note, **kwargs)
    verdict = "" if ratio.met is None else (
        f"; target {'>=' if ratio.better == 'higher' else '<='} {target}: {'met' if ratio.met else 'NOT met'}")
    shown = ratio.note if ratio.value is None else f"{ratio.value:.2f}"
    print(f"    {label} {shown}{verdict}   [{name}]" + (f" ({note})" if note and ratio.value is not None else ""))


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.mail_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000, help="announcement size and limit run size")
    parser.add_argument("--large", type=int, default=100_000,
                        help="the large announcement (one round; 0: skip); default 100,000")
    parser.add_argument("--per-job", type=int, default=300, help="messages for the one-job-per-email run")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="worker processes (default: cores)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved limit/announcement rounds (default 3)")
    parser.add_argument("--batch-size", type=int, default=100, help="MAIL_BATCH_SIZE")
    parser.add_argument("--worker-classes", default="jobs.worker.AppSimpleWorker",
                        help="comma-separated (e.g. add jobs.worker.AppWorker, the forking worker); the first "
                             "should be `make run`'s: its ratio is mail.10k; one job per email is measured with "
                             "the last")
    parser.add_argument("--no-celery", action="store_true", help="skip the Celery side-by-side run")
    parser.add_argument("--celery-rounds", type=int, default=1,
                        help="Celery rounds, each between two limit runs (default 1)")
    parser.add_argument("--database-url", default="",
                        help="default: a fresh SQLite file (WAL), then a throwaway PostgreSQL database when "
                             "TEST_DATABASE_URL is set; a URL given here has its tables dropped and created")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, results=None) -> int:
    args = _parse(argv)
    results = results if results is not None else Results()
    os.environ.setdefault("APP_ENV", "testing")

    with tempfile.TemporaryDirectory(prefix="mail-bench-") as tmp:
        # lazily: the PostgreSQL database is created only when its turn comes, so a run stopped during
        # the SQLite part leaves none behind
        targets = [Database("given", args.database_url)] if args.database_url else databases(Path(tmp))
        failed = False
        for database in targets:
            try:
                _bench_on(database.url, Path(tmp), args, results)
            except Exception as exc:  # noqa: BLE001 - recorded with its reason, then the next database
                failed = True
                traceback.print_exc()
                db_name = _db_key(database.url)
                measured = results.names()
                for base in ("mail.10k", "mail.100k", "mail.100k_cost", "mail.vs_celery"):
                    if f"{base}.{db_name}" not in measured:
                        results.not_measured(f"{base}.{db_name}", required_target(base),
                                             f"the mail benchmark failed on {db_name}: {type(exc).__name__}: {exc}")
            finally:
                database.drop()
    return 1 if failed else 0


def _db_key(database_url: str) -> str:
    return "sqlite" if database_url.startswith("sqlite") else "postgresql"


def _bench_on(database_url: str, tmp: Path, args: argparse.Namespace, results: Results) -> None:
    workers_n = max(1, args.workers)
    db_name = _db_key(database_url)
    with RedisServer(tmp / f"redis-{free_port()}", appendonly=False) as redis_server, SMTPSink(free_port()) as sink:
        print(f"mail benchmark: {args.recipients} recipients ({args.large or 'no'} in one round after), "
              f"{workers_n} worker(s), batches of {args.batch_size}, {args.rounds} interleaved rounds, "
              f"{os.cpu_count()} CPU(s), database "
              f"{'SQLite (WAL)' if db_name == 'sqlite' else 'PostgreSQL ' + database_url.split('@')[-1]}")
        app = create_app({"SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
                          "REDIS_URL": redis_server.url, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": sink.port,
                          "MAIL_BATCH_SIZE": args.batch_size, "SECRET_KEY": "bench", "DEV_MAIL_DIR": ""})
        _prepare_database(app, args.recipients)
        mail = AnnouncementMail.of(app)
        redis = Redis.from_url(redis_server.url)
        env = _worker_env(database_url, redis_server.url, sink.port, args.batch_size)
        classes = [c.strip() for c in args.worker_classes.split(",") if c.strip()]
        try:
            phases = []
            for index, worker_class in enumerate(classes):
                last = index == len(classes) - 1
                figures = _run_with_workers(app, redis, env, redis_server.url, sink, workers_n, worker_class,
                                            tmp, args.rounds, args.recipients, mail,
                                            per_job=args.per_job if last else 0)
                name = f"mail.10k.{db_name}" if index == 0 else f"mail.10k.{figures.label}.{db_name}"
                _record(results, name, figures.ratio, required_target("mail.10k"),
                        f"{figures.label}: announcement/limit",
                        note=f"rounds: {' '.join(f'{r:.2f}' for r in figures.ratios)}; {figures.recipients} "
                             f"members")
                phases.append(figures)
            first = phases[0]
            _celery_side_by_side(app, env, sink, tmp, workers_n, args, mail, first, results, db_name)
            if args.large:
                _large_announcement(app, redis, env, redis_server.url, sink, workers_n, classes[0], tmp, args,
                                    mail, first, results, db_name)
            else:
                for base in ("mail.100k", "mail.100k_cost"):
                    results.not_measured(f"{base}.{db_name}", required_target(base), "--large 0 was given")
        finally:
            close_database(app)


def _large_announcement(app, redis, env, redis_url, sink, workers_n, worker_class, tmp, args, mail: AnnouncementMail,
                        small: PhaseFigures, results, db_name: str) -> None:
    """The same announcement to ``--large`` members, one round (said so in the output), fresh workers."""
    _add_members(app, args.recipients - 1, args.large - args.recipients)
    print(f"  {args.large:,} members, one round only (the large case: one round, as the issue allows):")
    large = _run_with_workers(app, redis, env, redis_url, sink, workers_n, worker_class, tmp, 1, args.large, mail,
                              limit_messages=args.recipients)
    if large.recipients < args.large - 1:  # the admin may not be a recipient
        raise RuntimeError(f"the large announcement reached {large.recipients} members, not {args.large}")
    note = (f"one round; {large.recipients} members; the limit measured on {args.recipients} messages before and "
            f"after, averaged")
    _record(results, f"mail.100k.{db_name}", large.ratio, required_target("mail.100k"),
            f"{large.label}, {large.recipients} members: announcement/limit", note=note)
    _record(results, f"mail.100k_cost.{db_name}", small.seconds_per_message / large.seconds_per_message,
            required_target("mail.100k_cost"),
            f"cost per message, {small.recipients:,} run / {large.recipients:,} run (wall time)",
            note=f"{small.seconds_per_message * 1e3:.3f} ms vs {large.seconds_per_message * 1e3:.3f} ms a message; "
                 f"workers' CPU {small.cpu_ms_per_message:.2f} vs {large.cpu_ms_per_message:.2f} ms a message; "
                 f"normalised by each run's limit: {large.ratio / small.ratio:.2f}")
    _record(results, f"mail.100k_memory.{db_name}", small.peak_mib / large.peak_mib, 0.9,
            f"worker peak memory, {small.recipients:,} run / {large.recipients:,} run",
            note=f"peak RSS (worker + work horse) {small.peak_mib:.0f} MiB vs {large.peak_mib:.0f} MiB")
    _record(results, f"mail.100k_request_s.{db_name}", statistics.median(large.requests_ms) / 1000, 0.5,
            f"the request that starts the {large.recipients}-member announcement, seconds", better="lower",
            unit="s", note=f"the {small.recipients}-member request: {statistics.median(small.requests_ms):.0f} ms")


def _add_members(app, first: int, count: int) -> None:
    from sqlalchemy import insert

    with app.app_context():
        for start in range(first, first + count, 20_000):
            # verified, as _prepare_database's: announcements go to verified addresses only
            db.session.execute(insert(User), [{"email": f"m{n:06d}@members.example", "name": f"m{n}",
                                               "password_hash": None, "email_verified_at": utcnow()}
                                              for n in range(start, min(first + count, start + 20_000))])
        db.session.commit()


def _celery_side_by_side(app, env, sink, tmp, workers_n, args, mail: AnnouncementMail, rq_figures: PhaseFigures,
                         results, db_name: str) -> None:
    name, target = f"mail.vs_celery.{db_name}", required_target("mail.vs_celery")
    if args.no_celery:
        results.not_measured(name, target, "--no-celery was given")
        return
    try:
        # here, not at the top: Celery is a bench-only requirement, and without it the rest still runs
        from bench import celery_bench
    except ImportError as exc:
        results.not_measured(name, target, f"Celery is not installed ({exc}); make bench installs "
                                           "requirements-bench.txt")
        print(f"  Celery: {results.ratios[-1].note}")
        return
    celery = celery_bench.run(app, env, sink, tmp, workers_n, args.celery_rounds, args.recipients, mail)
    _record(results, name, rq_figures.ratio / celery.ratio, target,
            f"announcement ({rq_figures.label}) / Celery, each against the limit of its own rounds",
            note=f"msg/s: announcement {rq_figures.rate:.0f}, Celery {celery.rate:.0f}; announcement/limit "
                 f"{rq_figures.ratio:.2f} ({len(rq_figures.rates)} rounds), Celery/limit "
                 f"{' '.join(f'{r:.2f}' for r in celery.ratios)} ({len(celery.rates)} round(s))")


if __name__ == "__main__":
    sys.exit(main())
