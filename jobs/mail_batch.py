"""The bulk email job: one range of delivery rows, one SMTP connection.

1. Claim every due row in the range with one UPDATE (pending -> sending).
2. Open one SMTP connection and send row by row; mark each row sent (with the
   server's answer) right after the server accepted it, so a kill costs at
   most the one message in flight.
3. A permanent refusal (5xx) fails that row only. A temporary refusal of one
   recipient (4xx) gives that row back and the job raises at the end, so RQ
   retries it later (``Retry`` with backoff) and the retry claims only what is
   left. A lost connection gives back every unsent row and raises at once.

The job raises ``TransientMailError`` rather than swallowing it, so RQ records
the failure, retries it, and after the last retry leaves it in the failed
registry, from where ``rq requeue`` is safe (claims stop double sends).
"""
from __future__ import annotations

import logging
import time
from datetime import datetime

from flask import current_app

from app.models.types import utcnow
from jobs.deliveries import (ClaimedRow, SentMarks, claim_range, mark_row_failed, refresh_claims, release_row,
                             stale_claim)
from jobs.mailer import (MailError, PermanentMailError, SMTPConnection, SMTPSettings, TransientMailError,
                         build_message)

log = logging.getLogger(__name__)


class _Batch:
    """The claimed rows of one job and the claim token they carry."""

    def __init__(self, rows: list[ClaimedRow], token: datetime) -> None:
        self.rows = rows
        self.token = token
        self.unsent: dict[int, ClaimedRow] = {row.id: row for row in rows}
        self.refresh_every = max(stale_claim().total_seconds() / 3, 0.5)
        self.refreshed_at = time.monotonic()
        self.sent = self.failed = self.deferred = 0

    def keep_claims_fresh(self) -> None:
        if time.monotonic() - self.refreshed_at < self.refresh_every:
            return
        new_token = utcnow()
        still_ours = refresh_claims(list(self.unsent), self.token, new_token)
        for lost in set(self.unsent) - still_ours:
            log.warning("delivery %s was taken over by another job; not sending it here", lost)
            del self.unsent[lost]
        self.token, self.refreshed_at = new_token, time.monotonic()

    def done(self, row: ClaimedRow) -> None:
        self.unsent.pop(row.id, None)

    def give_back_unsent(self, reason: str) -> None:
        for row in list(self.unsent.values()):
            release_row(row, self.token, reason)
            self.done(row)

    def summary(self) -> dict[str, int]:
        return {"claimed": len(self.rows), "sent": self.sent, "failed": self.failed, "deferred": self.deferred}


def send_email_batch(first_id: int, last_id: int) -> dict[str, int]:
    """Send every due email delivery with ``first_id <= id <= last_id``."""
    token = utcnow()
    rows = claim_range(first_id, last_id, token)
    if not rows:
        return {"claimed": 0, "sent": 0, "failed": 0, "deferred": 0}
    batch = _Batch(rows, token)
    try:
        settings = SMTPSettings.from_config(current_app.config)
        _send_all(batch, settings)
    except TransientMailError as exc:
        batch.give_back_unsent(str(exc))
        raise
    except BaseException:
        # Anything unexpected (a bug, a job timeout): hand the rows back for the retry.
        batch.give_back_unsent("job interrupted before sending")
        raise
    if batch.deferred:
        raise TransientMailError(f"{batch.deferred} recipient(s) deferred by the server; retrying later "
                                 f"({batch.summary()})")
    return batch.summary()


def _send_all(batch: _Batch, settings: SMTPSettings) -> None:
    pending = list(batch.rows)
    with SentMarks() as marks:
        while pending:
            with SMTPConnection(settings) as connection:
                pending = _send_on(connection, marks, batch, settings, pending)


def _send_on(connection: SMTPConnection, marks: SentMarks, batch: _Batch, settings: SMTPSettings,
             rows: list[ClaimedRow]) -> list[ClaimedRow]:
    """Send ``rows`` on one connection; returns the rows left if the session must be reopened."""
    for index, row in enumerate(rows):
        batch.keep_claims_fresh()
        if row.id not in batch.unsent:
            continue
        message = build_message(settings.sender, row.recipient, row.subject, row.body, row.idempotency_key)
        try:
            answer = connection.send(message)
        except PermanentMailError as exc:
            mark_row_failed(row.id, batch.token, str(exc))
            batch.failed += 1
            batch.done(row)
            if not exc.session_usable:
                return rows[index + 1:]
            continue
        except TransientMailError as exc:
            if not exc.session_usable:
                raise  # the connection is gone: give everything unsent back, RQ retries
            release_row(row, batch.token, str(exc))
            batch.deferred += 1
            batch.done(row)
            continue
        except MailError:
            raise
        marks.record(row.id, batch.token, answer)
        batch.sent += 1
        batch.done(row)
    return []
