"""A bulk send's claims and "sent" marks: cheap per message, only while the claim is ours."""
from __future__ import annotations

import multiprocessing
import os
import signal
import time
from datetime import timedelta

import pytest
from sqlalchemy import insert, select, text, update

from app.extensions import db
from app.models.delivery import Delivery
from app.models.types import utcnow
from jobs.deliveries import claim_range, send_claimed
from jobs.sent_marks import SentMarks


def _claimed_rows(count: int):
    now = utcnow()
    db.session.execute(insert(Delivery), [
        {"idempotency_key": f"marks:{n}", "kind": "announcement", "recipient": f"m{n}@members.example",
         "subject": "News", "body": "Text", "due_at": now, "created_at": now} for n in range(count)])
    db.session.commit()
    ids = list(db.session.scalars(select(Delivery.id).order_by(Delivery.id)))
    token = utcnow()
    return claim_range(ids[0], ids[-1], token), token


def _row(delivery_id: int) -> Delivery:
    db.session.expire_all()
    return db.session.get(Delivery, delivery_id)


def test_a_mark_lands_before_the_batch_ends_and_only_while_the_row_carries_our_claim(app):
    with app.app_context():
        rows, token = _claimed_rows(3)
        with SentMarks() as marks:
            marks.record(rows[0].id, token, "250 queued as A1")
            # A claim taken over (another job, a newer token) is not overwritten.
            marks.record(rows[1].id, token - timedelta(seconds=1), "250 late")
            marks.record(rows[2].id, token, "250 queued as A3")
            assert marks.settle() == 1
            # Visible to every other connection before the batch ends.
            assert [_row(row.id).status for row in rows] == ["sent", "sending", "sent"]
            assert _row(rows[0].id).provider_response == "250 queued as A1"
            assert marks.settle() == 0  # counted once
        second = _row(rows[1].id)
        assert second.status == "sending" and second.sent_at is None and second.provider_response is None


def _record_then_die(app, delivery_id: int, token) -> None:
    """In a child process: record one mark and die at once, before its answer is read."""
    with app.app_context():
        db.engine.dispose(close=False)  # the parent's pooled connections stay the parent's
        with SentMarks() as marks:
            marks.record(delivery_id, token, "250 queued as K1")
            os.kill(os.getpid(), signal.SIGKILL)


def test_a_worker_killed_right_after_a_mark_still_leaves_the_row_sent(app):
    """On PostgreSQL ``record`` returns before the server answers (the worker goes on with the next
    message): the mark is on the wire, and the server commits it though nobody reads the answer."""
    with app.app_context():
        rows, token = _claimed_rows(1)
        db.session.remove()
        child = multiprocessing.get_context("fork").Process(target=_record_then_die, args=(app, rows[0].id, token))
        child.start()
        child.join(30)
        assert child.exitcode == -signal.SIGKILL
        for _ in range(50):  # the server may still be running the statement when the child is gone
            row = _row(rows[0].id)
            if row.status == "sent":
                break
            time.sleep(0.1)
        assert (row.status, row.provider_response) == ("sent", "250 queued as K1")


