"""Flask-Login wiring: how a session cookie becomes a user, and what 'not signed in' looks like."""
from __future__ import annotations

from flask import Flask, Response, redirect, request, url_for

from app.extensions import db, login_manager


def init_login(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(user_id: str):
        from app.models.user import User

        return db.session.get(User, int(user_id)) if user_id.isascii() and user_id.isdigit() else None

    @login_manager.unauthorized_handler
    def unauthorized() -> Response:
        if request.blueprint == "api" or request.path.startswith("/api/"):
            from app.api.errors import error_response

            return error_response(401, "sign in first (POST /api/auth/login)")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
