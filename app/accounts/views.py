"""HTML pages: enter a verification code, ask for a new one, change account settings."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.accounts import limits, settings, verification
from app.accounts.forms import ResendForm, SettingsForm, VerifyForm
from app.auth.service import find_user_by_email, normalise_email

bp = Blueprint("accounts", __name__)

INVALID_CODE = ("This code is not valid: it is wrong, expired or already used, or too many wrong attempts "
                "were made. Check the email address or ask for a new code.")
RESEND_ANSWER = "If this account needs verifying, a new code is on its way."


def _resend_form(email: str) -> ResendForm:
    form = ResendForm(formdata=None)
    form.email.data = email
    return form


@bp.route("/auth/verify", methods=["GET", "POST"])
def verify() -> Response | tuple[str, int]:
    form = VerifyForm()
    if request.method == "GET" and current_user.is_authenticated:
        form.email.data = current_user.email
    if request.method == "POST":
        limits.enforce_address("RATELIMIT_VERIFY", "verify")
    if form.validate_on_submit():
        email = normalise_email(form.email.data)
        limits.enforce("RATELIMIT_VERIFY", "verify-email", email, "for this email address")
        if verification.check_code(find_user_by_email(email), form.code.data.strip()):
            flash("Verified: thank you. You can now post.")
            return redirect(url_for("posts.index"))
        form.code.errors.append(INVALID_CODE)
    return render_template("accounts/verify.html", form=form,
                           resend_form=_resend_form(form.email.data or "")), 200 if not form.errors else 400


@bp.post("/auth/verify/resend")
def resend() -> Response:
    form = ResendForm()
    limits.enforce_address("RATELIMIT_SIGNUP", "resend")
    if form.validate_on_submit():
        email = normalise_email(form.email.data)
        limits.enforce("RATELIMIT_CODE_SEND", "code-email", email, "for this email address")
        verification.request_code(find_user_by_email(email), form.channel.data or None)
        flash(RESEND_ANSWER)
    else:
        flash("Enter your email address first.")
    return redirect(url_for("accounts.verify"))


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
            form.form_errors.append(exc.message)
            status = exc.status
        else:
            flash("; ".join(changes.messages).capitalize() + "." if changes.messages else "Nothing changed.")
            return redirect(url_for("accounts.verify") if changes.codes_sent else url_for("accounts.account_settings"))
    if form.errors and status == 200:
        status = 400
    return render_template("accounts/settings.html", form=form, resend_form=_resend_form(current_user.email),
                           linked=sorted(a.provider for a in _social_accounts())), status


def _social_accounts():
    from sqlalchemy import select

    from app.extensions import db
    from app.models.social_account import SocialAccount

    return db.session.scalars(select(SocialAccount).where(SocialAccount.user_id == current_user.id)).all()
