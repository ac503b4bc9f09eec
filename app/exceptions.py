"""The project's own exceptions, in one module (as rq keeps ``rq/exceptions.py``).

Domain errors know nothing of HTTP: a ``Refused`` says *why* in a word (``reason``), with a
message for the API (which may name a field) and, where it differs, one in people's words.
The web maps reasons to status codes in one table (``app.error_pages.STATUS_FOR``), so a
service raises the same error whether a page, the API or a command called it.
"""
from __future__ import annotations

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
