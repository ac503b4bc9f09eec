"""Drills across hosts: take a host of the topology away mid-send and count what arrived.

Run in this order by `make test-containers` after the smoke test (one topology for all):
2 (the seed's counterexample: the broker inside the web container), 1 (a web host autoscaled away),
3 (a worker host SIGKILLed), 4 (the queue Redis restarted with its AOF, then back empty), 6 (a failover to a
replica; the promoted replica is the queue Redis for what follows).
Each prints its counts; the assertions hold the guarantees (nothing lost, at most one duplicate per
killed worker), never a time.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from pathlib import Path

import pytest

from tests.containers.conftest import add_members
from tests.containers.drills import (CODE_MAIL, Outcome, SignUps, code_mail_counts, pending_in, remove_container,
                                     settle, subject, wait_for_all, wait_for_share)
from tests.containers.topology import LABEL, podman
from tests.helpers.processes import wait_for

MEMBERS = int(os.environ.get("DRILL_MEMBERS", "2000"))
SIGNUPS = int(os.environ.get("DRILL_SIGNUPS", "40"))
_results: dict[str, Outcome] = {}


@pytest.fixture(scope="module")
def members(topology):
    return add_members(topology, MEMBERS, "members.drill.example")


def _line(outcome: Outcome) -> str:
    span = (outcome.last_arrival - outcome.started) if outcome.last_arrival else float("nan")
    return (f"{outcome.recipients} accepted, {outcome.delivered} delivered, {outcome.missing} lost, "
            f"{outcome.duplicates} twice; last arrival {span:.1f} s after the announcement")


# --- drill 2 (first half): the broker inside the web container -------------------------------------
AIO_PORT = 5000


def _aio(topology, name: str, *command: str, check: bool = True):
    return podman("exec", "-w", "/app", name, *command, check=check, timeout=300)


def _aio_healthy(topology, name: str) -> bool:
    probe = _aio(topology, name, "python", "-c",
                 f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{AIO_PORT}/healthz', timeout=5)",
                 check=False)
    return probe.returncode == 0


def test_drill_2_the_seeds_counterexample_loses_what_its_broker_held(topology, mail, figures):
    """One container holding web, Redis, workers and scheduler (`make run` in the runtime image, the
    seed's "everything on the web host"), its database outside (the topology's PostgreSQL, its own
    database). Removed mid-send, the jobs in its Redis go with it."""
    name = f"{topology.project}_allinone"
    topology.exec("db", "createdb", "-U", "filmclub", "allinone")
    podman("run", "-d", "--name", name, "--label", f"{LABEL}={topology.project}",
           "--network", f"{topology.project}_default", "--init",
           "-e", "APP_ENV=development", "-e", "FILMCLUB_VAR_DIR=/app/var/allinone",
           "-e", "DATABASE_URL=postgresql://filmclub:filmclub@db:5432/allinone",
           "-e", "MAIL_SERVER=mail", "-e", "MAIL_PORT=1025", "-e", "WORKERS=2", "-e", "WEB_CONCURRENCY=2",
           "-e", f"PORT={AIO_PORT}", "--entrypoint", "python", topology.image, "-m", "deploy.local.stack")
    wait_for(lambda: _aio_healthy(topology, name), timeout=300, interval=2,
             message=lambda: f"the all-in-one container's web server: {topology.logs(name, 30)}")
    topology.exec("db", "psql", "-U", "filmclub", "-d", "allinone", "-tAqc",
                  "INSERT INTO users (email, name, is_admin, created_at, email_verified_at, notification_channel) "
                  f"SELECT 'm' || g || '@members.drill.example', 'member ' || g, false, now(), now(), 'email' "
                  f"FROM generate_series(1, {MEMBERS}) g")
    password = secrets.token_hex(12)
    _aio(topology, name, "flask", "create-admin", "admin@drill.example", "--password", password)
    subject_ = subject("2 all-in-one")
    started = time.time()
    reply = _aio(topology, name, "python", "-m", "tests.containers.club_client", "announce",
                 f"http://127.0.0.1:{AIO_PORT}", "admin@drill.example", password, subject_).stdout
    announcement = json.loads(reply)
    wait_for_share(mail, subject_, announcement["recipient_count"], 0.05)
    removed_at = remove_container(name)
    outcome = settle(mail, subject_, announcement["recipient_count"], started, quiet=20)
    left = pending_in(topology, "allinone", announcement["id"])
    _results["all-in-one"] = outcome
    figures.add(f"drill 2, all-in-one container removed {removed_at - started:.1f} s into the send: "
                f"{_line(outcome)}; {left} still unsent in its database, with no process left to send them")
    assert outcome.missing > 0 and left >= outcome.missing, "the all-in-one removal lost nothing: no counterexample"


# --- drill 1: a web host autoscaled away --------------------------------------------------------------
def test_drill_1_a_web_host_removed_mid_load_loses_nothing(topology, mail, admin, members, figures):
    webs = topology.containers("web")
    assert len(webs) >= 2, "drill 1 needs two web replicas"
    signups = SignUps(topology.base_url, SIGNUPS).start()
    subject_ = subject("1 web removed")
    started = time.time()
    announcement = admin.announce(subject_)
    wait_for_share(mail, subject_, announcement["recipient_count"], 0.05)
    wait_for(lambda: signups.done() >= SIGNUPS // 4, timeout=300, message="a quarter of the sign-ups")
    removed_at = remove_container(webs[-1])
    signups.join()
    outcome = wait_for_all(mail, subject_, announcement["recipient_count"], started)
    accepted = signups.accepted
    wait_for(lambda: all(code_mail_counts(mail, accepted).values()), timeout=300,
             message=lambda: f"code mails: {sorted(code_mail_counts(mail, accepted).items())[:5]}")
    settle(mail, CODE_MAIL, len(accepted), started, quiet=3)   # late duplicates would show by now
    codes = code_mail_counts(mail, accepted)
    _results["topology"] = outcome
    figures.add(f"drill 1, web container {webs[-1]} removed {removed_at - started:.1f} s into the send: "
                f"sign-ups {len(signups.results)} sent, {len(accepted)} accepted, {len(signups.refused)} refused "
                f"{signups.refused[:3]}; code mails {sum(1 for n in codes.values() if n)} of {len(accepted)}, "
                f"{sum(n - 1 for n in codes.values() if n > 1)} twice; announcement: {_line(outcome)}")
    if "all-in-one" in _results:
        aio = _results["all-in-one"]
        figures.add(f"drill 2, side by side ({MEMBERS} members, host removed mid-send): all-in-one lost "
                    f"{aio.missing} of {aio.recipients}; topology lost {outcome.missing} of {outcome.recipients}")
    # Sign-ups refused with a status (not an exception) are printed, not asserted: a POST that was in the
    # leaving gunicorn's listen queue when it stopped is reset, and nginx does not re-send a POST that
    # reached a server (README "How it grows past one machine": drain at the balancer first).
    assert all(isinstance(status, int) for _, status in signups.results), signups.refused
    assert all(n == 1 for n in codes.values()), "every accepted sign-up's code mail exactly once"
    assert outcome.missing == 0 and outcome.duplicates == 0


# --- drill 3: a worker host dies --------------------------------------------------------------------
def test_drill_3_a_worker_killed_mid_announcement_costs_at_most_one_duplicate(topology, mail, admin, members,
                                                                              figures):
    workers = topology.containers("worker")
    subject_ = subject("3 worker killed")
    started = time.time()
    announcement = admin.announce(subject_)
    wait_for_share(mail, subject_, announcement["recipient_count"], 0.10)
    killed_at = time.time()
    podman("kill", "-s", "KILL", workers[0])
    outcome = wait_for_all(mail, subject_, announcement["recipient_count"], started)
    figures.add(f"drill 3, worker container {workers[0]} SIGKILLed {killed_at - started:.1f} s into the send: "
                f"{_line(outcome)}; kill -> last delivery {outcome.last_arrival - killed_at:.1f} s")
    assert outcome.missing == 0 and outcome.duplicates <= 1


# --- drill 4: the queue Redis host restarts, then comes back empty ----------------------------------
def test_drill_4a_queue_redis_restarted_with_its_aof_loses_nothing(topology, mail, admin, members, figures):
    redis = topology.container("redis-queue")
    subject_ = subject("4 redis restarted")
    started = time.time()
    announcement = admin.announce(subject_)
    wait_for_share(mail, subject_, announcement["recipient_count"], 0.10)
    restarted_at = time.time()
    podman("restart", "-t", "10", redis)
    outcome = wait_for_all(mail, subject_, announcement["recipient_count"], started)
    figures.add(f"drill 4, queue Redis restarted (AOF kept) {restarted_at - started:.1f} s into the send: "
                f"{_line(outcome)}; restart -> last delivery {outcome.last_arrival - restarted_at:.1f} s")
    assert outcome.missing == 0 and outcome.duplicates == 0


def test_drill_4b_queue_redis_back_empty_loses_nothing(topology, mail, admin, members, figures):
    redis = topology.container("redis-queue")
    data = podman("volume", "inspect", "--format", "{{.Mountpoint}}", f"{topology.project}_queue-data"
                  ).stdout.strip()
    subject_ = subject("4 redis empty")
    started = time.time()
    announcement = admin.announce(subject_)
    wait_for_share(mail, subject_, announcement["recipient_count"], 0.10)
    emptied_at = time.time()
    podman("stop", "-t", "10", redis)
    shutil.rmtree(Path(data) / "appendonlydir", ignore_errors=True)   # the volume, seen from the host
    (Path(data) / "dump.rdb").unlink(missing_ok=True)
    podman("start", redis)
    wait_for(lambda: topology.queue_redis("dbsize") != "", timeout=60, message="the queue Redis back")
    outcome = wait_for_all(mail, subject_, announcement["recipient_count"], started)
    figures.add(f"drill 4, queue Redis back EMPTY {emptied_at - started:.1f} s into the send: {_line(outcome)}; "
                f"empty restart -> last delivery {outcome.last_arrival - emptied_at:.1f} s (the sweeper)")
    assert outcome.missing == 0 and outcome.duplicates == 0


# --- drill 6: a failover (ElastiCache Multi-AZ): a replica promoted, the old primary demoted, then gone -------
REDIS_IMAGE = "docker.io/library/redis:7-bookworm"   # the compose file's queue Redis image


def _redis(topology, container: str, *command: str) -> str:
    return podman("exec", "-e", f"REDISCLI_AUTH={topology.queue_password}", container, "redis-cli", *command,
                  timeout=60).stdout.strip()


def _replication(topology, container: str) -> dict[str, str]:
    lines = _redis(topology, container, "info", "replication").splitlines()
    return dict(line.split(":", 1) for line in lines if ":" in line)


def _periodic_runs_after(topology, container: str, name: str, moment: float) -> list[int]:
    """Occurrences of the periodic job ``name`` scheduled for after ``moment`` in that Redis."""
    prefix = f"periodic-{name}-"
    ids = _redis(topology, container, "zrange", "rq:scheduler:scheduled_jobs", "0", "-1").split()
    return [int(job_id[len(prefix):]) for job_id in ids if job_id.startswith(prefix)
            and int(job_id[len(prefix):]) > moment]


def _started(container: str) -> tuple[str, str]:
    return tuple(podman("inspect", "--format", "{{.State.StartedAt}} {{.RestartCount}}", container
                        ).stdout.split(None, 1))


def test_drill_6_a_failover_mid_send_loses_nothing_and_nothing_restarts(topology, mail, admin, members, figures):
    """The managed-Redis failover as ElastiCache Multi-AZ does it: a replica (kept in sync) is promoted, the
    old primary turns read-only (its clients get READONLY), then goes away, and the name the clients use
    (`redis-queue`) now points at the promoted replica. Workers, scheduler and web keep running: their Redis
    clients retry on fresh connections (app/redis_clients.py) and find the new primary by name."""
    network = f"{topology.project}_default"
    old = topology.container("redis-queue")
    # The replica carries the service's labels: once the old primary is gone, it *is* the queue Redis for
    # the tests that follow (and `down` / remove_everything remove it with the rest).
    replica = f"{topology.project}_redis-queue_replica"
    password = topology.queue_password
    podman("run", "-d", "--name", replica, "--label", f"{LABEL}={topology.project}",
           "--label", "io.podman.compose.service=redis-queue", "--network", network,
           "-e", f"REDISCLI_AUTH={password}", REDIS_IMAGE,
           "redis-server", "--appendonly", "yes", "--save", "", "--maxmemory", "512mb",
           "--maxmemory-policy", "noeviction", "--requirepass", password, "--masterauth", password,
           "--replicaof", old, "6379")
    wait_for(lambda: _replication(topology, replica).get("master_link_status") == "up", timeout=120,
             message=lambda: f"the replica in sync: {_replication(topology, replica)}")
    processes = topology.containers("worker") + topology.containers("scheduler") + topology.containers("web")
    before = {name: _started(name) for name in processes}

    subject_ = subject("6 failover")
    started = time.time()
    announcement = admin.announce(subject_)
    wait_for_share(mail, subject_, announcement["recipient_count"], 0.10)
    # The failover: promote, demote (the old primary answers READONLY to writes for a while), then the old
    # primary goes away and the name moves to the new one.
    failover_at = time.time()
    assert _redis(topology, replica, "replicaof", "no", "one") == "OK"
    _redis(topology, old, "config", "set", "masterauth", password)
    assert _redis(topology, old, "replicaof", replica, "6379") == "OK"
    time.sleep(3)
    podman("rm", "-f", "-t", "0", old, timeout=120)
    podman("network", "disconnect", network, replica)
    podman("network", "connect", "--alias", "redis-queue", network, replica)
    moved_at = time.time()
    signups = SignUps(topology.base_url, 6, threads=1).start()   # the web enqueues on the new primary
    outcome = wait_for_all(mail, subject_, announcement["recipient_count"], started)
    signups.join()
    accepted = signups.accepted
    wait_for(lambda: all(code_mail_counts(mail, accepted).values()), timeout=300,
             message=lambda: f"code mails after the failover: {code_mail_counts(mail, accepted)}")
    sweep_seconds = 15   # DELIVERY_SWEEP_SECONDS in the compose file (the default)
    wait_for(lambda: _periodic_runs_after(topology, replica, "sweep-deliveries", moved_at + sweep_seconds),
             timeout=180, interval=2, message="the scheduler moving the sweeper on the new primary")
    after = {name: _started(name) for name in processes}
    figures.add(f"drill 6, failover {failover_at - started:.1f} s into the send (promoted, old primary read-only "
                f"3 s, then gone; name moved {moved_at - failover_at:.1f} s after the promotion): {_line(outcome)}; "
                f"name moved -> last delivery {outcome.last_arrival - moved_at:.1f} s; sign-ups after it "
                f"{len(accepted)} of {len(signups.results)} accepted, code mails all arrived; "
                f"restarted processes: {sorted(n for n in processes if after[n] != before[n]) or 'none'}")
    assert outcome.missing == 0 and outcome.duplicates == 0
    assert len(accepted) == len(signups.results), signups.refused
    assert after == before, "a worker, the scheduler or a web container restarted"
    assert _replication(topology, replica).get("role") == "master"
