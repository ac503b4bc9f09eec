"""Production Redis (ElastiCache or any managed Redis), tested against local redis-servers.

TLS with a private CA, AUTH passwords and ACL users in percent-encoded URLs, the
start-up checks (eviction policy, CONFIG disabled, cluster mode), and failovers:
a restart under load and a demoted primary answering READONLY.
"""
from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

import pytest
from redis import Redis
from redis.exceptions import AuthenticationError, ConnectionError, ReadOnlyError

from app.safe_jobs import JSONQueue
from app.redis_checks import UnsupportedRedisError, check_queue_redis
from app.redis_clients import make_cache_redis, make_queue_redis, redact_url, retry_window
from deploy.local.redis_server import RedisServer, free_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@pytest.fixture
def private_redis(tmp_path):
    """Start redis-servers with extra arguments; all stopped after the test."""
    servers: list[RedisServer] = []

    def start(*extra: str, appendonly: bool = False, port: int | None = None) -> RedisServer:
        server = RedisServer(tmp_path / f"redis-{len(servers)}", port=port, appendonly=appendonly,
                             extra_args=list(extra)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def closing_later():
    """Register a Redis client to be closed after the test (no socket left to the garbage collector)."""
    clients: list[Redis] = []

    def register(client: Redis) -> Redis:
        clients.append(client)
        return client

    yield register
    for client in clients:
        client.close()


# --- TLS ------------------------------------------------------------------------

def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory) -> dict[str, Path]:
    """A private CA and a server certificate for DNS:localhost, made with the openssl CLI."""
    if not shutil.which("openssl"):
        pytest.skip("no openssl command to make a test certificate")
    d = tmp_path_factory.mktemp("tls")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=filmclub test CA",
             cwd=d)
    _openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost", cwd=d)
    (d / "san.ext").write_text("subjectAltName=DNS:localhost\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.crt", "-days", "2", "-extfile", "san.ext", cwd=d)
    return {"ca": d / "ca.crt", "cert": d / "server.crt", "key": d / "server.key"}


@pytest.fixture
def tls_redis(private_redis, tls_files) -> int:
    tls_port = free_port()
    private_redis("--tls-port", str(tls_port), "--tls-cert-file", str(tls_files["cert"]),
                  "--tls-key-file", str(tls_files["key"]), "--tls-ca-cert-file", str(tls_files["ca"]),
                  "--tls-auth-clients", "no")
    return tls_port


def test_rediss_url_verifies_the_server_certificate_against_the_configured_ca(tls_redis, tls_files):
    url = f"rediss://localhost:{tls_redis}/0"
    with make_queue_redis(url, tls_ca_file=str(tls_files["ca"])) as queue, \
            make_cache_redis(url, 1.0, tls_ca_file=str(tls_files["ca"])) as cache:
        assert queue.ping() and cache.ping()
        assert queue.connection_pool.connection_kwargs["ssl_cert_reqs"] == "required"


def test_rediss_url_with_ca_in_the_query_works_for_any_client(tls_redis, tls_files):
    """The form that also reaches `rq worker --url` and `rqscheduler --url`."""
    url = f"rediss://localhost:{tls_redis}/0?ssl_ca_certs={quote(str(tls_files['ca']))}"
    with Redis.from_url(url) as plain, make_queue_redis(url) as ours:
        assert plain.ping() and ours.ping()


def test_untrusted_certificate_fails_at_once_without_retrying(tls_redis):
    client = make_queue_redis(f"rediss://localhost:{tls_redis}/0")  # system CA store: our CA is unknown
    started = time.monotonic()
    with pytest.raises(ConnectionError, match="certificate verify failed"):
        client.ping()
    assert time.monotonic() - started < retry_window() / 2, "a certificate error must not wait through the retries"


def test_certificate_for_another_host_name_is_refused(tls_redis, tls_files):
    client = make_queue_redis(f"rediss://127.0.0.1:{tls_redis}/0", tls_ca_file=str(tls_files["ca"]))
    with pytest.raises(ConnectionError, match="certificate verify failed|match"):
        client.ping()


# --- AUTH and ACL users -----------------------------------------------------------------

