"""The post cache under load: uncached, cached and ceiling routes, side by side in one run.

Serves the app with gunicorn exactly as ``make run`` does (same command line:
gthread workers from deploy/gunicorn.conf.py, one per core unless WEB_CONCURRENCY), against a private
redis-server and a fresh database, and loads routes that return the same bytes:

* ``uncached``: the page built from the database on every request;
* ``cached``:   the real route (``/api/posts``, ``/posts/``), answered from the cache;
* ``ceiling``:  the same bytes from the worker's own memory, through the app;
* ``no_tracking``: ``/api/posts`` served by a second copy of the app whose cache
  Redis refuses ``CLIENT TRACKING`` (an ACL rule, as on servers that do not
  offer it), so the app takes whatever path it takes without tracking;
* ``bare``: the ceiling's bytes from a bare Flask app (``bench/bare_flask.py``),
  same gunicorn command line: what the whole app costs over Flask itself.

Workloads: the API's page of 50 and the HTML page of 20 with 10,000 posts in
the database, and the seed's case, the whole list of 1,000 posts, as JSON and
as HTML. The routes are measured in short rounds, interleaved (A B C, A C B...
rotated and reversed), each starting on an idle server; each figure is the
median over rounds and each ratio the median of the per-round ratios, so a
noisy neighbour slows all routes alike. The load generator's CPU share is
measured beside every figure (from /proc).
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
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from redis import Redis
from redis.exceptions import ResponseError

from bench.databases import Database, databases
from bench.loadgen import LoadGenerator
from bench.results import Results, required_target
from deploy.local import stack
from deploy.local.redis_server import RedisServer, free_port

ROOT = Path(__file__).resolve().parents[1]
BENCH_APP = "bench.wsgi:create_bench_app()"
BARE_APP = "bench.bare_flask:create_bare_app()"
CACHED_ROUTES = ("cached", "no_tracking")


class BenchError(RuntimeError):
    """The benchmark could not measure (a server did not start, requests failed, bodies differ)."""


@dataclass(frozen=True)
class Group:
    """Routes that answer with the same bytes, compared with each other."""
    name: str        # "api.page": the ratio names are cache.<name>.<db>
    kind: str        # "api" or "html"
    per_page: int
    label: str
    extras: tuple[str, ...] = ()  # "no_tracking", "bare"

    @property
    def routes(self) -> tuple[str, ...]:
        return ("uncached", "cached", "ceiling", *self.extras)

    def where(self, route: str) -> tuple[str, str]:
        """(server, path) of one route."""
        query = f"?per_page={self.per_page}"
        if self.kind == "api":
            paths = {"uncached": ("app", "/bench/uncached/posts"), "cached": ("app", "/api/posts"),
                     "ceiling": ("app", "/bench/ceiling/posts"), "no_tracking": ("no_tracking", "/api/posts"),
                     "bare": ("bare", "/bench/ceiling/posts")}
        else:
            paths = {"uncached": ("app", "/bench/uncached/html/posts"), "cached": ("app", "/posts/"),
                     "ceiling": ("app", "/bench/ceiling/html/posts")}
        server, path = paths[route]
        return server, path + query


@dataclass(frozen=True)
class Dataset:
    posts: int
    groups: tuple[Group, ...]


def make_datasets(quick: bool) -> tuple[Dataset, ...]:
    page_posts, all_posts = (1_000, 200) if quick else (10_000, 1_000)
    return (
        Dataset(page_posts, (
            Group("api.page", "api", 50, f"API page of 50, {page_posts:,} posts", ("no_tracking", "bare")),
            Group("html.page", "html", 20, f"HTML page of 20, {page_posts:,} posts"),
        )),
        Dataset(all_posts, (
            Group("api.all", "api", all_posts, f"API whole list, {all_posts:,} posts"),
            Group("html.all", "html", all_posts, f"HTML whole list, {all_posts:,} posts"),
        )),
    )


@dataclass
class Round:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    first_error: str = ""
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # the server's processes (gunicorn master and workers, its redis-server)
    load_cpu_seconds: float = 0.0  # the load generator's processes

    @property
    def load_share(self) -> float:
        """The load generator's share of the CPU that the round used (generator + server)."""
        total = self.cpu_seconds + self.load_cpu_seconds
        return self.load_cpu_seconds / total if total > 0 else float("nan")


