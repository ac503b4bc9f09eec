"""Verification codes and member settings over JSON.

``/api/auth/verify`` and ``/api/auth/verify/resend`` answer the same way whether or
not an account exists: a wrong, expired, spent or foreign code and an unknown
email all get the same 400; a resend always gets 202.
"""
from __future__ import annotations

from flask import Response, jsonify
from flask_login import current_user, login_required

from app.accounts import limits, settings, verification
from app.api import bp
from app.api.account_schemas import AccountUpdate, ResendRequest, VerifyRequest
from app.api.auth import user_json
from app.api.errors import APIError, parse_json
from app.auth.service import find_user_by_email, normalise_email

INVALID_CODE = ("this code is not valid: it is wrong, expired or already used, or too many wrong "
                "attempts were made; check the email address or ask for a new code")
RESEND_ANSWER = "if an account with this email needs verifying, a new code is on its way"


@bp.post("/auth/verify")
def verify() -> Response:
    limits.enforce_address("RATELIMIT_VERIFY", "verify")
    data = parse_json(VerifyRequest)
    email = normalise_email(data.email)
    limits.enforce("RATELIMIT_VERIFY", "verify-email", email, "for this email address")
    if not verification.check_code(find_user_by_email(email), data.code):
        raise APIError(400, INVALID_CODE)
    return jsonify({"message": "verified: thank you"})


@bp.post("/auth/verify/resend")
def resend_code() -> tuple[Response, int]:
    limits.enforce_address("RATELIMIT_SIGNUP", "resend")
    data = parse_json(ResendRequest)
    email = normalise_email(data.email)
    limits.enforce("RATELIMIT_CODE_SEND", "code-email", email, "for this email address")
    verification.request_code(find_user_by_email(email), data.channel)
    return jsonify({"message": RESEND_ANSWER}), 202


@bp.get("/account")
@login_required
def get_account() -> Response:
    return jsonify({"user": user_json(current_user)})


@bp.patch("/account")
@login_required
def update_account() -> Response:
    data = parse_json(AccountUpdate)
    try:
        changes = settings.update_account(current_user, email=data.email, phone=data.phone,
                                          channel=data.notification_channel,
                                          current_password=data.current_password)
    except settings.SettingsError as exc:
        raise APIError(exc.status, exc.message) from None
    return jsonify({"user": user_json(current_user), "message": "; ".join(changes.messages) or "no change"})
