"""MAIL_MAX_PER_SECOND / SMS_MAX_PER_SECOND: one sending rate for every worker, kept in the queue Redis.

On a real redis-server. Rates are checked from below only (a busy machine can only make a run slower):
N messages cannot all go out in less than (N - 1) / rate, whoever sends them.
"""
from __future__ import annotations

import threading
import time

import pytest
from redis import Redis

from app.config import Config, ConfigError
from jobs import mailer
from jobs.send_rate import SendRate, mail_rate, sms_rate
from tests.helpers.mail import add_members, burst, sign_in_admin, statuses


def _senders_send(redis_url: str, senders: int, each: int, per_second: float) -> tuple[float, float]:
    """``senders`` threads, each with its own connection (as workers on other hosts), send ``each``."""
    sent: list[float] = []
    lock = threading.Lock()
    ready = threading.Barrier(senders + 1)

    def sender() -> None:
        rate = SendRate(Redis.from_url(redis_url), "mail", per_second)
        ready.wait()
        for _ in range(each):
            rate.acquire()
            with lock:
                sent.append(time.monotonic())

    threads = [threading.Thread(target=sender) for _ in range(senders)]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.monotonic()
    for thread in threads:
        thread.join(60)
    assert len(sent) == senders * each
    return started, max(sent)


def test_senders_on_separate_connections_share_one_rate(redis_url):
    started, last = _senders_send(redis_url, senders=4, each=10, per_second=20)
    assert last - started >= (40 - 1) / 20   # 1.95 s at least; without the bucket it takes milliseconds


def test_a_rate_is_kept_per_name(redis_url):
    mail = SendRate(Redis.from_url(redis_url), "mail", 1)
    sms = SendRate(Redis.from_url(redis_url), "sms", 1)
    assert mail.acquire() == 0 and sms.acquire() == 0   # each name has its own first slot
    assert mail.acquire() > 0                            # the second mail waits for its turn


def test_slow_down_pauses_every_sender_sharing_the_rate(redis_url):
    one = SendRate(Redis.from_url(redis_url), "mail", 1000)
    other = SendRate(Redis.from_url(redis_url), "mail", 1000)
    before = time.monotonic()
    one.slow_down(0.5)
    other.acquire()
    assert time.monotonic() - before >= 0.5


def test_rates_are_read_from_the_environment_and_bad_values_refused():
    base = {"APP_ENV": "testing"}
    config = Config.from_env(base)
    assert config.MAIL_MAX_PER_SECOND is None and config.SMS_MAX_PER_SECOND is None
    config = Config.from_env({**base, "MAIL_MAX_PER_SECOND": "14", "SMS_MAX_PER_SECOND": "0.5"})
    assert config.MAIL_MAX_PER_SECOND == 14.0 and config.SMS_MAX_PER_SECOND == 0.5
    for bad in ("0", "-3", "fast", "inf", "nan"):
        with pytest.raises(ConfigError, match="MAIL_MAX_PER_SECOND"):
            Config.from_env({**base, "MAIL_MAX_PER_SECOND": bad})


def test_no_rate_configured_means_no_bucket(app):
    with app.app_context():
        assert mail_rate(app.config) is None and sms_rate(app.config) is None


def _announce(app, make_user, members: int) -> int:
    client = app.test_client()
    sign_in_admin(client, make_user)
    add_members(app, members)
    response = client.post("/api/announcements", json={"subject": "News", "body": "Text"})
    assert response.status_code == 202
    return response.get_json()["id"]


@pytest.mark.parametrize("cap", [None, 200.0], ids=["no cap", "capped"])
def test_a_454_answer_slows_the_senders_and_fails_no_row(app_factory, make_user, smtp, monkeypatch, cap):
    monkeypatch.setattr(mailer, "RATE_EXCEEDED_FIRST_PAUSE", 0.2)
    app = app_factory(MAIL_MAX_PER_SECOND=cap)
    announcement_id = _announce(app, make_user, 30)
    smtp.rate_exceeded = 3   # three answers in a row: pauses of 0.2, 0.4 and 0.8 s, then it goes through
    started = time.monotonic()
    burst(app)
    assert smtp.rate_exceeded_answered == 3
    assert statuses(app, announcement_id) == {"sent": 31}
    assert len({m["To"] for m in smtp.messages}) == len(smtp.messages) == 31   # each member once
    assert time.monotonic() - started >= 0.2 + 0.4 + 0.8


def test_a_capped_announcement_goes_out_no_faster_than_the_cap(app_factory, make_user, smtp):
    app = app_factory(MAIL_MAX_PER_SECOND=20.0, MAIL_BATCH_SIZE=10)
    announcement_id = _announce(app, make_user, 59)
    burst(app)
    assert statuses(app, announcement_id) == {"sent": 60}
    arrivals = sorted(smtp.arrivals)
    assert len(arrivals) == 60
    # At 20 a second, 60 messages span 59 / 20 = 2.95 s from the first slot to the last. The first
    # arrival may come late after its slot (a busy machine): 0.5 s of slack for that, still far above
    # what 60 messages on one connection take uncapped (a few hundred milliseconds).
    assert arrivals[-1] - arrivals[0] >= 59 / 20 - 0.5
