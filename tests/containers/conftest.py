"""The compose topology, built and started once for the container tests, removed whatever happens.

These tests run only under `make test-containers` (which prepares the host and sets
FILMCLUB_CONTAINER_TESTS=1); in `make test` they are reported as skipped. Figures the drills measure are
printed together at the end of the run (``figures``).
"""
from __future__ import annotations

import os
import secrets
import socket
import time
from pathlib import Path

import pytest

from tests.containers.club_client import Client
from tests.containers.topology import PROJECT_PREFIX, MailSink, Topology, build_image, remove_everything
from tests.helpers.processes import wait_for

HERE = Path(__file__).resolve().parent
ENABLED = os.environ.get("FILMCLUB_CONTAINER_TESTS") == "1"
# While writing a drill: PROJECT:IMAGE:PORT:QUEUE_PASSWORD of a topology already up (tests/containers/dev.py
# starts one); the tests then neither build, start nor remove anything.
REUSE = os.environ.get("FILMCLUB_CONTAINER_REUSE", "")
_figures: list[str] = []


def pytest_collection_modifyitems(config, items):
    if ENABLED:
        return
    skip = pytest.mark.skip(reason="container tests run with `make test-containers` (podman, root)")
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter):
    if _figures:
        terminalreporter.section("container drills: figures")
        for line in _figures:
            terminalreporter.write_line(line)
        out = HERE.parents[1] / "var" / "test-containers-figures.txt"
        out.parent.mkdir(exist_ok=True)
        out.write_text("\n".join(_figures) + "\n")


class Figures:
    """Lines printed at the end of the run (and to var/test-containers-figures.txt)."""

    def add(self, line: str) -> None:
        _figures.append(line)
        print(line, flush=True)


@pytest.fixture(scope="session")
def figures() -> Figures:
    return Figures()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def image(figures):
    """The project's image, built from deploy/docker/Dockerfile unchanged (target runtime), removed after."""
    if REUSE:
        yield REUSE.split(":")[1] + ":" + REUSE.split(":")[2]
        return
    tag = f"localhost/filmclub-ctest:{os.getpid()}"
    remove_everything()   # what a killed earlier run left behind
    seconds = build_image(tag)
    figures.add(f"build: deploy/docker/Dockerfile (target runtime) built in {seconds:.0f} s")
    try:
        yield tag
    finally:
        remove_everything()


@pytest.fixture(scope="session")
def topology(image, figures):
    if REUSE:
        project, _, _, port, password = REUSE.split(":")
        yield Topology(project, image, int(port), "unused", password)
        return
    topo = Topology(f"{PROJECT_PREFIX}-{os.getpid()}", image, _free_port(), secrets.token_hex(32),
                    secrets.token_hex(24))
    started = time.monotonic()
    try:
        topo.up()
        client = Client(topo.base_url, timeout=10)

        def healthy():
            try:
                return client.get("/healthz").status == 200
            except OSError:
                return False

        wait_for(healthy, timeout=300, interval=1, message=lambda: "/healthz through the proxy: "
                 + " | ".join(topo.logs(name, 15) for name in topo.containers("web", running_only=False)))
        figures.add(f"up: {len(topo.containers('web'))} web, {len(topo.containers('worker'))} worker containers "
                    f"healthy behind nginx {time.monotonic() - started:.0f} s after `up`")
        yield topo
    finally:
        try:
            topo.down()
        except Exception as exc:  # noqa: BLE001 - remove_everything below still runs
            print(f"podman-compose down failed: {exc}")
        remove_everything(topo.project)


@pytest.fixture(scope="session")
def mail(topology) -> MailSink:
    return MailSink(topology.mail_dir())


@pytest.fixture(scope="session")
def admin(topology) -> Client:
    """A signed-in admin (created with `flask create-admin` in a web container)."""
    password = secrets.token_hex(12)
    topology.flask("create-admin", "admin@drill.example", "--password", password)
    client = Client(topology.base_url)
    client.login("admin@drill.example", password)
    return client


def add_members(topology: Topology, count: int, domain: str) -> int:
    """``count`` members written straight into PostgreSQL (sign-ups cost a password hash each)."""
    topology.sql(
        "INSERT INTO users (email, name, is_admin, created_at, email_verified_at, notification_channel) "
        f"SELECT 'm' || g || '@{domain}', 'member ' || g, false, now(), now(), 'email' "
        f"FROM generate_series(1, {count}) g ON CONFLICT (email) DO NOTHING")
    return int(topology.sql("SELECT count(*) FROM users"))