def test_auth_token_and_acl_user_work_percent_encoded_and_bad_password_fails_fast(private_redis, closing_later):
    server = private_redis()
    token = "p@ss:w/rd%#?"  # every URL-reserved character an AUTH token may contain
    admin = closing_later(Redis(port=server.port))
    admin.acl_setuser("filmclub", enabled=True, passwords=[f"+{token}"], keys=["*"], channels=["*"],
                      commands=["+@all"])
    admin.config_set("requirepass", token)  # the default user's password (ElastiCache AUTH token)

    assert closing_later(make_queue_redis(f"redis://:{quote(token, safe='')}@127.0.0.1:{server.port}/0")).ping()
    user_url = f"redis://filmclub:{quote(token, safe='')}@127.0.0.1:{server.port}/0"
    client = closing_later(make_queue_redis(user_url))
    assert client.acl_whoami() == "filmclub"
    assert "***" in redact_url(user_url) and quote(token, safe="") not in redact_url(user_url)

    wrong = closing_later(make_queue_redis(f"redis://filmclub:wrong@127.0.0.1:{server.port}/0"))
    started = time.monotonic()
    with pytest.raises(AuthenticationError):
        wrong.ping()
    assert time.monotonic() - started < retry_window() / 2, "a wrong password must not be retried"


# --- start-up checks ------------------------------------------------------------------

def test_noeviction_queue_redis_passes_the_check(redis_server, caplog):
    with Redis(port=redis_server.port) as client:
        report = check_queue_redis(client)
    assert report.policy == "noeviction" and report.problems == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_evicting_policy_is_logged_as_an_error(private_redis, caplog):
    server = private_redis("--maxmemory-policy", "volatile-lru")  # ElastiCache's default parameter group
    with Redis(port=server.port) as client:
        report = check_queue_redis(client)
    assert report.policy == "volatile-lru"
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and "volatile-lru" in errors[0].getMessage() and "noeviction" in errors[0].getMessage()


