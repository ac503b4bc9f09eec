"""The delivery log's state changes: claim before sending, mark right after.

A row moves pending -> sending (claimed) -> sent | failed, or back to pending
after a transient error. The claim is one conditional UPDATE, so two jobs for
the same row (a retry, a requeue, a duplicate from the sweeper) cannot both
send it. A row left in ``sending`` by a killed worker becomes claimable again
after the stale-claim time (``DELIVERY_STALE_CLAIM_SECONDS``, 30 s; a live job
keeps its claims fresh with ``jobs.claim_heartbeat``); that is the one message
a kill may send twice.

Bulk sends claim a whole id range in one UPDATE (``claim_range``) and then mark
each row right after its message is accepted (``jobs.sent_marks.SentMarks``), so a kill
costs at most the one message in flight; the rows it had claimed but not sent
wait for the stale-claim time (no more heartbeat) and are swept again. ``claimed_at`` doubles as
the claim's token: a mark only lands while the row still carries our token.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from flask import current_app
from sqlalchemy import ColumnElement, and_, or_, update

from app import defaults
from app.extensions import db
from app.models.delivery import EMAIL, FAILED, PENDING, SENDING, SENT, Delivery
from app.models.types import utcnow
from jobs.claim_heartbeat import ClaimHeartbeat

log = logging.getLogger(__name__)



def stale_claim() -> timedelta:
    """How long a claim holds without a heartbeat before the row counts as abandoned (config, default 30 s)."""
    return timedelta(seconds=current_app.config["DELIVERY_STALE_CLAIM_SECONDS"])


def claimable(now: datetime) -> ColumnElement[bool]:
    """Rows a job may take: pending, or claimed so long ago that the claimer must be dead.

    Written so that no index on ``status`` can serve it: claims always come
    with the row's id (or an id range), and SQLite's planner, offered
    ``status = 'pending' OR (status = 'sending' AND ...)``, preferred walking
    every unsent row in the status index over the 100 ids of a batch.
    """
    return and_(Delivery.status.in_((PENDING, SENDING)),
                or_(Delivery.status == PENDING, Delivery.claimed_at < now - stale_claim()))


# --- bulk: claim a range at once, mark row by row ---------------------------------------------

@dataclass(frozen=True)
class ClaimedRow:
    id: int
    recipient: str
    subject: str
    body: str
    idempotency_key: str
    attempts: int
    locale: str | None = None  # the language it is written in: the HTML part's (app.mail_html)


# Kinds whose rows are sent only by a job of their own (codes are redacted after
# sending), never as part of an id-range batch.
OWN_JOB_KINDS = ("verification_code",)


def claim_statement(which: ColumnElement[bool], token: datetime):
    """The one claim: every claimable row that ``which`` selects, stamped with ``token`` (the claim time)."""
    return (
        update(Delivery)
        .where(which, claimable(token))
        .values(status=SENDING, claimed_at=token, attempts=Delivery.attempts + 1)
        .returning(Delivery.id, Delivery.recipient, Delivery.subject, Delivery.body,
                   Delivery.idempotency_key, Delivery.attempts, Delivery.locale)
        .execution_options(synchronize_session=False)
    )


def claim_rows(which: ColumnElement[bool], token: datetime) -> list[ClaimedRow]:
    """Claim the rows ``which`` selects in one UPDATE; the ones this claim took, by id."""
    result = db.session.execute(claim_statement(which, token))
    rows = [ClaimedRow(*row) for row in result]
    db.session.commit()
    return sorted(rows, key=lambda row: row.id)


def in_range(first_id: int, last_id: int, token: datetime, channel: str = EMAIL) -> ColumnElement[bool]:
    """A batch's rows: due ``channel`` rows with ``first_id <= id <= last_id``, except kinds with jobs of their own.

    Rows not yet due (``due_at`` in the future: a scheduled message, a retry
    that waits) are left alone.
    """
    return and_(Delivery.id.between(first_id, last_id), Delivery.channel == channel,
                Delivery.kind.not_in(OWN_JOB_KINDS), Delivery.due_at <= token)


def claim_range(first_id: int, last_id: int, token: datetime, channel: str = EMAIL) -> list[ClaimedRow]:
    """Claim a batch's rows (``in_range``) in one UPDATE."""
    return claim_rows(in_range(first_id, last_id, token, channel), token)


