"""Fixtures: a private redis-server, a real SMTP server, a fresh database per test.

Nothing here touches a Redis that something else runs: each session starts its
own redis-server on a free port, and each test flushes its dbs before it runs.
The suite runs on SQLite; with TEST_DATABASE_URL (PostgreSQL) every test that
uses the database runs on both.
"""
from __future__ import annotations

import os
import zlib
from pathlib import Path
from typing import Callable, Iterator

import pytest
from flask import Flask
from redis import Redis

from deploy.local.redis_server import RedisServer
from tests.helpers.mail import burst
from tests.helpers.smtp import SMTPServer

os.environ["APP_ENV"] = "testing"
# The suite's assertions are in English: every app (and every worker it starts) speaks English unless a
# test asks for Korean (APP_LOCALE="ko" in its config, a locale cookie or Accept-Language: ko).
os.environ["APP_LOCALE"] = "en"

DATABASES = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"), appendonly=False).start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    for db in (0, 1):
        Redis(port=redis_server.port, db=db).flushdb()
    return redis_server.url


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SMTPServer]:
    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def smtp(smtp_server: SMTPServer):
    smtp_server.handler.reset()
    yield smtp_server.handler
    smtp_server.handler.reset()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of this run's own on the TEST_DATABASE_URL server, dropped at the end,
    so two test runs on one server (CI and a developer, two branches) never share tables."""
    import uuid

    import psycopg
    from sqlalchemy.engine import make_url

    base = make_url(os.environ["TEST_DATABASE_URL"])
    name = f"filmclub_test_{uuid.uuid4().hex[:10]}"
    admin_dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield base.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=DATABASES)
def database_url(request, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return request.getfixturevalue("postgres_url")
    return f"sqlite:///{tmp_path / 'test.db'}"


def make_test_config(database_url: str, redis_url: str, smtp_port: int, **overrides) -> dict:
    cache_url = redis_url.rsplit("/", 1)[0] + "/1"
    return {
        "APP_ENV": "testing", "TESTING": True, "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": _psycopg(database_url),
        "REDIS_URL": redis_url, "CACHE_REDIS_URL": cache_url,
        "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_port, "MAIL_USE_TLS": False, "MAIL_USE_SSL": False,
        "MAIL_USERNAME": "", "MAIL_PASSWORD": "", "MAIL_TIMEOUT": 5.0,
        "WTF_CSRF_ENABLED": True, "SESSION_COOKIE_SECURE": False, "DEV_MAIL_DIR": "",
        **overrides,
    }


def _psycopg(url: str) -> str:
    from app.config import normalise_database_url

    return normalise_database_url(url)


@pytest.fixture
def app_factory(database_url: str, redis_url: str, smtp_server: SMTPServer) -> Iterator[Callable[..., Flask]]:
    """Build an app on the test services; extra keyword arguments override config."""
    from app import create_app
    from app.extensions import db

    apps: list[Flask] = []

    def build(**overrides) -> Flask:
        app = create_app(make_test_config(database_url, redis_url, smtp_server.port, **overrides))
        with app.app_context():
            if not apps:
                db.drop_all()
                db.create_all()
        apps.append(app)
        return app

    yield build
    for app in apps:
        with app.app_context():
            db.session.remove()
            if app is apps[0]:
                db.drop_all()
            db.engine.dispose()


@pytest.fixture
def app(app_factory) -> Flask:
    return app_factory()


@pytest.fixture
def client(app: Flask):
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def run_jobs(app: Flask) -> Callable[[], None]:
    """Run every queued job with the worker class every launcher deploys, in burst mode (``burst``)."""
    return lambda: burst(app)


@pytest.fixture
def make_user(app: Flask) -> Callable[..., object]:
    from app.extensions import db
    from app.models.types import utcnow
    from app.models.user import User

    def make(email: str = "ada@example.com", name: str = "Ada", password: str = "correct-horse",
             **fields) -> User:
        """A member; verified (may post and RSVP) unless the fields say otherwise.

        Ada's phone is +821012345678; others get one of their own (a verified number belongs to one member)."""
        now = utcnow()
        phone = "+821012345678" if email == "ada@example.com" else f"+8210{zlib.crc32(email.encode()) % 10**8:08d}"
        fields = {"phone": phone, "email_verified_at": now, "phone_verified_at": now, **fields}
        with app.app_context():
            user = User(email=email, name=name, **fields)
            user.set_password(password)
            db.session.add(user)
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
            return user

    return make


# Hypothesis (input-space tests): modest example counts keep `make test` fast; HYPOTHESIS_PROFILE=thorough
# runs many more. No deadline: the examples go through a real database, worker and SMTP server.
def _hypothesis_profiles() -> None:
    from hypothesis import HealthCheck, settings

    common = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
              "database": None}
    settings.register_profile("filmclub", max_examples=30, **common)
    settings.register_profile("thorough", max_examples=500, **common)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "filmclub"))


_hypothesis_profiles()
