"""Verification codes and member settings over JSON.

``/api/auth/verify`` and ``/api/auth/verify/resend`` answer the same way whether or
not an account exists: a wrong, expired, spent or foreign code and an unknown
email all get the same 400 (until a member's code has taken its fifth wrong try:
then the 400 says it is void); a resend gets 202, or 429 with ``Retry-After``
inside the per-email limit, known email or not.
"""
from __future__ import annotations

from flask import Response, jsonify
from flask_login import current_user, login_required

from app.api import bp
from app.api.account_schemas import AccountUpdate, MessageOut, ResendRequest, VerifyRequest
from app.api.auth import user_json
from app.api.errors import APIError, parse_json
from app.api.openapi import operation
from app.api.schemas import AuthAnswer
from app.error_pages import status_for
from app.members import limits, settings, verification
from app.members.contact import normalise_email
from app.members.service import find_user_by_email

INVALID_CODE = ("this code is not valid: it is wrong, expired or already used, or too many wrong "
                "attempts were made; check the email address or ask for a new code")
VOID_CODE = ("this code is void after too many wrong tries: ask for a new one "
             "(POST /api/auth/verify/resend)")
PHONE_TAKEN = ("this phone number was verified by another account first: a mobile number belongs to one "
               "member; change the number (PATCH /api/account) or sign in to that account")
RESEND_ANSWER = "if an account with this email needs verifying, a new code is on its way"


@bp.post("/auth/verify")
@operation("Enter a verification code; the same 400 for a wrong, expired, used or foreign code and for an "
           "unknown email, except that after the fifth wrong try on a member's code the 400 says it is void "
           "(ask for a new one); 409 if another member verified this phone number first", response=MessageOut,
           description="Verified", body=VerifyRequest, errors=(400, 409, 422, 429))
def verify() -> Response:
    limits.enforce_address("RATELIMIT_VERIFY", "verify")
    data = parse_json(VerifyRequest)
    email = normalise_email(data.email, strict=False)
    limits.enforce("RATELIMIT_VERIFY", "verify-email", email, "for this email address")
    outcome = verification.check_code(find_user_by_email(email), data.code)
    if outcome is verification.Check.VOID:
        raise APIError(400, VOID_CODE)
    if outcome is verification.Check.PHONE_TAKEN:
        raise APIError(409, PHONE_TAKEN)
    if outcome is not verification.Check.VERIFIED:
        raise APIError(400, INVALID_CODE)
    return jsonify({"message": "verified: thank you"})


@bp.post("/auth/verify/resend")
@operation("Send a new code (to the member's notification channel unless channel is given); 202 whether or "
           "not the account exists; 429 with Retry-After within the per-email limit or the cooldown (one "
           "request counts once)", status=202, response=MessageOut, description="Accepted", body=ResendRequest,
           errors=(400, 422, 429))
def resend_code() -> tuple[Response, int]:
    limits.enforce_address("RATELIMIT_SIGNUP", "resend")
    data = parse_json(ResendRequest)
    email = normalise_email(data.email, strict=False)
    verification.request_code(email, find_user_by_email(email), data.channel)
    return jsonify({"message": RESEND_ANSWER}), 202


@bp.get("/account")
@operation("Your account settings", response=AuthAnswer, description="You", errors=(401,), signed_in=True)
@login_required
def get_account() -> Response:
    return jsonify({"user": user_json(current_user)})


@bp.patch("/account")
@operation("Change email or phone (each sends a code and needs re-verification; current_password required) "
           "or the notification channel (only to a verified contact)", response=AuthAnswer, description="Changed",
           body=AccountUpdate, errors=(400, 401, 403, 409, 422, 429), signed_in=True)
@login_required
def update_account() -> Response:
    data = parse_json(AccountUpdate)
    try:
        changes = settings.update_account(current_user, email=data.email, phone=data.phone,
                                          channel=data.notification_channel,
                                          current_password=data.current_password)
    except settings.SettingsError as exc:
        raise APIError(status_for(exc), exc.message) from None
    return jsonify({"user": user_json(current_user), "message": "; ".join(changes.messages) or "no change"})
