"""The film club web application: ``create_app`` builds it, nothing happens at import."""
from __future__ import annotations

import logging
import os
from typing import Any, Mapping

from flask import Flask

from app.config import ROOT_DIR, Config


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from the environment, with ``test_config`` overriding it."""
    app = Flask(__name__)
    app.config.from_mapping(Config.from_env(os.environ).as_dict())
    if test_config:
        app.config.from_mapping(test_config)
    _configure_logging(app)
    from app.security import init_security

    init_security(app)  # first: its checks run before the extensions' (CSRF reads the body)
    register_extensions(app)
    register_blueprints(app)
    register_commands(app)
    return app


def _configure_logging(app: Flask) -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def register_extensions(app: Flask) -> None:
    from app import db_events
    from app.cache.post_cache import init_post_cache
    from app.extensions import cache, csrf, db, login_manager, migrate, redis_clients

    db.init_app(app)
    from app.db_sqlite import configure_sqlite

    with app.app_context():
        configure_sqlite(db.engine)  # WAL + busy timeout: workers and web write one file
    migrate.init_app(app, db, directory=str(ROOT_DIR / "app" / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    redis_clients.init_app(app)
    cache.init_app(app, config={
        "CACHE_TYPE": "app.cache.backend.JSONRedisCache",
        "CACHE_REDIS_URL": app.config["CACHE_REDIS_URL"],
        "CACHE_REDIS_TIMEOUT": app.config["CACHE_REDIS_TIMEOUT"],
        "CACHE_KEY_PREFIX": app.config["CACHE_KEY_PREFIX"],
        "CACHE_DEFAULT_TIMEOUT": app.config["CACHE_TTL"],
    })
    db_events.install(db.session.session_factory.class_)
    init_post_cache(app)

    from app.queue_metrics import register_queue_metrics

    register_queue_metrics(app)

    from app.auth.loader import init_login

    init_login(app)

    from app.accounts.limits import init_limiter
    from app.auth.social import init_social

    init_limiter(app)
    init_social(app)


def register_blueprints(app: Flask) -> None:
    from app.accounts.views import bp as accounts_bp
    from app.api import bp as api_bp
    from app.auth.social_views import bp as social_bp
    from app.auth.views import bp as auth_bp
    from app.extensions import csrf
    from app.main.views import bp as main_bp
    from app.posts.views import bp as posts_bp
    from app.screenings.views import bp as screenings_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(posts_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(screenings_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(social_bp)
    # The JSON API accepts only application/json bodies (which a cross-site form
    # cannot send) on a SameSite=Lax cookie, so it needs no CSRF token.
    csrf.exempt(api_bp)
    app.register_blueprint(api_bp)
    from app.admin.dashboard import init_dashboard
    from app.admin.views import bp as admin_bp

    app.register_blueprint(admin_bp)
    init_dashboard(app)
    if (app.config["DEV_MAIL_DIR"] or app.config["DEV_SMS_DIR"]) and app.config["APP_ENV"] != "production":
        from app.dev.views import bp as dev_bp

        app.register_blueprint(dev_bp)
    from app.error_pages import register_error_pages

    register_error_pages(app)  # pages for people, JSON under /api/


def register_commands(app: Flask) -> None:
    from app.commands import create_admin_command, seed_demo_command
    from app.redis_checks import check_redis_command

    app.cli.add_command(seed_demo_command)
    app.cli.add_command(create_admin_command)
    app.cli.add_command(check_redis_command)
    from scheduler.cli import schedule_cli

    app.cli.add_command(schedule_cli)
