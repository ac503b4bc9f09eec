"""The one rule for showing a time: stored in UTC, shown in ``APP_TIMEZONE`` with its abbreviation.

Every page, email, text message, admin page and the API's human-readable fields print times through
``local_time`` / ``local_date`` (Jinja filters of the same names), formatted by Babel for the
reader's language: "2026년 12월 2일 (수) 오후 7:30 KST" / "Wed, Dec 2, 2026, 7:30 PM KST".
``tests/test_times.py`` fails when a template prints a time any other way.

No database or Redis here: the zone is read from the app's configuration, the locale from the
request (or the block a mail is rendered in), the patterns from Babel's in-memory data.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from flask import Flask, current_app
from flask_babel import get_locale

# Date-time and date patterns per language (CLDR skeletons spelled out, so both read naturally).
DATETIME_PATTERNS = {"ko": "y년 M월 d일 (E) aaaa h:mm", "en": "EEE, MMM d, y, h:mm a"}
DATE_PATTERNS = {"ko": "y년 M월 d일 (E)", "en": "EEE, MMM d, y"}
CLOCK_PATTERNS = {"ko": "aaaa h:mm", "en": "h:mm a"}


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _aware(moment: datetime | str) -> datetime:
    """A stored time (an aware datetime, a naive one meaning UTC, or the cache's ISO string) as aware UTC."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def to_local(moment: datetime | str, zone: str | ZoneInfo | None = None) -> datetime:
    zone = zone or current_app.config["APP_TIMEZONE"]
    return _aware(moment).astimezone(zone if isinstance(zone, ZoneInfo) else _zone(zone))


def _language(locale: str | None) -> str:
    if locale:
        return locale
    selected = get_locale()  # the request's (or the mail's, under force_locale), cached by Flask-Babel
    return str(selected.language) if selected else current_app.config["APP_LOCALE"]


def local_time(moment: datetime | str | None, locale: str | None = None,
               zone: str | ZoneInfo | None = None) -> str:
    """A stored time as the reader reads it, zone abbreviation included ("… 오후 7:30 KST")."""
    if moment is None or moment == "":
        return ""
    local = to_local(moment, zone)
    language = _language(locale)
    pattern = DATETIME_PATTERNS.get(language, DATETIME_PATTERNS["en"])
    return f"{format_datetime(local, pattern, locale=language)} {local.tzname()}"


def local_clock(moment: datetime | str, locale: str | None = None, zone: str | ZoneInfo | None = None) -> str:
    """Only the time of day, with the zone ("오후 7:30 KST"): for "today at …" lines."""
    local = to_local(moment, zone)
    language = _language(locale)
    return f"{format_datetime(local, CLOCK_PATTERNS.get(language, CLOCK_PATTERNS['en']), locale=language)} {local.tzname()}"


def local_date(moment: datetime | date | str | None, locale: str | None = None,
               zone: str | ZoneInfo | None = None) -> str:
    """The day of a stored time in the club's zone ("2026년 12월 2일 (수)")."""
    if moment is None or moment == "":
        return ""
    day = moment if isinstance(moment, date) and not isinstance(moment, datetime) else to_local(moment, zone).date()
    language = _language(locale)
    return format_date(day, DATE_PATTERNS.get(language, DATE_PATTERNS["en"]), locale=language)


def init_times(app: Flask) -> None:
    app.jinja_env.filters.update(local_time=local_time, local_date=local_date, local_clock=local_clock)
