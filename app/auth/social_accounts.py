"""Who a social sign-in is: an existing link, an account to link, or a new member.

An existing account is linked automatically only when both sides proved the same
email: the provider says it verified it, and the member verified it here. Anything
else could hand an account to whoever registered that address at the provider.
"""
from __future__ import annotations

from sqlalchemy import select

from app.accounts import verification
from app.accounts.contact import InvalidContact, normalise_email
from app.auth.service import find_user_by_email
from app.auth.social import SocialProfile
from app.extensions import db
from app.models.social_account import SocialAccount
from app.models.types import utcnow
from app.models.user import CHANNEL_SMS, User


class SocialSignupError(Exception):
    """The sign-in cannot go on; the message says what the member can do."""


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
        raise SocialSignupError("Give an email address: the provider did not share one.")
    try:
        address = normalise_email(address)
    except InvalidContact as exc:
        raise SocialSignupError(str(exc)) from None
    if find_user_by_email(address) is not None:
        raise SocialSignupError("An account with this email already exists: sign in with your password, "
                                f"then use \u201csign in with {profile.provider.capitalize()}\u201d once to link it.")
    if verification.phone_taken(phone):
        raise SocialSignupError("This mobile number is verified on another account, and a number belongs to one "
                                "member. Give another number, or sign in to that account and link "
                                f"{profile.provider.capitalize()} from there.")
    trusted_email = bool(profile.email and profile.email_verified)
    user = User(email=address, name=name.strip(), phone=phone, notification_channel=CHANNEL_SMS,
                email_verified_at=utcnow() if trusted_email else None)
    db.session.add(user)
    db.session.flush()
    db.session.add(SocialAccount(provider=profile.provider, subject=profile.subject, user_id=user.id,
                                 email=profile.email))
    verification.issue_code(user, CHANNEL_SMS)
    db.session.commit()
    return user
