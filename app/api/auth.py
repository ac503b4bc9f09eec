"""Sign up, sign in and out over JSON; the session cookie is what signs later requests."""
from __future__ import annotations

from flask import Response, jsonify
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy.exc import IntegrityError

from app.api import bp
from app.api.errors import APIError, parse_json
from app.api.schemas import LoginRequest, SignupRequest
from app.auth import service
from app.extensions import db
from app.models.user import User


def user_json(user: User) -> dict:
    return {"id": user.id, "email": user.email, "name": user.name, "is_admin": user.is_admin}


@bp.post("/auth/signup")
def signup() -> tuple[Response, int]:
    data = parse_json(SignupRequest)
    try:
        user = service.sign_up(data.email, data.name, data.password)
    except (service.EmailTaken, IntegrityError):
        db.session.rollback()
        raise APIError(409, "an account with this email already exists") from None
    login_user(user)
    return jsonify({"user": user_json(user), "message": "Welcome! A welcome email is on its way."}), 201


@bp.post("/auth/login")
def login() -> Response:
    data = parse_json(LoginRequest)
    user = service.authenticate(data.email, data.password)
    if user is None:
        raise APIError(401, "invalid email or password")
    login_user(user)
    return jsonify({"user": user_json(user)})


@bp.post("/auth/logout")
def logout() -> tuple[str, int]:
    logout_user()
    return "", 204


@bp.get("/auth/me")
@login_required
def me() -> Response:
    return jsonify({"user": user_json(current_user)})
