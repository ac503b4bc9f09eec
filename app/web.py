"""The web layer, wired onto an app: sign-in, rate limits, social sign-in, metrics, the blueprints,
the RQ dashboard and the error pages.

``create_app`` imports this module when it builds an app, not when ``app`` is imported: a worker
or a script that imports a model, a service or the outbox does not load a page. Nothing in the
core (models, services, ``app.outbox``, configuration, Redis clients) imports the modules below;
``.importlinter`` holds that.
"""
from __future__ import annotations

from flask import Flask

from app.admin.dashboard import init_dashboard
from app.admin.views import bp as admin_bp
from app.api import bp as api_bp
from app.dev.views import bp as dev_bp
from app.error_pages import register_error_pages
from app.extensions import csrf
from app.language.views import bp as language_bp
from app.main.queue_metrics import register_queue_metrics
from app.main.views import bp as main_bp
from app.members.access import init_login
from app.members.limits import init_limiter
from app.members.social import init_social
from app.members.social_views import bp as social_bp
from app.members.views import accounts_bp, auth_bp
from app.posts.views import bp as posts_bp
from app.screenings.views import bp as screenings_bp


def register_web(app: Flask) -> None:
    """Everything a request can reach, in the order it must be registered."""
    register_queue_metrics(app)
    init_login(app)
    init_limiter(app)
    init_social(app)
    for bp in (main_bp, posts_bp, auth_bp, screenings_bp, accounts_bp, social_bp, language_bp):
        app.register_blueprint(bp)
    # The JSON API accepts only application/json bodies (which a cross-site form
    # cannot send) on a SameSite=Lax cookie, so it needs no CSRF token.
    csrf.exempt(api_bp)
    # The footer's language switch carries no token (a token would start a session on every anonymous page,
    # which then could not be served from the page cache); it checks Origin/Referer instead (app/language).
    csrf.exempt(language_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(admin_bp)
    init_dashboard(app)
    if (app.config["DEV_MAIL_DIR"] or app.config["DEV_SMS_DIR"]) and app.config["APP_ENV"] != "production":
        app.register_blueprint(dev_bp)
    register_error_pages(app)  # pages for people, JSON under /api/
