"""Worker classes that give every job the application context, set up once.

Start a worker with::

    rq worker --url "$REDIS_URL" --worker-class jobs.worker.AppSimpleWorker --with-scheduler high default low

The app is created once when the worker starts (not per job, and not as a side
effect of importing a module). ``AppSimpleWorker``, what every launcher runs,
runs jobs in the worker process itself: no fork per job (~15 ms with the app
loaded), pooled database connections kept from one job to the next. The
delivery guarantees live in the database (claims and marks), so they do not
depend on a process per job. ``AppWorker`` forks a work horse per job, as rq's
default worker does, for jobs that need isolation from each other; the horse
drops the database connections inherited from the parent so two processes never
share one socket.

At start the worker gives its connection (made by ``rq worker --url``) the
queue client's failover retries and checks the queue Redis
(``app.redis_checks``): cluster mode stops it with a clear message, an evicting
``maxmemory-policy`` is logged as an error.
"""
from __future__ import annotations

import gc
import logging
from typing import Any

from flask import Flask
from rq import SimpleWorker, Worker
from rq.job import Job
from rq.queue import Queue


class _AppContextMixin:
    app: Flask

    def _init_app(self, app: Flask | None) -> None:
        if app is None:
            from app import create_app

            app = create_app()
        # rq's CLI logs through its own handler; don't print every line twice.
        logging.getLogger("rq").propagate = False
        self.app = app
        self._check_queue_redis()
        # Everything loaded so far (the app, SQLAlchemy, rq) lives as long as the
        # worker: move it out of the garbage collector's sight, so full
        # collections during jobs do not walk it and forked horses do not copy
        # its pages by touching GC headers.
        gc.collect()
        gc.freeze()

    def _check_queue_redis(self) -> None:
        from app.redis_checks import check_queue_redis
        from app.redis_clients import add_failover_retry

        connection = self.connection  # type: ignore[attr-defined]
        add_failover_retry(connection, self.app.config["REDIS_RETRIES"], self.app.config["REDIS_RETRY_MAX_BACKOFF"])
        check_queue_redis(connection)

    def perform_job(self, job: Job, queue: Queue) -> bool:
        with self.app.app_context():
            return super().perform_job(job, queue)  # type: ignore[misc]


class AppWorker(_AppContextMixin, Worker):
    def __init__(self, *args: Any, app: Flask | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._init_app(app)

    def main_work_horse(self, job: Job, queue: Queue) -> None:
        # In the forked horse: forget the parent's pooled DB connections.
        from app.extensions import db

        with self.app.app_context():
            db.engine.dispose(close=False)
        super().main_work_horse(job, queue)


class AppSimpleWorker(_AppContextMixin, SimpleWorker):
    def __init__(self, *args: Any, app: Flask | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._init_app(app)
