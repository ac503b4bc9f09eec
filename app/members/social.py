"""Social sign-in providers (Kakao, Naver, Google) through Authlib, and what their profiles mean.

A provider is enabled only when ``<PROVIDER>_CLIENT_ID`` and ``<PROVIDER>_CLIENT_SECRET``
are set. Its endpoints are the documented ones unless ``<PROVIDER>_AUTHORIZE_URL``,
``_TOKEN_URL``, ``_USERINFO_URL`` (and for Google ``_JWKS_URL``) override them; the
overrides exist for tests and local fakes that speak the same protocol on 127.0.0.1.

Each app gets its own Authlib ``OAuth`` registry (kept in ``app.extensions``), so two
apps with different settings never share a client.

Who a social sign-in is (below): an existing link, an account to link, or a new member. An
existing account is linked automatically only when both sides proved the same email: the
provider says it verified it, and the member verified it here. Anything else could hand an
account to whoever registered that address at the provider.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app
from sqlalchemy import select

from app.exceptions import ProfileError, SocialSignupError
from app.extensions import db
from app.i18n import signup_locale
from app.members import verification
from app.members.contact import InvalidContact, normalise_email
from app.members.service import claim_email, email_owned, find_user_by_email
from app.models.social_account import SocialAccount
from app.models.types import utcnow
from app.models.user import CHANNEL_SMS, User
from app.phrases import N_, Phrase


@dataclass(frozen=True)
class ProviderSpec:
    name: str
    label: str
    authorize_url: str
    token_url: str
    userinfo_url: str
    scope: str
    jwks_url: str = ""
    issuer: str = ""


SPECS = {
    "kakao": ProviderSpec("kakao", "Kakao", "https://kauth.kakao.com/oauth/authorize",
                          "https://kauth.kakao.com/oauth/token", "https://kapi.kakao.com/v2/user/me",
                          "profile_nickname account_email"),
    "naver": ProviderSpec("naver", "Naver", "https://nid.naver.com/oauth2.0/authorize",
                          "https://nid.naver.com/oauth2.0/token", "https://openapi.naver.com/v1/nid/me", ""),
    "google": ProviderSpec("google", "Google", "https://accounts.google.com/o/oauth2/v2/auth",
                           "https://oauth2.googleapis.com/token",
                           "https://openidconnect.googleapis.com/v1/userinfo", "openid email profile",
                           jwks_url="https://www.googleapis.com/oauth2/v3/certs",
                           issuer="https://accounts.google.com"),
}


@dataclass(frozen=True)
class SocialProfile:
    provider: str
    subject: str
    email: str | None
    email_verified: bool   # the provider vouches that the member controls this email
    name: str
    phone_hint: str | None = None

    def as_session(self) -> dict[str, Any]:
        return dict(vars(self))




def _resolved(app: Flask, spec: ProviderSpec) -> ProviderSpec:
    prefix = spec.name.upper()
    config = app.config
    return ProviderSpec(
        spec.name, spec.label,
        config.get(f"{prefix}_AUTHORIZE_URL") or spec.authorize_url,
        config.get(f"{prefix}_TOKEN_URL") or spec.token_url,
        config.get(f"{prefix}_USERINFO_URL") or spec.userinfo_url,
        spec.scope, config.get(f"{prefix}_JWKS_URL") or spec.jwks_url, spec.issuer,
    )


def init_social(app: Flask) -> None:
    oauth = OAuth(app)
    enabled: dict[str, ProviderSpec] = {}
    for name, spec in SPECS.items():
        client_id = app.config.get(f"{name.upper()}_CLIENT_ID")
        secret = app.config.get(f"{name.upper()}_CLIENT_SECRET")
        if not (client_id and secret):
            continue
        spec = _resolved(app, spec)
        metadata: dict[str, Any] = {"jwks_uri": spec.jwks_url, "issuer": spec.issuer} if spec.jwks_url else {}
        client_kwargs: dict[str, Any] = {"token_endpoint_auth_method": "client_secret_post", "timeout": 10}
        if spec.scope:
            client_kwargs["scope"] = spec.scope
        oauth.register(name, client_id=client_id, client_secret=secret, authorize_url=spec.authorize_url,
                       access_token_url=spec.token_url, client_kwargs=client_kwargs, **metadata)
        enabled[name] = spec
    app.extensions["social_providers"] = enabled
    app.extensions["social_oauth"] = oauth


def enabled_providers() -> list[ProviderSpec]:
    return list(current_app.extensions.get("social_providers", {}).values())


def provider(name: str) -> ProviderSpec | None:
    return current_app.extensions.get("social_providers", {}).get(name)


def client(name: str):
    return current_app.extensions["social_oauth"].create_client(name)


def parse_profile(name: str, data: dict[str, Any]) -> SocialProfile:
    """Read a provider's userinfo answer (each in its documented shape)."""
    try:
        if name == "kakao":
            account = data.get("kakao_account") or {}
            profile = account.get("profile") or {}
            return SocialProfile(name, str(data["id"]), account.get("email"),
                                 bool(account.get("is_email_valid") and account.get("is_email_verified")),
                                 profile.get("nickname") or "Kakao member")
        if name == "naver":
            if data.get("resultcode") != "00":
                raise ProfileError(f"Naver answered {data.get('resultcode')}: {data.get('message')}")
            info = data["response"]
            # Naver does not say whether the email was verified: it is never used to link accounts.
            return SocialProfile(name, str(info["id"]), info.get("email"), False,
                                 info.get("name") or info.get("nickname") or "Naver member", info.get("mobile"))
        if name == "google":
            return SocialProfile(name, str(data["sub"]), data.get("email"), data.get("email_verified") is True,
                                 data.get("name") or "Google member")
    except (KeyError, TypeError, AttributeError) as exc:
        raise ProfileError(f"unexpected {name} profile: missing {exc}") from None
    raise ProfileError(f"unknown provider {name}")




