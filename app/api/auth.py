"""Sign up, sign in and out over JSON; the session cookie is what signs later requests."""
from __future__ import annotations

from flask import Response, jsonify
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy.exc import IntegrityError

from app.api import bp
from app.api.errors import APIError, parse_json
from app.api.schemas import LoginRequest, SignupRequest
from app.extensions import db
from app.members import limits, service, verification
from app.members.contact import mask_phone, normalise_email
from app.models.user import CHANNEL_SMS, User


PHONE_TAKEN = ("this mobile number is verified on another account: a number belongs to one member; "
               "give another number, or sign in to that account")


def user_json(user: User) -> dict:
    return {"id": user.id, "email": user.email, "name": user.name, "is_admin": user.is_admin,
            "phone": user.phone, "notification_channel": user.notification_channel,
            "email_verified": user.email_verified, "phone_verified": user.phone_verified,
            "is_verified": user.is_verified}


def code_sent_message(user: User, channel: str) -> str:
    where = f"by SMS to {mask_phone(user.phone or '')}" if channel == CHANNEL_SMS else f"to {user.email}"
    return (f"Welcome! A welcome email is on its way, and a verification code was sent {where}: "
            f"enter it with POST /api/auth/verify.")


@bp.post("/auth/signup")
def signup() -> tuple[Response, int]:
    limits.enforce_address("RATELIMIT_SIGNUP", "signup")
    data = parse_json(SignupRequest)
    email = normalise_email(data.email, strict=False)
    if service.find_user_by_email(email) is not None:
        raise APIError(409, "an account with this email already exists")
    if verification.phone_taken(data.phone):
        raise APIError(409, PHONE_TAKEN, [{"field": "phone", "message": PHONE_TAKEN}])
    verification.enforce_code_limits(email, data.channel, data.phone)
    try:
        user = service.sign_up(data.email, data.name, data.password, data.phone, data.channel)
    except service.PhoneTaken:
        db.session.rollback()
        raise APIError(409, PHONE_TAKEN, [{"field": "phone", "message": PHONE_TAKEN}]) from None
    except (service.EmailTaken, IntegrityError):
        db.session.rollback()
        raise APIError(409, "an account with this email already exists") from None
    login_user(user)
    return jsonify({"user": user_json(user), "message": code_sent_message(user, data.channel)}), 201


@bp.post("/auth/login")
def login() -> Response:
    limits.enforce_address("RATELIMIT_LOGIN", "login")
    data = parse_json(LoginRequest)
    limits.enforce("RATELIMIT_LOGIN", "login-email", normalise_email(data.email, strict=False), "for this account")
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
