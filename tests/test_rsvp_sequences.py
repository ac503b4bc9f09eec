"""Any sequence of RSVP and cancel by any member is valid, on the page and in the API, and a
screening's capacity holds under concurrent RSVPs (issue 10, defect 3).

The stateful test drives several members' sessions through the real routes and checks the
database against a model after every step: who is going, and each member's reminder rows
(pending for a member who is going, cancelled for one who left, dispatched once sent).
The concurrency tests send requests from threads, each on its own database connection.
"""
from __future__ import annotations

import random
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import delete, select, update

from app.extensions import db
from app.models.screening import CANCELLED_REMINDER, DISPATCHED, PENDING, Reminder, Rsvp, Screening
from app.models.types import utcnow
from app.models.user import User
from app.screenings import service
from tests.helpers.web import csrf_token, login

DAY, HOUR = 86400, 3600


def make_screening(app, capacity: int, starts_in: timedelta = timedelta(days=3)) -> int:
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.is_admin.is_(True))) or _admin()
        screening = service.create_screening(admin, title="Ozu night", film="Tokyo Story", place="Room 2",
                                             starts_at=utcnow() + starts_in, capacity=capacity)
        return screening.id


def _admin() -> User:
    admin = User(email="admin@example.com", name="Admin", is_admin=True, email_verified_at=utcnow())
    db.session.add(admin)
    db.session.commit()
    return admin


def members(app, make_user, count: int) -> list[tuple[int, object]]:
    """``count`` verified members, each signed in on a client of their own."""
    signed_in = []
    for n in range(count):
        email = f"member{n}@example.com"
        user = make_user(email=email, name=f"Member {n}")
        client = app.test_client()
        login(client, email)
        signed_in.append((user.id, client))
    return signed_in


def reminder_rows(app, screening_id: int, user_id: int) -> dict[int, str]:
    with app.app_context():
        return {r.lead_seconds: r.status for r in db.session.scalars(
            select(Reminder).where(Reminder.screening_id == screening_id, Reminder.user_id == user_id))}


def going(app, screening_id: int) -> set[int]:
    with app.app_context():
        return set(db.session.scalars(select(Rsvp.user_id).where(Rsvp.screening_id == screening_id)))


# -- the reported journey ----------------------------------------------------------------------

def test_rsvp_cancel_rsvp_again_in_the_api(app, make_user):
    [(user_id, client)] = members(app, make_user, 1)
    screening_id = make_screening(app, capacity=3)
    for expected in (201, 204, 201, 204, 201):
        response = (client.post if expected == 201 else client.delete)(f"/api/screenings/{screening_id}/rsvp")
        assert response.status_code == expected, response.get_data(as_text=True)
    assert going(app, screening_id) == {user_id}
    assert reminder_rows(app, screening_id, user_id) == {DAY: PENDING, HOUR: PENDING}


def test_rsvp_cancel_rsvp_again_on_the_page(app, make_user):
    [(user_id, client)] = members(app, make_user, 1)
    screening_id = make_screening(app, capacity=3)
    url = f"/screenings/{screening_id}"
    for action, words in [("rsvp", "You have a seat"), ("cancel-rsvp", "Your RSVP is cancelled"),
                          ("rsvp", "You have a seat")]:
        token = csrf_token(client.get(url).get_data(as_text=True))
        response = client.post(f"{url}/{action}", data={"csrf_token": token}, follow_redirects=True)
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and words in page
        assert re.search(r'class="flash flash-success"[^>]*>' + words, page)
    assert going(app, screening_id) == {user_id}


def test_a_reminder_already_sent_is_not_sent_again_after_rsvp_cancel_rsvp(app, make_user):
    [(user_id, client)] = members(app, make_user, 1)
    screening_id = make_screening(app, capacity=3)
    client.post(f"/api/screenings/{screening_id}/rsvp")
    with app.app_context():  # the day-before reminder went out
        db.session.execute(update(Reminder).where(Reminder.lead_seconds == DAY).values(status=DISPATCHED))
        db.session.commit()
    client.delete(f"/api/screenings/{screening_id}/rsvp")
    assert reminder_rows(app, screening_id, user_id) == {DAY: DISPATCHED, HOUR: CANCELLED_REMINDER}
    assert client.post(f"/api/screenings/{screening_id}/rsvp").status_code == 201
    assert reminder_rows(app, screening_id, user_id) == {DAY: DISPATCHED, HOUR: PENDING}


