"""A queue Redis with no password on anything but loopback is a start-up warning.

Whoever can write to the queue Redis decides what the workers do (JSON jobs and
the allow-list in ``app.safe_jobs`` bound that to the project's own jobs, but
they can still send every queued mail again, drop work or read members' ids).
A server reachable from other machines must ask for a password (``requirepass``,
an ACL user, ElastiCache AUTH or RBAC: see the README's SECURITY section); the
password goes percent-encoded into ``REDIS_URL``. Checked with the other
start-up checks of the queue Redis (``app.redis_checks``), so the worker, the
web and ``flask check-redis`` all say it.
"""
from __future__ import annotations

import ipaddress
import logging
from typing import Any

log = logging.getLogger(__name__)

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve anywhere, so it counts as the network


def open_to_the_network(connection_kwargs: dict[str, Any]) -> str | None:
    """``host:port`` if the client connects without a password to a host that is not loopback."""
    if connection_kwargs.get("password") or "path" in connection_kwargs:  # a password, or a unix socket
        return None
    host = str(connection_kwargs.get("host") or "localhost")
    if is_loopback(host):
        return None
    return f"{host}:{connection_kwargs.get('port', 6379)}"


def warn_if_open(client: Any, label: str = "queue Redis") -> str | None:
    """Log (WARNING) and return the problem, or None."""
    where = open_to_the_network(client.connection_pool.connection_kwargs)
    if where is None:
        return None
    message = (f"the {label} at {where} is reached without a password and is not on loopback: anyone who "
               "can reach it can read and change queued work. Set a password (requirepass, an ACL user, "
               "ElastiCache AUTH/RBAC) and put it in the URL: redis://:PASSWORD@host:port/0 "
               "(rediss:// for TLS)")
    log.warning("%s", message)
    return message
