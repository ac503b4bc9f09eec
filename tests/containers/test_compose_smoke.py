"""The compose file run as shipped: separate containers on a private network, nginx in front, smoke test."""
from __future__ import annotations

import secrets

from tests.containers.club_client import Client
from tests.containers.topology import podman
from tests.helpers.processes import wait_for

APP_SERVICES = ("web", "worker", "scheduler")


def test_each_role_runs_in_its_own_containers_and_only_the_proxy_is_published(topology):
    assert len(topology.containers("web")) == 2
    for service in ("proxy", "worker", "scheduler", "redis-queue", "redis-cache", "db", "mail"):
        assert topology.containers(service), f"{service} is not running"
    published = {name: podman("port", name).stdout.strip()
                 for service in ("web", "worker", "scheduler", "redis-queue", "redis-cache", "db", "mail")
                 for name in topology.containers(service)}
    assert not any(published.values()), f"only the proxy may publish a port: {published}"
    assert podman("port", topology.container("proxy")).stdout.split() == ["80/tcp", "->",
                                                                         f"127.0.0.1:{topology.http_port}"]


def test_app_containers_run_as_the_unprivileged_user(topology):
    for service in APP_SERVICES:
        for name in topology.containers(service):
            assert topology.exec(name, "id", "-u").stdout.strip() == "10001", name
            assert topology.inspect(name, "{{.Config.User}}") == "filmclub:filmclub"


def test_schema_is_migrated_before_any_web_replica_serves(topology):
    migrate = topology.containers("migrate", running_only=False)[0]
    assert topology.inspect(migrate, "{{.State.ExitCode}}") == "0", topology.logs(migrate)
    migrated_at = topology.inspect(migrate, "{{.State.FinishedAt.Unix}}")
    for web in topology.containers("web"):
        assert int(topology.inspect(web, "{{.State.StartedAt.Unix}}")) >= int(migrated_at)
    assert "(head)" in topology.flask("db", "current")


def test_queue_redis_keeps_work_and_asks_for_a_password_and_the_cache_evicts(topology):
    queue = topology.container("redis-queue")
    anonymous = topology.exec(queue, "env", "-u", "REDISCLI_AUTH", "redis-cli", "ping", check=False)
    assert "NOAUTH" in anonymous.stdout + anonymous.stderr
    assert topology.queue_redis("config", "get", "appendonly").split() == ["appendonly", "yes"]
    assert topology.queue_redis("config", "get", "maxmemory-policy").split() == ["maxmemory-policy", "noeviction"]
    cache = topology.exec("redis-cache", "redis-cli", "config", "get", "maxmemory-policy").stdout.split()
    assert cache == ["maxmemory-policy", "allkeys-lru"]


def test_sign_up_through_the_proxy_sends_the_code_mail_from_a_worker(topology, mail):
    """The first mail of a sign-up is its verification code (the welcome waits for the verification)."""
    email = f"smoke-{secrets.token_hex(4)}@drill.example"
    reply = Client(topology.base_url).signup(email, "010-2000-0001")
    assert reply.status == 201, reply.body
    wait_for(lambda: mail.count_by_recipient("Your film club verification code").get(email) == 1, timeout=120,
             message=f"the verification code mail to {email} at the mail sink")


def test_the_image_speaks_korean_first_and_english_too(topology):
    """The catalogs are compiled in the image (the .mo files are not in the repository): a visitor with no
    language preference gets Korean, one asking for English gets English."""
    korean = Client(topology.base_url, language=None).get("/posts/")
    assert korean.status == 200 and b'<html lang="ko"' in korean.body
    assert "로그인".encode() in korean.body, korean.body[:600]
    english = Client(topology.base_url, language="en").get("/posts/")
    assert b'<html lang="en"' in english.body and b"Sign in" in english.body


def test_a_cached_page_is_a_hit_through_the_proxy(topology):
    client = Client(topology.base_url)
    first = client.get("/posts/")
    assert first.status == 200
    again = [client.get("/posts/").headers.get("X-Cache") for _ in range(4)]   # both replicas, likely
    assert again == ["HIT"] * 4, again


def test_the_proxy_refuses_a_body_over_its_limit(topology):
    reply = Client(topology.base_url).request("POST", "/api/auth/login", {"email": "x" * (2 * 1024 * 1024)})
    assert reply.status == 413
