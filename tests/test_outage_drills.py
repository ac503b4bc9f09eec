"""Outage drills on the real launcher: what an operator of the club would live through.

Each drill runs ``python -m deploy.local.stack`` (what `make run` runs) with its state in a
temporary FILMCLUB_VAR_DIR, and talks to it over HTTP (gunicorn), as members do. What the
drills measure is printed (``pytest -s``) and recorded as properties of the JUnit XML
report (``--junitxml``: ``<testsuite><properties>``).

(a) The queue Redis is stopped for 30 s (DRILL_OUTAGE_SECONDS) while members sign up: every
    request answers, every sign-up's code arrives once Redis is back, every member who then
    enters it gets the welcome email, no process needs a restart.
(b) A worker is SIGKILLed in the middle of an announcement to a few thousand members:
    everyone gets it, at most one duplicate for the kill, and the time from the kill to the
    last delivery is printed. (How long that tail is depends on how soon a dead worker's
    claims are taken back: the deadline here is generous on purpose.)
"""
from __future__ import annotations

import email
import os
import re
import signal
import time
from collections import defaultdict
from datetime import datetime, timezone
from email import policy
from pathlib import Path

import pytest
import requests
from redis import Redis

from deploy.local.redis_server import RedisServer
from tests.helpers.processes import Launcher, alive, children_of, in_process_group, processes_using, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds processes through /proc (Linux)"),
]

# DRILL_OUTAGE_SECONDS=300 runs drill (a) with the longest outage the processes must ride out.
OUTAGE_SECONDS = float(os.environ.get("DRILL_OUTAGE_SECONDS", "30"))
MEMBERS = 3000
# From the kill to the last delivery: generous, so the drill passes whatever the stale-claim time.
KILL_TAIL_DEADLINE = 480


