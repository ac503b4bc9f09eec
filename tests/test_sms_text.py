"""Text messages that Korean carriers take (issue 13): SMS up to 90 EUC-KR bytes, LMS up to 2,000, longer cut at
a character boundary with the page's link kept, characters EUC-KR cannot carry replaced; the backends choose the
type from that count. First the rule itself, then through the real worker class against the local stand-ins for
Solapi and Twilio, which refuse what the real providers refuse (tests/helpers/fake_sms.py)."""
from __future__ import annotations

import json

import pytest

from app.extensions import db
from app.models.delivery import SENT, SMS, Delivery
from app.outbox import HIGH, enqueue_deliveries
from app.sms_text import LMS, LMS_MAX_BYTES, SMS_MAX_BYTES, euc_kr_bytes, fit, twilio_segments
from jobs.sms_backends import PermanentSMSError, SMSMessage
from jobs.sms_backends.solapi import SolapiBackend
from tests.helpers.fake_sms import FakeSolapi, FakeTwilio, serving
from tests.helpers.mail import burst

SID, TOKEN = "AC" + "2" * 32, "twilio-token"
KEY, SECRET = "NCSTESTKEY", "solapi-secret"
LINK = "https://club.example.kr/screenings/42"


# -- the rule ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("body, kind, size", [
    ("가" * 45, "SMS", 90),          # 45 Hangul syllables: 2 bytes each
    ("가" * 46, "LMS", 92),
    ("a" * 90, "SMS", 90),
    ("a" * 91, "LMS", 91),
    ("[필름클럽] 인증번호 123456 (10분)", "SMS", 33),
    ("뷁똠쌰", "SMS", 6),              # syllables outside EUC-KR's 2,350 are 2 bytes too (CP949), never replaced
])
def test_the_euc_kr_size_chooses_sms_or_lms(body, kind, size):
    text = fit(body)
    assert (text.text, text.type, text.size, text.replaced, text.cut) == (body, kind, size, 0, False)


def test_characters_euc_kr_cannot_carry_are_replaced_never_sent():
    text = fit("오늘 상영 🎬 즐거운 관람 ⚽ ﬁlm")
    assert text.text == "오늘 상영 ? 즐거운 관람 ? film"  # the ligature has a plain form; emoji do not
    assert text.replaced == 3 and euc_kr_bytes(text.text) == text.size


@pytest.mark.parametrize("filler", ["가나다라 ", "abcd ", "가", "😀가"])
def test_a_body_over_2000_bytes_is_cut_between_characters_and_keeps_its_link(filler):
    body = f"{filler * 1100}\n\n자세히: {LINK}\n{filler * 50}"
    text = fit(body)
    assert text.cut and text.type == LMS and text.size <= LMS_MAX_BYTES == 2000
    assert text.text.endswith(f"…\n{LINK}") and text.text.count(LINK) == 1
    head = text.text.removesuffix(f"…\n{LINK}")
    assert fit(body.replace("😀", "?")).text == text.text and body.replace("😀", "?").startswith(head)
    assert text.size > LMS_MAX_BYTES - 4  # cut as late as it fits: at most one 2-byte character and a space short


def test_a_long_body_without_a_link_ends_with_the_cut_mark():
    text = fit("영화 " * 1000)
    assert text.cut and text.text.endswith("…") and LMS_MAX_BYTES - 3 <= text.size <= LMS_MAX_BYTES


def test_twilio_counts_segments_as_twilio_bills_them():
    assert twilio_segments("a" * 160) == 1 and twilio_segments("a" * 161) == 2
    assert twilio_segments("가" * 70) == 1 and twilio_segments("가" * 71) == 2 and twilio_segments("가" * 135) == 3


# -- through the worker, against the providers' stand-ins -------------------------------------------------

@pytest.fixture
def solapi():
    with serving(FakeSolapi(KEY, SECRET)) as fake:
        yield fake


@pytest.fixture
def twilio():
    with serving(FakeTwilio(SID, TOKEN)) as fake:
        yield fake