def linked_user(profile: SocialProfile) -> User | None:
    link = db.session.scalar(select(SocialAccount).where(SocialAccount.provider == profile.provider,
                                                         SocialAccount.subject == profile.subject))
    return db.session.get(User, link.user_id) if link else None


def link(user: User, profile: SocialProfile) -> None:
    db.session.add(SocialAccount(provider=profile.provider, subject=profile.subject, user_id=user.id,
                                 email=profile.email))
    db.session.commit()


def account_to_link(profile: SocialProfile) -> User | None:
    """The member with the same verified email, if the provider verified it too."""
    if not (profile.email and profile.email_verified):
        return None
    user = find_user_by_email(profile.email)
    return user if user is not None and user.email_verified else None


def create_member(profile: SocialProfile, name: str, phone: str, email: str | None) -> User:
    """A new member from a first social sign-in; unusable until the phone code is entered."""
    address = profile.email or email
    if not address:
        raise SocialSignupError(N_("Give an email address: the provider did not share one."))
    try:
        address = normalise_email(address)
    except InvalidContact as exc:
        raise SocialSignupError(str(exc)) from None
    if email_owned(address):
        raise SocialSignupError(Phrase("An account with this email already exists: sign in with your password, "
                                       "then use \u201csign in with %(provider)s\u201d once to link it.",
                                       provider=profile.provider.capitalize()))
    if verification.phone_taken(phone):
        raise SocialSignupError(Phrase("This mobile number is verified on another account, and a number belongs "
                                       "to one member. Give another number, or sign in to that account and link "
                                       "%(provider)s from there.", provider=profile.provider.capitalize()))
    claim_email(address)  # an unverified holder does not keep the owner out
    trusted_email = bool(profile.email and profile.email_verified)
    user = User(email=address, name=name.strip(), phone=phone, notification_channel=CHANNEL_SMS,
                locale=signup_locale(),
                email_verified_at=utcnow() if trusted_email else None)
    db.session.add(user)
    db.session.flush()
    db.session.add(SocialAccount(provider=profile.provider, subject=profile.subject, user_id=user.id,
                                 email=profile.email))
    verification.issue_code(user, CHANNEL_SMS)
    db.session.commit()
    return user
