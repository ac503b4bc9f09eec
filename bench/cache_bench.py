"""The post cache under load: uncached, cached and ceiling routes, side by side in one run.

Serves the app with gunicorn exactly as ``make run`` does (same command line:
gthread workers from deploy/gunicorn.conf.py, one per core unless WEB_CONCURRENCY), against a private
redis-server and a fresh database, and loads three routes that return the
same bytes:

* ``uncached``: ``/bench/uncached/posts``, the page built from the database on every request;
* ``cached``:   ``/api/posts``, the real API route, answered from the cache Redis;
* ``ceiling``:  ``/bench/ceiling/posts``, the bytes from the worker's own memory.

Two workloads: a page of 50 with 10,000 posts in the database, and the seed's
case, the whole list of 1,000 posts. The routes are measured in short rounds,
interleaved (A B C, B C A, ...), and each figure is the median over rounds, so
a noisy neighbour slows all three alike. Target: cached/ceiling >= 0.8.
"""
from __future__ import annotations

import argparse
import functools
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from redis import Redis

from bench.databases import Database, databases
from bench.loadgen import LoadGenerator
from deploy.local import stack
from deploy.local.redis_server import RedisServer, free_port

ROOT = Path(__file__).resolve().parents[1]
TARGET = 0.8
ROUTES = ("uncached", "cached", "ceiling")
PATHS = {"uncached": "/bench/uncached/posts", "cached": "/api/posts", "ceiling": "/bench/ceiling/posts"}
BENCH_APP = "bench.wsgi:create_bench_app()"


class BenchError(RuntimeError):
    """The benchmark could not measure (a server did not start, requests failed, bodies differ)."""


@dataclass(frozen=True)
class Workload:
    name: str
    posts: int
    per_page: int

    def path(self, route: str) -> str:
        return f"{PATHS[route]}?per_page={self.per_page}"


WORKLOADS = (
    Workload("page of 50, 10,000 posts", posts=10_000, per_page=50),
    Workload("whole list, 1,000 posts", posts=1_000, per_page=1_000),
)


@dataclass
class Round:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    first_error: str = ""
    cpu_seconds: float = 0.0  # gunicorn (master and workers) and redis-server, during the round


@dataclass
class RouteFigures:
    rounds: list[Round] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return statistics.median(r.rps for r in self.rounds)

    @property
    def p50_ms(self) -> float:
        return statistics.median(r.p50_ms for r in self.rounds)

    @property
    def p99_ms(self) -> float:
        return statistics.median(r.p99_ms for r in self.rounds)

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.rounds)

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.rounds)

    @property
    def cpu_us_per_request(self) -> float:
        """Server CPU per request over all rounds: unlike req/s, barely moved by other load on the machine."""
        requests = self.requests
        return sum(r.cpu_seconds for r in self.rounds) / requests * 1e6 if requests else float("nan")


@dataclass
class Result:
    database: str
    workload: Workload
    body_bytes: int
    routes: dict[str, RouteFigures]

    def _ratio(self, route: str, other: str) -> float:
        """Median over rounds of the two routes' req/s ratio: each round measures them back to back,
        so a change in the machine's other load between rounds cancels out."""
        pairs = zip(self.routes[route].rounds, self.routes[other].rounds)
        return statistics.median(a.rps / b.rps for a, b in pairs if b.rps)

    @property
    def cached_over_ceiling(self) -> float:
        return self._ratio("cached", "ceiling")

    @property
    def cached_over_uncached(self) -> float:
        return self._ratio("cached", "uncached")

    @property
    def cpu_ceiling_over_cached(self) -> float:
        return self.routes["ceiling"].cpu_us_per_request / self.routes["cached"].cpu_us_per_request

    @property
    def target_met(self) -> bool:
        return self.cached_over_ceiling >= TARGET


# -- load: wrk where installed, else our own generator ---------------------------------------------

def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


class PythonLoad:
    name = "bench.loadgen (Python, one connection per request)"

    def __init__(self, port: int, connections: int, max_requests: int) -> None:
        self.generator = LoadGenerator(port, connections)
        self.max_requests = max_requests

    def round(self, path: str, seconds: float) -> Round:
        result = self.generator.run(path, seconds, self.max_requests)
        ordered = sorted(result.latencies)
        return Round(result.rps, _percentile(ordered, 0.50) * 1000, _percentile(ordered, 0.99) * 1000,
                     result.requests, result.errors, result.first_error)

    def close(self) -> None:
        self.generator.close()


_WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _wrk_ms(text: str, label: str) -> float:
    match = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", text, re.MULTILINE)
    return float(match.group(1)) * _WRK_UNITS[match.group(2)] if match else float("nan")


