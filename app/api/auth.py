"""Sign up, sign in and out over JSON; the session cookie is what signs later requests."""
from __future__ import annotations

from flask import Response, jsonify
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError

from app.api import bp
from app.api.account_schemas import MessageOut
from app.api.errors import APIError, parse_json
from app.api.openapi import operation
from app.api.schemas import (AuthAnswer, LoginRequest, PasswordChange, PasswordResetConfirm, PasswordResetRequest,
                             SignupRequest, UserOut)
from app.extensions import db
from app.members import limits, passwords, service, sessions, verification
from app.members.contact import mask_phone, normalise_email
from app.models.user import CHANNEL_SMS, User


PHONE_TAKEN = ("this mobile number is verified on another account: a number belongs to one member; "
               "give another number, or sign in to that account")


def user_json(user: User) -> dict:
    """The member as the API shows them: ``UserOut`` is the one shape (and the document's schema)."""
    return UserOut.model_validate(user, from_attributes=True).model_dump(mode="json")


def code_sent_message(user: User, channel: str) -> str:
    where = f"by SMS to {mask_phone(user.phone or '')}" if channel == CHANNEL_SMS else f"to {user.email}"
    return (f"Welcome! A verification code was sent {where}: enter it with POST /api/auth/verify "
            f"(the welcome email follows once you are verified).")


@bp.post("/auth/signup")
@operation("Create an account (signs you in; a verification code on the chosen channel is sent by a worker, "
           "the welcome email once the code is entered). Until verified the member cannot post or RSVP.", status=201, response=AuthAnswer,
           description="Created and signed in", body=SignupRequest, errors=(400, 409, 422, 429))
def signup() -> tuple[Response, int]:
    limits.enforce_address("RATELIMIT_SIGNUP", "signup")
    data = parse_json(SignupRequest)
    email = normalise_email(data.email, strict=False)
    if service.email_owned(email):
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
    sessions.sign_in(user)
    return jsonify({"user": user_json(user), "message": code_sent_message(user, data.channel)}), 201


@bp.post("/auth/login")
@operation("Sign in; sets the session cookie (rate-limited per address and per account)", response=AuthAnswer,
           description="Signed in", body=LoginRequest, errors=(400, 401, 422, 429))
def login() -> Response:
    limits.enforce_address("RATELIMIT_LOGIN", "login")
    data = parse_json(LoginRequest)
    user = service.sign_in_attempt(data.email, data.password)
    if user is None:
        raise APIError(401, "invalid email or password")
    sessions.sign_in(user)
    return jsonify({"user": user_json(user)})


@bp.post("/auth/logout")
@operation("Sign out", status=204, description="Signed out")
def logout() -> tuple[str, int]:
    sessions.sign_out()
    return "", 204


@bp.post("/auth/logout-everywhere")
@operation("Sign out on every device: every session of the member ends, this one included", status=204,
           description="Every session ended", errors=(401,), signed_in=True)
@login_required
def logout_everywhere() -> tuple[str, int]:
    """End every session of the member (other browsers, copied cookies), this one included."""
    sessions.sign_out_everywhere(current_user._get_current_object())
    return "", 204


@bp.get("/auth/me")
@operation("The signed-in member", response=AuthAnswer, description="You", errors=(401,), signed_in=True)
@login_required
def me() -> Response:
    return jsonify({"user": user_json(current_user)})


RESET_REQUESTED = ("if an account has this email address, a link to choose a new password is on its way; "
                   "it works once, for 30 minutes")


@bp.post("/auth/password")
@operation("Change the password (the current one required; not a common password); the member's other "
           "sessions end, this one goes on", response=MessageOut, description="Changed", body=PasswordChange,
           errors=(400, 401, 403, 422, 429), signed_in=True)
@login_required
def change_password() -> Response:
    """A new password (the current one required); the member's other sessions end, this one stays."""
    data = parse_json(PasswordChange)
    limits.enforce("RATELIMIT_LOGIN", "password-change", str(current_user.id), "for this account")
    passwords.change_password(current_user._get_current_object(), data.current_password, data.password)
    return jsonify({"message": "password changed; your other sessions have ended"})


@bp.post("/auth/password-reset")
@operation("Mail a single-use link (valid 30 minutes) to choose a new password; 202 whether or not the "
           "address has an account", status=202, response=MessageOut,
           description="Accepted: a link is on its way if the account exists", body=PasswordResetRequest,
           errors=(400, 422, 429))
def password_reset() -> tuple[Response, int]:
    """202 whether or not the address has an account: the answer must not tell who is a member."""
    limits.enforce_address("RATELIMIT_SIGNUP", "password-reset")
    data = parse_json(PasswordResetRequest)
    passwords.request_reset(normalise_email(data.email, strict=False))
    return jsonify({"message": RESET_REQUESTED}), 202


@bp.post("/auth/password-reset/confirm")
@operation("Set a new password with the token from the reset link; every session of the member ends and "
           "this one is signed in", response=AuthAnswer, description="Changed and signed in",
           body=PasswordResetConfirm, errors=(400, 422, 429))
def password_reset_confirm() -> Response:
    """Set the password from a reset link's token; every session of the member ends, and this one starts."""
    limits.enforce_address("RATELIMIT_VERIFY", "password-reset-confirm")
    data = parse_json(PasswordResetConfirm)
    user = passwords.confirm_reset(data.token, data.password)
    sessions.sign_in(user)
    return jsonify({"user": user_json(user), "message": "password changed; every other session has ended"})
