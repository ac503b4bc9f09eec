"""The app as `make run` serves it, started once for the browser journeys.

``python -m deploy.local.stack`` (gunicorn, a real RQ worker, the scheduler, an
embedded Redis and the development mail server) with its state in a temporary
FILMCLUB_VAR_DIR, as tests/test_stack.py runs it. The few settings changed for
the journeys are in ``JOURNEY_SETTINGS``, each with its reason.
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

from deploy.local.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# Settings of the developer's shell or of the test session that would point the launcher elsewhere.
UNSET = ("APP_ENV", "REDIS_URL", "CACHE_REDIS_URL", "DATABASE_URL", "MAIL_SERVER", "MAIL_PORT", "DEV_MAIL_DIR",
         "DEV_SMS_DIR", "SECRET_KEY", "EMBEDDED_REDIS_PORT", "DEV_MAIL_PORT", "FLASK_APP", "SMS_BACKEND")

RESEND_COOLDOWN = 15  # seconds; long enough that a click right after signing up is inside it on a busy machine
JOURNEY_SETTINGS = {
    # A lost code can be re-sent after the cooldown; the default (60 s) would make the suite wait a minute.
    "VERIFICATION_RESEND_COOLDOWN": str(RESEND_COOLDOWN),
    # The default "1 per minute" per address or number matches the default cooldown; scaled down with it.
    "RATELIMIT_CODE_SEND": f"1 per {RESEND_COOLDOWN} seconds;5 per hour;10 per day",
    # Every journey comes from 127.0.0.1: the per-address limits are meant for one person, not a whole suite.
    "RATELIMIT_SIGNUP": "200 per minute", "RATELIMIT_LOGIN": "200 per minute", "RATELIMIT_VERIFY": "200 per minute",
    "STOP_TIMEOUT": "15",
}


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


class ServedApp:
    """One `make run` stack in a temporary directory; ``stop()`` leaves nothing behind."""

    def __init__(self, work_dir: Path) -> None:
        self.var_dir = work_dir / "var"
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = work_dir / "stack.log"
        env = {k: v for k, v in os.environ.items() if k not in UNSET and not k.startswith("RATELIMIT_")}
        env.update(FILMCLUB_VAR_DIR=str(self.var_dir), PORT=str(self.port), **JOURNEY_SETTINGS)
        self.env = env
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "deploy.local.stack"], cwd=ROOT, env=env,
                                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)

    @property
    def mail_dir(self) -> Path:
        return self.var_dir / "mail"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.var_dir / 'app.db'}"

    def log(self, tail: int = 6000) -> str:
        return self.log_path.read_text(errors="replace")[-tail:]

    def get(self, path: str) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def wait_until_healthy(self, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the launcher exited early:\n{self.log()}")
            try:
                status, body = self.get("/healthz")
                if status == 200:
                    return json.loads(body)
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"/healthz did not answer 200 in {timeout} s:\n{self.log()}")

    def flask(self, *args: str) -> subprocess.CompletedProcess:
        """Run a `flask` command against this stack (its var dir, database and Redis), as an operator would."""
        env = {**self.env, "APP_ENV": "development"}
        return subprocess.run([str(BIN / "flask"), *args], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=120)

    def stop(self) -> None:
        """SIGTERM, as Ctrl-C would; then whatever is left (a failed start) gets SIGKILL."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pid in processes_using(self.var_dir):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
