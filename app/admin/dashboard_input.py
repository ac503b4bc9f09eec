"""rq-dashboard's URLs are checked before its views run: a bad part is a 404 (or 409), not a 500.

rq-dashboard converts its path parts with ``int()`` and reads registries and
jobs without checking that they exist: ``/data/jobs/low/queued/abc/asc/1.json``,
an unknown registry, a job id that is not there, a second dashboard instance
that is not configured, or requeueing a job that has not failed were 500s. Here
each part is checked against what the dashboard can serve first.
"""
from __future__ import annotations

from flask import Flask, abort, current_app, request

from app.safe_jobs import JSONJob

REGISTRIES = {"queued", "failed", "deferred", "started", "finished", "scheduled", "canceled"}
ORDERS = {"asc", "dsc"}
MAX_PER_PAGE = 200   # the dashboard's own input allows 1..200
MAX_PAGE = 1_000_000


def init_dashboard_input(app: Flask) -> None:
    """After ``_guard_dashboard``, for the dashboard's requests only (``app.admin.dashboard``)."""
    hooks = app.before_request_funcs.setdefault("rq_dashboard", [])
    hooks.insert(1 if hooks else 0, _check_dashboard_url)  # 0 is the guard, when mounted as init_dashboard does


def _check_dashboard_url() -> None:
    if request.blueprint != "rq_dashboard" or not request.view_args:
        return
    args = request.view_args
    if "instance_number" in args and not 0 <= int(args["instance_number"]) < _instances():
        abort(404, "there is no such dashboard instance")
    if "registry_name" in args and args["registry_name"] not in REGISTRIES:
        abort(404, f"no job registry is called {str(args['registry_name'])[:50]!r}")
    if "order" in args and args["order"] not in ORDERS:
        abort(404, "order is asc or dsc")
    for name, largest in (("per_page", MAX_PER_PAGE), ("page", MAX_PAGE)):
        if name in args and not _number_within(args[name], largest):
            abort(404, f"{name} must be a whole number from 1 to {largest}")
    if "job_id" in args:
        _check_job(str(args["job_id"]))


def _number_within(value: object, largest: int) -> bool:
    text = str(value)
    return text.isascii() and text.isdigit() and 1 <= int(text) <= largest


def _instances() -> int:
    urls = current_app.config.get("RQ_DASHBOARD_REDIS_URL")
    return len(urls) if isinstance(urls, (list, tuple)) else 1


def _check_job(job_id: str) -> None:
    connection = current_app.redis_conn  # set by rq-dashboard's setup_rq_connection
    if not JSONJob.exists(job_id, connection=connection):
        abort(404, "there is no such job (it may have expired)")
    if request.endpoint == "rq_dashboard.requeue_job_view":  # rq requeues only from the failed registry
        origin = (connection.hget(JSONJob.key_for(job_id), "origin") or b"").decode(errors="replace")
        if connection.zscore(f"rq:failed:{origin}", job_id) is None:
            abort(409, "only a failed job can be requeued")
