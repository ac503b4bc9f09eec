"""Helpers for the mail tests: members in bulk, an admin session, worker processes."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
from sqlalchemy import insert, select

from app.extensions import db
from app.models.delivery import Delivery
from app.models.types import utcnow
from app.models.user import User

ROOT = Path(__file__).resolve().parents[2]
RQ = str(Path(sys.executable).with_name("rq"))


def add_members(app, count: int, domain: str = "members.example") -> list[str]:
    """``count`` members with verified emails in one INSERT (no password hashing: they never sign in here)."""
    emails = [f"m{n:05d}@{domain}" for n in range(count)]
    now = utcnow()
    with app.app_context():
        db.session.execute(insert(User), [{"email": e, "name": e.split("@")[0], "password_hash": None,
                                           "email_verified_at": now} for e in emails])
        db.session.commit()
    return emails


def sign_in_admin(client, make_user, email: str = "admin@example.com"):
    make_user(email=email, name="Admin", password="admin-password", is_admin=True)
    response = client.post("/api/auth/login", json={"email": email, "password": "admin-password"})
    assert response.status_code == 200
    return response


def statuses(app, announcement_id: int | None = None) -> dict[str, int]:
    from sqlalchemy import func

    with app.app_context():
        query = select(Delivery.status, func.count()).group_by(Delivery.status)
        if announcement_id is not None:
            query = query.where(Delivery.announcement_id == announcement_id)
        result = dict(db.session.execute(query).all())
        db.session.remove()
        return result


def worker_env(database_url: str, redis_url: str, smtp_port: int, **extra: str) -> dict[str, str]:
    """The environment a real `rq worker` process gets: all config comes from it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "MAIL_", "DELIVERY_"))}
    env.update({
        "APP_ENV": "testing", "SECRET_KEY": "test-secret", "DATABASE_URL": database_url,
        "REDIS_URL": redis_url, "CACHE_REDIS_URL": redis_url.rsplit("/", 1)[0] + "/1",
        "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp_port), "MAIL_TIMEOUT": "5",
        "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore",
        **extra,
    })
    return env


class WorkerProcess:
    """One `rq worker` process (and the work horses it forks) in its own process group."""

    def __init__(self, env: dict[str, str], redis_url: str, queues: tuple[str, ...] = ("high", "default", "low"),
                 worker_class: str = "jobs.worker.AppSimpleWorker", name: str | None = None,
                 log_path: Path | None = None) -> None:
        args = [RQ, "worker", "--url", redis_url, "--worker-class", worker_class, "--with-scheduler",
                "--logging_level", "WARNING", *(["--name", name] if name else []), *queues]
        self.log = open(log_path, "ab") if log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(args, env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the worker and its work horse at once, as a crashed machine would.

        rq puts each work horse in a process group of its own, so the horse is
        found by parentage, not by the worker's group.
        """
        try:
            family = [self.process.pid, *(c.pid for c in psutil.Process(self.process.pid).children(recursive=True))]
        except psutil.NoSuchProcess:
            family = [self.process.pid]
        for pid in family:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self.log is not subprocess.DEVNULL and not self.log.closed:
            self.log.close()

    def stop(self) -> None:
        if self.alive():
            self.kill()
        self._close_log()


def burst(app) -> None:
    """Run every queued job, then stop: ``AppSimpleWorker`` (the class every launcher deploys; jobs run in
    this process, in ``app``'s context) in burst mode, with its scheduler (retries that are due)."""
    from redis import Redis

    from app.outbox import ALL
    from jobs.worker import AppSimpleWorker

    AppSimpleWorker(list(ALL), connection=Redis.from_url(app.config["REDIS_URL"]), app=app).work(
        burst=True, with_scheduler=True)


def mail_text(message) -> str:
    """A received message's text as a mail client shows it: decoded, CRLF read as LF, no trailing new lines.

    Bodies are stored stripped, and on the way the message gains a final new
    line (``set_content``) and the transport's CRLF before the end-of-data dot
    (kept by aiosmtpd): neither is part of what was written.
    """
    from app.text_rules import normalise_newlines

    return normalise_newlines(message.get_body(("plain",)).get_content()).rstrip("\n")
