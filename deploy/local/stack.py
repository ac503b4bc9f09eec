"""`make run`: the whole app in the foreground, logs together, one Ctrl-C to stop it.

Starts, in order: an embedded Redis (unless REDIS_URL is set), a development
mail server (unless MAIL_SERVER is set), migrations and demo data, then the web
server (gunicorn), one RQ worker per core (WORKERS) and the scheduler.

A process that dies (a crash, a SIGKILL, the OOM killer) is logged and started
again after a short delay: 1 s, doubling up to 30 s while it keeps dying young
(a process that ran for a minute starts again after 1 s). The rest of the stack
keeps running meanwhile; whatever the dead process left in its process group
(rq's --with-scheduler process) is stopped first. The embedded Redis comes back
on the same port with its AOF, the mail server on the same port.

Stopping (Ctrl-C or SIGTERM): web, scheduler and workers get SIGTERM first
(RQ's warm shutdown: a job in progress finishes), up to STOP_TIMEOUT seconds;
only then the mail server and Redis, so finishing jobs can still record their
results. Children live in their own process groups (the terminal's Ctrl-C
reaches only this launcher, which stops them in that order) and are told by
the kernel to exit if the launcher itself dies, so nothing is left behind.
"""
from __future__ import annotations

import ctypes
import functools
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from app.exceptions import ConfigError
from deploy import procfile
from deploy.local.redis_password import embedded_redis_config, embedded_redis_password, write_services_env

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

COLOURS = ["36", "33", "35", "32", "34", "31", "96", "93"]
_PR_SET_PDEATHSIG = 1
RESTART_FIRST_DELAY = 1.0    # seconds before a dead process starts again
RESTART_MAX_DELAY = 30.0     # the delay doubles up to this while it keeps dying young
RESTART_STABLE_AFTER = 60.0  # a process that ran this long starts again after the first delay
_prctl = None  # loaded before any child starts: nothing may be loaded between fork and exec


