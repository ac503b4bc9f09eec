"""Keep a running job's claims fresh from a background thread, so a dead worker's claims go stale quickly.

A claim (``status = 'sending'``, ``claimed_at`` = the claim's token) is
honoured for ``DELIVERY_STALE_CLAIM_SECONDS`` (30). A live job proves it is
alive by moving its rows' ``claimed_at`` forward every sixth of that time
(5 s), from a thread of its own, so it keeps beating while the job is blocked
on a slow SMTP server or provider. A SIGKILLed worker stops beating, and its
rows become claimable 30 s later; the sweeper (every ``DELIVERY_SWEEP_SECONDS``,
15) then queues them again: about 45 s from the kill to the resend, instead of
the 5 minutes a fixed claim time long enough for the slowest batch needed.

``claimed_at`` stays the claim's token: a mark only lands while the row still
carries it. So the thread and the job take turns through ``lock``: the job
holds it while it records a mark with the current ``token``, the thread while
it moves the token forward. Each beat also tells which rows are still ours
(``UPDATE ... RETURNING id``); a row another job took over (only possible if
this worker could not beat for the whole stale time, e.g. the database was
unreachable) is not sent here.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Iterable

from sqlalchemy import update
from sqlalchemy.engine import Engine

from app.models.delivery import SENDING, Delivery
from app.models.types import utcnow

log = logging.getLogger(__name__)

BEATS_PER_STALE_TIME = 6
MIN_INTERVAL = 0.2


class ClaimHeartbeat:
    """``with ClaimHeartbeat(engine, first_id, last_id, token, stale_seconds) as claims: ...``"""

    def __init__(self, engine: Engine, first_id: int, last_id: int, token: datetime, stale_seconds: float,
                 claimed_ids: Iterable[int] = ()) -> None:
        self.engine = engine
        self.first_id, self.last_id = first_id, last_id
        self.token = token
        self.interval = max(stale_seconds / BEATS_PER_STALE_TIME, MIN_INTERVAL)
        self.stale_seconds = stale_seconds
        self.lock = threading.Lock()
        self.ours: set[int] = set(claimed_ids)
        self.beats = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"claim-heartbeat-{first_id}-{last_id}",
                                        daemon=True)

    def __enter__(self) -> "ClaimHeartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=max(self.stale_seconds, 5))

    def still_ours(self, delivery_id: int) -> bool:
        return delivery_id in self.ours

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.beat()
            except Exception:  # the database is unreachable this time: try again next beat
                log.exception("could not refresh the claims of deliveries %s..%s", self.first_id, self.last_id)

    def beat(self) -> None:
        """Move our rows' claim token forward (one UPDATE); learn which rows are still ours."""
        table = Delivery.__table__
        with self.lock:
            new_token = utcnow()
            statement = (
                update(table)
                .where(table.c.id.between(self.first_id, self.last_id), table.c.status == SENDING,
                       table.c.claimed_at == self.token)
                .values(claimed_at=new_token)
                .returning(table.c.id))
            with self.engine.connect() as connection:
                still = {row[0] for row in connection.execute(statement)}
                connection.commit()
            lost = self.ours - still
            self.ours = still
            self.token = new_token
            self.beats += 1
        if lost:
            log.debug("deliveries %s are no longer claimed by this job (sent, failed or taken over)", sorted(lost))