def caught_mail(mail_dir: Path) -> dict[str, list[str]]:
    """Envelope recipient -> subjects of every message the development mail server kept."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in mail_dir.glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        for recipient in str(message["X-Envelope-To"] or "").split(","):
            found[recipient.strip()].append(str(message["Subject"]))
    return found


def caught_code(mail_dir: Path, address: str) -> str | None:
    """The verification code in the mail the development mail server kept for ``address``."""
    for path in mail_dir.glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        if address in str(message["X-Envelope-To"] or ""):
            found = re.search(r"(?<!\d)(\d{6})(?!\d)", message.get_body(("plain",)).get_content())
            if found:
                return found.group(1)
    return None


def report(record, name: str, value) -> None:
    """Printed (pytest -s) and kept as a property of the JUnit report (--junitxml)."""
    print(f"\n{name}: {value}")
    record(name, value)


@pytest.fixture
def queue_redis(tmp_path):
    server = RedisServer(tmp_path / "queue-redis", appendonly=True).start()
    yield server
    server.stop()


def test_drill_queue_redis_down_while_members_sign_up(tmp_path, queue_redis, record_testsuite_property):
    record = record_testsuite_property
    launcher = Launcher(tmp_path, REDIS_URL=queue_redis.url, WORKERS="2", WEB_CONCURRENCY="2",
                        RATELIMIT_SIGNUP="100000 per minute", RATELIMIT_CODE_SEND="100000 per minute",
                        RATELIMIT_VERIFY="100000 per minute")
    try:
        launcher.wait_until_healthy()
        wait_for(lambda: len(launcher.role_pids(r"rq worker")) == 2, message="the workers")
        long_running = set(children_of(launcher.process.pid))
        members: list[str] = []
        durations: list[float] = []

        def sign_up() -> float:
            n = len(members)
            address = f"drill-a-{n}@example.com"
            started = time.monotonic()
            status, body = launcher.request("POST", "/api/auth/signup", {
                "email": address, "name": f"Member {n}", "password": "long-enough-1",
                "phone": f"010-7{n // 1000:03d}-{n % 1000 + 1000:04d}", "channel": "email"}, timeout=120)
            assert status == 201, (status, body, launcher.log())
            members.append(address)
            return time.monotonic() - started

        for _ in range(3):
            sign_up()
        queue_redis.stop()
        down_at = time.monotonic()
        while time.monotonic() - down_at < OUTAGE_SECONDS:
            durations.append(sign_up())
            time.sleep(max(0.0, min(1.0, OUTAGE_SECONDS - (time.monotonic() - down_at))))  # a member a second
        during = len(durations)
        queue_redis.start()
        back_at = time.monotonic()
        for _ in range(3):
            sign_up()

        def without(count: int) -> list[str]:
            mail = caught_mail(launcher.mail_dir())
            return [address for address in members if len(set(mail.get(address, []))) < count]

        # The first mail of a sign-up is its code; entering it sends the welcome.
        wait_for(lambda: not without(1), 400, interval=1, message=lambda: (
            f"the code for every member; missing: {without(1)}\n{launcher.log()}"))
        last_mail = time.monotonic() - back_at
        for address in members:
            status, body = launcher.request("POST", "/api/auth/verify", {
                "email": address, "code": caught_code(launcher.mail_dir(), address)})
            assert status == 200, (address, status, body)
        wait_for(lambda: not without(2), 400, interval=1, message=lambda: (
            f"the welcome email for every verified member; missing: {without(2)}\n{launcher.log()}"))

        assert launcher.process.poll() is None
        assert "exited with" not in launcher.full_log(), launcher.log()
        assert long_running == set(children_of(launcher.process.pid)), "a process was restarted"
        report(record, "drill_a_outage_seconds", round(back_at - down_at, 1))
        report(record, "drill_a_signups_during_outage", during)
        report(record, "drill_a_slowest_signup_during_outage_seconds", round(max(durations), 1))
        report(record, "drill_a_redis_back_to_last_mail_seconds", round(last_mail, 1))
        assert launcher.stop() == 0, launcher.log()
        assert processes_using(launcher.var_dir) == {}
    finally:
        launcher.cleanup()


def add_members(database: Path, count: int) -> None:
    """``count`` members written straight into the launcher's SQLite database (sign-ups would
    take most of the drill), and an admin who can sign in."""
    from sqlalchemy import insert

    from app import create_app
    from app.extensions import db
    from app.models.types import utcnow
    from app.models.user import User

    app = create_app({"APP_ENV": "testing", "SECRET_KEY": "drill", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
                      "REDIS_URL": "redis://127.0.0.1:1/0", "CACHE_REDIS_URL": ""})
    with app.app_context():
        template = User(email="x@example.com", name="x")
        template.set_password("long-enough-1")
        now = utcnow()
        rows = [{"email": f"drill-b-{n}@example.com", "name": f"Member {n}", "password_hash": template.password_hash,
                 "phone": f"+82107{n:07d}", "email_verified_at": now, "phone_verified_at": now}
                for n in range(count)]
        rows.append({"email": "drill-admin@example.com", "name": "Admin", "password_hash": template.password_hash,
                     "phone": "+821099999999", "email_verified_at": now, "phone_verified_at": now, "is_admin": True})
        db.session.execute(insert(User), rows)
        db.session.commit()
        db.engine.dispose()


def last_sent_at(database: Path, announcement_id: int) -> datetime:
    import sqlite3

    with sqlite3.connect(database) as conn:
        (value,) = conn.execute("SELECT max(sent_at) FROM deliveries WHERE announcement_id = ?",
                                (announcement_id,)).fetchone()
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def test_drill_worker_killed_mid_announcement(tmp_path, record_testsuite_property):
    record = record_testsuite_property
    launcher = Launcher(tmp_path, WORKERS="2", WEB_CONCURRENCY="2")
    try:
        launcher.wait_until_healthy()
        database = launcher.var_dir / "app.db"
        add_members(database, MEMBERS)
        session = requests.Session()
        login = session.post(f"{launcher.url}/api/auth/login", timeout=120,
                             json={"email": "drill-admin@example.com", "password": "long-enough-1"})
        assert login.status_code == 200, login.text
        created = session.post(f"{launcher.url}/api/announcements", timeout=120,
                               json={"subject": "Drill B", "body": "Everyone gets this once."})
        assert created.status_code == 202, created.text
        announcement = created.json()
        recipients = announcement["recipient_count"]
        assert recipients >= MEMBERS

        def counts() -> dict:
            response = session.get(f"{launcher.url}/api/announcements/{announcement['id']}", timeout=120)
            assert response.status_code == 200, response.text
            return response.json()["counts"]

        wait_for(lambda: counts()["sent"] >= recipients // 10, 300, interval=0.5,
                 message=lambda: f"a tenth of the announcement to be sent: {counts()}\n{launcher.log()}")
        with Redis.from_url(launcher.redis_url()) as connection:
            from rq import Worker

            busy = wait_for(lambda: [w.pid for w in Worker.all(connection=connection) if w.get_state() == "busy"],
                            60, interval=0.05, message="a busy worker")
        victim = busy[0]
        scheduler_children = children_of(victim)
        os.kill(victim, signal.SIGKILL)
        killed_at = datetime.now(timezone.utc)
        sent_at_kill = counts()["sent"]

        wait_for(lambda: counts()["done"], KILL_TAIL_DEADLINE, interval=1,
                 message=lambda: f"every delivery to be done: {counts()}\n{launcher.log()}")
        final = counts()
        tail = (last_sent_at(database, announcement["id"]) - killed_at).total_seconds()
        mail = caught_mail(launcher.mail_dir())
        got = {address: sum("Drill B" in subject for subject in subjects) for address, subjects in mail.items()}
        members = [f"drill-b-{n}@example.com" for n in range(MEMBERS)]
        missing = [address for address in members if not got.get(address)]
        duplicates = sum(count - 1 for count in got.values() if count > 1)

        report(record, "drill_b_members", recipients)
        report(record, "drill_b_sent_when_killed", sent_at_kill)
        report(record, "drill_b_kill_to_last_delivery_seconds", round(tail, 1))
        report(record, "drill_b_duplicates", duplicates)
        assert final["failed"] == 0 and final["sent"] == recipients, final
        assert missing == [], f"{len(missing)} members got nothing, e.g. {missing[:5]}"
        assert duplicates <= 1, f"{duplicates} duplicates for one kill"
        assert launcher.process.poll() is None
        assert "restarting worker." in launcher.full_log(), launcher.log()
        assert not any(alive(pid) for pid in scheduler_children), "the killed worker's scheduler process lives on"
        assert in_process_group(victim) == []
        assert launcher.stop() == 0, launcher.log()
        assert processes_using(launcher.var_dir) == {}
    finally:
        launcher.cleanup()