BODIES = {
    "short": "[필름클럽] 인증번호 123456 (10분)",
    "long": "[필름클럽] 알림: " + "이번 주 토요일 도서관 2층에서 박찬욱 감독의 헤어질 결심을 상영합니다. " * 2,
    "emoji": "오늘 저녁 7시 상영 🎬🍿 잊지 마세요!",
    "very long": "안내 " + "가을 프로그램 소개 " * 300 + f"\n{LINK}",
}


def send_through_the_worker(app, bodies: dict[str, str]) -> dict[str, Delivery]:
    """Delivery rows, queued as the outbox queues them, sent by the worker class every launcher deploys."""
    with app.app_context():
        rows = {name: Delivery(idempotency_key=f"sms-text:{name}", channel=SMS, kind="test",
                               recipient="+821012345678", body=body) for name, body in bodies.items()}
        db.session.add_all(rows.values())
        db.session.commit()
        ids = {name: row.id for name, row in rows.items()}
        assert enqueue_deliveries([(i, SMS) for i in ids.values()], HIGH, key="sms-text") == len(ids)
    burst(app)
    with app.app_context():
        found = {name: db.session.get(Delivery, i) for name, i in ids.items()}
        for row in found.values():
            db.session.expunge(row)
        return found


def test_solapi_gets_each_body_with_its_type_and_takes_every_one(app_factory, solapi):
    app = app_factory(SMS_BACKEND="solapi", SOLAPI_API_KEY=KEY, SOLAPI_API_SECRET=SECRET,
                      SMS_SENDER="0212345678", SOLAPI_API_BASE=solapi.url)
    rows = send_through_the_worker(app, BODIES)
    assert {name: (row.status, row.last_error) for name, row in rows.items()} == \
        {name: (SENT, None) for name in BODIES}
    sent = {r["message"]["text"]: r["message"]["type"] for r in solapi.requests}
    assert sent[BODIES["short"]] == "SMS" and sent[BODIES["long"]] == "LMS"
    assert sent["오늘 저녁 7시 상영 ?? 잊지 마세요!"] == "SMS"
    [cut] = [text for text in sent if text.startswith("안내 ")]
    assert sent[cut] == "LMS" and cut.endswith(f"…\n{LINK}") and euc_kr_bytes(cut) <= 2000
    assert "(SMS, 33 bytes)" in rows["short"].provider_response
    assert "cut" in rows["very long"].provider_response and "2 characters replaced" in rows["emoji"].provider_response


def test_the_solapi_stand_in_refuses_what_the_rule_prevents(solapi):
    """Without the rule the same bodies are provider errors: the stand-in is not a pushover."""
    backend = SolapiBackend(KEY, SECRET, "0212345678", api_base=solapi.url)
    for body, kind in ((BODIES["emoji"], None), (BODIES["long"], "SMS"), (BODIES["very long"], "LMS")):
        with pytest.raises(PermanentSMSError, match="ValidationError"):
            backend.send(SMSMessage(to="+821012345678", body=body, key="k", type=kind))


def test_twilio_gets_at_most_1600_characters_with_the_link_and_reports_segments(app_factory, twilio):
    app = app_factory(SMS_BACKEND="twilio", TWILIO_ACCOUNT_SID=SID, TWILIO_AUTH_TOKEN=TOKEN,
                      SMS_SENDER="+15005550006", TWILIO_API_BASE=twilio.url)
    bodies = {"ascii": "Programme: " + "the autumn season, " * 150 + LINK, "short": BODIES["short"]}
    rows = send_through_the_worker(app, bodies)
    assert {name: row.status for name, row in rows.items()} == {"ascii": SENT, "short": SENT}
    by_start = {r["Body"][:5]: r["Body"] for r in twilio.requests}
    long_body = by_start["Progr"]
    assert len(long_body) <= 1600 and long_body.endswith(f"…\n{LINK}")
    assert "segments" in rows["ascii"].provider_response and "1 segment" in rows["short"].provider_response


def test_the_console_backend_records_the_type(app_factory, tmp_path):
    app = app_factory(SMS_BACKEND="console", DEV_SMS_DIR=str(tmp_path))
    send_through_the_worker(app, {"long": BODIES["long"]})
    [kept] = [json.loads(p.read_text()) for p in tmp_path.glob("*.json")]
    assert kept["type"] == "LMS" and kept["body"] == BODIES["long"] and euc_kr_bytes(kept["body"]) > SMS_MAX_BYTES
