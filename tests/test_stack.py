"""`make run`'s launcher, run for real: it serves, sends mail, and leaves no process behind.

Each test starts ``python -m deploy.local.stack`` with its own state directory
(FILMCLUB_VAR_DIR), so nothing is written to the repository's var/. Every
process the launcher starts inherits that variable, which is how the tests
find them all (gunicorn's workers, RQ's work horses included) in /proc.
"""
from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deploy.local.redis_server import free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds processes through /proc (Linux)"),
]

ROOT = Path(__file__).resolve().parents[1]
# Settings of the developer's shell or of the test session that would point the launcher elsewhere.
UNSET = ("APP_ENV", "REDIS_URL", "CACHE_REDIS_URL", "DATABASE_URL", "MAIL_SERVER", "MAIL_PORT", "DEV_MAIL_DIR",
         "SECRET_KEY", "EMBEDDED_REDIS_PORT", "DEV_MAIL_PORT", "FLASK_APP")


def processes_using(var_dir: Path) -> dict[int, str]:
    """pid -> command line of every live process whose environment names ``var_dir``."""
    marker = f"FILMCLUB_VAR_DIR={var_dir}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


class Launcher:
    def __init__(self, tmp_path: Path) -> None:
        self.var_dir = tmp_path / "var"
        self.port = free_port()
        self.log_path = tmp_path / "stack.log"
        env = {k: v for k, v in os.environ.items() if k not in UNSET}
        env.update(FILMCLUB_VAR_DIR=str(self.var_dir), PORT=str(self.port), WORKERS="1", WEB_CONCURRENCY="1",
                   STOP_TIMEOUT="15")
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "deploy.local.stack"], cwd=ROOT, env=env,
                                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            headers = {"Content-Type": "application/json"} if body is not None else {}
            conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def wait_until_healthy(self, timeout: float = 45) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the launcher exited early:\n{self.log()}"
            try:
                status, body = self.request("GET", "/healthz")
                if status == 200:
                    return json.loads(body)
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"/healthz did not answer 200 in {timeout} s:\n{self.log()}")

    def wait_for_children(self, expected: int, timeout: float = 15) -> dict[int, str]:
        deadline = time.monotonic() + timeout
        while True:
            children = processes_using(self.var_dir)
            if len(children) >= expected or time.monotonic() > deadline:
                return children
            time.sleep(0.2)

    def cleanup(self) -> None:
        """Whatever a failed test left: the launcher, then anything that still carries our marker."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for pid in processes_using(self.var_dir):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture
def launcher(tmp_path):
    started = Launcher(tmp_path)
    yield started
    started.cleanup()


# redis-server, mail catcher, gunicorn master and its worker, one RQ worker, the scheduler
PROCESSES_AT_LEAST = 6


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_launcher_serves_mails_and_stops_everything(launcher, stop_signal):
    health = launcher.wait_until_healthy()
    assert health["status"] == "ok" and set(health["checks"].values()) == {"ok"}, health
    status, body = launcher.request("GET", "/api/posts")
    assert status == 200 and json.loads(body)["total"] > 0

    status, body = launcher.request("POST", "/api/auth/signup",
                                    {"email": "newcomer@example.com", "name": "Newcomer", "password": "long-enough-1",
                                     "phone": "010-5555-6666", "channel": "email"})
    assert status == 201, body
    deadline = time.monotonic() + 20
    while b"newcomer@example.com" not in launcher.request("GET", "/dev/mail")[1]:
        assert time.monotonic() < deadline, f"no welcome email in /dev/mail:\n{launcher.log()}"
        time.sleep(0.2)
    caught = list((launcher.var_dir / "mail").glob("*.eml"))
    assert any(b"newcomer@example.com" in path.read_bytes() for path in caught)

    children = launcher.wait_for_children(PROCESSES_AT_LEAST)
    assert len(children) >= PROCESSES_AT_LEAST, children
    launcher.process.send_signal(stop_signal)
    assert launcher.process.wait(timeout=40) == 0, launcher.log()
    assert processes_using(launcher.var_dir) == {}, launcher.log()
    assert not (launcher.var_dir / "run" / "services.env").exists()


def test_killed_launcher_leaves_no_children(launcher):
    launcher.wait_until_healthy()
    children = launcher.wait_for_children(PROCESSES_AT_LEAST)
    assert len(children) >= PROCESSES_AT_LEAST, children
    launcher.process.kill()  # SIGKILL: no handler runs; the kernel tells each child (PR_SET_PDEATHSIG)
    launcher.process.wait()
    deadline = time.monotonic() + 10
    while (left := processes_using(launcher.var_dir)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert left == {}, left


def test_launcher_keeps_its_state_in_the_var_dir_it_is_given(launcher):
    launcher.wait_until_healthy()
    assert (launcher.var_dir / "app.db").is_file()
    assert (launcher.var_dir / "redis").is_dir()
    assert (launcher.var_dir / "run" / "services.env").is_file()
