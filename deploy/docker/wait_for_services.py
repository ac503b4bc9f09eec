"""Wait until the database and both Redis servers answer, or give up with a message.

Run by the container entry point before `migrate`, `web`, `worker` and `scheduler`. Containers of one
deployment start in whatever order their orchestrator picks (podman-compose before 4.6 ignores
`condition: service_healthy`; Kubernetes and ECS have no start order at all), and a migration that runs
before PostgreSQL accepts connections fails the whole start. So each role waits here for what it needs,
up to WAIT_FOR_SERVICES_SECONDS (default 60; 0 skips the wait), and exits 69 (EX_UNAVAILABLE) naming
what never answered.
"""
from __future__ import annotations

import os
import sys
import time
from urllib.parse import urlsplit


def _redis_ok(url: str) -> str | None:
    from redis import Redis

    try:
        with Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2) as client:
            client.ping()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure is "not yet"; the message says which
        return f"{exc.__class__.__name__}: {exc}"


def _database_ok(url: str) -> str | None:
    from sqlalchemy import create_engine, text

    for prefix in ("postgres://", "postgresql://"):   # the app's spelling rule: psycopg 3, whatever is written
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix):]
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return None
    except Exception as exc:  # noqa: BLE001
        return f"{exc.__class__.__name__}: {str(exc).splitlines()[0]}"
    finally:
        engine.dispose()


def _where(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or ''}{parts.path}"


def main() -> int:
    deadline = time.monotonic() + float(os.environ.get("WAIT_FOR_SERVICES_SECONDS", "60"))
    checks = {}
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        checks[_where(os.environ["DATABASE_URL"])] = (_database_ok, os.environ["DATABASE_URL"])
    for name in ("REDIS_URL", "CACHE_REDIS_URL"):
        if os.environ.get(name):
            checks[_where(os.environ[name])] = (_redis_ok, os.environ[name])
    while True:
        failing = {where: error for where, (check, url) in checks.items() if (error := check(url))}
        if not failing:
            return 0
        if time.monotonic() > deadline:
            for where, error in failing.items():
                print(f"wait-for-services: {where} did not answer: {error}", file=sys.stderr)
            return 69
        checks = {where: checks[where] for where in failing}
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