class WrkLoad:
    name = "wrk"

    def __init__(self, port: int, connections: int, max_requests: int) -> None:
        self.port, self.connections = port, connections

    def round(self, path: str, seconds: float) -> Round:
        out = subprocess.run(
            ["wrk", "-t1", f"-c{self.connections}", f"-d{max(1, round(seconds))}s", "--latency",
             f"http://127.0.0.1:{self.port}{path}"],
            capture_output=True, text=True, timeout=seconds + 30,
        )
        if out.returncode != 0:
            raise BenchError(f"wrk failed: {out.stderr.strip()}")
        text = out.stdout
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
        requests = int(re.search(r"(\d+) requests in", text).group(1))
        non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
        errors = int(non_2xx.group(1)) if non_2xx else 0
        return Round(rps, _wrk_ms(text, "50%"), _wrk_ms(text, "99%"), requests, errors,
                     "non-2xx responses" if errors else "")

    def close(self) -> None:
        pass


def make_load(port: int, connections: int, max_requests: int, use_wrk: bool) -> PythonLoad | WrkLoad:
    if use_wrk and shutil.which("wrk"):
        return WrkLoad(port, connections, max_requests)
    return PythonLoad(port, connections, max_requests)


# -- server CPU, from /proc (Linux; elsewhere the column stays empty) ----------------------------------

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()  # fields from the 3rd (state) on


def process_tree_cpu(root_pids: list[int]) -> float:
    """CPU seconds (user + system) used so far by these processes and their children."""
    if not Path("/proc/self/stat").exists():
        return float("nan")
    parents = set(root_pids)
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        fields = _stat_fields(pid)
        if fields is None:
            continue
        if pid in parents or int(fields[1]) in parents:  # fields[1] is the parent pid
            total += (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime
    return total


# -- the server ------------------------------------------------------------------------------------------

class BenchServer:
    """gunicorn with `make run`'s command line, serving ``bench.wsgi``."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> None:
        stack._load_prctl()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                stack.web_server_args(self.port, self.env, BENCH_APP), env=self.env, cwd=ROOT,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, preexec_fn=functools.partial(stack._die_with_parent, signal.SIGTERM),
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"gunicorn exited with {self.process.returncode}; see {self.log_path}")
            try:
                status, _, _ = self.get("/healthz")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise BenchError(f"gunicorn did not answer /healthz within {timeout:.0f} s; see {self.log_path}")

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def server_env(database_url: str, redis: RedisServer) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        APP_ENV="production", SECRET_KEY=secrets.token_hex(16), DATABASE_URL=database_url,
        REDIS_URL=redis.url, CACHE_REDIS_URL=f"redis://127.0.0.1:{redis.port}/1", PYTHONUNBUFFERED="1",
    )
    return env


def seed(env: dict[str, str], posts: int) -> None:
    result = subprocess.run([sys.executable, "-m", "bench.seed", "--posts", str(posts)], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise BenchError(f"seeding {posts} posts failed:\n{result.stdout}{result.stderr}")


def check_routes(server: BenchServer, workload: Workload) -> int:
    """All three routes answer 200 with the same bytes, and the API's second answer is a cache hit."""
    bodies = {}
    for route in ROUTES:
        for _ in range(2):
            status, headers, body = server.get(workload.path(route))
            if status != 200:
                raise BenchError(f"{workload.path(route)} answered {status}: {body[:200]!r}")
        bodies[route] = body
        if route == "cached" and headers.get("X-Cache") != "HIT":
            raise BenchError(f"{workload.path(route)} was not a cache hit the second time: {headers}")
    if len(set(bodies.values())) != 1:
        raise BenchError(f"the three routes return different bytes for {workload.name}")
    page = json.loads(bodies["cached"])
    if page["total"] != workload.posts or len(page["items"]) != min(workload.per_page, workload.posts):
        raise BenchError(f"unexpected page for {workload.name}: total {page['total']}, {len(page['items'])} items")
    return len(bodies["cached"])


# -- one measurement ---------------------------------------------------------------------------------------

@dataclass
class Options:
    rounds: int
    seconds: float
    warmup: float
    connections: int
    max_requests: int
    use_wrk: bool


def measure(database: Database, workload: Workload, redis: RedisServer, work_dir: Path,
            options: Options) -> Result:
    Redis(port=redis.port).flushall()  # a fresh cache for a fresh database
    env = server_env(database.url, redis)
    seed(env, workload.posts)
    server = BenchServer(env, work_dir / "gunicorn.log")
    server.start()
    load = None
    try:
        body_bytes = check_routes(server, workload)
        load = make_load(server.port, options.connections, options.max_requests, options.use_wrk)
        for route in ROUTES:  # every worker fills its ceiling copy and warms its connections
            load.round(workload.path(route), options.warmup)
        figures = {route: RouteFigures() for route in ROUTES}
        server_pids = [server.process.pid, redis.process.pid]
        for n in range(options.rounds):
            order = ROUTES[n % 3:] + ROUTES[:n % 3]
            for route in order:
                cpu_before = process_tree_cpu(server_pids)
                measured = load.round(workload.path(route), options.seconds)
                measured.cpu_seconds = process_tree_cpu(server_pids) - cpu_before
                figures[route].rounds.append(measured)
        for route, f in figures.items():
            if f.errors:
                first = next(r.first_error for r in f.rounds if r.errors)
                raise BenchError(f"{f.errors} failed requests on {workload.path(route)} ({first})")
        return Result(database.label, workload, body_bytes, figures)
    finally:
        if load is not None:
            load.close()
        server.stop()


# -- output ---------------------------------------------------------------------------------------------------

def print_result(result: Result) -> None:
    w = result.workload
    print(f"\n{result.database}: {w.name} - GET /api/posts?per_page={w.per_page} "
          f"({result.body_bytes / 1024:.1f} KiB)")
    print(f"  {'route':<10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'requests':>10}{'CPU us/req':>12}")
    for route in ROUTES:
        f = result.routes[route]
        print(f"  {route:<10}{f.rps:>10.0f}{f.p50_ms:>10.2f}{f.p99_ms:>10.2f}{f.requests:>10}"
              f"{f.cpu_us_per_request:>12.0f}")
    verdict = "met" if result.target_met else "NOT met"
    print(f"  cached/ceiling {result.cached_over_ceiling:.2f} (target >= {TARGET}: {verdict})"
          f"   cached/uncached {result.cached_over_uncached:.1f}"
          f"   server CPU per request, ceiling/cached {result.cpu_ceiling_over_cached:.2f}")


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.cache_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per route (default 5)")
    parser.add_argument("--seconds", type=float, default=1.0, help="length of one round (default 1)")
    parser.add_argument("--warmup", type=float, default=0.3, help="warm-up per route (default 0.3 s)")
    parser.add_argument("--connections", type=int, default=0,
                        help="concurrent connections (default: twice the gunicorn workers)")
    parser.add_argument("--max-requests", type=int, default=200_000, help="cap on requests per round")
    parser.add_argument("--no-wrk", action="store_true", help="use the Python load generator even if wrk exists")
    args = parser.parse_args(argv)
    web_workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1)
    return Options(args.rounds, args.seconds, args.warmup, args.connections or 2 * web_workers,
                   args.max_requests, not args.no_wrk)


