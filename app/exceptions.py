"""The project's own exceptions, in one module (as rq keeps ``rq/exceptions.py``).

Domain errors know nothing of HTTP: a ``Refused`` says *why* in a word (``reason``), with a
message for the API (which may name a field) and, where it differs, one in people's words.
The web maps reasons to status codes in one table (``app.error_pages.STATUS_FOR``), so a
service raises the same error whether a page, the API or a command called it.
"""
from __future__ import annotations

from click import ClickException
from redis.exceptions import RedisError

# Reasons a request is refused; app.error_pages.STATUS_FOR maps each to its status code.
BAD_QUERY = "bad_query"    # 400: a query-string argument that cannot be read
FORBIDDEN = "forbidden"    # 403: not allowed (wrong password, not yours)
NOT_FOUND = "not_found"    # 404: no such thing (for this member)
CONFLICT = "conflict"      # 409: the state of things says no (full, cancelled, taken)
INVALID = "invalid"        # 422: a value that breaks a rule
REASONS = (BAD_QUERY, FORBIDDEN, NOT_FOUND, CONFLICT, INVALID)


class FilmClubError(Exception):
    """Base class of the project's exceptions."""


class Refused(FilmClubError):
    """The app refuses what was asked, for ``reason`` (one of ``REASONS``).

    ``message`` is for the API (it may name fields); ``page_message`` says the same in people's
    words for a page (default: ``message``); ``field`` names the input at fault, if one is.
    """

    def __init__(self, reason: str, message: str, page_message: str | None = None, *,
                 field: str | None = None) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown reason {reason!r}; one of {REASONS}")
        super().__init__(message)
        self.reason, self.message, self.field = reason, message, field
        self.page_message = page_message or message


class BadQuery(Refused):
    """A query-string argument (``?page=``, ``?per_page=``) that cannot be read."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(BAD_QUERY, f"{field} {message}", field=field)


# -- Members (app.members) -------------------------------------------------------------------------------

class EmailTaken(FilmClubError):
    """An account with this email exists."""


class PhoneTaken(FilmClubError):
    """Another member verified this mobile number: a verified number belongs to one member."""


class PasswordRefused(Refused):
    """A refused password change or reset (wrong current password, an unusable reset link);
    ``field`` names the input at fault."""


class SettingsError(Refused):
    """A refused change to a member's settings; ``page_message`` defaults to ``message`` as a sentence,
    shown under ``field`` on the settings page when it is about one."""

    def __init__(self, reason: str, message: str, page_message: str | None = None,
                 field: str | None = None) -> None:
        super().__init__(reason, message, page_message or message[:1].upper() + message[1:] + ".", field=field)


class ProfileError(FilmClubError, ValueError):
    """The provider's answer is not a usable profile."""


class SocialSignupError(FilmClubError):
    """The sign-in cannot go on; the message says what the member can do."""


class InvalidContact(FilmClubError, ValueError):
    """A phone number or email address that cannot be used; the message says why."""


# -- Screenings (app.screenings) -------------------------------------------------------------------------

class ScreeningError(Refused):
    """A refused screening or RSVP change (full, cancelled, started, no such RSVP, a time in the past)."""


# -- Configuration and Redis (app.config, app.redis_clients, app.redis_checks, app.cache) ----------------

class ConfigError(FilmClubError, ClickException, RuntimeError):
    """The environment does not describe a runnable configuration.

    Also a ``click.ClickException``: a ``flask`` command that builds the app with a bad variable
    exits 1 with ``Error: PORT must be a whole number, got 'eighty'``, not a traceback.
    """


class RedisNotConfigured(FilmClubError, RuntimeError):
    """REDIS_URL is empty: there is no queue server to talk to."""


class StopWaiting(FilmClubError):
    """A stop was asked for while ``wait_out`` was waiting for Redis."""


class UnsupportedRedisError(FilmClubError, RedisError):
    """The queue Redis cannot run RQ (cluster mode). A RedisError, so callers
    that treat the queue as unavailable (enqueue, /healthz) report it."""


class TrackingUnsupported(FilmClubError, RedisError):
    """This Redis has no client-side caching: hits must ask Redis each time."""


# -- Sending (jobs.mailer, jobs.sms_backends): transient errors are retried, permanent ones fail the row ---

class MailError(FilmClubError):
    """Base class for sending failures.

    ``session_usable`` is True when the server answered (and the session was
    reset), so a batch can go on with the next recipient on the same
    connection; False when the connection itself is gone.
    """

    session_usable = False


class TransientMailError(MailError):
    """Worth retrying later. ``rate_exceeded``: the provider said we send too fast (SES: 454)."""

    rate_exceeded = False


class PermanentMailError(MailError):
    """The server refused this message for good."""


class UnsendableMessage(PermanentMailError):
    """This row can never be sent as it is (bad address, bad header value); the session is untouched."""

    session_usable = True


class SMSError(FilmClubError):
    """Base class for sending failures."""


class TransientSMSError(SMSError):
    """Worth retrying later."""


class PermanentSMSError(SMSError):
    """The provider refused this message for good."""