def test_postgresql_marks_go_without_waiting_for_the_previous_answer(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite runs in the worker's process: there is no server to overlap with")
        rows, token = _claimed_rows(2)
        with SentMarks() as marks:
            marks.record(rows[0].id, token, "250 A")
            assert marks._wire.in_flight == rows[0].id  # sent, its answer not read yet
            marks.record(rows[1].id, token, "250 B")
            assert marks._wire.in_flight == rows[1].id  # the first one's answer was read on the way
        assert [_row(row.id).status for row in rows] == ["sent", "sent"]


def test_a_mark_on_a_connection_the_server_dropped_stops_the_batch_and_the_connection_is_discarded(app):
    """The database restarted (or killed our backend) mid-batch: the error comes out of the marks, the batch
    stops there, and the dead connection is not handed to the next job."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite has no server connection to lose")
        rows, token = _claimed_rows(2)
        with pytest.raises(Exception) as raised:
            with SentMarks() as marks:
                marks.record(rows[0].id, token, "250 A")
                marks.settle()
                pid = marks._connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
                db.session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                db.session.commit()
                marks.record(rows[1].id, token, "250 B")
                marks.settle()
        assert "terminat" in str(raised.value) or "closed" in str(raised.value), raised.value
        assert [_row(row.id).status for row in rows] == ["sent", "sending"]
        with SentMarks() as marks:  # a fresh connection from the pool works
            marks.record(rows[1].id, token, "250 B again")
        assert _row(rows[1].id).status == "sent"


def _synchronous_commit(connection) -> str:
    return connection.exec_driver_sql("SHOW synchronous_commit").scalar_one()


@pytest.mark.parametrize("synchronous, inside", [(False, "off"), (True, "on")])
def test_postgresql_marks_skip_the_flush_wait_and_the_setting_stays_with_the_batch(app_factory, synchronous,
                                                                                   inside):
    app = app_factory(DELIVERY_MARKS_SYNCHRONOUS=synchronous)
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("synchronous_commit is a PostgreSQL setting")
        rows, token = _claimed_rows(1)
        with SentMarks() as marks:
            assert _synchronous_commit(marks._connection) == inside
            marks.record(rows[0].id, token, "250 OK")
            assert marks.settle() == 0
        # Every pooled connection (the one the marks used among them) is back to the server default.
        held = [db.engine.connect() for _ in range(3)]
        try:
            assert [_synchronous_commit(connection) for connection in held] == ["on"] * 3
        finally:
            for connection in held:
                connection.close()
        assert _row(rows[0].id).status == "sent"


def test_a_batch_claim_reads_its_id_range_not_every_unsent_row(app):
    """On SQLite, the claim of 100 ids must not walk the status index (every unsent row of every batch)."""
    from jobs.deliveries import claim_range_statement

    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("the plan checked is SQLite's; PostgreSQL plans from its statistics")
        _claimed_rows(300)  # unsent rows in the index, so an index walk would be a real choice
        statement = claim_range_statement(1, 100, utcnow())
        sql = str(statement.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
        plan = " ".join(row[-1] for row in db.session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
        assert "USING INTEGER PRIMARY KEY" in plan and "ix_deliveries_unsent_due_at" not in plan, plan


class _Refused(Exception):
    pass


class _Later(Exception):
    pass


def _take_over(delivery_id: int) -> None:
    """What a second job does when it decides our claim is stale: claim the row with its own token."""
    db.session.execute(update(Delivery).where(Delivery.id == delivery_id)
                       .values(claimed_at=utcnow() + timedelta(seconds=5)))
    db.session.commit()


@pytest.mark.parametrize("outcome", ["sent", "permanent", "transient"])
def test_a_single_message_is_the_one_row_case_and_its_mark_needs_our_claim(app, outcome):
    """A single message (welcome, code, SMS) goes through the batch's claim and marks: when another
    job took the row over while we were sending, our mark does not overwrite its claim."""
    with app.app_context():
        now = utcnow()
        delivery = Delivery(idempotency_key="single:1", kind="welcome", recipient="a@members.example",
                            subject="Hi", body="Text", due_at=now, created_at=now)
        db.session.add(delivery)
        db.session.commit()
        delivery_id = delivery.id
        seen = []

        def send(row) -> str:
            seen.append((row.id, row.recipient, row.attempts))
            _take_over(row.id)
            if outcome == "permanent":
                raise _Refused("550 no such mailbox")
            if outcome == "transient":
                raise _Later("421 try later")
            return "250 queued"

        if outcome == "transient":
            with pytest.raises(_Later):
                send_claimed(delivery_id, send, _Refused, _Later)
        else:
            send_claimed(delivery_id, send, _Refused, _Later)
        assert seen == [(delivery_id, "a@members.example", 1)]
        row = _row(delivery_id)
        assert (row.status, row.sent_at, row.provider_response, row.last_error) == ("sending", None, None, None)


def test_a_single_message_claimed_by_a_live_job_is_not_sent_again(app):
    with app.app_context():
        now = utcnow()
        delivery = Delivery(idempotency_key="single:2", kind="welcome", recipient="b@members.example",
                            subject="Hi", body="Text", due_at=now, created_at=now, status="sending", claimed_at=now)
        db.session.add(delivery)
        db.session.commit()
        answer = send_claimed(delivery.id, lambda row: pytest.fail("sent a row another job holds"), _Refused, _Later)
        assert answer.startswith("skipped")
