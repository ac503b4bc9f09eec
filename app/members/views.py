"""HTML pages of the members: sign up, sign in, sign out (blueprint ``auth``, under /auth); enter a
verification code, ask for a new one, change account settings (blueprint ``accounts``)."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from app.error_pages import status_for
from app.extensions import db
from app.i18n import translate
from app.members import limits, passwords, service, sessions, settings, verification
from app.members.contact import mask_phone, normalise_email
from app.members.forms import (LoginForm, LogoutForm, PasswordChangeForm, ResendForm, ResetForm, ResetRequestForm,
                               SettingsForm, SignupForm, VerifyForm)
from app.members.service import find_user_by_email
from app.members.settings import PHONE_TAKEN_PAGE
from app.members.social import enabled_providers
from app.models.social_account import SocialAccount
from app.models.user import CHANNEL_SMS
from app.phrases import N_

auth_bp = Blueprint("auth", __name__, url_prefix="/auth")


def _safe_next(default: str) -> str:
    target = request.args.get("next", "")
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc and not parts.scheme:
        return target
    return default


@auth_bp.route("/signup", methods=["GET", "POST"])
def signup() -> Response | tuple[str, int]:
    form = SignupForm()
    status = 200
    if request.method == "POST":
        limits.enforce_address("RATELIMIT_SIGNUP", "signup")
    if form.validate_on_submit():
        channel = form.channel.data
        email = normalise_email(form.email.data, strict=False)
        try:
            if not service.email_owned(email) and not verification.phone_taken(form.phone.data):
                verification.enforce_code_limits(email, channel, form.phone.data)
            user = service.sign_up(form.email.data, form.name.data, form.password.data, form.phone.data, channel)
        except service.EmailTaken:
            form.email.errors.append(_("An account with this email already exists. Sign in instead."))
        except service.PhoneTaken:
            form.phone.errors.append(translate(PHONE_TAKEN_PAGE))
        except limits.RateLimited as exc:
            form.form_errors.append(_("A code was sent to this address or number a moment ago: please wait "
                                      "%(wait)s and try again.", wait=limits.wait_phrase(exc.retry_after)))
            status = 429
        else:
            sessions.sign_in(user)
            flash(_("Welcome! Your verification code was sent by text message.") if channel == CHANNEL_SMS
                  else _("Welcome! Your verification code was sent by email."), "success")
            return redirect(url_for("accounts.verify"))
    return render_template("auth/signup.html", form=form), status if status != 200 or not form.errors else 400


@auth_bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str:
    if current_user.is_authenticated:
        return redirect(url_for("posts.index"))
    form = LoginForm()
    if request.method == "POST":
        limits.enforce_address("RATELIMIT_LOGIN", "login")
    if form.validate_on_submit():
        user = service.sign_in_attempt(form.email.data, form.password.data)
        if user is not None:
            sessions.sign_in(user)
            return redirect(_safe_next(url_for("posts.index")))
        form.password.errors.append(_("Invalid email or password."))

    return render_template("auth/login.html", form=form, providers=enabled_providers()), \
        200 if not form.errors else 400


@auth_bp.post("/logout")
def logout() -> Response:
    if LogoutForm().validate_on_submit():
        sessions.sign_out()
        flash(_("Signed out."), "info")
    return redirect(url_for("posts.index"))


RESET_SENT = N_("If an account has this email address, a link to choose a new password is on its way. "
              "It works once, for 30 minutes.")


@auth_bp.route("/reset", methods=["GET", "POST"])
def reset_request() -> Response | tuple[str, int]:
    form = ResetRequestForm()
    if request.method == "POST":
        limits.enforce_address("RATELIMIT_SIGNUP", "password-reset")
    if form.validate_on_submit():
        passwords.request_reset(normalise_email(form.email.data, strict=False))
        flash(translate(RESET_SENT), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_request.html", form=form), 200 if not form.errors else 400


@auth_bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_confirm(token: str) -> Response | tuple[str, int]:
    if passwords.user_for_token(token) is None:
        flash(translate(passwords.BAD_LINK_PAGE), "error")
        return render_template("auth/reset_request.html", form=ResetRequestForm(formdata=None)), 400
    form = ResetForm()
    if request.method == "POST":
        limits.enforce_address("RATELIMIT_VERIFY", "password-reset-confirm")
    if form.validate_on_submit():
        try:
            user = passwords.confirm_reset(token, form.password.data)
        except passwords.PasswordRefused as exc:
            form.form_errors.append(translate(exc.page_message))
        else:
            sessions.sign_in(user)
            flash(_("Your password is changed, and you are signed out everywhere else."), "success")
            return redirect(url_for("posts.index"))
    # the token is in this page's address: it must not leave in a Referer header
    return render_template("auth/reset.html", form=form), 200 if not form.errors else 400, \
        {"Referrer-Policy": "no-referrer"}


accounts_bp = Blueprint("accounts", __name__)

INVALID_CODE = N_("This code is not valid: it is wrong, expired or already used, or too many wrong attempts "
                "were made. Check the email address or ask for a new code.")
VOID_CODE = N_("This code is now void: it was entered wrongly too many times. "
             "Ask for a new code with the button below.")
PHONE_TAKEN = N_("This mobile number was verified by another account first, and a number belongs to one "
               "member. Change the number in your account settings, or sign in to that account.")
RESEND_ANSWER = N_("If this account needs verifying, a new code is on its way.")
VERIFY_EMAIL_KEY = "verify_email"  # the address last used on the verify page, to fill it in again


def _resend_form(email: str) -> ResendForm:
    form = ResendForm(formdata=None)
    form.email.data = email
    return form


@accounts_bp.route("/auth/verify", methods=["GET", "POST"])
def verify() -> Response | tuple[str, int]:
    form = VerifyForm()
    if request.method == "GET":
        form.email.data = current_user.email if current_user.is_authenticated else session.get(VERIFY_EMAIL_KEY)
    if request.method == "POST":
        limits.enforce_address("RATELIMIT_VERIFY", "verify")
    if form.validate_on_submit():
        email = normalise_email(form.email.data, strict=False)
        session[VERIFY_EMAIL_KEY] = email
        limits.enforce("RATELIMIT_VERIFY", "verify-email", email, "for this email address")
        outcome = verification.check_code(find_user_by_email(email), form.code.data.strip())
        if outcome is verification.Check.VERIFIED:
            session.pop(VERIFY_EMAIL_KEY, None)
            flash(_("Verified: thank you. You can now post and RSVP."), "success")
            return redirect(url_for("posts.index"))
        form.code.errors.append(translate({verification.Check.VOID: VOID_CODE,
                                           verification.Check.PHONE_TAKEN: PHONE_TAKEN}.get(outcome, INVALID_CODE)))
    return render_template("accounts/verify.html", form=form,
                           resend_form=_resend_form(form.email.data or "")), 200 if not form.errors else 400


@accounts_bp.post("/auth/verify/resend")
def resend() -> Response:
    form = ResendForm()
    if not form.validate_on_submit():
        flash(_("Enter your email address first, then ask for a new code."), "error")
        return redirect(url_for("accounts.verify"))
    email = normalise_email(form.email.data, strict=False)
    session[VERIFY_EMAIL_KEY] = email
    user = find_user_by_email(email)
    try:
        limits.enforce_address("RATELIMIT_SIGNUP", "resend")
        outcome = verification.request_code(email, user, form.channel.data or None)
    except limits.RateLimited as exc:
        flash(_("Please wait %(wait)s before asking for another code.", wait=limits.wait_phrase(exc.retry_after)), "error")
        return redirect(url_for("accounts.verify"))
    flash(*_resend_message(user, form.channel.data or None, outcome))
    return redirect(url_for("accounts.verify"))


def _resend_message(user, channel: str | None, outcome) -> tuple[str, str]:
    """Precise for a member asking about their own account; the same words for any other address."""
    if user is None or not current_user.is_authenticated or current_user.id != user.id:
        return translate(RESEND_ANSWER), "info"
    channel = channel or user.notification_channel
    if outcome is verification.Resend.SENT:
        if channel == CHANNEL_SMS:
            return _("A new code is on its way by text message to %(phone)s.", phone=mask_phone(user.phone)), "success"
        return _("A new code is on its way to %(email)s.", email=user.email), "success"
    if channel == CHANNEL_SMS:
        return _("Your mobile number is already verified: there is nothing to send."), "info"
    return _("Your email address is already verified: there is nothing to send."), "info"


@accounts_bp.route("/account/settings", methods=["GET", "POST"])
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
            target.append(translate(exc.page_message))
            status = status_for(exc)
        except limits.RateLimited as exc:
            db.session.rollback()
            form.form_errors.append(_("A code was sent a moment ago: please wait %(wait)s before changing your "
                                      "email or phone number again.", wait=limits.wait_phrase(exc.retry_after)))
            status = 429
        else:
            flash(_sentence("; ".join(translate(m) for m in changes.messages)) if changes.messages
                  else _("Nothing changed."),
                  "success" if changes.messages else "info")
            return redirect(url_for("accounts.verify") if changes.codes_sent else url_for("accounts.account_settings"))
    if form.errors and status == 200:
        status = 400
    return render_template("accounts/settings.html", form=form, resend_form=_resend_form(current_user.email),
                           everywhere_form=LogoutForm(formdata=None),
                           linked=sorted(a.provider for a in _social_accounts())), status


@accounts_bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> Response | tuple[str, int]:
    form = PasswordChangeForm()
    status = 200
    if form.validate_on_submit():
        try:
            limits.enforce("RATELIMIT_LOGIN", "password-change", str(current_user.id), "for this account")
            passwords.change_password(current_user._get_current_object(), form.current_password.data,
                                      form.password.data)
        except passwords.PasswordRefused as exc:
            getattr(form, exc.field).errors.append(translate(exc.page_message))
            status = status_for(exc)
        except limits.RateLimited as exc:
            form.form_errors.append(_("Too many tries: please wait %(wait)s.", wait=limits.wait_phrase(exc.retry_after)))
            status = 429
        else:
            flash(_("Password changed. Your other devices are signed out."), "success")
            return redirect(url_for("accounts.account_settings"))
    if form.errors and status == 200:
        status = 400
    return render_template("accounts/password.html", form=form), status


@accounts_bp.post("/account/sign-out-everywhere")
@login_required
def sign_out_everywhere() -> Response:
    if not LogoutForm().validate_on_submit():
        abort(400, N_("The form expired: open the settings page again and press the button once more."))
    sessions.sign_out_everywhere(current_user._get_current_object())
    flash(_("Signed out on every device: every browser signed in to your account must sign in again."), "info")
    return redirect(url_for("auth.login"))


def _sentence(text: str) -> str:
    """"email changed; a code is on its way" -> "Email changed; a code is on its way." (Hangul has no case)."""
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _social_accounts():
    return db.session.scalars(select(SocialAccount).where(SocialAccount.user_id == current_user.id)).all()