def test_a_refusal_shows_as_an_error_not_as_success(app, make_user):
    (_, first), (_, second) = members(app, make_user, 2)
    screening_id = make_screening(app, capacity=1)
    url = f"/screenings/{screening_id}"
    first.post(f"/api/screenings/{screening_id}/rsvp")
    token = csrf_token(second.get(url).get_data(as_text=True))
    page = second.post(f"{url}/rsvp", data={"csrf_token": token}, follow_redirects=True).get_data(as_text=True)
    assert re.search(r'class="flash flash-error"[^>]*>[^<]*this screening is full', page, re.IGNORECASE)
    assert 'class="flash flash-success"' not in page


# -- any sequence, checked against a model -------------------------------------------------------

MEMBERS, CAPACITIES = 4, (2, 3)


def test_any_sequence_of_rsvps_and_cancels_keeps_the_database_like_the_model(app, make_user):
    signed_in = members(app, make_user, MEMBERS)
    screening_ids = [make_screening(app, capacity) for capacity in CAPACITIES]
    tokens = [csrf_token(client.get(f"/screenings/{screening_ids[0]}").get_data(as_text=True))
              for _, client in signed_in]

    class RsvpMachine(RuleBasedStateMachine):
        """Members RSVP and cancel through the API and the page; a reminder may go out meanwhile."""

        def __init__(self) -> None:
            super().__init__()
            with app.app_context():
                db.session.execute(delete(Reminder))
                db.session.execute(delete(Rsvp))
                db.session.commit()
            self.going = {s: set() for s in range(len(screening_ids))}
            self.sent = {(m, s): set() for m in range(MEMBERS) for s in range(len(screening_ids))}
            self.ever_going: set[tuple[int, int]] = set()

        def _expect_rsvp(self, member: int, s: int) -> tuple[int, str]:
            if member in self.going[s]:
                return 409, "already"
            if len(self.going[s]) >= CAPACITIES[s]:
                return 409, "full"
            self.going[s].add(member)
            self.ever_going.add((member, s))
            return 201, ""

        def _expect_cancel(self, member: int, s: int) -> int:
            if member in self.going[s]:
                self.going[s].discard(member)
                return 204
            return 404

        @rule(member=st.integers(0, MEMBERS - 1), s=st.integers(0, len(CAPACITIES) - 1))
        def rsvp_in_the_api(self, member: int, s: int) -> None:
            response = signed_in[member][1].post(f"/api/screenings/{screening_ids[s]}/rsvp")
            status, words = self._expect_rsvp(member, s)
            assert response.status_code == status, response.get_data(as_text=True)
            assert words in (response.get_json() or {}).get("error", "")

        @rule(member=st.integers(0, MEMBERS - 1), s=st.integers(0, len(CAPACITIES) - 1))
        def cancel_in_the_api(self, member: int, s: int) -> None:
            response = signed_in[member][1].delete(f"/api/screenings/{screening_ids[s]}/rsvp")
            assert response.status_code == self._expect_cancel(member, s), response.get_data(as_text=True)

        @rule(member=st.integers(0, MEMBERS - 1), s=st.integers(0, len(CAPACITIES) - 1),
              action=st.sampled_from(["rsvp", "cancel-rsvp"]))
        def use_the_page(self, member: int, s: int, action: str) -> None:
            response = signed_in[member][1].post(f"/screenings/{screening_ids[s]}/{action}",
                                                 data={"csrf_token": tokens[member]}, follow_redirects=True)
            if action == "rsvp":
                ok = self._expect_rsvp(member, s)[0] == 201
            else:
                ok = self._expect_cancel(member, s) == 204
            page = response.get_data(as_text=True)
            assert response.status_code == 200
            assert ('class="flash flash-success"' in page) is ok and ('class="flash flash-error"' in page) is not ok

        @rule(member=st.integers(0, MEMBERS - 1), s=st.integers(0, len(CAPACITIES) - 1),
              lead=st.sampled_from([DAY, HOUR]))
        def reminder_goes_out(self, member: int, s: int, lead: int) -> None:
            """What the scheduler's dispatch does to a member's due reminder."""
            user_id = signed_in[member][0]
            with app.app_context():
                claimed = db.session.execute(
                    update(Reminder).where(Reminder.screening_id == screening_ids[s], Reminder.user_id == user_id,
                                           Reminder.lead_seconds == lead, Reminder.status == PENDING)
                    .values(status=DISPATCHED).execution_options(synchronize_session=False)).rowcount
                db.session.commit()
            assert claimed == (1 if member in self.going[s] and lead not in self.sent[member, s] else 0)
            if claimed:
                self.sent[member, s].add(lead)

        @invariant()
        def database_matches_the_model(self) -> None:
            with app.app_context():  # two queries: the invariant runs after every step
                rsvps = set(db.session.execute(select(Rsvp.screening_id, Rsvp.user_id)).tuples())
                reminders = {(r.screening_id, r.user_id, r.lead_seconds): r.status
                             for r in db.session.scalars(select(Reminder))}
            expected_rsvps, expected_reminders = set(), {}
            for s, screening_id in enumerate(screening_ids):
                assert len(self.going[s]) <= CAPACITIES[s]
                for member in range(MEMBERS):
                    user_id = signed_in[member][0]
                    if member in self.going[s]:
                        expected_rsvps.add((screening_id, user_id))
                    if (member, s) in self.ever_going:
                        open_status = PENDING if member in self.going[s] else CANCELLED_REMINDER
                        for lead in (DAY, HOUR):
                            expected_reminders[screening_id, user_id, lead] = \
                                DISPATCHED if lead in self.sent[member, s] else open_status
            assert rsvps == expected_rsvps
            assert reminders == expected_reminders

    # Each example is up to 20 requests plus a check after each: half the profile's example count
    # (15 in everyday runs, 250 with HYPOTHESIS_PROFILE=thorough).
    run_state_machine_as_test(RsvpMachine, settings=settings(
        max_examples=max(1, settings.default.max_examples // 2), stateful_step_count=20, deadline=None,
        database=None, suppress_health_check=[HealthCheck.too_slow]))


# -- at the same moment ------------------------------------------------------------------------

def at_once(calls) -> list:
    """Run the calls from threads released together; each request uses its own connection."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait(timeout=60)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def test_concurrent_rsvps_never_exceed_the_capacity(app, make_user):
    signed_in = members(app, make_user, 10)
    screening_id = make_screening(app, capacity=4)
    answers = at_once([lambda c=client: c.post(f"/api/screenings/{screening_id}/rsvp") for _, client in signed_in])
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] * 4 + [409] * 6, [a.get_data(as_text=True) for a in answers]
    assert all("full" in a.get_json()["error"] for a in answers if a.status_code == 409)
    assert len(going(app, screening_id)) == 4
    with app.app_context():
        assert db.session.get(Screening, screening_id).capacity == 4


def test_one_members_double_click_makes_one_rsvp(app, make_user):
    [(user_id, client)] = members(app, make_user, 1)
    screening_id = make_screening(app, capacity=5)
    answers = at_once([lambda: client.post(f"/api/screenings/{screening_id}/rsvp") for _ in range(6)])
    assert sorted(a.status_code for a in answers) == [201] + [409] * 5
    assert going(app, screening_id) == {user_id}
    assert reminder_rows(app, screening_id, user_id) == {DAY: PENDING, HOUR: PENDING}


def test_concurrent_rsvps_and_cancels_leave_rsvps_and_reminders_consistent(app, make_user):
    signed_in = members(app, make_user, 8)
    screening_id = make_screening(app, capacity=3)
    rng = random.Random(10)
    for _ in range(5):
        calls = []
        for _, client in signed_in:
            if rng.random() < 0.6:
                calls.append(lambda c=client: c.post(f"/api/screenings/{screening_id}/rsvp"))
            else:
                calls.append(lambda c=client: c.delete(f"/api/screenings/{screening_id}/rsvp"))
        answers = at_once(calls)
        assert {a.status_code for a in answers} <= {201, 204, 404, 409}, [a.get_data(as_text=True) for a in answers]
        who = going(app, screening_id)
        assert len(who) <= 3
        for user_id, _ in signed_in:
            statuses = set(reminder_rows(app, screening_id, user_id).values())
            assert statuses == ({PENDING} if user_id in who else statuses - {PENDING})
