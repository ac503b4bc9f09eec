"""The scheduler process: ``python -m scheduler --url REDIS_URL --interval 1``.

Registers the periodic table (idempotently), then runs rq-scheduler. Every
SCHEDULER_RESYNC_SECONDS it checks the table again, so a flushed Redis or a
lost run costs at most that long. Several of these may run: rq-scheduler's
lock lets one move jobs at a time, and registering twice writes the same ids.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time

from redis import Redis
from redis.exceptions import RedisError
from rq_scheduler import Scheduler

from app import create_app
from app.config import ConfigError
from app.redis_checks import UnsupportedRedisError, check_queue_redis
from app.redis_clients import make_queue_redis
from scheduler.periodic import periodic_jobs
from scheduler.registry import sync

log = logging.getLogger("scheduler")
POLL_OFFSET_SECONDS = 0.005  # just after the second turns, never just before


class PeriodicScheduler(Scheduler):
    """rq-scheduler's loop, plus a periodic re-sync of the table."""

    def __init__(self, *args, table, resync_seconds: float, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.table = table
        self.resync_seconds = resync_seconds
        self._last_sync = 0.0

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
        self.register_birth()
        self._install_signal_handlers()
        try:
            while True:
                self.heartbeat()
                if self.acquire_lock():
                    self.enqueue_jobs()
                    self.heartbeat()
                    self.remove_lock()
                    if burst:
                        break
                else:
                    self.log.debug("another scheduler holds the lock; skipping this poll")
                now = time.time()
                time.sleep(self._interval - (now % self._interval) + POLL_OFFSET_SECONDS)
        finally:
            self.remove_lock()
            self.register_death()


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
    try:
        check_queue_redis(connection)
    except UnsupportedRedisError as exc:
        print(f"scheduler: {exc}", file=sys.stderr)
        return 2
    except RedisError as exc:
        print(f"scheduler: cannot reach the queue Redis: {exc}", file=sys.stderr)
        return 2
    table = periodic_jobs(app.config)
    report = sync(connection, table)
    log.info("periodic table: %d jobs (%d added, %d kept, %d removed)",
             len(table), len(report.added), len(report.kept), len(report.removed))
    scheduler = PeriodicScheduler(connection=connection, interval=args.interval, table=table,
                                  resync_seconds=app.config["SCHEDULER_RESYNC_SECONDS"])
    scheduler._last_sync = time.monotonic()
    with app.app_context():
        scheduler.run(burst=args.burst)
    return 0


if __name__ == "__main__":
    sys.exit(main())
