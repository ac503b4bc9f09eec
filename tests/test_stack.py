"""`make run`'s launcher, run for real: it serves, sends mail, restarts what dies, and leaves no process behind.

Each test starts ``python -m deploy.local.stack`` with its own state directory
(FILMCLUB_VAR_DIR), so nothing is written to the repository's var/. Every
process the launcher starts inherits that variable, which is how the tests
find them all (gunicorn's workers, RQ's work horses included) in /proc.
"""
from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from deploy.local.redis_server import port_in_use
from tests.helpers.processes import Launcher, alive, children_of, processes_using, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds processes through /proc (Linux)"),
]



@pytest.fixture
def launcher(tmp_path):
    started = Launcher(tmp_path)
    yield started
    started.cleanup()


# The launcher, the mail catcher, gunicorn's master and its worker, one RQ worker, the
# scheduler (the embedded redis-server rewrites its environment: looked for by its port).
PROCESSES_AT_LEAST = 6


def sign_up(launcher: Launcher, email: str, phone: str = "010-5555-6666") -> None:
    status, body = launcher.request("POST", "/api/auth/signup",
                                    {"email": email, "name": "Newcomer", "password": "long-enough-1",
                                     "phone": phone, "channel": "email"})
    assert status == 201, body


def wait_for_mail_to(launcher: Launcher, address: str, timeout: float = 120) -> None:
    wait_for(lambda: address.encode() in launcher.request("GET", "/dev/mail")[1], timeout,
             message=lambda: f"mail to {address} in /dev/mail:\n{launcher.log()}")


def assert_stops_and_leaves_nothing(launcher: Launcher, stop_signal: int = signal.SIGTERM) -> None:
    redis_port = int(launcher.redis_url().rsplit(":", 1)[1].split("/")[0])
    assert launcher.stop(stop_signal) == 0, launcher.log()
    assert processes_using(launcher.var_dir) == {}, launcher.log()
    assert not port_in_use(redis_port), "the embedded redis-server was left running"
    assert not (launcher.var_dir / "run" / "services.env").exists()


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_launcher_serves_mails_and_stops_everything(launcher, stop_signal):
    health = launcher.wait_until_healthy()
    assert health["status"] == "ok" and set(health["checks"].values()) == {"ok"}, health
    status, body = launcher.request("GET", "/api/posts")
    assert status == 200 and json.loads(body)["total"] > 0

    sign_up(launcher, "newcomer@example.com")
    wait_for_mail_to(launcher, "newcomer@example.com")
    caught = list((launcher.var_dir / "mail").glob("*.eml"))
    assert any(b"newcomer@example.com" in path.read_bytes() for path in caught)

    launcher.wait_for_children(PROCESSES_AT_LEAST)
    assert_stops_and_leaves_nothing(launcher, stop_signal)


def test_killed_launcher_leaves_no_children(launcher):
    launcher.wait_until_healthy()
    launcher.wait_for_children(PROCESSES_AT_LEAST)
    redis_port = int(launcher.redis_url().rsplit(":", 1)[1].split("/")[0])
    launcher.process.kill()  # SIGKILL: no handler runs; the kernel tells each child (PR_SET_PDEATHSIG)
    launcher.process.wait()
    wait_for(lambda: not processes_using(launcher.var_dir), 60,
             message=lambda: f"no process left: {processes_using(launcher.var_dir)}")
    wait_for(lambda: not port_in_use(redis_port), 60, message="the embedded redis-server to exit")


def test_launcher_keeps_its_state_in_the_var_dir_it_is_given(launcher):
    launcher.wait_until_healthy()
    assert (launcher.var_dir / "app.db").is_file()
    assert (launcher.var_dir / "redis").is_dir()
    assert (launcher.var_dir / "run" / "services.env").is_file()


def rq_workers(launcher: Launcher) -> dict[int, str]:
    """pid -> name of the RQ workers registered in the launcher's Redis."""
    from redis import Redis
    from rq import Worker

    with Redis.from_url(launcher.redis_url()) as connection:
        return {worker.pid: worker.name for worker in Worker.all(connection=connection)}


def test_a_killed_worker_is_restarted_and_its_scheduler_process_goes_with_it(launcher):
    """SIGKILL to a worker: the launcher logs it and starts another (the rest of the stack keeps
    running), and the RQ scheduler process the worker forked for --with-scheduler exits too."""
    launcher.wait_until_healthy()
    [worker] = wait_for(lambda: launcher.role_pids(r"rq worker"), message="the RQ worker")
    scheduler_child = wait_for(lambda: children_of(worker), message="the worker's --with-scheduler process")[0]
    others = {pid for pid in children_of(launcher.process.pid) if pid != worker}

    os.kill(worker, signal.SIGKILL)
    wait_for(lambda: not alive(scheduler_child), 30, message="the dead worker's scheduler process to exit")
    [restarted] = wait_for(lambda: [p for p in launcher.role_pids(r"rq worker") if p != worker], 90,
                           message=lambda: f"a new worker:\n{launcher.log()}")
    wait_for(lambda: restarted in rq_workers(launcher), 90, message=lambda: f"the new worker to register:\n"
             f"{launcher.log()}")
    assert launcher.process.poll() is None
    assert "worker.1 exited with -9" in launcher.full_log() and "restarting worker.1" in launcher.full_log()
    assert others <= set(children_of(launcher.process.pid)), "other processes were restarted too"
    wait_for(lambda: children_of(restarted), message="the new worker's scheduler process")

    sign_up(launcher, "after-the-kill@example.com")
    wait_for_mail_to(launcher, "after-the-kill@example.com")
    assert_stops_and_leaves_nothing(launcher)


def test_a_killed_scheduler_web_server_and_redis_are_restarted(launcher):
    launcher.wait_until_healthy()
    sign_up(launcher, "before@example.com")
    for pattern in (r"-m scheduler", r"gunicorn", r"redis-server"):
        [pid] = wait_for(lambda: launcher.role_pids(pattern), message=pattern)
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: [p for p in launcher.role_pids(pattern) if p != pid], 90,
                 message=lambda: f"{pattern} to be restarted:\n{launcher.log()}")
    launcher.wait_until_healthy()
    assert launcher.process.poll() is None
    sign_up(launcher, "after@example.com", phone="010-5555-7777")
    wait_for_mail_to(launcher, "after@example.com")
    wait_for_mail_to(launcher, "before@example.com")
    assert_stops_and_leaves_nothing(launcher)
