"""The bulk email job: one range of delivery rows, one SMTP connection.

1. Claim every due row in the range with one UPDATE (pending -> sending); a
   heartbeat thread keeps the claims fresh while the job runs
   (``jobs.claim_heartbeat``), so a killed worker's rows are taken back soon.
2. Open one SMTP connection and send row by row; mark each row sent (with the
   server's answer) right after the server accepted it, so a kill costs at
   most the one message in flight.
3. A message fails alone. A row that cannot be sent (a 5xx for that recipient,
   an address this server cannot take, a subject with a line break stored
   before input was validated, any error while building it) is marked failed
   with the reason, and the batch goes on with the next row. A temporary
   refusal of one recipient (4xx), or a connection lost while sending one row,
   gives that row back (due again at once; the job raises at the end, so RQ
   retries it later and the retry claims only what is left) and the batch goes
   on, on a new connection if needed. Only when the server cannot be reached at
   all (or drops the connection on several rows in a row) are the unsent rows
   given back for the retry: then no row could have been sent anyway.

The job raises ``TransientMailError`` rather than swallowing it, so RQ records
the failure, retries it, and after the last retry leaves it in the failed
registry, from where ``rq requeue`` is safe (claims stop double sends).
"""
from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app

from app.extensions import db
from app.mail_html import html_part
from app.models.types import utcnow
from jobs.claim_heartbeat import ClaimHeartbeat
from jobs.deliveries import ClaimedRow, claim_range, mark_row_failed, release_row, stale_claim
from jobs.mailer import MailError, PermanentMailError, SMTPConnection, SMTPSettings, TransientMailError
from jobs.send_rate import mail_rate
from jobs.sent_marks import SentMarks

log = logging.getLogger(__name__)

# Connections lost on this many rows one after another: the server is in trouble, not one message.
MAX_LOST_CONNECTIONS_IN_A_ROW = 3


class _Batch:
    """The claimed rows of one job, what happened to each, and the claims' heartbeat."""

    def __init__(self, rows: list[ClaimedRow], claims: ClaimHeartbeat) -> None:
        self.rows = rows
        self.claims = claims
        self.unsent: dict[int, ClaimedRow] = {row.id: row for row in rows}
        self.sent = self.failed = self.deferred = 0
        self.lost_in_a_row = 0

    def sendable(self, row: ClaimedRow) -> bool:
        if row.id not in self.unsent:
            return False
        if not self.claims.still_ours(row.id):
            log.warning("delivery %s was taken over by another job; not sending it here", row.id)
            del self.unsent[row.id]
            return False
        return True

    def record_sent(self, marks: SentMarks, row: ClaimedRow, answer: str) -> None:
        with self.claims.lock:
            marks.record(row.id, self.claims.token, answer)
        self.sent += 1
        self.lost_in_a_row = 0
        self._done(row)

    def fail(self, row: ClaimedRow, reason: str) -> None:
        with self.claims.lock:
            mark_row_failed(row.id, self.claims.token, reason)
        self.failed += 1
        self.lost_in_a_row = 0
        self._done(row)

    def defer(self, row: ClaimedRow, reason: str) -> None:
        with self.claims.lock:
            release_row(row, self.claims.token, reason)
        self.deferred += 1
        self._done(row)

    def give_back_unsent(self, reason: str) -> None:
        for row in list(self.unsent.values()):
            with self.claims.lock:
                release_row(row, self.claims.token, reason)
            self._done(row)

    def _done(self, row: ClaimedRow) -> None:
        self.unsent.pop(row.id, None)

    def summary(self) -> dict[str, int]:
        return {"claimed": len(self.rows), "sent": self.sent, "failed": self.failed, "deferred": self.deferred}


def send_email_batch(first_id: int, last_id: int) -> dict[str, int]:
    """Send every due email delivery with ``first_id <= id <= last_id``."""
    token = utcnow()
    rows = claim_range(first_id, last_id, token)
    if not rows:
        return {"claimed": 0, "sent": 0, "failed": 0, "deferred": 0}
    with _heartbeat(first_id, last_id, token, rows) as claims:
        batch = _Batch(rows, claims)
        try:
            settings = SMTPSettings.from_config(current_app.config)
            _send_all(batch, settings)
        except TransientMailError as exc:
            batch.give_back_unsent(str(exc))
            raise
        except BaseException as exc:
            # Not a fault of one message (those are handled row by row): the database went away,
            # the job timed out, the worker is shutting down. Hand the rows back for the retry.
            batch.give_back_unsent(f"job interrupted before sending ({type(exc).__name__}: {exc})"[:500])
            raise
    if batch.deferred:
        raise TransientMailError(f"{batch.deferred} recipient(s) deferred by the server; retrying later "
                                 f"({batch.summary()})")
    return batch.summary()


def _heartbeat(first_id: int, last_id: int, token: datetime, rows: list[ClaimedRow]) -> ClaimHeartbeat:
    return ClaimHeartbeat(db.engine, first_id, last_id, token, stale_claim().total_seconds(),
                          claimed_ids=[row.id for row in rows])


def _send_all(batch: _Batch, settings: SMTPSettings) -> None:
    pending = list(batch.rows)
    rate = mail_rate(current_app.config)
    with SentMarks() as marks:
        while pending:
            with SMTPConnection(settings, rate) as connection:
                pending = _send_on(connection, marks, batch, settings, pending)


def _send_on(connection: SMTPConnection, marks: SentMarks, batch: _Batch, settings: SMTPSettings,
             rows: list[ClaimedRow]) -> list[ClaimedRow]:
    """Send ``rows`` on one connection; returns the rows left if the session must be reopened."""
    for index, row in enumerate(rows):
        if not batch.sendable(row):
            continue
        try:
            answer = connection.deliver(settings.sender, row.recipient, row.subject, row.body, row.idempotency_key,
                                        html_part(row.subject, row.body, row.locale))
        except PermanentMailError as exc:
            batch.fail(row, str(exc))
            if not exc.session_usable:
                return rows[index + 1:]
            continue
        except TransientMailError as exc:
            if exc.session_usable:
                batch.defer(row, str(exc))
                continue
            batch.lost_in_a_row += 1
            if batch.lost_in_a_row >= MAX_LOST_CONNECTIONS_IN_A_ROW:
                raise  # the server, not this message: give everything unsent back, RQ retries
            batch.defer(row, str(exc))
            return rows[index + 1:]
        except MailError:
            raise
        except Exception as exc:
            # A fault of this one message that nothing above foresaw (a bug, an odd stored value).
            # It fails alone, with its reason; the session's state is unknown, so reopen it.
            log.exception("delivery %s could not be sent", row.id)
            batch.fail(row, f"could not send this message: {type(exc).__name__}: {exc}")
            return rows[index + 1:]
        batch.record_sent(marks, row, answer)
    return []