def claim_range_statement(first_id: int, last_id: int, token: datetime, channel: str = EMAIL):
    return claim_statement(in_range(first_id, last_id, token, channel), token)


def send_claimed(delivery_id: int, send: Callable[[ClaimedRow], str],
                 permanent: type[Exception], transient: type[Exception]) -> str:
    """Claim one row, send it with ``send``, record what happened: the one-row case of a batch.

    The claim and every mark go through the same statements as a bulk send
    (``claim_rows``, ``mark_row_sent``/``mark_row_failed``/``release_row``), so a
    mark lands only while the row still carries this claim's token.
    ``permanent`` errors fail the row; ``transient`` ones give it back (due
    again in 30 s) and are re-raised so RQ's Retry runs the job again. Any
    other error while sending (a message that cannot be built, a bug) fails
    this one row with its reason instead of leaving it claimed: a job of one
    message must not come back every stale-claim time with the same fault.
    While ``send`` runs, a heartbeat keeps the claim fresh (a slow server).
    """
    token = utcnow()
    rows = claim_rows(Delivery.id == delivery_id, token)
    if not rows:
        return "skipped: already sent, failed or in flight"
    row = rows[0]
    heartbeat = ClaimHeartbeat(db.engine, delivery_id, delivery_id, token,
                               stale_claim().total_seconds(), claimed_ids=[delivery_id])
    try:
        with heartbeat:
            answer = send(row)
    except permanent as exc:
        mark_row_failed(row.id, token, str(exc))
        return f"failed: {exc}"
    except transient as exc:
        release_row(row, token, str(exc), due_at=utcnow() + timedelta(seconds=defaults.DELIVERY_RETRY_IN))
        raise
    except Exception as exc:
        log.exception("delivery %s could not be sent", delivery_id)
        db.session.rollback()
        mark_row_failed(row.id, token, f"could not send this message: {type(exc).__name__}: {exc}")
        return f"failed: {exc}"
    mark_row_sent(row.id, token, answer)
    return answer


def _ours(delivery_id: int, token: datetime) -> ColumnElement[bool]:
    return and_(Delivery.id == delivery_id, Delivery.status == SENDING, Delivery.claimed_at == token)


def _update_claimed(delivery_id: int, token: datetime, **values) -> bool:
    result = db.session.execute(
        update(Delivery).where(_ours(delivery_id, token)).values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if result.rowcount != 1:
        log.warning("delivery %s: our claim was taken over before we could record %s", delivery_id, values)
        return False
    return True


def mark_row_sent(delivery_id: int, token: datetime, provider_response: str) -> bool:
    """Mark one claimed row sent (a single message; a batch records through ``SentMarks``)."""
    return _update_claimed(delivery_id, token, status=SENT, sent_at=utcnow(),
                           provider_response=provider_response[:500], last_error=None)


def mark_row_failed(delivery_id: int, token: datetime, reason: str) -> bool:
    log.warning("delivery %s failed for good: %s", delivery_id, reason)
    return _update_claimed(delivery_id, token, status=FAILED, last_error=reason[:2000])


def release_row(row: ClaimedRow, token: datetime, reason: str, due_at: datetime | None = None) -> bool:
    """Give a claimed row back after a transient error (failed for good past DELIVERY_MAX_ATTEMPTS)."""
    if row.attempts >= defaults.DELIVERY_MAX_ATTEMPTS:
        return mark_row_failed(row.id, token, f"gave up after {row.attempts} attempts: {reason}")
    return _update_claimed(row.id, token, status=PENDING, last_error=reason[:2000],
                           due_at=due_at or utcnow())
