"""gunicorn's gthread worker, which answers what it accepted before it stops.

gthread accepts connections as they arrive and hands each to a thread once it
is readable. When the worker is told to stop gracefully (SIGTERM: a reload with
SIGHUP, a deploy, `systemctl stop`), gunicorn 23 leaves its loop at once, and a
connection it accepted but had not yet handed to a thread is closed without an
answer: during every reload one request in a few got "connection closed"
(tests/test_deploy_initd.py reloads and asks /healthz ten times). Sync workers
never had this: they accept one connection only when they are free to answer it.

This worker, on SIGTERM, stops accepting (its listening sockets leave the poller,
so the new workers take the new connections), closes idle keep-alive
connections, answers the connections it already accepted, and leaves its loop
once none is left or after ``DRAIN_SECONDS`` (a client that connected and sends
nothing cannot hold a shutdown). Requests in flight then finish within
gunicorn's ``graceful_timeout`` as before.
"""
from __future__ import annotations

import time
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

DRAIN_SECONDS = 5.0


class DrainingThreadWorker(ThreadWorker):
    _drain_until: float | None = None

    def handle_exit(self, sig: int, frame: Any) -> None:
        """SIGTERM: stop accepting and drain (gunicorn's own handler stops the loop at once)."""
        if self._drain_until is not None:
            return
        self._drain_until = time.monotonic() + min(DRAIN_SECONDS, float(self.cfg.graceful_timeout))
        for sock in self.sockets:
            try:
                self.poller.unregister(sock)
            except (KeyError, ValueError, OSError):
                pass

    def murder_keepalived(self) -> None:
        """Called once per loop: gunicorn's keep-alive timeouts, then the drain's progress."""
        super().murder_keepalived()
        if self._drain_until is None:
            return
        with self._lock:
            idle = list(self._keep)
            self._keep.clear()
            for conn in idle:
                try:
                    self.poller.unregister(conn.sock)
                except (KeyError, ValueError, OSError):
                    pass
        for conn in idle:
            self.nr_conns -= 1
            conn.close()
        accepted_unanswered = len(self.poller.get_map())
        if (not accepted_unanswered and not self.futures) or time.monotonic() > self._drain_until:
            self.alive = False
