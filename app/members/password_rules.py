"""What a new password may be (NIST SP 800-63B, 5.1.1.2): 8 to 128 characters, kept exactly as typed
(never trimmed or changed: the API and the form agree), and not a value an attacker tries first.

"Tries first" is a list, not composition rules: the 30,000 most common passwords of the breach corpora
that zxcvbn ships (``FREQUENCY_LISTS["passwords"]``, from Mark Burnett's ten million), a single word
of its dictionaries (English words, names, film and TV words), and the context of this site (its
name, the member's email address and name). Compared without case. The package is pinned in
requirements.txt; nothing here is a list typed by hand.
"""
from __future__ import annotations

from functools import cache

from zxcvbn.frequency_lists import FREQUENCY_LISTS

from app.phrases import N_

MIN_LENGTH = 8
MAX_LENGTH = 128
SITE_WORDS = ("filmclub", "film club", "film-club", "the film club")

COMMON = N_("this password is one of the most common passwords, which are tried first when an account is "
          "attacked; choose another (a few unrelated words make a good one)")
DICTIONARY = N_("this password is a single dictionary word or name; choose another (a few unrelated words make a good one)")
CONTEXT = N_("this password is too close to your email address, your name or this site's name; choose another")


@cache
def _lists() -> tuple[frozenset[str], frozenset[str]]:
    """(common passwords, dictionary words), built on first use (no import-time work)."""
    common = frozenset(FREQUENCY_LISTS["passwords"])
    words = frozenset(w for name, words in FREQUENCY_LISTS.items() if name != "passwords" for w in words)
    return common, words


def password_problem(password: str, *, email: str | None = None, name: str | None = None) -> str | None:
    """Why ``password`` may not be chosen, or None. Length is checked by the form and schema fields."""
    folded = password.casefold()
    common, words = _lists()
    if folded in common:
        return COMMON
    if folded in words:
        return DICTIONARY
    context = set(SITE_WORDS)
    if email:
        context |= {email.casefold(), email.casefold().split("@")[0]}
    if name:
        context.add(name.casefold())
    if folded in context or folded.strip(" .-_!1234567890") in context:
        return CONTEXT
    return None


def refuse_common(password: str) -> str:
    """A pydantic after-validator: the password unchanged, or ValueError saying why not."""
    problem = password_problem(password)
    if problem:
        raise ValueError(problem)
    return password