def main(argv: list[str] | None = None) -> int:
    """Run every database x workload; 0 when everything was measured (targets met or not), 1 on errors."""
    options = parse_args(argv)
    web_workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1)
    load_name = WrkLoad.name if options.use_wrk and shutil.which("wrk") else PythonLoad.name
    print(f"cache benchmark: gunicorn, {web_workers} gthread workers (as `make run`); load: {load_name}, "
          f"{options.connections} connections; {options.rounds} interleaved rounds of {options.seconds:g} s "
          f"per route; figures are medians over rounds, ratios medians of per-round ratios")
    results: list[Result] = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="filmclub-bench-") as tmp:
        work_dir = Path(tmp)
        with RedisServer(work_dir / "redis", appendonly=False) as redis:
            for database in databases(work_dir):
                try:
                    for workload in WORKLOADS:
                        result = measure(database, workload, redis, work_dir, options)
                        print_result(result)
                        results.append(result)
                except (BenchError, OSError, subprocess.SubprocessError) as exc:
                    failed = True
                    log = work_dir / "gunicorn.log"
                    tail = log.read_text(errors="replace")[-2000:] if log.is_file() else ""
                    print(f"\nERROR on {database.label}: {exc}\n{tail}", file=sys.stderr)
                finally:
                    database.drop()
    print("\ncache benchmark summary (target cached/ceiling >= 0.8):")
    for r in results:
        print(f"  {r.database:<11}{r.workload.name:<28}cached/ceiling {r.cached_over_ceiling:.2f} "
              f"{'met' if r.target_met else 'NOT met':<8} cached/uncached {r.cached_over_uncached:<6.1f}"
              f"(CPU per request: ceiling/cached {r.cpu_ceiling_over_cached:.2f})")
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
