"""The embedded development Redis asks for a password, generated once and kept under var/.

Why: the embedded Redis listens on 127.0.0.1, but every local user and every
process on the machine (a browser tab's DNS-rebinding trick, another user's
script) can reach a loopback port, and whoever writes to the queue Redis
decides what the workers do. The password is 32 random URL-safe characters in
``var/redis/password`` (mode 0600, kept across restarts like the AOF beside
it); the server reads it from ``var/redis/redis.conf`` (0600), never from its
command line (visible to every user in ``ps``). It reaches every process through
the same place as the URL: ``REDIS_URL=redis://:<password>@127.0.0.1:<port>/0``
in the launcher's environment and in ``var/run/services.env`` (0600), which
``flask`` commands and ``make info`` read.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    path.chmod(0o600)


def embedded_redis_password(redis_dir: Path) -> str:
    """The password in ``redis_dir/password``, made on first use."""
    path = redis_dir / "password"
    if path.is_file():
        password = path.read_text().strip()
        if password:
            return password
    redis_dir.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(32)
    _write_private(path, password + "\n")
    return password


def embedded_redis_config(redis_dir: Path, password: str) -> Path:
    """A config file that sets ``requirepass`` (passed to redis-server before its other options)."""
    path = redis_dir / "redis.conf"
    _write_private(path, f"# written by deploy/local/redis_password.py at every start\nrequirepass {password}\n")
    return path


def write_services_env(path: Path, values: dict[str, str]) -> None:
    """The launcher's services file, readable only by its owner (it holds the Redis password)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_private(path, "".join(f"{key}={value}\n" for key, value in values.items()))
