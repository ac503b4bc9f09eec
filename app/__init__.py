"""The film club web application: ``create_app`` builds it, nothing happens at import."""
from __future__ import annotations

import logging
import os
from typing import Any, Mapping

from flask import Flask

from app import db_events
from app.commands import register_commands
from app.config import ROOT_DIR, Config
from app.db_sqlite import configure_sqlite
# ``cache`` would be shadowed by the ``app.cache`` package once it is imported: named apart here.
from app.extensions import cache as flask_cache, csrf, db, login_manager, migrate, redis_clients
from app.i18n import init_i18n
from app.light_requests import LightFlask, LightSessionInterface
from app.posts.cache import init_post_cache
from app.security import init_security


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from the environment, with ``test_config`` overriding it."""
    # The web layer loads when an app is built, so importing a model or the outbox never loads a page.
    from app.web import register_web

    app = LightFlask(__name__)  # Flask, without asking of every hook on every request whether it is a coroutine
    app.config.from_mapping(Config.from_env(os.environ).as_dict())
    if test_config:
        app.config.from_mapping(test_config)
    _configure_logging(app)
    init_security(app)  # first: its checks run before the extensions' (CSRF reads the body)
    register_extensions(app)
    register_web(app)
    register_commands(app)
    return app


def _configure_logging(app: Flask) -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine)  # WAL + busy timeout: workers and web write one file
    migrate.init_app(app, db, directory=str(ROOT_DIR / "app" / "migrations"))
    app.session_interface = LightSessionInterface()  # a request without a session pays for none
    login_manager.init_app(app)
    csrf.init_app(app)
    redis_clients.init_app(app)
    init_i18n(app)
    flask_cache.init_app(app, config={
        "CACHE_TYPE": "app.cache.backend.JSONRedisCache",
        "CACHE_REDIS_URL": app.config["CACHE_REDIS_URL"],
        "CACHE_REDIS_TIMEOUT": app.config["CACHE_REDIS_TIMEOUT"],
        "CACHE_KEY_PREFIX": app.config["CACHE_KEY_PREFIX"],
        "CACHE_DEFAULT_TIMEOUT": app.config["CACHE_TTL"],
    })
    db_events.install(db.session.session_factory.class_)
    init_post_cache(app)