@dataclass
class RouteFigures:
    rounds: list[Round] = field(default_factory=list)

    def _median(self, attribute: str) -> float:
        return statistics.median(getattr(r, attribute) for r in self.rounds)

    @property
    def rps(self) -> float:
        return self._median("rps")

    @property
    def p50_ms(self) -> float:
        return self._median("p50_ms")

    @property
    def p99_ms(self) -> float:
        return self._median("p99_ms")

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

    @property
    def load_share(self) -> float:
        """Over all rounds: the generator's CPU / (generator's + server's CPU)."""
        load = sum(r.load_cpu_seconds for r in self.rounds)
        total = load + sum(r.cpu_seconds for r in self.rounds)
        return load / total if total > 0 else float("nan")

    @property
    def load_core_percent(self) -> float:
        """The generator's CPU per second of load, in % of one core (wrk runs one thread: 100 % would be its limit)."""
        seconds = sum(r.seconds for r in self.rounds)
        return sum(r.load_cpu_seconds for r in self.rounds) / seconds * 100 if seconds else float("nan")


@dataclass
class GroupResult:
    database: str
    group: Group
    body_bytes: int
    routes: dict[str, RouteFigures]
    notes: dict[str, str] = field(default_factory=dict)  # route -> why it was not measured
    tracking: str = ""  # which connections had CLIENT TRACKING on, after the checks

    def ratio(self, route: str, other: str) -> float:
        """Median over rounds of the two routes' req/s ratio: each round measures them back to back,
        so a change in the machine's other load between rounds cancels out."""
        if route not in self.routes or other not in self.routes:
            return float("nan")
        pairs = zip(self.routes[route].rounds, self.routes[other].rounds)
        return statistics.median(a.rps / b.rps for a, b in pairs if b.rps)

    def cpu_ratio(self, route: str, other: str) -> float:
        return self.routes[route].cpu_us_per_request / self.routes[other].cpu_us_per_request


# -- load: wrk where installed, else our own generator ---------------------------------------------

def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


class PythonLoad:
    name = "bench.loadgen (Python, one connection per request)"

    def __init__(self, connections: int, max_requests: int) -> None:
        self.generator = LoadGenerator(0, connections)
        self.max_requests = max_requests

    def round(self, port: int, path: str, seconds: float) -> Round:
        cpu_before = process_tree_cpu(self.generator.pids)
        result = self.generator.run(path, seconds, self.max_requests, port=port)
        load_cpu = process_tree_cpu(self.generator.pids) - cpu_before
        ordered = sorted(result.latencies)
        return Round(result.rps, _percentile(ordered, 0.50) * 1000, _percentile(ordered, 0.99) * 1000,
                     result.requests, result.errors, result.first_error, result.seconds,
                     load_cpu_seconds=load_cpu)

    def close(self) -> None:
        self.generator.close()


_WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _wrk_ms(text: str, label: str) -> float:
    match = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", text, re.MULTILINE)
    return float(match.group(1)) * _WRK_UNITS[match.group(2)] if match else float("nan")


class WrkLoad:
    name = "wrk"

    def __init__(self, connections: int, max_requests: int) -> None:
        self.connections = connections

    def round(self, port: int, path: str, seconds: float) -> Round:
        args = ["wrk", "-t1", f"-c{self.connections}", f"-d{max(1, round(seconds))}s", "--timeout", "30s",
                "--latency", f"http://127.0.0.1:{port}{path}"]
        started = time.perf_counter()
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        watchdog = threading.Timer(seconds + 30, process.kill)
        watchdog.start()
        try:
            # Wait for the exit without reaping, so /proc/<pid>/stat still holds wrk's CPU times.
            os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
            wall = time.perf_counter() - started
            load_cpu = process_cpu(process.pid)
        finally:
            watchdog.cancel()
            stdout, stderr = process.communicate()  # wrk prints a few lines: the pipes never fill
        if process.returncode != 0:
            raise BenchError(f"wrk failed ({process.returncode}): {stderr.strip()}")
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", stdout).group(1))
        requests = int(re.search(r"(\d+) requests in", stdout).group(1))
        non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", stdout)
        socket_errors = re.search(r"Socket errors: connect (\d+), read \d+, write (\d+), timeout (\d+)", stdout)
        errors = int(non_2xx.group(1)) if non_2xx else 0
        if socket_errors:
            errors += sum(int(n) for n in socket_errors.groups())
        return Round(rps, _wrk_ms(stdout, "50%"), _wrk_ms(stdout, "99%"), requests, errors,
                     "non-2xx responses or socket errors" if errors else "", wall, load_cpu_seconds=load_cpu)

    def close(self) -> None:
        pass


