"""The queue Redis asks for a password: the embedded development one, and a warning for any other without."""
from __future__ import annotations

import logging
import stat
import subprocess
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import AuthenticationError, ResponseError

from app.security.redis_password import open_to_the_network, warn_if_open
from deploy.local.redis_password import embedded_redis_config, embedded_redis_password
from deploy.local.redis_server import find_redis_binary, free_port
from tests.helpers.processes import Launcher, wait_for


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_embedded_password_is_generated_once_and_kept_private(tmp_path):
    first = embedded_redis_password(tmp_path / "redis")
    assert len(first) >= 32 and first == embedded_redis_password(tmp_path / "redis")
    assert mode(tmp_path / "redis" / "password") == 0o600
    config = embedded_redis_config(tmp_path / "redis", first)
    assert mode(config) == 0o600 and f"requirepass {first}" in config.read_text()
    assert embedded_redis_password(tmp_path / "other") != first


def test_a_server_started_with_the_config_refuses_clients_without_the_password(tmp_path):
    directory = tmp_path / "redis"
    password = embedded_redis_password(directory)
    port = free_port()
    server = subprocess.Popen([find_redis_binary(), str(embedded_redis_config(directory, password)), "--port",
                               str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(directory)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        authorised = Redis(port=port, password=password, socket_connect_timeout=1)
        wait_for(lambda: _answers(authorised), 30, message="the redis-server")
        with pytest.raises((AuthenticationError, ResponseError), match="(?i)auth"):
            Redis(port=port, socket_connect_timeout=1).set("job", "anything")
    finally:
        server.terminate()
        server.wait(10)
    assert password not in " ".join(server.args)  # never on the command line (`ps` shows it to everyone)


def _answers(client: Redis) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


@pytest.mark.parametrize("kwargs, open_at", [
    ({"host": "10.0.0.5", "port": 6379}, "10.0.0.5:6379"),
    ({"host": "redis-queue", "port": 6380, "password": None}, "redis-queue:6380"),
    ({"host": "10.0.0.5", "port": 6379, "password": "s3cret"}, None),
    ({"host": "127.0.0.1", "port": 6379}, None),
    ({"host": "::1", "port": 6379}, None),
    ({"host": "localhost", "port": 6379}, None),
    ({"path": "/run/redis.sock"}, None),
])
def test_no_password_off_loopback_is_spotted(kwargs, open_at):
    assert open_to_the_network(kwargs) == open_at


def test_the_start_up_check_warns_about_a_queue_redis_without_password(app, caplog):
    from app.redis_checks import check_queue_redis

    client = Redis(host="192.0.2.1", port=6379)  # never contacted: only its settings are read
    caplog.set_level(logging.WARNING)
    assert "without a password" in warn_if_open(client)
    assert any("queue Redis at 192.0.2.1:6379 is reached without a password" in r.getMessage()
               for r in caplog.records)
    local = Redis.from_url(app.config["REDIS_URL"])
    assert not any("without a password" in problem for problem in check_queue_redis(local).problems)


@pytest.mark.slow
def test_make_run_gives_its_redis_a_password_that_every_process_uses(tmp_path):
    launcher = Launcher(tmp_path)
    try:
        launcher.wait_until_healthy()
        url = launcher.services()["REDIS_URL"]
        password = (launcher.var_dir / "redis" / "password").read_text().strip()
        assert url.startswith(f"redis://:{password}@127.0.0.1:")
        assert mode(launcher.var_dir / "run" / "services.env") == 0o600
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        with pytest.raises((AuthenticationError, ResponseError), match="(?i)auth"):
            Redis(port=port, socket_connect_timeout=2).keys("*")
        # The web, the worker and the scheduler all reached it: a sign-up's code mail arrives.
        status, body = launcher.request("POST", "/api/auth/signup", {
            "email": "pw@example.com", "name": "Pw", "password": "long-enough-1", "phone": "010-5555-7777",
            "channel": "email"})
        assert status == 201, body
        wait_for(lambda: b"pw@example.com" in launcher.request("GET", "/dev/mail")[1], 120,
                 message=lambda: f"the verification code mail:\n{launcher.log()}")
        assert password not in launcher.full_log()
    finally:
        launcher.stop()
        launcher.cleanup()
