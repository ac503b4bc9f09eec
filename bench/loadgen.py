"""A small closed-loop HTTP load generator for loopback benchmarks (used when wrk is not installed).

Each of ``connections`` processes sends one request at a time on a fresh
connection (gunicorn's sync workers close every connection anyway), reads the
answer to the end, and records its latency. The loop is a few socket calls
with no HTTP library, so the generator costs the same small, fixed CPU per
request whatever the route: on a machine where it shares the cores with the
server, that keeps the ratios between routes fair.

Bounded: every round stops at its deadline or its request cap, whichever
comes first, and talks only to 127.0.0.1.
"""
from __future__ import annotations

import multiprocessing
import socket
import time
from array import array
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

RECV_BUFFER = 1 << 20


@dataclass
class RoundResult:
    """One route measured for one round: requests completed, errors, wall time, latencies (s)."""
    path: str
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: array = field(default_factory=lambda: array("d"))
    first_error: str = ""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _one_request(port: int, request: bytes, buffer: bytearray) -> tuple[bool, str]:
    """Send ``request``, read until the server closes; (ok, status line)."""
    view = memoryview(buffer)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(request)
        received = 0
        while True:
            n = sock.recv_into(view[received:] if received < len(buffer) else view)
            if not n:
                break
            if received < len(buffer):
                received += n
    head = bytes(view[:32])
    return head.startswith(b"HTTP/1.1 200") or head.startswith(b"HTTP/1.0 200"), \
        head.split(b"\r\n", 1)[0].decode(errors="replace")


def _generator(commands: Connection) -> None:
    """Child loop: for each (port, path, deadline, cap) command, run and send back the results."""
    buffer = bytearray(RECV_BUFFER)
    while True:
        command = commands.recv()
        if command is None:
            return
        port, path, deadline, cap = command
        request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()
        latencies, errors, first_error = array("d"), 0, ""
        while len(latencies) + errors < cap:
            started = time.perf_counter()
            if started >= deadline:
                break
            try:
                ok, status = _one_request(port, request, buffer)
            except OSError as exc:
                ok, status = False, f"{type(exc).__name__}: {exc}"
            if ok:
                latencies.append(time.perf_counter() - started)
            else:
                errors += 1
                first_error = first_error or status
        commands.send((latencies.tobytes(), errors, first_error))


class LoadGenerator:
    """``connections`` generator processes, started once and reused for every round (and every server)."""

    def __init__(self, port: int, connections: int) -> None:
        self.port = port  # the default; ``run`` may name another
        context = multiprocessing.get_context("spawn")  # a clean child: no inherited sockets or threads
        self._pipes: list[Connection] = []
        self._processes = []
        for _ in range(connections):
            parent, child = context.Pipe()
            process = context.Process(target=_generator, args=(child,), daemon=True)
            process.start()
            self._pipes.append(parent)
            self._processes.append(process)

    @property
    def pids(self) -> list[int]:
        """The generator processes (the benchmark reads their CPU time from /proc)."""
        return [process.pid for process in self._processes]

    def run(self, path: str, seconds: float, max_requests: int, port: int | None = None) -> RoundResult:
        """Load ``path`` for ``seconds`` (or ``max_requests`` in all) with every connection."""
        cap = max(1, max_requests // len(self._pipes))
        started = time.perf_counter()
        deadline = time.perf_counter() + seconds
        for pipe in self._pipes:
            pipe.send((port or self.port, path, deadline, cap))
        result = RoundResult(path)
        for pipe in self._pipes:
            raw, errors, first_error = pipe.recv()
            chunk = array("d")
            chunk.frombytes(raw)
            result.latencies.extend(chunk)
            result.errors += errors
            result.first_error = result.first_error or first_error
        result.seconds = time.perf_counter() - started
        result.requests = len(result.latencies)
        return result

    def close(self) -> None:
        for pipe in self._pipes:
            try:
                pipe.send(None)
            except OSError:
                pass
        for process in self._processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()

    def __enter__(self) -> "LoadGenerator":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