def make_load(connections: int, max_requests: int, use_wrk: bool) -> PythonLoad | WrkLoad:
    if use_wrk and shutil.which("wrk"):
        return WrkLoad(connections, max_requests)
    return PythonLoad(connections, max_requests)


# -- CPU, from /proc (Linux; elsewhere the columns stay empty) ------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()  # fields from the 3rd (state) on


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) of one process, also once it has exited but is not reaped."""
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / _TICK if fields else float("nan")


def process_tree_cpu(root_pids: list[int]) -> float:
    """CPU seconds (user + system) used so far by these processes and their children.

    Children that have exited count too (the roots' ``cutime``/``cstime``, once reaped): a forking rq
    worker's work horses live for one job each.
    """
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
        if pid in parents:
            total += (int(fields[13]) + int(fields[14])) / _TICK  # cutime, cstime: reaped children
    return total


# -- the servers -----------------------------------------------------------------------------------------

class BenchServer:
    """gunicorn with `make run`'s command line, serving ``app_spec`` (the bench app unless told)."""

    def __init__(self, env: dict[str, str], log_path: Path, app_spec: str = BENCH_APP,
                 redis: RedisServer | None = None) -> None:
        self.port = free_port()
        self.env = env
        self.log_path = log_path
        self.app_spec = app_spec
        self.redis = redis
        self.process: subprocess.Popen | None = None

    @property
    def pids(self) -> list[int]:
        """Whose CPU counts as this server's: gunicorn (master, and workers as its children) and its Redis."""
        return [self.process.pid] + ([self.redis.process.pid] if self.redis else [])

    def start(self, timeout: float = 120.0) -> "BenchServer":
        """Start gunicorn and wait for /healthz (generously: on a machine at a load of 20 on two cores,
        importing the app in two workers took more than 30 s)."""
        stack._load_prctl()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                stack.web_server_args(self.port, self.env, self.app_spec), env=self.env, cwd=ROOT,
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
                    return self
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


def server_env(database_url: str, redis: RedisServer, cache_redis: RedisServer | None = None) -> dict[str, str]:
    env = dict(os.environ)
    cache = cache_redis or redis
    env.update(
        APP_ENV="production", SECRET_KEY=secrets.token_hex(16), DATABASE_URL=database_url,
        REDIS_URL=redis.url, CACHE_REDIS_URL=f"redis://127.0.0.1:{cache.port}/1", PYTHONUNBUFFERED="1",
    )
    return env


def refuse_tracking(redis: RedisServer) -> None:
    """Make this Redis refuse CLIENT TRACKING (as servers without it do), and check that it does."""
    with Redis(port=redis.port) as client:
        client.execute_command("ACL", "SETUSER", "default", "-client|tracking")
        try:
            client.execute_command("CLIENT", "TRACKING", "ON")
        except ResponseError:
            return
        raise BenchError("the no-tracking Redis still accepts CLIENT TRACKING")


def wait_until_idle(pids: list[int], timeout: float = 30.0) -> float:
    """Wait until these processes use no CPU for 0.1 s; the seconds waited.

    When a round ends, wrk closes its connections but gunicorn's sync workers
    still answer the requests they had accepted: after a slow route (the whole
    list built from the database takes most of a second), that leftover work
    would eat into the next route's round and its CPU be counted there. So each
    round starts on an idle server.
    """
    began = time.monotonic()
    before = process_tree_cpu(pids)
    while time.monotonic() - began < timeout:
        time.sleep(0.1)
        now = process_tree_cpu(pids)
        if now - before < 0.005:  # less than a clock tick (10 ms) in 100 ms
            break
        before = now
    return time.monotonic() - began


def tracking_connections(redis: RedisServer) -> int:
    """Connections to this Redis with CLIENT TRACKING on (flag ``t``): which cache mode the app is in."""
    with Redis(port=redis.port) as client:
        return sum(1 for info in client.client_list() if "t" in info.get("flags", ""))


def seed(env: dict[str, str], posts: int) -> None:
    result = subprocess.run([sys.executable, "-m", "bench.seed", "--posts", str(posts)], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise BenchError(f"seeding {posts} posts failed:\n{result.stdout}{result.stderr}")


def check_group(servers: dict[str, BenchServer], group: Group, posts: int) -> tuple[bytes, str, dict[str, str]]:
    """Every route answers 200 with the same bytes, the cached ones from the cache the second time.

    Returns (body, content type, notes): the HTML ``uncached`` route renders the page as the view did when
    this was written; if the view has changed and the bytes differ, that route is left out with a note.
    """
    bodies, notes, content_type = {}, {}, ""
    for route in group.routes:
        server_name, path = group.where(route)
        if server_name not in servers:
            continue  # "bare" starts once the ceiling's bytes are known
        for _ in range(2):
            status, headers, body = servers[server_name].get(path)
            if status != 200:
                raise BenchError(f"{path} ({server_name}) answered {status}: {body[:200]!r}")
        if route in CACHED_ROUTES and headers.get("X-Cache") != "HIT":
            raise BenchError(f"{path} ({server_name}) was not a cache hit the second time: {headers}")
        if route == "ceiling":
            content_type = headers.get("Content-Type", "")
        bodies[route] = body
    reference = bodies["ceiling"]
    for route, body in bodies.items():
        if body == reference:
            continue
        if group.kind == "html" and route == "uncached":
            notes[route] = ("bench/wsgi.py renders the page differently from /posts/ now (the view changed): "
                            "update its uncached HTML route")
            continue
        raise BenchError(f"{group.label}: {route} returns different bytes from ceiling")
    if group.kind == "api":
        page = json.loads(reference)
        if page["total"] != posts or len(page["items"]) != min(group.per_page, posts):
            raise BenchError(f"unexpected page for {group.label}: total {page['total']}, {len(page['items'])} items")
    return reference, content_type, notes


# -- one measurement ---------------------------------------------------------------------------------------

@dataclass
class Options:
    rounds: int
    seconds: float
    warmup: float
    connections: int
    max_requests: int
    use_wrk: bool
    quick: bool


@dataclass
class Services:
    redis: RedisServer
    no_tracking_redis: RedisServer
    work_dir: Path


def measure(database: Database, dataset: Dataset, services: Services, options: Options) -> list[GroupResult]:
    """Seed the dataset, start the servers it needs, check every route, then load them in interleaved rounds."""
    for redis in (services.redis, services.no_tracking_redis):
        Redis(port=redis.port).flushall()  # a fresh cache for a fresh database
    env = server_env(database.url, services.redis)
    seed(env, dataset.posts)
    log = services.work_dir / "gunicorn.log"
    servers: dict[str, BenchServer] = {}
    load = None
    try:
        servers["app"] = BenchServer(env, log, redis=services.redis).start()
        if any("no_tracking" in g.extras for g in dataset.groups):
            nt_env = server_env(database.url, services.redis, services.no_tracking_redis)
            servers["no_tracking"] = BenchServer(nt_env, log, redis=services.no_tracking_redis).start()
        checked = {g.name: check_group(servers, g, dataset.posts) for g in dataset.groups}
        tracking = (f"connections with CLIENT TRACKING on: {tracking_connections(services.redis)} to the cache "
                    f"Redis, {tracking_connections(services.no_tracking_redis)} to the one that refuses it")
        for group in dataset.groups:
            if "bare" in group.extras:
                body, content_type, _ = checked[group.name]
                body_file = services.work_dir / f"bare-{group.name}.body"
                body_file.write_bytes(body)
                bare_env = dict(os.environ, BENCH_BARE_BODY=str(body_file),
                                BENCH_BARE_MIMETYPE=content_type.split(";")[0] or "application/json")
                servers["bare"] = BenchServer(bare_env, log, app_spec=BARE_APP).start()
                status, _, bare_body = servers["bare"].get(group.where("bare")[1])
                if status != 200 or bare_body != body:
                    raise BenchError(f"the bare Flask app does not answer with the ceiling's bytes ({status})")
        load = make_load(options.connections, options.max_requests, options.use_wrk)
        plan = [(g, route) for g in dataset.groups for route in g.routes if route not in checked[g.name][2]]
        for group, route in plan:  # every worker fills its ceiling copy and warms its connections
            server_name, path = group.where(route)
            load.round(servers[server_name].port, path, options.warmup)
            wait_until_idle(servers[server_name].pids)
        figures = {(g.name, route): RouteFigures() for g, route in plan}
        for n in range(options.rounds):
            shift = n % len(plan)
            order = plan[shift:] + plan[:shift]
            for group, route in (order if n % 2 == 0 else order[::-1]):  # no route always follows the same one
                server = servers[group.where(route)[0]]
                for other in servers.values():
                    wait_until_idle(other.pids)
                cpu_before = process_tree_cpu(server.pids)
                measured = load.round(server.port, group.where(route)[1], options.seconds)
                measured.cpu_seconds = process_tree_cpu(server.pids) - cpu_before
                figures[group.name, route].rounds.append(measured)
        for (name, route), f in figures.items():
            if f.errors:
                first = next(r.first_error for r in f.rounds if r.errors)
                raise BenchError(f"{f.errors} failed requests on {name} {route} ({first})")
        return [GroupResult(database.label, g, len(checked[g.name][0]),
                            {route: figures[g.name, route] for gg, route in plan if gg is g}, checked[g.name][2],
                            tracking)
                for g in dataset.groups]
    finally:
        if load is not None:
            load.close()
        for server in servers.values():
            server.stop()


# -- output ---------------------------------------------------------------------------------------------------

def db_key(label: str) -> str:
    return "sqlite" if label.lower().startswith("sqlite") else "postgresql"


def _load_note(result: GroupResult, *routes: str) -> str:
    shares = ", ".join(f"{route} {result.routes[route].load_share:.0%}" for route in routes if route in result.routes)
    return f"load generator's CPU share: {shares}"


def print_result(result: GroupResult) -> None:
    g = result.group
    print(f"\n{result.database}: {g.label} - {g.where('cached')[1]} ({result.body_bytes / 1024:.1f} KiB)")
    print(f"  {'route':<12}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'requests':>10}{'CPU us/req':>12}"
          f"{'load share':>12}{'load core':>11}")
    for route, f in result.routes.items():
        print(f"  {route:<12}{f.rps:>9.0f}{f.p50_ms:>9.2f}{f.p99_ms:>9.2f}{f.requests:>10}"
              f"{f.cpu_us_per_request:>12.0f}{f.load_share:>12.0%}{f.load_core_percent:>10.0f}%")
    for route, why in result.notes.items():
        print(f"  {route:<12}not measured: {why}")


def record(result: GroupResult, results: Results) -> list[str]:
    """Put this group's ratios in ``results``; the lines that print them."""
    db, g = db_key(result.database), result.group
    lines = []

    def add(name: str, value: float, target: float | None, label: str, *routes: str) -> None:
        note = _load_note(result, *routes) + ("; " + result.tracking if "no_tracking" in routes else "")
        ratio = results.add(name, value, target, note=note)
        verdict = "" if ratio.met is None else f" (target >= {target}: {'met' if ratio.met else 'NOT met'})"
        shown = "not measured" if ratio.value is None else f"{ratio.value:.2f}"
        lines.append(f"  {label} {shown}{verdict}   [{name}; {note}]")

    add(f"cache.{g.name}.{db}", result.ratio("cached", "ceiling"), required_target(f"cache.{g.name}"),
        "cached/ceiling", "cached", "ceiling")
    if "uncached" in result.routes:
        add(f"cache.{g.name}.cached_vs_uncached.{db}", result.ratio("cached", "uncached"), None,
            "cached/uncached", "cached", "uncached")
    else:
        results.not_measured(f"cache.{g.name}.cached_vs_uncached.{db}", None, result.notes["uncached"])
    if "no_tracking" in result.routes:
        add(f"cache.{g.name}.no_tracking.{db}", result.ratio("no_tracking", "ceiling"),
            required_target(f"cache.{g.name}.no_tracking"), "no tracking, cached/ceiling", "no_tracking", "ceiling")
    if "bare" in result.routes:
        add(f"app.ceiling_vs_bare_flask.{db}", result.ratio("ceiling", "bare"),
            required_target("app.ceiling_vs_bare_flask"), "ceiling/bare Flask", "ceiling", "bare")
    lines.append(f"  server CPU per request, ceiling/cached {result.cpu_ratio('ceiling', 'cached'):.2f}"
                 + (f", bare/ceiling {result.cpu_ratio('bare', 'ceiling'):.2f}" if "bare" in result.routes else ""))
    return lines


CACHE_NAMES = ("cache.api.page", "cache.api.all", "cache.html.page", "cache.html.all", "cache.api.page.no_tracking",
               "app.ceiling_vs_bare_flask")


def record_failure(results: Results, db: str, why: str) -> None:
    """The ratios this benchmark owes for ``db`` and did not measure: null, with the reason."""
    measured = results.names()
    for base in CACHE_NAMES:
        if f"{base}.{db}" not in measured:
            results.not_measured(f"{base}.{db}", required_target(base), why)


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.cache_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per route (default 5)")
    parser.add_argument("--seconds", type=float, default=1.0, help="length of one round (default 1; wrk: whole s)")
    parser.add_argument("--warmup", type=float, default=0.3, help="warm-up per route (default 0.3 s)")
    parser.add_argument("--connections", type=int, default=0,
                        help="concurrent connections (default: twice the gunicorn workers)")
    parser.add_argument("--max-requests", type=int, default=200_000, help="cap on requests per round")
    parser.add_argument("--no-wrk", action="store_true", help="use the Python load generator even if wrk exists")
    parser.add_argument("--quick", action="store_true", help="small datasets (1,000 and 200 posts)")
    args = parser.parse_args(argv)
    web_workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1)
    return Options(args.rounds, args.seconds, args.warmup, args.connections or 2 * web_workers,
                   args.max_requests, not args.no_wrk, args.quick)


def load_generator_name(use_wrk: bool) -> str:
    return WrkLoad.name if use_wrk and shutil.which("wrk") else PythonLoad.name


def main(argv: list[str] | None = None, results: Results | None = None) -> int:
    """Run every database x dataset; 0 when everything was measured (targets met or not), 1 on errors."""
    options = parse_args(argv)
    results = results if results is not None else Results()
    web_workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1)
    load_name = load_generator_name(options.use_wrk)
    if load_name != WrkLoad.name:
        print("WARNING: " + ("--no-wrk given" if not options.use_wrk else "wrk is not installed")
              + ": the load comes from the Python generator, which shares the cores with the server; read its "
              "CPU share beside each figure (make bench installs Debian's wrk when it can)", file=sys.stderr)
    print(f"cache benchmark: gunicorn, {web_workers} gthread workers (as `make run`); load: {load_name}, "
          f"{options.connections} connections; {options.rounds} interleaved rounds of {options.seconds:g} s "
          f"per route; figures are medians over rounds, ratios medians of per-round ratios; "
          f"load share = the generator's CPU / (generator + server), load core = its CPU in % of one core")
    summary: list[str] = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="filmclub-bench-") as tmp:
        work_dir = Path(tmp)
        with RedisServer(work_dir / "redis", appendonly=False) as redis, \
                RedisServer(work_dir / "redis-no-tracking", appendonly=False) as no_tracking_redis:
            refuse_tracking(no_tracking_redis)
            services = Services(redis, no_tracking_redis, work_dir)
            for database in databases(work_dir):
                try:
                    for dataset in make_datasets(options.quick):
                        for result in measure(database, dataset, services, options):
                            print_result(result)
                            lines = record(result, results)
                            print("\n".join(lines))
                            summary.append(f" {result.database}, {result.group.label}:")
                            summary.extend(lines)
                except (BenchError, OSError, subprocess.SubprocessError) as exc:
                    failed = True
                    log = work_dir / "gunicorn.log"
                    tail = log.read_text(errors="replace")[-2000:] if log.is_file() else ""
                    print(f"\nERROR on {database.label}: {exc}\n{tail}", file=sys.stderr)
                    record_failure(results, db_key(database.label), f"the cache benchmark failed on "
                                                                    f"{database.label}: {exc}")
                finally:
                    database.drop()
    print("\ncache benchmark summary:")
    print("\n".join(summary))
    return 1 if failed or not summary else 0


if __name__ == "__main__":
    sys.exit(main())
