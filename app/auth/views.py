from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from app.accounts import limits
from app.auth import service
from app.auth.forms import LoginForm, LogoutForm, SignupForm
from app.models.user import CHANNEL_SMS

bp = Blueprint("auth", __name__, url_prefix="/auth")


def _safe_next(default: str) -> str:
    target = request.args.get("next", "")
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc and not parts.scheme:
        return target
    return default


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> Response | str:
    form = SignupForm()
    if request.method == "POST":
        limits.enforce_address("RATELIMIT_SIGNUP", "signup")
    if form.validate_on_submit():
        channel = form.channel.data
        email = service.normalise_email(form.email.data)
        if service.find_user_by_email(email) is None:
            if channel == CHANNEL_SMS:
                limits.enforce("RATELIMIT_CODE_SEND", "code-sms", form.phone.data, "for this phone number")
            else:
                limits.enforce("RATELIMIT_CODE_SEND", "code-email", email, "for this email address")
        try:
            user = service.sign_up(form.email.data, form.name.data, form.password.data, form.phone.data, channel)
        except service.EmailTaken:
            form.email.errors.append("An account with this email already exists.")
        else:
            login_user(user)
            where = "by text message" if channel == CHANNEL_SMS else "by email"
            flash(f"Welcome! A welcome email is on its way, and your verification code was sent {where}.")
            return redirect(url_for("accounts.verify"))
    return render_template("auth/signup.html", form=form), 200 if not form.errors else 400


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str:
    if current_user.is_authenticated:
        return redirect(url_for("posts.index"))
    form = LoginForm()
    if request.method == "POST":
        limits.enforce_address("RATELIMIT_LOGIN", "login")
        limits.enforce("RATELIMIT_LOGIN", "login-email", service.normalise_email(form.email.data or ""),
                       "for this account")
    if form.validate_on_submit():
        user = service.authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user)
            return redirect(_safe_next(url_for("posts.index")))
        form.password.errors.append("Invalid email or password.")
    from app.auth.social import enabled_providers

    return render_template("auth/login.html", form=form, providers=enabled_providers()), \
        200 if not form.errors else 400


@bp.post("/logout")
def logout() -> Response:
    if LogoutForm().validate_on_submit():
        logout_user()
        flash("Signed out.")
    return redirect(url_for("posts.index"))
