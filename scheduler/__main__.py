"""The scheduler process: ``python -m scheduler --url REDIS_URL --interval 1``.

Registers the periodic table (idempotently), then runs rq-scheduler. Every
SCHEDULER_RESYNC_SECONDS it checks the table again, so a flushed Redis or a
lost run costs at most that long. Several of these may run: rq-scheduler's
lock lets one move jobs at a time, and registering twice writes the same ids.

A queue Redis outage (a restart, a failover) does not end it: rq-scheduler's
own loop dies on the first connection error, this one waits (pauses of 0.5 s
doubling to 5 s, the outage logged once when it starts and once when it ends)
and carries on, checking the table at once in case Redis came back empty.
Started while Redis is down, it waits for it too. SIGTERM or SIGINT stop it at
any point, also during an outage. ``--burst`` does not wait: it exits 2.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from typing import Callable, TypeVar

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq_scheduler import Scheduler

from app import create_app
from app.config import ConfigError
from app.redis_checks import UnsupportedRedisError, check_queue_redis
from app.redis_clients import StopWaiting, make_queue_redis, no_retries, pause, wait_out
from app.safe_jobs import JSONJob, JSONQueue
from scheduler.periodic import periodic_jobs
from scheduler.registry import sync

log = logging.getLogger("scheduler")
POLL_OFFSET_SECONDS = 0.005  # just after the second turns, never just before
T = TypeVar("T")


class StopFlag:
    """Set by SIGTERM or SIGINT; everything that waits looks at it."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self) -> bool:
        return self.requested

    def install(self) -> None:
        def request(signum, frame) -> None:
            log.info("stopping (signal %d)", signum)
            self.requested = True

        signal.signal(signal.SIGTERM, request)
        signal.signal(signal.SIGINT, request)


class PeriodicScheduler(Scheduler):
    """rq-scheduler's loop, plus a periodic re-sync of the table, riding out Redis outages."""

    def __init__(self, *args, table, resync_seconds: float, stop_requested: StopFlag | None = None,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.table = table
        self.resync_seconds = resync_seconds
        self._last_sync = 0.0
        self.stop_requested = stop_requested or StopFlag()

    def _install_signal_handlers(self) -> None:
        # rq-scheduler's handler talks to Redis inside the signal handler (and fails there
        # during an outage); here it only sets the flag, and the loop stops cleanly.
        self.stop_requested.install()

    def get_queue_for_job(self, job):
        """The job's queue as a ``JSONQueue``; rq-scheduler would import a queue class
        named in the job's meta, which whoever wrote the job chose."""
        return JSONQueue.from_queue_key(f"{JSONQueue.redis_queue_namespace_prefix}{job.origin}",
                                        connection=self.connection)

    def _after_outage(self) -> None:
        self._last_sync = 0.0  # check the table at once: Redis may have come back empty

    def enqueue_jobs(self):
        if time.monotonic() - self._last_sync >= self.resync_seconds:
            sync(self.connection, self.table)
            self._last_sync = time.monotonic()
        return super().enqueue_jobs()

    def run(self, burst: bool = False) -> None:
        """rq-scheduler's loop, with its polls aligned to the wall clock.

        rq-scheduler keeps due times as whole Unix seconds. Its own loop polls
        every ``interval`` from whenever it started, so a job due at 12:00:00
        waits for a poll at, say, 12:00:00.97. Polling just after each
        multiple of ``interval`` on the wall clock moves it within a few ms.
        """
        self._install_signal_handlers()
        try:
            self._waiting_out(self.register_birth, burst)
            while not self.stop_requested():
                if self._waiting_out(self._poll, burst) and burst:
                    break
                now = time.time()
                pause(self._interval - (now % self._interval) + POLL_OFFSET_SECONDS, self.stop_requested)
        except StopWaiting:
            pass
        finally:
            self._quietly(self.remove_lock)
            self._quietly(self.register_death)

    def _poll(self) -> bool:
        """One poll; True if this scheduler held the lock and moved what was due."""
        self.heartbeat()
        if not self.acquire_lock():
            self.log.debug("another scheduler holds the lock; skipping this poll")
            return False
        try:
            self.enqueue_jobs()
            self.heartbeat()
        finally:
            self.remove_lock()
        return True

    def _waiting_out(self, call: Callable[[], T], burst: bool) -> T:
        if burst:
            return call()
        return wait_out(call, self.connection, self.stop_requested, on_outage=self._after_outage)

    def _quietly(self, call: Callable[[], object]) -> None:
        """Best effort on the way out: one try, no retries (the lock and the key expire anyway)."""
        try:
            with no_retries():
                call()
        except RedisError as exc:
            self.log.warning("on the way out: %s (the lock and the registration expire on their own)", exc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scheduler", description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="queue Redis URL (default: REDIS_URL)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between checks for due jobs")
    parser.add_argument("--burst", action="store_true", help="move what is due once, then exit")
    args = parser.parse_args(argv)
    try:
        app = create_app()
    except ConfigError as exc:
        print(f"scheduler: {exc}", file=sys.stderr)
        return 2
    url = args.url or app.config["REDIS_URL"]
    if not url:
        print("scheduler: no queue Redis: pass --url or set REDIS_URL", file=sys.stderr)
        return 2
    connection: Redis = make_queue_redis(url, tls_ca_file=app.config["REDIS_TLS_CA_FILE"],
                                         retries=app.config["REDIS_RETRIES"],
                                         max_backoff=app.config["REDIS_RETRY_MAX_BACKOFF"])
    stop = StopFlag()
    stop.install()
    table = periodic_jobs(app.config)

    def start_up() -> None:
        check_queue_redis(connection)
        report = sync(connection, table)
        log.info("periodic table: %d jobs (%d added, %d kept, %d removed)",
                 len(table), len(report.added), len(report.kept), len(report.removed))

    try:
        if args.burst:
            start_up()
        else:
            wait_out(start_up, connection, stop)
    except UnsupportedRedisError as exc:
        print(f"scheduler: {exc}", file=sys.stderr)
        return 2
    except (RedisConnectionError, RedisTimeoutError) as exc:  # --burst only: it does not wait
        print(f"scheduler: cannot reach the queue Redis: {exc}", file=sys.stderr)
        return 2
    except StopWaiting:
        return 0
    except RedisError as exc:
        print(f"scheduler: the queue Redis refused the start-up check: {exc}", file=sys.stderr)
        return 2
    scheduler = PeriodicScheduler(connection=connection, interval=args.interval, table=table,
                                  job_class=JSONJob, queue_class=JSONQueue,
                                  resync_seconds=app.config["SCHEDULER_RESYNC_SECONDS"], stop_requested=stop)
    scheduler._last_sync = time.monotonic()
    with app.app_context():
        scheduler.run(burst=args.burst)
    return 0


if __name__ == "__main__":
    sys.exit(main())
