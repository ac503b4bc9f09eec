"""No code from the queue: jobs are JSON and workers run only the project's job functions.

The attacks are written straight into a real Redis, as someone who can reach the
queue Redis would: a JSON job naming ``os.system``, and a pickled job (data and
meta) whose unpickling alone would run a command. Each must fail with a clear
reason, and the marker file its command would create must not appear, in the
worker (in-process and a real ``rq worker`` process), the scheduler and the
dashboard.
"""
from __future__ import annotations

import json
import os
import pickle
import zlib
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue

from app.safe_jobs import JOB_FUNCTIONS, JSONJob
from tests.helpers.mail import sign_in_admin
from tests.helpers.processes import Processes, process_env, wait_for


class _RunsOnUnpickle:
    """Unpickling this runs ``touch <marker>``: what an attacker would put in a job hash."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def write_raw_job(connection: Redis, job_id: str, data: bytes, meta: bytes | None = None,
                  queue: str = "default", **fields: str) -> None:
    """A job hash and its place in the queue, written without rq (as an attacker would)."""
    mapping = {"data": zlib.compress(data), "origin": queue, "status": "queued",
               "description": f"raw job {job_id}", "created_at": "2026-12-02T00:00:00.000000Z", **fields}
    if meta is not None:
        mapping["meta"] = meta
    connection.hset(f"rq:job:{job_id}", mapping=mapping)
    connection.sadd("rq:queues", f"rq:queue:{queue}")
    connection.rpush(f"rq:queue:{queue}", job_id)


def json_attack(marker: Path) -> bytes:
    return json.dumps(["os.system", None, [f"touch {marker}"], {}]).encode()


def pickle_attack(marker: Path) -> bytes:
    return pickle.dumps(_RunsOnUnpickle(marker))


def failure_of(connection: Redis, job_id: str) -> str:
    job = JSONJob.fetch(job_id, connection=connection)
    assert job.get_status() == "failed", job.get_status()
    result = job.latest_result()
    return result.exc_string if result else ""


def run_in_process_worker(app, redis_url: str) -> None:
    """The deployed worker class, built the way ``rq worker`` builds it (rq's default queues)."""
    from jobs.worker import AppSimpleWorker

    connection = Redis.from_url(redis_url)
    queues = [Queue(name, connection=connection) for name in ("high", "default", "low")]
    AppSimpleWorker(queues, connection=connection, app=app).work(burst=True)


def test_a_json_job_naming_another_function_fails_with_its_reason_and_runs_nothing(app, redis_url, tmp_path):
    connection = Redis.from_url(redis_url)
    marker = tmp_path / "ran"
    write_raw_job(connection, "evil-json", json_attack(marker))
    run_in_process_worker(app, redis_url)
    reason = failure_of(connection, "evil-json")
    assert "'os.system' is not one of the project's job functions" in reason and "nothing was run" in reason
    assert not marker.exists()


def test_a_pickled_job_is_never_unpickled_by_the_worker(app, redis_url, tmp_path):
    connection = Redis.from_url(redis_url)
    marker = tmp_path / "ran"
    write_raw_job(connection, "evil-pickle", pickle_attack(marker), meta=pickle_attack(marker))
    run_in_process_worker(app, redis_url)
    assert not marker.exists()
    assert "its data is not JSON" in failure_of(connection, "evil-pickle")


def test_callbacks_and_webhooks_named_in_a_job_are_ignored(app, redis_url, tmp_path):
    """An allowed function, but with a failure callback and a webhook chosen by the writer."""
    connection = Redis.from_url(redis_url)
    write_raw_job(connection, "with-callbacks", json.dumps(["jobs.maintenance.ping", None, ["x"], {}]).encode(),
                  success_callback_name="os.abort", failure_callback_name="os.abort",
                  webhooks=json.dumps([{"url": "http://127.0.0.1:9/steal"}]))
    run_in_process_worker(app, redis_url)  # os.abort would end this test process
    job = JSONJob.fetch("with-callbacks", connection=connection)
    assert job.get_status() == "finished" and job.return_value().startswith("pong x")


def test_the_projects_jobs_still_run_and_are_stored_as_json(app, redis_url):
    from app.outbox import enqueue_now

    with app.app_context():
        assert enqueue_now("jobs.maintenance.ping", "json", job_id="ping-json")
    connection = Redis.from_url(redis_url)
    stored = json.loads(zlib.decompress(connection.hget("rq:job:ping-json", "data")))
    assert stored == ["jobs.maintenance.ping", None, ["json"], {}]
    run_in_process_worker(app, redis_url)
    assert JSONJob.fetch("ping-json", connection=connection).return_value().startswith("pong json")


def test_enqueueing_a_function_outside_the_allow_list_is_refused_at_once(app):
    from app.outbox import enqueue_now

    with app.app_context(), pytest.raises(ValueError, match="not one of the project's job functions"):
        enqueue_now("os.system", "true", job_id="never")


def test_every_allowed_name_is_a_function_of_the_project():
    from werkzeug.utils import import_string

    for name in JOB_FUNCTIONS:
        assert name.startswith(("jobs.", "scheduler.")), name
        assert callable(import_string(name)), name


def test_scheduled_jobs_are_json(app, redis_url):
    from datetime import datetime, timedelta, timezone

    from scheduler.periodic import periodic_jobs
    from scheduler.registry import schedule_run

    connection = Redis.from_url(redis_url)
    job = periodic_jobs(app.config)[0]
    job_id = schedule_run(connection, job, datetime.now(timezone.utc) + timedelta(hours=1))
    func, instance, args, _ = json.loads(zlib.decompress(connection.hget(f"rq:job:{job_id}", "data")))
    assert func == "scheduler.runner.run_periodic" and instance is None and args[0] == job.name
    assert json.loads(connection.hget(f"rq:job:{job_id}", "meta"))["periodic"] == job.name


def test_the_dashboard_never_unpickles_a_job(client, make_user, redis_url, tmp_path):
    connection = Redis.from_url(redis_url)
    marker = tmp_path / "ran"
    write_raw_job(connection, "evil-view", pickle_attack(marker), meta=pickle_attack(marker),
                  result=pickle_attack(marker))
    connection.zadd("rq:failed:default", {"evil-view": 4_000_000_000})
    sign_in_admin(client, make_user)
    for path in ("/admin/rq/0/view/job/evil-view", "/admin/rq/0/data/job/evil-view.json",
                 "/admin/rq/0/data/jobs/default/queued/10/asc/1.json"):
        assert client.get(path).status_code == 200, path
    assert client.post("/admin/rq/job/evil-view/requeue", headers={"Origin": "http://localhost"}).status_code == 200
    assert not marker.exists()


@pytest.mark.slow
def test_a_real_rq_worker_process_refuses_raw_jobs(app, redis_url, tmp_path):
    connection = Redis.from_url(redis_url)
    marker = tmp_path / "ran"
    write_raw_job(connection, "evil-json", json_attack(marker))
    write_raw_job(connection, "evil-pickle", pickle_attack(marker), meta=pickle_attack(marker))
    connection.rpush("rq:queue:default", "after")  # a good job behind them still runs
    JSONJob.create("jobs.maintenance.ping", args=("after",), id="after", connection=connection,
                   origin="default").save()
    processes = Processes(tmp_path)
    try:
        worker = processes.worker(process_env(app), "default")
        wait_for(lambda: JSONJob.fetch("after", connection=connection).get_status() == "finished", 120,
                 message=lambda: "the good job; worker log:\n" + processes.log(worker))
        assert worker.poll() is None, processes.log(worker)
    finally:
        processes.stop_all()
    assert "nothing was run" in failure_of(connection, "evil-json")
    assert "not JSON" in failure_of(connection, "evil-pickle")
    assert not marker.exists()
