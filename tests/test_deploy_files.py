"""systemd units, supervisor config, Dockerfile and compose file: checked against the app.

No Docker engine or systemd runs here: files are parsed (and `systemd-analyze verify`ed
where it exists) and their commands, signals, timeouts and environment compared with
the app's process commands, its settings and the init.d scripts. The container entry
point is a shell script and is run for real.
"""
from __future__ import annotations

import configparser
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from redis import Redis
from app.safe_jobs import JSONJob, JSONQueue
from deploy import procfile

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent

# --with-scheduler: rq's scheduler puts Retry(interval=...) jobs back on their queues.
WORKER_ARGS = ["NAME" if arg == "$WORKER_NAME" else arg for arg in procfile.load()["worker"]]  # the process table
SCHEDULER_ARGS = ["python", "-m", "scheduler", "--url", "$REDIS_URL", "--interval", "1"]
WORKER_STOP_SECONDS = 600  # longer than the longest job: the same in every launcher


def env_example_names() -> set[str]:
    return set(re.findall(r"^([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M))


def normalise(args: list[str]) -> list[str]:
    """Comparable form: bare program names, $REDIS_URL however spelled, NAME for worker names."""
    out = [Path(a).name if i == 0 else a for i, a in enumerate(args)]
    out = ["$REDIS_URL" if a in ("${REDIS_URL}", "$${REDIS_URL}", "$REDIS_URL") else a for a in out]
    if "--name" in out:
        out[out.index("--name") + 1] = "NAME"
    return out


def sh_c(command: list[str]) -> list[str]:
    """The command a `/bin/sh -c 'exec ...'` wrapper runs."""
    if Path(command[0]).name == "sh" and command[1] == "-c":
        inner = shlex.split(command[2])
        assert inner[0] == "exec", "the wrapper must exec, so signals reach the program itself"
        return inner[1:]
    return command


# --- systemd ----------------------------------------------------------------------------

SYSTEMD = DEPLOY / "systemd"


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(SYSTEMD / name)
    return parser


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="no systemd-analyze on this machine")
def test_systemd_units_pass_systemd_analyze_verify(tmp_path):
    """Verified with their paths pointed at this checkout (verify checks that binaries exist)."""
    for path in SYSTEMD.glob("*.service"):
        text = path.read_text().replace("/opt/filmclub/.venv/bin", str(BIN)).replace("/opt/filmclub", str(ROOT))
        (tmp_path / path.name).write_text(text)
    shutil.copy(SYSTEMD / "filmclub.target", tmp_path)
    names = ["filmclub.target", "filmclub-web.service", "filmclub-scheduler.service", "filmclub-worker@1.service"]
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", *[str(tmp_path / n) for n in names]],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout + result.stderr == "", result.stdout + result.stderr


def test_systemd_worker_stops_warm_and_waits_for_the_longest_job():
    service = unit("filmclub-worker@.service")["Service"]
    assert service["KillSignal"] == "SIGTERM"
    assert service["KillMode"] == "mixed", "control-group mode would SIGTERM the work horse mid-job"
    assert int(service["TimeoutStopSec"]) == WORKER_STOP_SECONDS
    assert service["Restart"] == "always"
    assert normalise(sh_c(shlex.split(service["ExecStart"]))) == WORKER_ARGS


def test_systemd_units_share_the_env_file_and_the_target_and_run_the_apps_commands():
    for name in ("filmclub-web.service", "filmclub-worker@.service", "filmclub-scheduler.service"):
        parsed = unit(name)
        assert parsed["Service"]["EnvironmentFile"] == "/etc/filmclub/env"
        assert parsed["Service"]["User"] == "filmclub" and parsed["Service"]["Restart"] in ("always", "on-failure")
        assert parsed["Unit"]["PartOf"] == "filmclub.target"
        assert parsed["Install"]["WantedBy"] == "filmclub.target"
        assert int(parsed["Service"]["TimeoutStopSec"]) > 0
    web = shlex.split(unit("filmclub-web.service")["Service"]["ExecStart"])
    assert Path(web[0]).name == "gunicorn" and web[-1] == "app:create_app()"
    assert web[1:4] == ["--config", "/opt/filmclub/deploy/gunicorn.conf.py", "--bind"]
    assert unit("filmclub-web.service")["Service"]["ExecStartPre"].endswith("flask check-redis")
    scheduler = shlex.split(unit("filmclub-scheduler.service")["Service"]["ExecStart"])
    assert normalise(scheduler) == SCHEDULER_ARGS
    assert unit("filmclub.target")["Install"]["WantedBy"] == "multi-user.target"


def test_tmpfiles_create_the_run_and_log_directories_for_the_service_user():
    entries = [line.split() for line in (SYSTEMD / "filmclub.tmpfiles.conf").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    by_path = {e[1]: e for e in entries}
    for path in ("/run/filmclub", "/var/log/filmclub"):
        kind, _, mode, user, group, _ = by_path[path]
        assert kind == "d" and user == group == "filmclub" and mode.startswith("07")
    # gunicorn's heartbeat files go to the tmpfs run directory.
    assert "--worker-tmp-dir /run/filmclub" in unit("filmclub-web.service")["Service"]["ExecStart"]


# --- supervisor ---------------------------------------------------------------------------

def supervisor(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(DEPLOY / "supervisor" / name)
    return parser


def test_supervisor_runs_the_apps_commands_with_rq_friendly_stop_settings():
    conf = supervisor("filmclub.conf")
    assert conf["group:filmclub"]["programs"] == "web,worker,scheduler"
    worker = conf["program:worker"]
    assert normalise(sh_c(shlex.split(worker["command"]))) == WORKER_ARGS
    assert "$$" in worker["command"], "worker names must be unique per start (the pid)"
    assert int(worker["numprocs"]) >= 2 and "%(process_num)" in worker["process_name"]
    assert int(worker["stopwaitsecs"]) == WORKER_STOP_SECONDS
    scheduler = sh_c(shlex.split(conf["program:scheduler"]["command"]))
    assert scheduler[0] == "${SCHEDULER_PROGRAM:-python" and scheduler[3:] == SCHEDULER_ARGS[3:]
    web = sh_c(shlex.split(conf["program:web"]["command"]))
    assert web[:3] == ["gunicorn", "--config", "deploy/gunicorn.conf.py"] and web[-1] == "app:create_app()"
    for name in ("web", "worker", "scheduler"):
        program = conf[f"program:{name}"]
        assert program["stopsignal"] == "TERM"
        assert program["stopasgroup"] == program["killasgroup"] == "true"
        assert program["autorestart"] == "true"
    assert int(conf["program:web"]["priority"]) < int(worker["priority"]) < int(conf["program:scheduler"]["priority"])


def test_supervisor_and_systemd_restart_dead_processes_and_never_give_up():
    """A process that dies is started again; one that dies at once (a worker started while the queue
    Redis is down) is retried until it stays up, not left FATAL or failed after a few tries."""
    for name in ("filmclub-web.service", "filmclub-worker@.service", "filmclub-scheduler.service"):
        parsed = unit(name)
        assert parsed["Service"]["Restart"] in ("always", "on-failure") and float(parsed["Service"]["RestartSec"]) > 0
        assert parsed["Unit"]["StartLimitIntervalSec"] == "0", name
    for name, conf in (("filmclub.conf", supervisor("filmclub.conf")),
                       ("filmclub-dev.conf", supervisor("filmclub-dev.conf"))):
        programs = [section for section in conf.sections() if section.startswith("program:")]
        assert programs, name
        for section in programs:
            assert conf[section]["autorestart"] == "true", (name, section)
            assert int(conf[section]["startretries"]) >= 100, (name, section)


def test_supervisor_dev_config_adds_a_queue_redis_and_the_mail_catcher():
    conf = supervisor("filmclub-dev.conf")
    assert conf["include"]["files"] == "filmclub.conf"
    assert conf["supervisord"]["nodaemon"] == "true"
    redis = shlex.split(conf["program:redis"]["command"])
    assert redis[0] == "redis-server"
    assert redis[redis.index("--appendonly") + 1] == "yes"
    assert redis[redis.index("--maxmemory-policy") + 1] == "noeviction"
    assert shlex.split(conf["program:mail"]["command"])[:3] == ["python", "-m", "deploy.local.mail_catcher"]
    assert int(conf["program:redis"]["priority"]) < int(supervisor("filmclub.conf")["program:web"]["priority"])


# --- Docker -------------------------------------------------------------------------------

DOCKER = DEPLOY / "docker"
APP_SERVICES = ("web", "worker", "scheduler")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DOCKER / "docker-compose.yml").read_text())


def entrypoint_roles() -> set[str]:
    text = (DOCKER / "entrypoint.sh").read_text()
    return set(re.findall(r"^    ([a-z-]+)\)$", text, re.M))


def test_compose_has_a_persistent_noeviction_queue_redis_and_an_lru_cache(compose):
    services = compose["services"]
    assert {"redis-queue", "redis-cache", "web", "worker", "scheduler", "mail", "db", "dev"} <= set(services)
    queue = services["redis-queue"]["command"]
    assert queue[queue.index("--appendonly") + 1] == "yes"
    assert queue[queue.index("--requirepass") + 1].startswith("${QUEUE_REDIS_PASSWORD:?")
    assert queue[queue.index("--maxmemory-policy") + 1] == "noeviction"
    assert any(v.endswith(":/data") for v in services["redis-queue"]["volumes"])
    cache = services["redis-cache"]["command"]
    assert cache[cache.index("--maxmemory-policy") + 1] == "allkeys-lru"


def test_compose_app_services_run_entrypoint_roles_with_settings_the_app_knows(compose):
    services = compose["services"]
    known = env_example_names()
    for name in APP_SERVICES:
        service = services[name]
        assert service["command"][0] in entrypoint_roles()
        assert service["build"]["target"] == "runtime" and service["init"] is True
        env = service["environment"]
        assert set(env) <= known, f"{name}: {set(env) - known} not in .env.example"
        assert env["REDIS_URL"].startswith("redis://:${QUEUE_REDIS_PASSWORD:?") and "@redis-queue:6379/" in env["REDIS_URL"]
        assert env["CACHE_REDIS_URL"].startswith("redis://redis-cache:")
        assert env["MAIL_SERVER"] in services and "@db:" in env["DATABASE_URL"]
        assert set(service["depends_on"]) <= set(services)
    assert services["worker"]["stop_grace_period"] == f"{WORKER_STOP_SECONDS}s"
    assert services["dev"]["command"] == ["dev-all-in-one"] and services["dev"]["build"]["target"] == "dev"
    mail = services["mail"]["command"]
    assert mail[:3] == ["python", "-m", "deploy.local.mail_catcher"]
    assert services["web"]["environment"]["MAIL_PORT"] == mail[mail.index("--port") + 1]


def test_every_setting_the_app_reads_is_documented_in_env_example():
    from app.config import Settings

    assert set(Settings.model_fields) - env_example_names() == set()


def test_dockerfile_is_multi_stage_and_runs_as_a_non_root_user():
    text = (DOCKER / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)(?: AS (\S+))?$", text, re.M)
    names = [name for _, name in stages]
    assert {"build", "runtime", "dev"} <= set(names) and len(stages) >= 3
    assert all(":" in image or image in names for image, _ in stages), "base images must carry a tag"
    for stage in re.split(r"^FROM ", text, flags=re.M)[1:]:
        name = stage.split()[2] if " AS " in stage.splitlines()[0] else ""
        if name in ("runtime", "dev"):
            users = re.findall(r"^USER (\S+)$", stage, re.M)
            assert users and users[-1].split(":")[0] not in ("root", "0"), f"{name} ends as root"
    assert 'ENTRYPOINT ["/app/deploy/docker/entrypoint.sh"]' in text
    assert os.access(DOCKER / "entrypoint.sh", os.X_OK)
    for source in re.findall(r"^COPY (?!--from)(?:--\S+ )*(.+) \S+$", text, re.M):
        for item in source.split():
            assert (ROOT / item).exists(), f"COPY {item}: not in the repository"
    ignored = (DOCKER / "Dockerfile.dockerignore").read_text().split()
    assert ".venv" in ignored and "var" in ignored and ".git" in ignored


def test_entrypoint_migrates_then_runs_a_worker_that_processes_jobs(tmp_path, redis_url):
    """The entry point run for real (outside a container): `migrate`, then `worker --burst`."""
    database = tmp_path / "app.db"
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "APP_HOME": str(ROOT), "APP_ENV": "production", "SECRET_KEY": "x",
           "REDIS_URL": redis_url, "DATABASE_URL": f"sqlite:///{database}", "HOME": str(tmp_path)}
    migrate = subprocess.run([str(DOCKER / "entrypoint.sh"), "migrate"], env=env, capture_output=True, text=True,
                             timeout=60)
    assert migrate.returncode == 0, migrate.stderr
    import sqlite3

    with sqlite3.connect(database) as db:
        assert db.execute("SELECT count(*) FROM alembic_version").fetchone()[0] == 1
    with Redis.from_url(redis_url) as connection:
        job = JSONQueue("low", connection=connection).enqueue("jobs.maintenance.ping", "docker", job_id="ping-docker")
        worker = subprocess.run([str(DOCKER / "entrypoint.sh"), "worker", "--burst"], env=env, capture_output=True,
                                text=True, timeout=60)
        assert worker.returncode == 0, worker.stderr
        assert JSONJob.fetch(job.id, connection=connection).return_value().startswith("pong docker")


