"""A bulk send's "sent" marks: one committed UPDATE per message, on the wire before the next message goes.

``with SentMarks() as marks: ... marks.record(row_id, token, answer) ... marks.settle()``

The batch holds one connection in autocommit mode, so a mark is one statement
that is its own transaction. The statement is compiled by SQLAlchemy once per
dialect and run below SQLAlchemy: per message, a pooled checkout (with its
pre-ping), a BEGIN/COMMIT pair and SQLAlchemy's execution machinery each cost
more than the UPDATE itself (on SQLite: ~145 us a mark through the session,
~50 us this way).

**PostgreSQL (psycopg): one mark in flight.** ``record`` writes the UPDATE to
the server's socket and returns; its answer is read when the next mark goes
(or at ``settle``). The worker builds and sends the next message while the
server runs the statement, instead of waiting a round trip per message (the
workers spent about a tenth of each message idle on it). Nothing is given up:

- the statement is on the wire before the next message is sent, and the server
  commits a statement it has received whether or not the client is still there
  to read the answer (autocommit: the commit comes before the reply), so a
  killed worker still costs at most the one message in flight
  (``tests/test_sent_marks.py`` kills a process with a mark unread);
- a mark that finds the claim taken over is logged when its answer is read, as
  before, and counted by ``settle``;
- an error the server reports comes out of the next ``record`` or ``settle``
  and the batch stops there, as it did when each mark waited.

The marks commit with ``synchronous_commit`` off (unless
``DELIVERY_MARKS_SYNCHRONOUS`` is set): the server acknowledges a commit once it
is in its WAL buffers and flushes it within about 0.6 s (3 x
``wal_writer_delay``). Only a crash of the database server itself can forget
the last fraction of a second of marks, and those rows, still claimed (claims
commit synchronously), are sent again after the stale-claim time, the same
outcome as a worker killed mid-send. On a replicated database (RDS Multi-AZ) a
synchronous commit per message costs milliseconds.

**SQLite** has no server to overlap with: each mark runs on the driver's cursor
and is done when ``record`` returns.
"""
from __future__ import annotations

import functools
import logging
import select
from datetime import datetime
from typing import Callable

from flask import current_app
from sqlalchemy import Connection, Dialect, bindparam, null

from app.extensions import db
from app.models.delivery import SENDING, SENT, Delivery
from app.models.types import utcnow

log = logging.getLogger(__name__)

_deliveries = Delivery.__table__
# The hot path of a bulk send, one per message. Every value is a parameter so the
# compiled text can be handed to the driver as it is.
_MARK_SENT = (
    _deliveries.update()
    .where(_deliveries.c.id == bindparam("b_id"), _deliveries.c.status == bindparam("b_sending"),
           _deliveries.c.claimed_at == bindparam("b_token"))
    .values(status=bindparam("b_sent"), sent_at=bindparam("b_sent_at"), provider_response=bindparam("b_answer"),
            last_error=null())
)


@functools.lru_cache(maxsize=8)  # one dialect per engine: a worker has one
def _mark_sent_for(dialect: Dialect) -> tuple[str, tuple[str, ...] | None, Callable[[datetime], object]]:
    """``_MARK_SENT`` for the driver's cursor: SQL text, parameter order (positional styles), timestamp converter.

    Compiled once per dialect (per process), not once per batch.
    """
    compiled = _MARK_SENT.compile(dialect=dialect)
    order = tuple(compiled.positiontup) if compiled.positional else None
    to_db_time = Delivery.sent_at.type.dialect_impl(dialect).bind_processor(dialect) or (lambda value: value)
    return compiled.string, order, to_db_time


@functools.lru_cache(maxsize=1)
def _mark_sent_for_libpq() -> tuple[bytes, tuple[str, ...]]:
    """``_MARK_SENT`` with ``$1..$6`` placeholders, each cast to its column's type (text parameters)."""
    from sqlalchemy.dialects.postgresql import psycopg

    compiled = _MARK_SENT.compile(dialect=psycopg.dialect(paramstyle="numeric_dollar"))
    return compiled.string.encode(), tuple(compiled.positiontup)