def _die_with_parent(death_signal: int) -> None:
    """In the child, before exec: send me ``death_signal`` if the launcher dies (Linux)."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, death_signal)


def _load_prctl() -> None:
    global _prctl
    try:
        _prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        _prctl = None


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state, ppid, pgrp, ...); None if gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] in ("Z", "X") else fields


def _group_members(pgid: int) -> list[tuple[int, str]]:
    """(pid, start time) of the live processes in process group ``pgid`` (Linux /proc; else none).

    Only asked right after the group's leader exited: while any member lives the
    kernel does not hand its id to a new process, and pids are handed out in
    order, so a pid reaped a moment ago is not a new group's id yet.
    """
    try:
        pids = [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]
    except OSError:
        return []
    members = []
    for pid in pids:
        fields = _proc_stat(pid)
        if fields is not None and int(fields[2]) == pgid:
            members.append((pid, fields[19]))
    return members


def _kill_if_same(members: list[tuple[int, str]], sig: int) -> None:
    """Signal each (pid, start time) that is still the same process (not a reused pid)."""
    for pid, started in members:
        fields = _proc_stat(pid)
        if fields is not None and fields[19] == started:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass


@dataclass
class Process:
    name: str
    # The command line, or a function of the start number (1, 2, ...) that returns it.
    args: list[str] | Callable[[int], list[str]]
    env: dict[str, str]
    colour: str
    # If the launcher itself is killed, Redis goes down with it, so a warm shutdown
    # of the workers and the scheduler could only stall on Redis retries: they get
    # SIGKILL (an interrupted job is re-run from the delivery log). Redis, the mail
    # server and gunicorn's master (which stops its own workers) get SIGTERM.
    death_signal: int = signal.SIGKILL
    popen: subprocess.Popen | None = None
    reader: threading.Thread | None = field(default=None, repr=False)
    starts: int = 0
    started_at: float = 0.0
    restart_delay: float = 0.0
    restart_at: float | None = None  # set while it is dead and waiting to start again
    leftovers: list[tuple[int, str]] = field(default_factory=list)  # of a dead incarnation's group

    def command(self) -> list[str]:
        return self.args(self.starts) if callable(self.args) else self.args

    def start(self, width: int) -> None:
        self.starts += 1
        self.started_at = time.monotonic()
        self.restart_at = None
        self.popen = subprocess.Popen(
            self.command(), env=self.env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
            preexec_fn=functools.partial(_die_with_parent, self.death_signal),
        )
        prefix = f"\033[{self.colour}m{self.name.ljust(width)} |\033[0m " if sys.stdout.isatty() \
            else f"{self.name.ljust(width)} | "
        self.reader = threading.Thread(target=self._pump, args=(prefix,), daemon=True)
        self.reader.start()

    def _pump(self, prefix: str) -> None:
        assert self.popen and self.popen.stdout
        for line in iter(self.popen.stdout.readline, b""):
            sys.stdout.write(prefix + line.decode(errors="replace"))
            sys.stdout.flush()

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, sig: int) -> None:
        if self.running:
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                pass

    def died(self, now: float) -> float:
        """Note that it exited: SIGTERM to what it left in its group; returns the delay before a restart."""
        assert self.popen is not None
        self.leftovers = _group_members(self.popen.pid)  # its group outlives it only through these
        _kill_if_same(self.leftovers, signal.SIGTERM)
        young = now - self.started_at < RESTART_STABLE_AFTER
        self.restart_delay = min(self.restart_delay * 2, RESTART_MAX_DELAY) if young and self.restart_delay \
            else RESTART_FIRST_DELAY
        self.restart_at = now + self.restart_delay
        return self.restart_delay

    def clear_leftovers(self) -> None:
        """SIGKILL whatever a dead incarnation left that did not stop on SIGTERM."""
        _kill_if_same(self.leftovers, signal.SIGKILL)
        self.leftovers = []


def web_server_args(port: int | str, env: dict[str, str], app_spec: str = "app:create_app()") -> list[str]:
    """The gunicorn command line of `make run`; the benchmark serves its app with the same one.

    The shared settings (``deploy/gunicorn.conf.py``: gthread workers with a bounded
    number of threads), one worker per core unless WEB_CONCURRENCY says otherwise.
    """
    workers = env.get("WEB_CONCURRENCY") or str(os.cpu_count() or 1)
    gunicorn, *args, _ = procfile.command("web", WEB_BIND=f"127.0.0.1:{port}")
    return [str(BIN / gunicorn), *args, "--workers", workers, "--graceful-timeout", "20", app_spec]


def say(message: str) -> None:
    print(f"stack | {message}", flush=True)


class Stack:
    def __init__(self) -> None:
        from app.config import Config, services_env_file, var_dir

        self.env = dict(os.environ)
        self.var = var_dir(self.env)  # FILMCLUB_VAR_DIR, else the repository's var/
        self.services_env = services_env_file(self.env)
        self.env.setdefault("APP_ENV", "development")
        # Checked before anything starts: a bad variable is one line naming it and exit 2 (main).
        self.config = Config.from_env(self.env)
        self.env["PYTHONUNBUFFERED"] = "1"
        self.services: list[Process] = []   # redis, mail: stopped last
        self.app_processes: list[Process] = []
        self.stopping = threading.Event()

    # -- the embedded services -------------------------------------------------
    def start_services(self) -> None:
        from deploy.local.redis_server import free_port, port_in_use

        self.services_env.parent.mkdir(parents=True, exist_ok=True)
        services_env: dict[str, str] = {}
        if not self.env.get("REDIS_URL"):
            port = self.config.EMBEDDED_REDIS_PORT or free_port()
            if port_in_use(port):
                raise SystemExit(f"stack | EMBEDDED_REDIS_PORT {port} is in use by something else; choose another")
            from deploy.local.redis_server import find_redis_binary

            redis_dir = self.var / "redis"
            password = embedded_redis_password(redis_dir)
            # The password is in a config file, the first argument (never on a command line `ps` shows).
            _, *args = procfile.command("redis", REDIS_PORT=port, REDIS_DIR=redis_dir)
            self.services.append(Process("redis", [
                find_redis_binary(), str(embedded_redis_config(redis_dir, password)), *args, "--protected-mode", "yes",
            ], self.env, COLOURS[0], death_signal=signal.SIGTERM))
            services_env["REDIS_URL"] = f"redis://:{password}@127.0.0.1:{port}/0"
        if not self.env.get("MAIL_SERVER"):
            port = self.config.DEV_MAIL_PORT or free_port()
            mail_dir = self.env.get("DEV_MAIL_DIR") or str(self.var / "mail")
            python, *args = procfile.command("mail", MAIL_PORT=port, MAIL_DIR=mail_dir)
            self.services.append(Process("mail", [str(BIN / python), *args], self.env, COLOURS[1],
                                         death_signal=signal.SIGTERM))
            services_env.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=str(port), DEV_MAIL_DIR=mail_dir)
        self.env.update(services_env)
        write_services_env(self.services_env, services_env)  # 0600: it holds the Redis password
        for process in self.services:
            process.start(width=9)
        if "REDIS_URL" in services_env:
            self._wait_for_redis(services_env["REDIS_URL"])

    def _wait_for_redis(self, url: str) -> None:
        from redis import Redis
        from redis.exceptions import ConnectionError as RedisConnectionError

        client = Redis.from_url(url, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                client.ping()
                return
            except RedisConnectionError:
                time.sleep(0.05)
        raise SystemExit("stack | the embedded Redis did not start; see its log lines above")

    # -- set-up steps ------------------------------------------------------------
    def prepare_database(self) -> None:
        for step in (["db", "upgrade"], ["seed-demo", "--if-empty"]):
            result = subprocess.run([str(BIN / "flask"), *step], env=self.env, cwd=ROOT)
            if result.returncode != 0:
                raise SystemExit(f"stack | `flask {' '.join(step)}` failed (exit {result.returncode})")

    # -- the app's processes -------------------------------------------------------
    def start_app(self) -> None:
        redis_url = self.env["REDIS_URL"]
        port, workers = self.config.PORT, self.config.WORKERS
        self.app_processes.append(Process("web", web_server_args(port, self.env), self.env, COLOURS[2],
                                          death_signal=signal.SIGTERM))  # the master stops its workers
        for n in range(1, workers + 1):
            self.app_processes.append(Process(f"worker.{n}", functools.partial(self.worker_args, redis_url, n),
                                              self.env, COLOURS[(2 + n) % len(COLOURS)]))
        python, *args = procfile.command("scheduler", REDIS_URL=redis_url, SCHEDULER_INTERVAL=1)
        self.app_processes.append(Process("scheduler", [str(BIN / python), *args], self.env, COLOURS[7]))
        for process in self.app_processes:
            process.start(width=9)
        say(f"film club on  http://127.0.0.1:{port}/   (demo sign-in: minji@filmclub.example / filmclub-demo)")
        say(f"API document   http://127.0.0.1:{port}/api/openapi.json")
        say(f"health         http://127.0.0.1:{port}/healthz    metrics: http://127.0.0.1:{port}/metrics")
        if "DEV_MAIL_DIR" in self.env:
            say(f"caught mail    http://127.0.0.1:{port}/dev/mail")
        if self.config.SMS_BACKEND == "console":
            say(f"text messages  http://127.0.0.1:{port}/dev/sms   (console SMS backend, kept under var/sms)")
        say("queues         make info   (rq info; the URL with its password is in var/run/services.env)")
        say("Ctrl-C stops everything")

    @staticmethod
    def worker_args(redis_url: str, n: int, start: int) -> list[str]:
        # A restarted worker gets a new name: RQ refuses a name whose registration is
        # still live, and a SIGKILLed worker's stays for ~8 minutes.
        name = f"{os.uname().nodename}.{os.getpid()}.worker{n}" + (f".{start}" if start > 1 else "")
        # --with-scheduler (in the table): RQ's own scheduler moves Retry(interval=...) retries back
        # onto the queues (one worker holds its lock); without it retries never run.
        rq, *args = procfile.command("worker", REDIS_URL=redis_url, WORKER_NAME=name)
        return [str(BIN / rq), *args]

    # -- stopping -------------------------------------------------------------------
    def stop(self) -> None:
        if self.stopping.is_set():
            return
        self.stopping.set()
        say("stopping: web, scheduler and workers first (workers finish their current job)")
        timeout = self.config.STOP_TIMEOUT
        self._stop_group(self.app_processes, timeout)
        self._stop_group(self.services, 10)
        say("stopped")

    def _stop_group(self, processes: list[Process], timeout: float) -> None:
        running = [process for process in processes if process.running]
        for process in running:
            process.signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in running:
            while process.running and time.monotonic() < deadline:
                time.sleep(0.05)
            if process.running:
                say(f"{process.name} did not stop in {timeout:.0f} s: killing it")
                process.signal(signal.SIGKILL)
            # Whatever is still in its group (a child it did not wait for) goes with it.
            process.popen.wait()
            _kill_if_same(_group_members(process.popen.pid), signal.SIGKILL)
        for process in processes:
            process.clear_leftovers()
            if process.popen is not None:
                process.popen.wait()
            if process.reader is not None:
                process.reader.join(timeout=1)

    def watch(self) -> int:
        """Until a signal arrives: start again, after a short delay, any process that dies."""
        everything = self.services + self.app_processes
        while not self.stopping.is_set():
            now = time.monotonic()
            for process in everything:
                if process.restart_at is not None:
                    if now >= process.restart_at:
                        process.clear_leftovers()
                        say(f"restarting {process.name}")
                        process.start(width=9)
                elif not process.running:
                    code = process.popen.returncode if process.popen else None
                    ran = now - process.started_at
                    delay = process.died(now)
                    say(f"{process.name} exited with {code} after {ran:.0f} s; restarting it in {delay:.0f} s")
            time.sleep(0.2)
        return 0


def main() -> int:
    _load_prctl()
    try:
        stack = Stack()
    except ConfigError as exc:
        print(f"stack | {exc}", file=sys.stderr)
        return 2
    stop_requested = threading.Event()

    def request_stop(signum, frame) -> None:
        stop_requested.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, request_stop)
    code = 0
    try:
        stack.start_services()
        stack.prepare_database()
        stack.start_app()
        code = stack.watch()
    except KeyboardInterrupt:
        code = 0
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        code = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
        stack.services_env.unlink(missing_ok=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
