"""/auth/social/<provider>/login -> provider -> /auth/social/<provider>/callback -> signed in.

A first sign-in goes through /auth/social/complete, which asks for the mobile
number (and an email if the provider shared none) and sends an SMS code.
"""
from __future__ import annotations

import logging

import requests
from authlib.integrations.base_client import OAuthError
from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from app.extensions import db
from app.members import limits, sessions, social
from app.members.forms import PhoneForm
from app.members.social import SocialSignupError, account_to_link, create_member, link, linked_user
from app.models.user import User
from app.i18n import translate
from app.phrases import Phrase
from app.security.proxies import external_url_for

log = logging.getLogger(__name__)

bp = Blueprint("social", __name__, url_prefix="/auth/social")

PENDING_KEY = "social_signup"


def _enabled(name: str) -> social.ProviderSpec:
    spec = social.provider(name)
    if spec is None:
        abort(404, Phrase("sign-in with %(provider)s is not enabled", provider=name))
    return spec


@bp.get("/<provider>/login")
def login(provider: str) -> Response:
    _enabled(provider)
    limits.enforce_address("RATELIMIT_LOGIN", "login")
    return social.client(provider).authorize_redirect(external_url_for("social.callback", provider=provider))


@bp.get("/<provider>/callback")
def callback(provider: str) -> Response:
    spec = _enabled(provider)
    if request.args.get("error"):
        flash(_("%(provider)s sign-in was cancelled (%(error)s).", provider=spec.label, error=request.args['error']), "info")
        return redirect(url_for("auth.login"))
    client = social.client(provider)
    try:
        token = client.authorize_access_token()
        answer = client.get(spec.userinfo_url, token=token)
        answer.raise_for_status()
        profile = social.parse_profile(provider, answer.json())
        id_claims = token.get("userinfo")  # OpenID Connect providers: the verified id_token
        if id_claims and str(id_claims.get("sub")) != profile.subject:
            raise OAuthError("invalid_token", "the id_token and the userinfo disagree about who you are")
    except OAuthError as exc:
        abort(400, Phrase("%(provider)s sign-in failed: %(error)s; please start again", provider=spec.label,
                          error=exc.description or exc.error))
    except (requests.RequestException, ValueError) as exc:
        log.warning("%s sign-in: provider answer unusable: %s", provider, exc)
        abort(502, Phrase("%(provider)s did not answer as expected; please try again later", provider=spec.label))
    return _sign_in(profile)


def _sign_in(profile: social.SocialProfile) -> Response:
    user = linked_user(profile)
    if user is None and current_user.is_authenticated:
        user = current_user._get_current_object()
        _link(user, profile)
        flash(_("%(provider)s sign-in is now linked to your account.", provider=profile.provider.capitalize()), "success")
    elif user is None:
        user = account_to_link(profile)
        if user is not None:
            _link(user, profile)
    if user is None:
        session[PENDING_KEY] = profile.as_session()
        return redirect(url_for("social.complete"))
    sessions.sign_in(user)
    if not user.is_verified:
        flash(_("Enter the code we sent to your phone to finish signing up."), "info")
        return redirect(url_for("accounts.verify"))
    return redirect(url_for("posts.index"))


def _link(user: User, profile: social.SocialProfile) -> None:
    try:
        link(user, profile)
    except IntegrityError:  # linked by a parallel request
        db.session.rollback()


@bp.route("/complete", methods=["GET", "POST"])
def complete() -> Response | tuple[str, int]:
    pending = session.get(PENDING_KEY)
    if not pending:
        flash(_("Start by choosing a sign-in provider."), "info")
        return redirect(url_for("auth.login"))
    profile = social.SocialProfile(**pending)
    form = PhoneForm()
    if request.method == "GET":
        form.name.data = profile.name
        form.phone.data = profile.phone_hint or ""
    status = 200
    if form.validate_on_submit() and not profile.email and not form.email.data:
        form.email.errors.append(_("Give an email address: the provider did not share one."))
    elif form.validate_on_submit():
        try:
            limits.enforce("RATELIMIT_CODE_SEND", "code-sms", form.phone.data, "for this phone number")
            user = create_member(profile, form.name.data, form.phone.data, form.email.data or None)
        except limits.RateLimited as exc:
            form.form_errors.append(_("A code was sent to this number a moment ago: please wait %(wait)s and "
                                      "try again.", wait=limits.wait_phrase(exc.retry_after)))
            status = 429
        except SocialSignupError as exc:
            db.session.rollback()
            form.form_errors.append(translate(str(exc)))
            status = 409
        except IntegrityError:
            db.session.rollback()
            form.form_errors.append(_("This sign-in is already linked to an account: sign in again."))
            status = 409
        else:
            session.pop(PENDING_KEY, None)
            sessions.sign_in(user)
            flash(_("Almost there: enter the code we just texted you."), "success")
            return redirect(url_for("accounts.verify"))
    if form.errors and status == 200:
        status = 400
    return render_template("auth/social_complete.html", form=form, profile=profile), status
