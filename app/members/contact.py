"""Phone numbers and email addresses, parsed and normalised one way everywhere.

Phones are stored in E.164 (``+821012345678``) so one number has one spelling
whatever the member typed (``010-1234-5678``, ``+82 10 1234 5678``); numbers
without a country code are read in ``PHONE_DEFAULT_REGION``.
"""
from __future__ import annotations

import re
import unicodedata

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask import current_app, has_app_context
from phonenumbers import NumberParseException, PhoneNumberType

from app.exceptions import InvalidContact
from app.phrases import N_, Phrase

MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
SEPARATORS = set("+-.()/")
# What people type before an extension: "ext. 12", "x12", "#12", ",12", ";ext=12", "내선 12" (Korean).
EXTENSION_MARK = re.compile(r"(?i)(\bext|extension|[0-9)]\s*x\s*[0-9]|[#,;]|내선)")




def default_region() -> str:
    return current_app.config["PHONE_DEFAULT_REGION"] if has_app_context() else "KR"


def normalise_phone(raw: str, region: str | None = None) -> str:
    """E.164 for a valid mobile number, else InvalidContact saying what is wrong with ``raw``.

    Stricter than ``phonenumbers.parse``, which reads letters as keypad digits
    (``010-abcd-efgh`` is someone's real number) and keeps an extension aside: a code
    texted to a number the member did not type reaches a stranger, and a text message
    cannot reach an extension. So letters and extensions are refused, not converted.
    """
    text = (raw or "").strip()
    if not text or len(text) > 32:
        raise InvalidContact(N_("give a mobile phone number, e.g. 010-1234-5678 or +82 10 1234 5678"))
    try:
        number = phonenumbers.parse(text, region or default_region())
    except NumberParseException as exc:
        number, parse_error = None, exc
    if (number is not None and number.extension) or EXTENSION_MARK.search(text):
        raise InvalidContact(Phrase("%(typed)s has an extension: a text message cannot reach one; "
                                    "give the mobile number alone, e.g. 010-1234-5678", typed=repr(text)))
    if any(ch.isalpha() for ch in text):
        raise InvalidContact(Phrase("%(typed)s has letters: a phone number is digits only "
                                    "(letters are not read as keypad digits), e.g. 010-1234-5678", typed=repr(text)))
    odd = sorted({ch for ch in text if not (ch.isdecimal() or ch.isspace() or ch in SEPARATORS
                                              or unicodedata.category(ch) == "Pd")})
    if odd:
        raise InvalidContact(Phrase("%(typed)s has %(odd)s: a phone number has digits, "
                                    "spaces, '-', '(', ')' and a leading '+' only", typed=repr(text),
                                    odd=" ".join(repr(ch) for ch in odd)))
    if number is None:
        raise InvalidContact(Phrase("not a phone number: %(error)s", error=str(parse_error)))
    if not phonenumbers.is_valid_number(number):
        raise InvalidContact(Phrase("%(typed)s is not a valid phone number", typed=repr(text)))
    if phonenumbers.number_type(number) not in MOBILE_TYPES:
        raise InvalidContact(Phrase("%(typed)s is not a mobile number: text messages cannot reach it", typed=repr(text)))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def national_digits(e164: str) -> tuple[int, str]:
    """(country code, national number digits) of an E.164 number, e.g. (82, '01012345678')."""
    number = phonenumbers.parse(e164, None)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return number.country_code, "".join(ch for ch in national if ch.isdigit())


def normalise_email(raw: str, *, strict: bool = True) -> str:
    """Validated (syntax only, no DNS) and lower-cased, so one address has one spelling.

    The one email normaliser. ``strict`` (sign-up, settings, create-admin) raises InvalidContact
    saying what is wrong; a lookup (``strict=False``: sign-in, codes, rate-limit keys) never
    fails: text that is not a valid address is compared trimmed and lower-cased, which finds
    an address stored before validation, or nobody.
    """
    text = (raw or "").strip()
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        if not strict:
            return text.lower()
        raise InvalidContact(str(exc)) from None


def mask_phone(e164: str) -> str:
    """``+82******5678``: enough for a member to recognise their number."""
    return e164[:3] + "*" * max(len(e164) - 7, 0) + e164[-4:] if len(e164) > 7 else e164