class _OneMarkInFlight:
    """psycopg's libpq connection used below its cursor: send a mark now, read its answer with the next one.

    Used only between the batch's checkout and check-in of the connection, and
    every answer is read before the connection goes back (``collect``), so
    psycopg finds it idle, as it left it.
    """

    # A server-side prepared statement: planned once per connection (as psycopg's own cursor does after a
    # few runs), not once per message. It outlives the batch on the pooled connection, which is why the
    # next batch on that connection finds it there.
    STATEMENT = b"filmclub_mark_sent"
    DUPLICATE_PREPARED_STATEMENT = b"42P05"

    def __init__(self, pgconn) -> None:
        from psycopg import pq

        self._pq = pq
        self.pgconn = pgconn
        sql, self.order = _mark_sent_for_libpq()
        result = pgconn.prepare(self.STATEMENT, sql)  # blocking, as psycopg's own calls are
        if result.status != pq.ExecStatus.COMMAND_OK and \
                result.error_field(pq.DiagnosticField.SQLSTATE) != self.DUPLICATE_PREPARED_STATEMENT:
            from psycopg import OperationalError

            raise OperationalError(f"could not prepare the sent mark: "
                                   f"{(result.error_message or b'').decode(errors='replace').strip()}")
        self.in_flight: int | None = None  # the delivery whose mark was sent and not yet answered

    def send(self, delivery_id: int, values: dict[str, object]) -> bool | None:
        """Send one mark; returns the previous mark's outcome (None when there was none)."""
        previous = self.collect()
        params = [None if values[name] is None else str(values[name]).encode() for name in self.order]
        self.pgconn.send_query_prepared(self.STATEMENT, params)  # raises psycopg.OperationalError if it cannot
        while self.pgconn.flush():  # 1: more to write (a non-blocking connection with a full buffer)
            select.select([], [self.pgconn.socket], [])
        self.in_flight = delivery_id
        return previous

    def collect(self) -> bool | None:
        """Wait for the mark in flight, if any: True if it landed, False if our claim was gone."""
        if self.in_flight is None:
            return None
        delivery_id, self.in_flight = self.in_flight, None
        pgconn = self.pgconn
        pgconn.consume_input()
        while pgconn.is_busy():
            select.select([pgconn.socket], [], [])
            pgconn.consume_input()
        outcome, error = None, None
        while (result := pgconn.get_result()) is not None:
            if result.status == self._pq.ExecStatus.COMMAND_OK:
                outcome = result.command_tuples == 1
            else:
                error = (result.error_message or b"").decode(errors="replace").strip()
        if error or outcome is None:
            from psycopg import OperationalError

            raise OperationalError(f"the sent mark of delivery {delivery_id} failed: {error or 'no answer'}")
        if not outcome:
            _taken_over(delivery_id)
        return outcome


def _taken_over(delivery_id: int) -> None:
    log.warning("delivery %s: sent, but our claim was taken over before we could record it", delivery_id)


class SentMarks:
    """The connection a bulk send records its "sent" marks on (see the module's text)."""

    def __init__(self) -> None:
        self._connection: Connection | None = None
        self._cursor = None
        self._wire: _OneMarkInFlight | None = None
        self._asynchronous = False
        self._failed = False
        self._taken_over = 0

    def __enter__(self) -> "SentMarks":
        connection = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            dialect = connection.dialect
            if dialect.name == "postgresql" and not current_app.config.get("DELIVERY_MARKS_SYNCHRONOUS"):
                connection.exec_driver_sql("SET synchronous_commit TO off")
                self._asynchronous = True
            self._sql, self._order, self._db_time = _mark_sent_for(dialect)
            dbapi_connection = connection.connection.dbapi_connection
            if dialect.name == "postgresql" and dialect.driver == "psycopg":
                self._wire = _OneMarkInFlight(dbapi_connection.pgconn)
            else:
                self._cursor = dbapi_connection.cursor()
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return self

    def record(self, delivery_id: int, token: datetime, provider_response: str) -> None:
        """Mark one claimed row sent, if it still carries our claim (``settle`` counts those that did not)."""
        assert self._connection is not None, "use SentMarks as a context manager"
        values = {"b_id": delivery_id, "b_sending": SENDING, "b_token": self._db_time(token), "b_sent": SENT,
                  "b_sent_at": self._db_time(utcnow()), "b_answer": provider_response[:500].replace("\x00", "")}
        try:
            if self._wire is not None:
                landed = self._wire.send(delivery_id, values)
            else:
                self._cursor.execute(self._sql, values if self._order is None else [values[k] for k in self._order])
                landed = self._cursor.rowcount == 1
                if not landed:
                    _taken_over(delivery_id)
        except BaseException:
            self._failed = True
            raise
        self._taken_over += landed is False

    def settle(self) -> int:
        """Wait until every mark recorded so far is committed; how many found their claim taken over."""
        if self._wire is not None:
            try:
                self._taken_over += self._wire.collect() is False
            except BaseException:
                self._failed = True
                raise
        taken_over, self._taken_over = self._taken_over, 0
        return taken_over

    def __exit__(self, *exc_info) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            if not self._failed:
                self.settle()  # the last mark's answer: the connection goes back idle
            if self._cursor is not None:
                self._cursor.close()
            if self._asynchronous and not self._failed:  # the setting must not follow it back into the pool
                connection.exec_driver_sql("RESET synchronous_commit")
            if self._failed:
                connection.invalidate()  # the driver raised on it; SQLAlchemy never saw why
        except Exception:
            log.exception("the sent marks' connection could not be handed back cleanly; discarding it")
            connection.invalidate()
        finally:
            connection.close()
