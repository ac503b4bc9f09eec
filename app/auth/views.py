from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from app.accounts import limits, verification
from app.auth import service
from app.accounts.settings import PHONE_TAKEN_PAGE
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
def signup() -> Response | tuple[str, int]:
    form = SignupForm()
    status = 200
    if request.method == "POST":
        limits.enforce_address("RATELIMIT_SIGNUP", "signup")
    if form.validate_on_submit():
        channel = form.channel.data
        email = service.normalise_email(form.email.data)
        try:
            if service.find_user_by_email(email) is None and not verification.phone_taken(form.phone.data):
                verification.enforce_code_limits(email, channel, form.phone.data)
            user = service.sign_up(form.email.data, form.name.data, form.password.data, form.phone.data, channel)
        except service.EmailTaken:
            form.email.errors.append("An account with this email already exists. Sign in instead.")
        except service.PhoneTaken:
            form.phone.errors.append(PHONE_TAKEN_PAGE)
        except limits.RateLimited as exc:
            form.form_errors.append(f"A code was sent to this address or number a moment ago: please wait "
                                    f"{limits.wait_phrase(exc.retry_after)} and try again.")
            status = 429
        else:
            login_user(user)
            where = "by text message" if channel == CHANNEL_SMS else "by email"
            flash(f"Welcome! A welcome email is on its way, and your verification code was sent {where}.",
                  "success")
            return redirect(url_for("accounts.verify"))
    return render_template("auth/signup.html", form=form), status if status != 200 or not form.errors else 400


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
        flash("Signed out.", "info")
    return redirect(url_for("posts.index"))
