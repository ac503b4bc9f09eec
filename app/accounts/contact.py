"""Phone numbers and email addresses, parsed and normalised one way everywhere.

Phones are stored in E.164 (``+821012345678``) so one number has one spelling
whatever the member typed (``010-1234-5678``, ``+82 10 1234 5678``); numbers
without a country code are read in ``PHONE_DEFAULT_REGION``.
"""
from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask import current_app, has_app_context
from phonenumbers import NumberParseException, PhoneNumberType

MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


class InvalidContact(ValueError):
    """A phone number or email address that cannot be used; the message says why."""


def default_region() -> str:
    return current_app.config["PHONE_DEFAULT_REGION"] if has_app_context() else "KR"


def normalise_phone(raw: str, region: str | None = None) -> str:
    """E.164 for a valid mobile number, else InvalidContact."""
    text = (raw or "").strip()
    if not text or len(text) > 32:
        raise InvalidContact("give a mobile phone number, e.g. 010-1234-5678 or +82 10 1234 5678")
    try:
        number = phonenumbers.parse(text, region or default_region())
    except NumberParseException as exc:
        raise InvalidContact(f"not a phone number: {exc}") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidContact(f"{text!r} is not a valid phone number")
    if phonenumbers.number_type(number) not in MOBILE_TYPES:
        raise InvalidContact(f"{text!r} is not a mobile number: text messages cannot reach it")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def national_digits(e164: str) -> tuple[int, str]:
    """(country code, national number digits) of an E.164 number, e.g. (82, '01012345678')."""
    number = phonenumbers.parse(e164, None)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return number.country_code, "".join(ch for ch in national if ch.isdigit())


def normalise_email(raw: str) -> str:
    """Validated (syntax only, no DNS) and lower-cased, so one address has one spelling."""
    try:
        return validate_email((raw or "").strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidContact(str(exc)) from None


def mask_phone(e164: str) -> str:
    """``+82******5678``: enough for a member to recognise their number."""
    return e164[:3] + "*" * max(len(e164) - 7, 0) + e164[-4:] if len(e164) > 7 else e164
