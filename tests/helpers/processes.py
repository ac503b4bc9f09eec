"""Real processes for tests where timing or crashes matter.

- ``Processes``: the app's worker and scheduler processes against the test's services.
- ``Launcher``: the whole `make run` launcher (``python -m deploy.local.stack``) with its
  state in a temporary FILMCLUB_VAR_DIR, as a person runs it; ``processes_using`` finds
  every process it started (they all inherit that variable).
- ``wait_for``: poll a condition with a generous deadline (never a fixed sleep).
"""
from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Callable, TypeVar

from deploy import procfile

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
T = TypeVar("T")


def wait_for(condition: Callable[[], T], timeout: float = 60.0, interval: float = 0.2,
             message: str | Callable[[], str] = "the condition") -> T:
    """Return ``condition()``'s first truthy value; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            text = message() if callable(message) else message
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {text}")
        time.sleep(interval)


def process_env(app, **extra: str) -> dict[str, str]:
    """The environment a production process would get, pointing at the test's services."""
    config = app.config
    leads = ",".join(f"{s}s" for s in config["REMINDER_LEADS"])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS", "DATABASE", "MAIL", "CACHE"))}
    env.update(
        APP_ENV="testing", SECRET_KEY=config["SECRET_KEY"], DATABASE_URL=config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=config["REDIS_URL"], CACHE_REDIS_URL=config["CACHE_REDIS_URL"],
        MAIL_SERVER=config["MAIL_SERVER"], MAIL_PORT=str(config["MAIL_PORT"]),
        APP_TIMEZONE=config["APP_TIMEZONE"], REMINDER_LEADS=leads,
        REMINDER_SWEEP_SECONDS=str(config["REMINDER_SWEEP_SECONDS"]),
        SCHEDULER_RESYNC_SECONDS=str(config["SCHEDULER_RESYNC_SECONDS"]), PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class Processes:
    """Children started by a test, all stopped (and reaped) at its end.

    With ``log_dir``, each child's output goes to ``<log_dir>/<name>.log`` (see ``log``).
    """

    def __init__(self, log_dir: Path | None = None) -> None:
        self.children: list[subprocess.Popen] = []
        self.log_dir = log_dir
        self.logs: dict[int, Path] = {}

    def worker(self, env: dict[str, str], *queues: str, extra_args: tuple[str, ...] = (),
               name: str = "worker") -> subprocess.Popen:
        """The worker of the process table (Procfile), on ``queues`` when given, with ``extra_args``."""
        rq, *args = procfile.command("worker", REDIS_URL=env["REDIS_URL"], WORKER_NAME=f"{name}.{uuid.uuid4().hex[:8]}")
        cut = args.index("--name") + 2  # the table's queues follow the worker's name
        return self._start([str(BIN / rq), *args[:cut], *extra_args, *(queues or args[cut:])], env, name)

    def scheduler(self, env: dict[str, str], interval: float = 0.2, name: str = "scheduler") -> subprocess.Popen:
        """The scheduler of the process table, checking for due jobs every ``interval`` seconds."""
        python, *args = procfile.command("scheduler", REDIS_URL=env["REDIS_URL"], SCHEDULER_INTERVAL=interval)
        return self._start([str(BIN / python), *args], env, name)

    def _start(self, args: list[str], env: dict[str, str], name: str = "process") -> subprocess.Popen:
        output = subprocess.DEVNULL
        path = None
        if self.log_dir is not None:
            path = self.log_dir / f"{name}-{len(self.children)}.log"
            output = path.open("wb")
        try:
            child = subprocess.Popen(args, env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            if path is not None:
                output.close()
        self.children.append(child)
        if path is not None:
            self.logs[child.pid] = path
        return child

    def log(self, child: subprocess.Popen) -> str:
        path = self.logs.get(child.pid)
        return path.read_text(errors="replace") if path is not None else ""

    def stop(self, child: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        if child.poll() is None:
            try:
                os.killpg(child.pid, sig)
                child.wait(timeout)
            except ProcessLookupError:
                child.wait()
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
        kill_group(child.pid)  # anything it left in its process group (rq's scheduler child)

    def stop_all(self) -> None:
        for child in self.children:
            self.stop(child)


def kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


# --- /proc ---------------------------------------------------------------------------------

def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name: [state, ppid, pgrp, ...]."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def alive(pid: int) -> bool:
    """Running (a zombie nobody reaped yet counts as gone)."""
    fields = _stat(pid)
    return fields is not None and fields[0] not in ("Z", "X", "x")


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None and int(fields[1]) == pid and fields[0] not in ("Z", "X", "x"):
                found.append(int(entry.name))
    return found


def in_process_group(pgid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None and int(fields[2]) == pgid and fields[0] not in ("Z", "X", "x"):
                found.append(int(entry.name))
    return found


def processes_using(var_dir: Path) -> dict[int, str]:
    """pid -> command line of every live process whose environment names ``var_dir``."""
    marker = f"FILMCLUB_VAR_DIR={var_dir}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0") and alive(int(entry.name)):
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


# --- the `make run` launcher -------------------------------------------------------------------

# Settings of the developer's shell or of the test session that would point the launcher elsewhere.
LAUNCHER_UNSET = ("APP_ENV", "REDIS_URL", "CACHE_REDIS_URL", "DATABASE_URL", "MAIL_SERVER", "MAIL_PORT",
                  "DEV_MAIL_DIR", "DEV_SMS_DIR", "SMS_BACKEND", "SECRET_KEY", "EMBEDDED_REDIS_PORT", "DEV_MAIL_PORT",
                  "FLASK_APP")


class Launcher:
    """``python -m deploy.local.stack`` with its state under ``tmp_path/var``.

    ``env`` adds or overrides variables (WORKERS, REDIS_URL, RATELIMIT_*...). Call
    ``cleanup()`` at the end (the ``launcher`` fixtures do): it kills whatever is left.
    """

    def __init__(self, tmp_path: Path, **env: str) -> None:
        from deploy.local.redis_server import free_port

        self.var_dir = tmp_path / "var"
        self.port = free_port()
        self.log_path = tmp_path / "stack.log"
        environ = {k: v for k, v in os.environ.items() if k not in LAUNCHER_UNSET and not k.startswith("RATELIMIT_")}
        environ.update(FILMCLUB_VAR_DIR=str(self.var_dir), PORT=str(self.port), WORKERS="1", WEB_CONCURRENCY="1",
                       STOP_TIMEOUT="30")
        environ.update(env)
        self.env = environ
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "deploy.local.stack"], cwd=ROOT, env=environ,
                                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def full_log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log(self, tail: int = 6000) -> str:
        return self.full_log()[-tail:]

    def services(self) -> dict[str, str]:
        """What the launcher wrote to run/services.env (REDIS_URL, MAIL_PORT, DEV_MAIL_DIR...)."""
        path = self.var_dir / "run" / "services.env"
        return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)

    def redis_url(self) -> str:
        return self.env.get("REDIS_URL") or self.services()["REDIS_URL"]

    def request(self, method: str, path: str, body: dict | None = None, timeout: float = 60,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            sent = {"Content-Type": "application/json"} if body is not None else {}
            sent.update(headers or {})
            conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=sent)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def wait_until_healthy(self, timeout: float = 180) -> dict:
        def healthy() -> dict | None:
            assert self.process.poll() is None, f"the launcher exited early:\n{self.log()}"
            try:
                status, body = self.request("GET", "/healthz", timeout=10)
            except OSError:
                return None
            return json.loads(body) if status == 200 else None

        return wait_for(healthy, timeout, message=lambda: f"/healthz to answer 200:\n{self.log()}")

    def wait_for_children(self, expected: int, timeout: float = 60) -> dict[int, str]:
        """At least ``expected`` processes (the launcher included) carry our marker."""
        def enough() -> dict[int, str] | None:
            children = processes_using(self.var_dir)
            return children if len(children) >= expected else None

        return wait_for(enough, timeout, message=lambda: f"{expected} processes:\n"
                        f"{processes_using(self.var_dir)}\n{self.log()}")

    def role_pids(self, pattern: str) -> list[int]:
        """Direct children of the launcher whose command line matches ``pattern`` (a regex)."""
        return sorted(pid for pid in children_of(self.process.pid)
                      if re.search(pattern, _cmdline(pid)))

    def mail_dir(self) -> Path:
        return Path(self.env.get("DEV_MAIL_DIR") or self.var_dir / "mail")

    @property
    def database_url(self) -> str:
        return self.env.get("DATABASE_URL") or f"sqlite:///{self.var_dir / 'app.db'}"

    def flask(self, *args: str) -> subprocess.CompletedProcess:
        """Run a `flask` command against this stack (its var dir, database and Redis), as an operator would."""
        return subprocess.run([str(Path(sys.executable).with_name("flask")), *args], cwd=ROOT,
                              env={**self.env, "APP_ENV": "development"}, capture_output=True, text=True, timeout=120)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 120) -> int:
        self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)

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


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
