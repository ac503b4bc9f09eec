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
