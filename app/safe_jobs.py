"""Jobs are JSON, and a worker runs only the project's own job functions.

Why: RQ's default serializer is pickle, and a worker imports and calls whatever
dotted path a job names. With either, anyone who can write to the queue Redis
runs code in every worker (unpickling alone is enough). So:

* ``JSONJob`` and ``JSONQueue`` always use rq's ``JSONSerializer``, whatever a
  caller or a command line passes: enqueueing (the web, the sweeper, the
  scheduler), reading (``Job.fetch``, registries, rq-dashboard, ``rq info``) and
  the workers all agree. Job arguments are ids and strings already.
* ``JOB_FUNCTIONS`` is the explicit allow-list of the functions a worker may
  run (the project's job functions under ``jobs.`` and the scheduler's jobs
  under ``scheduler.``). ``JSONJob.func`` raises ``JobRefused`` before importing
  anything for a job that names another function, is not JSON, or carries an
  instance; rq then fails the job with that reason, and nothing runs.
* The project uses no job callbacks and no webhooks, so a ``JSONJob`` never
  imports a callback named in a job hash and never calls a webhook URL stored
  there (both would be code or requests chosen by whoever wrote the hash).

Enqueueing a function outside the list raises ``ValueError`` at once, so a job
added without its entry here fails in the tests, not in production.
"""
from __future__ import annotations

from typing import Any

from rq.exceptions import DeserializationError
from rq.job import Job
from rq.queue import Queue
from rq.serializers import JSONSerializer

SERIALIZER = JSONSerializer
# For command lines that take a dotted path (`rq info --serializer ...`, rq-dashboard).
SERIALIZER_PATH = "rq.serializers.JSONSerializer"

JOB_FUNCTIONS = frozenset({
    "jobs.announcements.fan_out",
    "jobs.email.send_email_delivery",
    "jobs.email.send_welcome_email",
    "jobs.mail_batch.send_email_batch",
    "jobs.maintenance.ping",
    "jobs.maintenance.pause",
    "jobs.sms.send_sms_delivery",
    "jobs.sweeper.sweep_deliveries",
    "jobs.verification.send_verification_code",
    "scheduler.cleanup.delete_expired_rows",
    "scheduler.daily.queue_todays_notifications",
    "scheduler.daily.send_screening_notifications",
    "scheduler.reminders.send_due_reminders",
    "scheduler.reminders.sweep_due_reminders",
    "scheduler.runner.run_periodic",
})


class JobRefused(Exception):
    """A job the worker will not run; the message says why (it becomes the job's failure)."""


class NotJSON(JobRefused, DeserializationError):
    """A job whose data is not JSON (pickle, or garbage): it is refused, never unpickled."""


def check_function(func_path: str) -> str:
    """``func_path`` if a worker may run it, else ValueError (used when enqueueing)."""
    if func_path not in JOB_FUNCTIONS:
        raise ValueError(f"{func_path!r} is not one of the project's job functions "
                         "(app.safe_jobs.JOB_FUNCTIONS): a worker would refuse it")
    return func_path


def refusal(job: Job) -> str | None:
    """Why a worker must not run ``job``, or None. Never imports or unpickles anything."""
    try:
        func_name = job.func_name
        instance = job.instance
    except DeserializationError:
        return _not_json(job.id)
    if instance is not None:
        return f"job {job.id} refused: it names an instance; workers run only plain job functions"
    if func_name not in JOB_FUNCTIONS:
        return (f"job {job.id} refused: {str(func_name)[:200]!r} is not one of the project's job "
                "functions (app.safe_jobs.JOB_FUNCTIONS); nothing was run")
    return None


_UNREADABLE_META = "this job's meta is not JSON; it was not read"


def _not_json(job_id: str) -> str:
    return (f"job {job_id} refused: its data is not JSON (a pickled job?); "
            "workers read only JSON jobs, nothing was run")


class JSONJob(Job):
    """A job that is always JSON and runs only an allowed function (see the module docstring)."""

    def __init__(self, id: str | None = None, connection: Any = None, serializer: Any = None) -> None:
        super().__init__(id, connection=connection, serializer=SERIALIZER)

    def _deserialize_data(self) -> None:
        try:
            super()._deserialize_data()
        except DeserializationError:
            raise NotJSON(_not_json(self.id)) from None

    @property
    def func(self):  # type: ignore[override]
        reason = refusal(self)
        if reason is not None:
            raise JobRefused(reason)
        return super().func

    def restore(self, raw_data: Any) -> Any:
        result = super().restore(raw_data)
        if set(self.meta) == {"unserialized"}:  # rq's placeholder holds the raw bytes: not JSON either
            self.meta = {"unreadable": _UNREADABLE_META}
        return result

    def get_meta(self, refresh: bool = True) -> dict:
        """rq's, but a meta that is not JSON reads as a note instead of raising (the dashboard)."""
        try:
            return super().get_meta(refresh)
        except ValueError:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            self.meta = {"unreadable": _UNREADABLE_META}
            return self.meta

    # No callbacks or webhooks in this project: never import or call one named in Redis.
    @property
    def success_callback(self):  # type: ignore[override]
        return None

    @property
    def failure_callback(self):  # type: ignore[override]
        return None

    @property
    def stopped_callback(self):  # type: ignore[override]
        return None

    def send_webhooks(self, *args: Any, **kwargs: Any) -> None:
        return None


class JSONQueue(Queue):
    """A queue whose jobs are ``JSONJob``s, whatever job class or serializer is passed."""

    job_class = JSONJob

    def __init__(self, name: str = "default", connection: Any = None, *args: Any,
                 job_class: Any = None, serializer: Any = None, **kwargs: Any) -> None:
        super().__init__(name, connection, *args, job_class=JSONJob, serializer=SERIALIZER, **kwargs)


def requeue_job(job_id: str, connection: Any) -> JSONJob:
    """rq's ``requeue_job``, reading the job as a ``JSONJob`` (rq's reads it with a plain ``Job``)."""
    return JSONJob.fetch(job_id, connection=connection).requeue()
