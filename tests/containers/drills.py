"""What the drills share: load to put on the club, hosts to take away, and counting what arrived.

Figures are measured, never asserted on time (2 cores shared by several jobs): the assertions are about
messages (all delivered, how many twice), the times are printed.
"""
from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

from tests.containers.club_client import Client
from tests.containers.topology import MailSink, Topology, podman
from tests.helpers.processes import wait_for

# The first (and, until the member enters it, only) mail a sign-up produces: its verification code. The
# welcome email waits for the verification (issue 13), so the drills count code mails per sign-up.
CODE_MAIL = "Your film club verification code"
DELIVERY_DEADLINE = 600   # seconds; generous: the machine is shared


@dataclass
class Outcome:
    """What one announcement came to at the mail sink."""

    recipients: int
    counts: dict[str, int]
    started: float
    last_arrival: float | None

    @property
    def delivered(self) -> int:
        return len(self.counts)

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in self.counts.values())

    @property
    def missing(self) -> int:
        return self.recipients - self.delivered


def subject(drill: str) -> str:
    return f"drill {drill} {secrets.token_hex(3)}"


def wait_for_share(mail: MailSink, subject_: str, recipients: int, share: float) -> None:
    """Until ``share`` of the announcement has arrived: the moment to take a host away."""
    wait_for(lambda: len(mail.count_by_recipient(subject_)) >= max(1, int(recipients * share)),
             timeout=DELIVERY_DEADLINE, interval=0.2, message=f"{share:.0%} of {subject_!r} at the sink")


def wait_for_all(mail: MailSink, subject_: str, recipients: int, started: float,
                 timeout: float = DELIVERY_DEADLINE) -> Outcome:
    wait_for(lambda: len(mail.count_by_recipient(subject_)) >= recipients, timeout=timeout, interval=0.5,
             message=lambda: f"all {recipients} of {subject_!r}: "
                             f"{len(mail.count_by_recipient(subject_))} arrived")
    return settle(mail, subject_, recipients, started, quiet=5)


def settle(mail: MailSink, subject_: str, recipients: int, started: float, quiet: float) -> Outcome:
    """The outcome once nothing new has arrived for ``quiet`` seconds (late duplicates included)."""
    seen, still = -1, time.monotonic()
    while time.monotonic() - still < quiet:
        count = len(mail.arrival_times(subject_))
        if count != seen:
            seen, still = count, time.monotonic()
        time.sleep(0.5)
    arrivals = mail.arrival_times(subject_)
    return Outcome(recipients, mail.count_by_recipient(subject_), started, arrivals[-1] if arrivals else None)


def remove_container(name: str, grace: int = 10) -> float:
    """SIGTERM, up to ``grace`` seconds to finish, then gone (as an autoscaler takes a host away)."""
    at = time.time()
    podman("rm", "-f", "-t", str(grace), name, timeout=120)
    return at


@dataclass
class SignUps:
    """Members signing up through the proxy from a few threads while a drill runs."""

    base_url: str
    count: int
    threads: int = 2
    results: list[tuple[str, int | str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._workers = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(self.threads)]
        self.tag = secrets.token_hex(3)

    def start(self) -> "SignUps":
        for worker in self._workers:
            worker.start()
        return self

    def join(self, timeout: float = DELIVERY_DEADLINE) -> None:
        for worker in self._workers:
            worker.join(timeout)

    def done(self) -> int:
        with self._lock:
            return len(self.results)

    def _run(self, n: int) -> None:
        client = Client(self.base_url, timeout=60)
        for i in range(n, self.count, self.threads):
            email = f"s{self.tag}-{i}@signup.drill.example"
            try:
                phone = f"010-4{int(self.tag[:2], 16) % 1000:03d}-{i % 10000:04d}"
                status: int | str = client.signup(email, phone).status
            except OSError as exc:
                status = f"{type(exc).__name__}: {exc}"
            with self._lock:
                self.results.append((email, status))

    @property
    def accepted(self) -> list[str]:
        return [email for email, status in self.results if status == 201]

    @property
    def refused(self) -> list[tuple[str, int | str]]:
        return [(email, status) for email, status in self.results if status != 201]


def code_mail_counts(mail: MailSink, emails: list[str]) -> dict[str, int]:
    """How many verification code mails each sign-up's address got (one expected)."""
    counts = mail.count_by_recipient(CODE_MAIL)
    return {email: counts.get(email, 0) for email in emails}


def pending_in(topology: Topology, database: str, announcement_id: int) -> int:
    return int(topology.exec("db", "psql", "-U", "filmclub", "-d", database, "-tAqc",
                             f"SELECT count(*) FROM deliveries WHERE announcement_id = {announcement_id} "
                             "AND status <> 'sent'").stdout.strip())
