"""Screening and RSVP changes; each keeps the reminder rows and scheduled jobs in step."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app.exceptions import CONFLICT, INVALID, NOT_FOUND, ScreeningError
from app.extensions import db
from app.models.screening import ACTIVE, CANCELLED, Rsvp, Screening
from app.models.types import utcnow
from app.models.user import User
from app.phrases import N_
from app.screenings import reminders
from app.screenings.schemas import ScreeningOut


def rsvp_count(screening_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(Rsvp).where(Rsvp.screening_id == screening_id)) or 0


def _future(starts_at: datetime) -> datetime:
    if starts_at <= utcnow():
        raise ScreeningError(INVALID, "starts_at must be in the future",
                             N_("the screening must start in the future: pick a later date and time"))
    # Whole seconds: rq-scheduler keeps times as whole Unix seconds.
    return starts_at.replace(microsecond=0)


def create_screening(creator: User, *, title: str, film: str, starts_at: datetime, place: str,
                     capacity: int) -> Screening:
    screening = Screening(title=title, film=film, starts_at=_future(starts_at), place=place,
                          capacity=capacity, status=ACTIVE, created_by_id=creator.id)
    db.session.add(screening)
    db.session.flush()
    reminders.schedule_after_commit(screening)
    db.session.commit()
    return screening


def update_screening(screening: Screening, **changes) -> Screening:
    if screening.status == CANCELLED:
        raise ScreeningError(CONFLICT, N_("this screening is cancelled"))
    if "starts_at" in changes:
        changes["starts_at"] = _future(changes["starts_at"])
    if "capacity" in changes and changes["capacity"] < rsvp_count(screening.id):
        raise ScreeningError(CONFLICT, N_("capacity cannot be below the number of RSVPs"))
    moved = "starts_at" in changes and changes["starts_at"] != screening.starts_at
    for name, value in changes.items():
        setattr(screening, name, value)
    if moved:
        reminders.move_reminders(screening)
        reminders.schedule_after_commit(screening)
    db.session.commit()
    return screening


def cancel_screening(screening: Screening) -> None:
    if screening.status == CANCELLED:
        return
    screening.status = CANCELLED
    reminders.cancel_reminders(screening.id)
    reminders.schedule_after_commit(screening)
    db.session.commit()


def _lock(screening_id: int) -> Screening:
    """Hold the screening's row lock until commit, and read it fresh under the lock.

    All RSVPs and cancellations of one screening queue up here, so the seat count that
    follows sees every earlier commit. A no-op UPDATE rather than SELECT ... FOR UPDATE
    because it locks on both databases: PostgreSQL takes the row lock, SQLite begins its
    write transaction (FOR UPDATE is ignored there, and two readers would both see a free seat).
    """
    db.session.execute(update(Screening).where(Screening.id == screening_id)
                       .values(updated_at=Screening.updated_at).execution_options(synchronize_session=False))
    return db.session.scalar(select(Screening).where(Screening.id == screening_id)
                             .execution_options(populate_existing=True))


def rsvp(user: User, screening: Screening) -> Rsvp:
    screening = _lock(screening.id)
    if screening.status == CANCELLED:
        raise ScreeningError(CONFLICT, N_("this screening is cancelled"))
    if screening.starts_at <= utcnow():
        raise ScreeningError(CONFLICT, N_("this screening has already started"))
    if db.session.scalar(select(Rsvp).where(Rsvp.screening_id == screening.id, Rsvp.user_id == user.id)):
        raise ScreeningError(CONFLICT, N_("you have already RSVPed to this screening"))
    if rsvp_count(screening.id) >= screening.capacity:
        raise ScreeningError(CONFLICT, N_("this screening is full"))
    entry = Rsvp(screening_id=screening.id, user_id=user.id)
    db.session.add(entry)
    reminders.add_reminders(entry, screening)
    try:
        db.session.commit()
    except IntegrityError:  # the same member's RSVP committed in between (no lock held it back)
        db.session.rollback()
        raise ScreeningError(CONFLICT, N_("you have already RSVPed to this screening")) from None
    return entry


def cancel_rsvp(user: User, screening: Screening) -> None:
    _lock(screening.id)
    entry = db.session.scalar(select(Rsvp).where(Rsvp.screening_id == screening.id, Rsvp.user_id == user.id))
    if entry is None:
        raise ScreeningError(NOT_FOUND, N_("you have no RSVP for this screening"))
    db.session.delete(entry)
    reminders.cancel_reminders(screening.id, user.id)
    db.session.commit()


def to_dict(screening: Screening, user: User | None = None) -> dict:
    """The screening in ``ScreeningOut``'s shape (``you_rsvped`` only for a signed-in member)."""
    taken = rsvp_count(screening.id)
    extra = {}
    if user is not None and user.is_authenticated:
        extra["you_rsvped"] = db.session.scalar(
            select(func.count()).select_from(Rsvp)
            .where(Rsvp.screening_id == screening.id, Rsvp.user_id == user.id)) == 1
    return ScreeningOut(id=screening.id, title=screening.title, film=screening.film, starts_at=screening.starts_at,
                        place=screening.place, capacity=screening.capacity, status=screening.status,
                        rsvp_count=taken, seats_left=max(screening.capacity - taken, 0),
                        **extra).model_dump(mode="json", exclude_unset=True)