def test_disabled_config_command_is_reported_not_fatal(private_redis, caplog):
    server = private_redis("--rename-command", "CONFIG", "")  # what ElastiCache does
    with Redis(port=server.port) as client:
        report = check_queue_redis(client)
    assert report.policy is None
    assert any("parameter group" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


@pytest.fixture(scope="module")
def cluster_redis(tmp_path_factory) -> Iterator[RedisServer]:
    """A single-node cluster-mode Redis (it takes about 2 s to report cluster_state:ok: shared)."""
    d = tmp_path_factory.mktemp("cluster")
    # The cluster bus defaults to port + 10000, past 65535 for most free ports: choose it.
    server = RedisServer(d, appendonly=False, extra_args=[
        "--cluster-enabled", "yes", "--cluster-config-file", str(d / "nodes.conf"),
        "--cluster-port", str(free_port())]).start()
    # One shard serving every slot: RQ even appears to work on it, until the cluster is resharded.
    admin = Redis(port=server.port)
    admin.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
    deadline = time.monotonic() + 60
    while b"cluster_state:ok" not in admin.execute_command("CLUSTER", "INFO"):
        assert time.monotonic() < deadline, "single-node cluster did not become ready"
        time.sleep(0.05)
    yield server
    server.stop()


def test_cluster_mode_stops_the_check_with_a_clear_message(cluster_redis):
    with Redis(port=cluster_redis.port) as client, \
            pytest.raises(UnsupportedRedisError, match="cluster mode.*RQ does not support"):
        check_queue_redis(client)


def test_worker_refuses_to_start_on_a_cluster_mode_redis(cluster_redis, tmp_path):
    env = {"APP_ENV": "production", "SECRET_KEY": "x", "REDIS_URL": cluster_redis.url,
           "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([str(BIN / "rq"), "worker", "--url", cluster_redis.url, "--worker-class",
                             "jobs.worker.AppSimpleWorker", "--burst", "high"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "cluster mode" in result.stderr and "RQ does not support" in result.stderr


def test_web_reports_cluster_mode_in_healthz(app_factory, cluster_redis):
    app = app_factory(REDIS_URL=cluster_redis.url)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["queue_redis"] == "down"  # why (cluster mode) is in the log


def test_check_redis_command_reports_and_fails_on_cluster(app_factory, cluster_redis):
    runner = app_factory().test_cli_runner()
    ok = runner.invoke(args=["check-redis"])
    assert ok.exit_code == 0, ok.output
    assert "maxmemory-policy noeviction" in ok.output and "cache Redis" in ok.output
    bad = app_factory(REDIS_URL=cluster_redis.url).test_cli_runner().invoke(args=["check-redis"])
    assert bad.exit_code == 1 and "cluster mode" in bad.output


# --- failover -------------------------------------------------------------------------------

class Load:
    """Calls ``op`` in a loop on a thread; records each call's duration and any error."""

    def __init__(self, op) -> None:
        self.op = op
        self.durations: list[float] = []
        self.errors: list[BaseException] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        n = 0
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                self.op(n)
            except Exception as exc:  # recorded and asserted on
                self.errors.append(exc)
            self.durations.append(time.monotonic() - started)
            n += 1
            time.sleep(0.01)

    def __enter__(self) -> "Load":
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


@pytest.mark.slow
def test_requests_ride_out_a_redis_restart_within_the_retry_window(app_factory, private_redis, redis_server,
                                                                    caplog):
    """Queue Redis restarted (AOF on) under sign-ups that enqueue the verification code: every request
    succeeds, every job is queued, none waits past the retry window."""
    queue_server = private_redis(appendonly=True)
    app = app_factory(REDIS_URL=queue_server.url, CACHE_REDIS_URL=f"{redis_server.url[:-2]}/1",
                      RATELIMIT_SIGNUP="100000 per minute", RATELIMIT_CODE_SEND="100000 per minute")

    def sign_up(n: int) -> None:
        response = app.test_client().post("/api/auth/signup", json={
            "email": f"member{n}@example.com", "name": f"Member {n}", "password": "correct-horse",
            "phone": f"010-{1000 + n % 9000:04d}-{n // 9000:04d}", "channel": "email"})
        assert response.status_code == 201, response.get_json()

    with Load(sign_up) as load:
        time.sleep(0.5)
        queue_server.stop()
        time.sleep(1.5)  # down for 1.5 s: connections refused
        queue_server.start()
        after_restart = len(load.durations)
        deadline = time.monotonic() + 120
        while len(load.durations) < after_restart + 5 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert load.errors == []
    assert not [r for r in caplog.records if "could not enqueue" in r.getMessage()]
    assert len(load.durations) >= after_restart + 5
    assert max(load.durations) > 1.0, "the outage was not under load"
    assert max(load.durations) < 2 * retry_window(), "a request waited past the retries"
    with Redis(port=queue_server.port) as check:
        assert JSONQueue("high", connection=check).count == len(load.durations)  # one code per sign-up


def test_healthz_does_not_wait_through_the_retries(app_factory):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{s.getsockname()[1]}/0"
    client = app_factory(REDIS_URL=dead).test_client()
    started = time.monotonic()
    assert client.get("/healthz").status_code == 503
    assert time.monotonic() - started < retry_window() / 2


@pytest.mark.slow
def test_writes_ride_out_a_demoted_primary_answering_readonly(private_redis, closing_later):
    primary, other = private_redis(), private_redis()
    client = closing_later(make_queue_redis(primary.url))
    queue = JSONQueue("default", connection=client)

    admin = closing_later(Redis(port=primary.port, retry=None))
    with Load(lambda n: queue.enqueue("jobs.maintenance.ping", str(n), job_id=f"ping-{n}")) as load:
        time.sleep(0.2)
        admin.replicaof("127.0.0.1", other.port)  # demoted, as in a failover
        time.sleep(0.2)
        with pytest.raises(ReadOnlyError):  # the condition really holds for a client without retries
            admin.set("probe", "1")
        time.sleep(2.0)  # long enough that the writer thread meets it, however busy the machine
        admin.replicaof("NO", "ONE")  # and promoted again
        time.sleep(0.3)
    assert load.errors == []
    assert max(load.durations) > 0.5, "no write waited through the READONLY period"
    last = len(load.durations) - 1
    assert queue.fetch_job(f"ping-{last}") is not None
