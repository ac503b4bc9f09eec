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

Redis outages. rq's own worker exits when the queue Redis stays away longer
than its client retries (a restart, a failover): a lost connection outside
the dequeue loop ends its main loop, a timeout quits, and its
``--with-scheduler`` process dies on the first error (the worker starts it
again only at its next maintenance, up to 10 minutes later). These classes
wait instead: every Redis call of the main loop is retried with a growing
pause (0.5 s doubling to 5 s, ``app.redis_clients.wait_out``), the outage is
logged once when it starts and once when it ends (``app.redis_clients.Outage``;
rq's line per attempt is dropped), and a job whose bookkeeping lost Redis is
left to rq's abandoned-job handling and the delivery sweeper. After an outage the
worker registers itself again (a Redis that came back empty forgot it). A
SIGTERM during an outage still stops the worker.

The ``--with-scheduler`` process (rq 2.12 forks it with ``multiprocessing``: an
``RQScheduler`` loop that holds the per-queue locks ``rq:scheduler-lock:<queue>``
and moves due ``enqueue_in``/``Retry(interval=...)`` jobs onto the queues every
second) rides out outages the same way, and asks the kernel for SIGTERM when
its worker dies: rq's own stays behind after a SIGKILLed worker, holding the
locks, until Redis goes away.
"""
from __future__ import annotations

import ctypes
import gc
import logging
import os
import signal
import time
from typing import Any, Callable, TypeVar

from flask import Flask
from redis.exceptions import ConnectionError as RedisConnectionError, RedisError, TimeoutError as RedisTimeoutError
from rq import SimpleWorker, Worker, worker_registration
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.exceptions import StopRequested
from rq.job import Job
from rq.queue import Queue
from rq.scheduler import RQScheduler

from app import create_app
from app.extensions import db
from app.redis_checks import check_queue_redis
from app.redis_clients import StopWaiting, add_failover_retry, outage_of, pause, wait_out

T = TypeVar("T")
# What an unreachable Redis raises once the client's own retries are used up.
OUTAGE_ERRORS = (RedisConnectionError, RedisTimeoutError)
_PR_SET_PDEATHSIG = 1


class _DropPerAttemptLines(logging.Filter):
    """rq logs "could not connect to Redis instance ... retrying" at every attempt; the
    outage is logged once by ``app.redis_clients.Outage`` instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "could not connect to Redis instance" not in str(record.msg)


_PER_ATTEMPT_FILTER = _DropPerAttemptLines()


def ride_out(call: Callable[[], T], connection: Any, stop_requested: Callable[[], bool],
             on_outage: Callable[[], None] | None = None) -> T:
    """``call()`` until the queue Redis answers (``app.redis_clients.wait_out``); rq's
    StopRequested if a stop comes first."""
    try:
        return wait_out(call, connection, stop_requested, on_outage)
    except StopWaiting as exc:
        raise StopRequested() from exc


def _note_outage(connection: Any, exc: BaseException) -> None:
    outage = outage_of(connection)
    if outage is not None:
        outage.begin(exc)


def _ask_for_signal_when_parent_dies(sig: int) -> None:
    """Linux: the kernel sends ``sig`` to this process when the thread that forked it exits."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, sig)
    except (OSError, AttributeError):  # not Linux: the worker's teardown still stops it
        pass


class WorkerScheduler(RQScheduler):
    """rq's --with-scheduler process, which dies with its worker and waits out Redis outages."""

    def start(self):
        self._worker_pid = os.getpid()
        return super().start()

    def work(self) -> None:
        """rq's loop (in the forked process), with the two changes above."""
        _ask_for_signal_when_parent_dies(signal.SIGTERM)
        if os.getppid() != getattr(self, "_worker_pid", os.getppid()):
            return  # the worker died before the request was made
        self._install_signal_handlers()
        stopping = lambda: self._stop_requested  # noqa: E731
        try:
            ride_out(self.register_birth, self.connection, stopping)
            while not self._stop_requested:
                ride_out(self._one_round, self.connection, stopping)
                pause(self.interval, stopping)
        except StopRequested:
            pass
        try:
            self.stop()
        except RedisError as exc:
            self.log.warning("Scheduler: could not release its locks (%s); they expire within %d s",
                             exc, self.interval + 60)

    def _one_round(self) -> None:
        if self.should_reacquire_locks:
            self.acquire_locks()
        self.heartbeat()
        self.enqueue_scheduled_jobs()


class _AppContextMixin:
    app: Flask
    _in_outage = False

    def _init_app(self, app: Flask | None) -> None:
        if app is None:
            app = create_app()
        # rq's CLI logs through its own handler; don't print every line twice.
        logging.getLogger("rq").propagate = False
        self.log.addFilter(_PER_ATTEMPT_FILTER)  # type: ignore[attr-defined]
        self.app = app
        self._check_queue_redis()
        # Everything loaded so far (the app, SQLAlchemy, rq) lives as long as the
        # worker: move it out of the garbage collector's sight, so full
        # collections during jobs do not walk it and forked horses do not copy
        # its pages by touching GC headers.
        gc.collect()
        gc.freeze()

    def _check_queue_redis(self) -> None:
        connection = self.connection  # type: ignore[attr-defined]
        add_failover_retry(connection, self.app.config["REDIS_RETRIES"], self.app.config["REDIS_RETRY_MAX_BACKOFF"])
        check_queue_redis(connection)

    def perform_job(self, job: Job, queue: Queue) -> bool:
        with self.app.app_context():
            return super().perform_job(job, queue)  # type: ignore[misc]

    # -- riding out queue Redis outages (see the module docstring) ------------------------
    def _ride_out(self, call: Callable[[], T]) -> T:
        result = ride_out(call, self.connection, lambda: self._stop_requested,  # type: ignore[attr-defined]
                          on_outage=self._mark_outage)
        if self._in_outage:
            self._register_again()
        return result

    def _mark_outage(self) -> None:
        self._in_outage = True

    def _register_again(self) -> None:
        """Back from an outage: register again, in case Redis came back empty (idempotent)."""
        try:
            with self.connection.pipeline() as pipeline:  # type: ignore[attr-defined]
                worker_registration.register(self, pipeline)  # type: ignore[arg-type]
                pipeline.hset(self.key, mapping=self.serialize())  # type: ignore[attr-defined]
                pipeline.expire(self.key, self.worker_ttl + 60)  # type: ignore[attr-defined]
                pipeline.execute()
        except OUTAGE_ERRORS:
            return  # gone again: the next call rides it out and comes back here
        self._in_outage = False

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        if pipeline is not None:  # only queues commands: no I/O here
            return super().heartbeat(timeout, pipeline)  # type: ignore[misc]
        return self._ride_out(lambda: super(_AppContextMixin, self).heartbeat(timeout))  # type: ignore[misc]

    def set_state(self, state: str, pipeline: Any = None) -> None:
        if pipeline is not None:
            return super().set_state(state, pipeline)  # type: ignore[misc]
        return self._ride_out(lambda: super(_AppContextMixin, self).set_state(state))  # type: ignore[misc]

    def check_for_suspension(self, burst: bool) -> None:
        return self._ride_out(lambda: super(_AppContextMixin, self).check_for_suspension(burst))  # type: ignore[misc]

    def run_maintenance_tasks(self) -> None:
        return self._ride_out(lambda: super(_AppContextMixin, self).run_maintenance_tasks())  # type: ignore[misc]

    def dequeue_job_and_maintain_ttl(self, timeout: int | None, max_idle_time: int | None = None) -> Any:
        # rq retries a lost connection here itself, but quits on a timeout (a Redis that hangs).
        return self._ride_out(lambda: super(_AppContextMixin, self).dequeue_job_and_maintain_ttl(  # type: ignore[misc]
            timeout, max_idle_time))

    def execute_job(self, job: Job, queue: Queue) -> None:
        try:
            super().execute_job(job, queue)  # type: ignore[misc]
        except OUTAGE_ERRORS as exc:
            # The job ran (or began) but its bookkeeping lost Redis: rq finds it abandoned
            # once its heartbeat lapses (and retries it if it has a Retry); the sweeper
            # re-sends whatever it left unsent in the delivery log.
            worker: Any = self
            worker.log.warning("Worker %s: lost the queue Redis around job %s (%s); leaving it to rq's "
                               "abandoned-job handling and the delivery sweeper", worker.name, job.id, exc)
            self._in_outage = True
            _note_outage(worker.connection, exc)
            if getattr(worker, "_horse_pid", 0):  # AppWorker: let the horse finish before the next job
                try:
                    os.waitpid(worker._horse_pid, 0)
                except ChildProcessError:
                    pass

    def teardown(self) -> None:
        try:
            super().teardown()  # type: ignore[misc]
        except RedisError as exc:
            worker: Any = self
            worker.log.warning("Worker %s: could not register its death (%s); its registration expires "
                               "on its own", worker.name, exc)

    def _pubsub_exception_handler(self, exc: Exception, pubsub: Any, pubsub_thread: Any) -> None:
        """rq logs every reconnect attempt of the command channel; the outage is logged once."""
        if isinstance(exc, RedisConnectionError):
            _note_outage(self.connection, exc)  # type: ignore[attr-defined]
            time.sleep(2.0)
            return
        super()._pubsub_exception_handler(exc, pubsub, pubsub_thread)  # type: ignore[misc]

    def _start_scheduler(self, burst: bool = False, logging_level: str | None = "INFO",
                         date_format: str = DEFAULT_LOGGING_DATE_FORMAT,
                         log_format: str = DEFAULT_LOGGING_FORMAT) -> None:
        """rq 2.12's, with ``WorkerScheduler`` in place of ``RQScheduler``."""
        scheduler = WorkerScheduler(
            self.queues, connection=self.connection,  # type: ignore[attr-defined]
            logging_level=logging_level if logging_level is not None else self.log.level,  # type: ignore[attr-defined]
            date_format=date_format, log_format=log_format, serializer=self.serializer,  # type: ignore[attr-defined]
        )
        self.scheduler = scheduler
        scheduler.acquire_locks()
        if not scheduler.acquired_locks:
            return
        if not burst:
            scheduler.start()
            return
        try:
            scheduler.register_birth()
            scheduler.enqueue_scheduled_jobs()
        finally:
            scheduler.release_locks()
            scheduler.register_death()


class AppWorker(_AppContextMixin, Worker):
    def __init__(self, *args: Any, app: Flask | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._init_app(app)

    def main_work_horse(self, job: Job, queue: Queue) -> None:
        # In the forked horse: forget the parent's pooled DB connections.
        with self.app.app_context():
            db.engine.dispose(close=False)
        super().main_work_horse(job, queue)


class AppSimpleWorker(_AppContextMixin, SimpleWorker):
    def __init__(self, *args: Any, app: Flask | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._init_app(app)
