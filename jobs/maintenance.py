"""Operational jobs: cheap, harmless, safe to run any number of times."""
from __future__ import annotations

import os
import socket


def ping(token: str = "") -> str:
    """Answer ``pong <token> from <host>:<pid>``: proves a worker picks up and runs jobs.

    Used by the deployment tests and by hand after a deploy::

        rq enqueue --url "$REDIS_URL" jobs.maintenance.ping smoke-test   # then: rq info
    """
    words = ["pong", token, "from", f"{socket.gethostname()}:{os.getpid()}"]
    return " ".join(word for word in words if word)


def pause(seconds: float) -> str:
    """Take ``seconds`` (at most an hour) and answer: a slow job for shutdown drills and tests,
    since workers run only the project's job functions (``app.safe_jobs``), not ``time.sleep``."""
    import time

    time.sleep(min(float(seconds), 3600.0))
    return f"paused {seconds} s"
