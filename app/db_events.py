"""Run code after the database transaction commits, never before.

Jobs enqueued before their row commits can run against a row that does not
exist yet, and a cache invalidated before the commit can be refilled with the
old rows. Both are registered here and run only once the commit succeeded; a
rollback discards them.
"""
from __future__ import annotations

import logging
from typing import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session, scoped_session

log = logging.getLogger(__name__)

_KEY = "transaction_state"


def transaction_state(session: Session | scoped_session) -> dict:
    """A dict that lives until the current transaction commits or rolls back."""
    if isinstance(session, scoped_session):
        session = session()
    if not session.in_transaction():
        session.begin()  # so the commit or rollback that ends it fires our events
    return session.info.setdefault(_KEY, {})


def run_after_commit(session: Session | scoped_session, callback: Callable[[], None]) -> None:
    """Call ``callback()`` once the session's current transaction commits."""
    transaction_state(session).setdefault("callbacks", []).append(callback)


def _after_commit(session: Session) -> None:
    state = session.info.pop(_KEY, {})
    for callback in state.get("callbacks", ()):
        try:
            callback()
        except Exception:  # one failing callback must not skip the others
            log.exception("after-commit callback %r failed", callback)


def _after_soft_rollback(session: Session, previous_transaction) -> None:
    # Fires on every rollback() call, even when no SQL ran yet; a savepoint's
    # rollback leaves the outer transaction (and its callbacks) alive.
    if not previous_transaction.nested:
        session.info.pop(_KEY, None)


def install(session_class: type[Session]) -> None:
    """Attach the hooks to a Session class (idempotent)."""
    if not event.contains(session_class, "after_commit", _after_commit):
        event.listen(session_class, "after_commit", _after_commit)
        event.listen(session_class, "after_soft_rollback", _after_soft_rollback)
