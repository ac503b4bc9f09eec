"""HTML pages: enter a verification code, ask for a new one, change account settings."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.accounts import limits, settings, verification
from app.accounts.contact import mask_phone
from app.accounts.forms import ResendForm, SettingsForm, VerifyForm
from app.auth.service import find_user_by_email, normalise_email
from app.extensions import db
from app.models.user import CHANNEL_SMS

bp = Blueprint("accounts", __name__)

INVALID_CODE = ("This code is not valid: it is wrong, expired or already used, or too many wrong attempts "
                "were made. Check the email address or ask for a new code.")
VOID_CODE = ("This code is now void: it was entered wrongly too many times. "
             "Ask for a new code with the button below.")
PHONE_TAKEN = ("This mobile number was verified by another account first, and a number belongs to one "
               "member. Change the number in your account settings, or sign in to that account.")
RESEND_ANSWER = "If this account needs verifying, a new code is on its way."
VERIFY_EMAIL_KEY = "verify_email"  # the address last used on the verify page, to fill it in again


def _resend_form(email: str) -> ResendForm:
    form = ResendForm(formdata=None)
    form.email.data = email
    return form


@bp.route("/auth/verify", methods=["GET", "POST"])
def verify() -> Response | tuple[str, int]:
    form = VerifyForm()
    if request.method == "GET":
        form.email.data = current_user.email if current_user.is_authenticated else session.get(VERIFY_EMAIL_KEY)
    if request.method == "POST":
        limits.enforce_address("RATELIMIT_VERIFY", "verify")
    if form.validate_on_submit():
        email = normalise_email(form.email.data)
        session[VERIFY_EMAIL_KEY] = email
        limits.enforce("RATELIMIT_VERIFY", "verify-email", email, "for this email address")
        outcome = verification.check_code(find_user_by_email(email), form.code.data.strip())
        if outcome is verification.Check.VERIFIED:
            session.pop(VERIFY_EMAIL_KEY, None)
            flash("Verified: thank you. You can now post and RSVP.", "success")
            return redirect(url_for("posts.index"))
        form.code.errors.append({verification.Check.VOID: VOID_CODE,
                                 verification.Check.PHONE_TAKEN: PHONE_TAKEN}.get(outcome, INVALID_CODE))
    return render_template("accounts/verify.html", form=form,
                           resend_form=_resend_form(form.email.data or "")), 200 if not form.errors else 400


@bp.post("/auth/verify/resend")
def resend() -> Response:
    form = ResendForm()
    if not form.validate_on_submit():
        flash("Enter your email address first, then ask for a new code.", "error")
        return redirect(url_for("accounts.verify"))
    email = normalise_email(form.email.data)
    session[VERIFY_EMAIL_KEY] = email
    user = find_user_by_email(email)
    try:
        limits.enforce_address("RATELIMIT_SIGNUP", "resend")
        outcome = verification.request_code(email, user, form.channel.data or None)
    except limits.RateLimited as exc:
        flash(f"Please wait {limits.wait_phrase(exc.retry_after)} before asking for another code.", "error")
        return redirect(url_for("accounts.verify"))
    flash(*_resend_message(user, form.channel.data or None, outcome))
    return redirect(url_for("accounts.verify"))


def _resend_message(user, channel: str | None, outcome) -> tuple[str, str]:
    """Precise for a member asking about their own account; the same words for any other address."""
    if user is None or not current_user.is_authenticated or current_user.id != user.id:
        return RESEND_ANSWER, "info"
    channel = channel or user.notification_channel
    if outcome is verification.Resend.SENT:
        where = f"by text message to {mask_phone(user.phone)}" if channel == CHANNEL_SMS else f"to {user.email}"
        return f"A new code is on its way {where}.", "success"
    what = "mobile number" if channel == CHANNEL_SMS else "email address"
    return f"Your {what} is already verified: there is nothing to send.", "info"


@bp.route("/account/settings", methods=["GET", "POST"])
@login_required
def account_settings() -> Response | tuple[str, int]:
    form = SettingsForm(obj=current_user) if request.method == "GET" else SettingsForm()
    status = 200
    if form.validate_on_submit():
        try:
            changes = settings.update_account(current_user, email=form.email.data, phone=form.phone.data,
                                              channel=form.notification_channel.data,
                                              current_password=form.current_password.data)
        except settings.SettingsError as exc:
            db.session.rollback()
            target = getattr(form, exc.field).errors if exc.field else form.form_errors
            target.append(exc.page_message)
            status = exc.status
        except limits.RateLimited as exc:
            db.session.rollback()
            form.form_errors.append(f"A code was sent a moment ago: please wait {limits.wait_phrase(exc.retry_after)} "
                                    f"before changing your email or phone number again.")
            status = 429
        else:
            flash("; ".join(changes.messages).capitalize() + "." if changes.messages else "Nothing changed.",
                  "success" if changes.messages else "info")
            return redirect(url_for("accounts.verify") if changes.codes_sent else url_for("accounts.account_settings"))
    if form.errors and status == 200:
        status = 400
    return render_template("accounts/settings.html", form=form, resend_form=_resend_form(current_user.email),
                           linked=sorted(a.provider for a in _social_accounts())), status


def _social_accounts():
    from sqlalchemy import select

    from app.models.social_account import SocialAccount

    return db.session.scalars(select(SocialAccount).where(SocialAccount.user_id == current_user.id)).all()