def test_entrypoint_refuses_a_worker_without_redis_url(tmp_path):
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "APP_HOME": str(ROOT)}
    result = subprocess.run([str(DOCKER / "entrypoint.sh"), "worker"], env=env, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 64 and "REDIS_URL is not set" in result.stderr


def test_worker_stop_timeout_is_the_same_in_every_launcher():
    initd = re.search(r":=(\d+)\}", next(line for line in (DEPLOY / "init.d" / "filmclub-worker").read_text()
                                         .splitlines() if "WORKER_STOP_TIMEOUT:=" in line)).group(1)
    assert int(initd) == WORKER_STOP_SECONDS


@pytest.mark.slow
def test_supervisord_runs_the_dev_container_processes_and_stops_them_all(tmp_path):
    """deploy/supervisor/filmclub-dev.conf under a real supervisord, on free ports."""
    from deploy.local.redis_server import find_redis_binary, free_port

    if not (BIN / "supervisord").exists():
        pytest.fail("supervisord is missing: pip install -r requirements-dev.txt")
    redis_port, mail_port, web_port = free_port(), free_port(), free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    (tmp_path / "redis").mkdir()
    env = {"PATH": f"{BIN}:{Path(find_redis_binary()).parent}:/usr/bin:/bin", "APP_HOME": str(ROOT),
           "DEV_DATA_DIR": str(tmp_path), "DEV_REDIS_PORT": str(redis_port), "REDIS_URL": redis_url,
           "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(mail_port), "DEV_MAIL_DIR": str(tmp_path / "mail"),
           "WEB_BIND": f"127.0.0.1:{web_port}", "SCHEDULER_PROGRAM": "rqscheduler", "APP_ENV": "production",
           "SECRET_KEY": "x", "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}", "HOME": str(tmp_path)}
    conf = DEPLOY / "supervisor" / "filmclub-dev.conf"
    with (tmp_path / "out.log").open("wb") as out:
        supervisord = subprocess.Popen([str(BIN / "supervisord"), "--nodaemon", "-c", str(conf)], env=env,
                                       cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        def status() -> dict[str, str]:
            result = subprocess.run([str(BIN / "supervisorctl"), "-c", str(conf), "status"], env=env,
                                    capture_output=True, text=True)
            return {line.split()[0]: line.split()[1] for line in result.stdout.splitlines() if line.strip()}

        expected = {"redis", "mail", "filmclub:web", "filmclub:worker1", "filmclub:worker2", "filmclub:scheduler"}
        deadline = time.monotonic() + 120
        while not (set(status()) == expected and set(status().values()) == {"RUNNING"}):
            assert time.monotonic() < deadline, f"{status()}\n{(tmp_path / 'out.log').read_text()[-3000:]}"
            time.sleep(0.2)
        with Redis.from_url(redis_url) as connection:
            assert connection.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
            job = JSONQueue("default", connection=connection).enqueue("jobs.maintenance.ping", "sv", job_id="ping-sv")
            deadline = time.monotonic() + 120
            while not JSONJob.fetch(job.id, connection=connection).is_finished:
                assert time.monotonic() < deadline, (tmp_path / "out.log").read_text()[-3000:]
                time.sleep(0.1)
        pids = [int(p) for p in subprocess.run([str(BIN / "supervisorctl"), "-c", str(conf), "pid", "all"],
                                               env=env, capture_output=True, text=True).stdout.split()]
        assert len(pids) == len(expected)
    finally:
        supervisord.terminate()
        supervisord.wait(timeout=60)
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "State:\tZ" in Path(f"/proc/{pid}/status").read_text()


# --- nginx ----------------------------------------------------------------------------------

def test_compose_proxy_serves_the_shipped_nginx_config_in_front_of_the_only_published_port(compose):
    services = compose["services"]
    proxy = services["proxy"]
    source = proxy["volumes"][0].split(":")[0]
    assert (DOCKER / source).resolve() == DEPLOY / "nginx" / "filmclub.conf"
    assert [s for s, d in services.items() if d.get("ports")] == ["proxy"] + (["dev"] if "dev" in services else [])
    assert services["web"]["deploy"]["replicas"] >= 2


def test_nginx_limits_bodies_like_the_app_and_retries_only_unsent_requests():
    text = (DEPLOY / "nginx" / "filmclub.conf").read_text()
    from app.config import Config

    limit = int(re.search(r"^\s*client_max_body_size (\d+)m;", text, re.M).group(1)) * 1024 * 1024
    assert limit == Config.from_env({"APP_ENV": "testing"}).MAX_CONTENT_LENGTH
    for setting in ("client_header_timeout", "client_body_timeout", "proxy_request_buffering on",
                    "proxy_buffering on", "proxy_next_upstream error timeout;"):
        assert re.search(rf"^\s*{setting}", text, re.M), setting
    assert "non_idempotent" not in text   # a POST that reached a replica is never sent twice
