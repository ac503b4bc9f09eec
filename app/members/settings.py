"""Members change their email, phone number and notification channel.

A changed email or phone is unverified until the member enters the code sent to
it; a member whose notification channel's contact changed cannot post or RSVP
until then. The notification channel can only be switched to a verified contact,
so reminders never go to an address nobody proved.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError

from app.exceptions import CONFLICT, FORBIDDEN, SettingsError
from app.extensions import db
from app.members import limits, verification
from app.members.contact import normalise_email
from app.members.service import claim_email, find_user_by_email
from app.models.user import CHANNEL_EMAIL, CHANNEL_SMS, User
from app.outbox import welcome_if_verified
from app.phrases import N_


@dataclass
class Changes:
    messages: list[str] = field(default_factory=list)
    codes_sent: list[str] = field(default_factory=list)


PHONE_TAKEN = ("this mobile number is verified on another account: a number belongs to one member; "
               "give another number, or sign in to that account")
PHONE_TAKEN_PAGE = N_("This mobile number is verified on another account, and a number belongs to one member. "
                    "Give another number, or sign in to that account.")


def update_account(user: User, *, email: str | None = None, phone: str | None = None,
                   channel: str | None = None, current_password: str | None = None) -> Changes:
    """Apply the changes and commit; SettingsError (4xx) if one is not allowed, RateLimited
    (429) if a code cannot be sent yet. Nothing changes unless everything can."""
    changes = Changes()
    new_email = normalise_email(email) if email is not None else None
    email_changes = new_email is not None and new_email != user.email
    phone_changes = phone is not None and phone != user.phone
    if (email_changes or phone_changes) and user.password_hash and not user.check_password(current_password or ""):
        raise SettingsError(FORBIDDEN, "current_password is missing or wrong: it is needed to change email or phone",
                            N_("Enter your current password to change your email or phone number.")
                            if not current_password else N_("That is not your current password."),
                            field="current_password")
    if email_changes:
        other = find_user_by_email(new_email)
        if other is not None and other.id != user.id and other.email_verified:
            raise SettingsError(CONFLICT, "another account uses this email address",
                            N_("Another account uses this email address."), field="email")
    if phone_changes and verification.phone_taken(phone, user.id):
        raise SettingsError(CONFLICT, PHONE_TAKEN, PHONE_TAKEN_PAGE, field="phone")
    if channel is not None and channel != user.notification_channel and not (
            user.contact_verified(channel) and not (phone_changes if channel == CHANNEL_SMS else email_changes)):
        what = "phone number" if channel == CHANNEL_SMS else "email address"
        raise SettingsError(CONFLICT, f"verify your {what} first: notifications only go to a verified contact "
                                 f"(POST /api/auth/verify/resend with channel {channel!r} sends a code)",
                            N_("Verify your phone number first: reminders only go to a verified phone number. "
                               "Use the \u201ctext me a code\u201d button below, then enter the code.")
                            if channel == CHANNEL_SMS else
                            N_("Verify your email address first: reminders only go to a verified email address. "
                               "Use the \u201cemail me a code\u201d button below, then enter the code."),
                            field="notification_channel")
    limits.enforce_all("RATELIMIT_CODE_SEND",
                       ([("code-email", new_email, "for this email address")] if email_changes else [])
                       + ([("code-sms", phone, "for this phone number")] if phone_changes else []))
    if email_changes:
        claim_email(new_email, user.id)  # from a member who never verified it, if one holds it
        user.email, user.email_verified_at = new_email, None
        changes.codes_sent.append(CHANNEL_EMAIL)
    if phone_changes:
        user.phone, user.phone_verified_at = phone, None
        changes.codes_sent.append(CHANNEL_SMS)
    if channel is not None and channel != user.notification_channel:
        user.notification_channel = channel
        changes.messages.append(N_("notifications now go by text message") if channel == CHANNEL_SMS
                                else N_("notifications now go by email"))
        welcome_if_verified(user)  # moved to a contact verified earlier: the account is verified now
    for sent in changes.codes_sent:
        verification.issue_code(user, sent)
        changes.messages.append(N_("a code was sent to your new phone number") if sent == CHANNEL_SMS
                                else N_("a code was sent to your new email"))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise SettingsError(CONFLICT, "another account uses this email address",
                            N_("Another account uses this email address."), field="email") from None
    return changes
