"""SMS backends against local servers speaking Twilio's and Solapi's documented APIs."""
from __future__ import annotations

import json

import pytest

from app.extensions import db
from app.models.delivery import FAILED, PENDING, SENT, SMS, Delivery
from jobs.sms_backends import PermanentSMSError, SMSMessage, TransientSMSError, backend_from_config
from jobs.sms_backends.console import ConsoleBackend
from jobs.sms_backends.solapi import SolapiBackend, authorization_header
from jobs.sms_backends.twilio import TwilioBackend
from tests.helpers.fake_sms import FakeSolapi, FakeTwilio, serving

SID, TOKEN = "AC" + "1" * 32, "twilio-token"
KEY, SECRET = "NCSTESTKEY", "solapi-secret"
MESSAGE = SMSMessage(to="+821012345678", body="[Film club] code 123456", key="verification-code:1")


@pytest.fixture
def twilio():
    with serving(FakeTwilio(SID, TOKEN)) as fake:
        yield fake


@pytest.fixture
def solapi():
    with serving(FakeSolapi(KEY, SECRET)) as fake:
        yield fake


def twilio_backend(fake, **kwargs) -> TwilioBackend:
    return TwilioBackend(SID, kwargs.pop("token", TOKEN), "+15005550006", api_base=fake.url,
                         timeout=kwargs.pop("timeout", 5.0))


def solapi_backend(fake, **kwargs) -> SolapiBackend:
    return SolapiBackend(KEY, kwargs.pop("secret", SECRET), "02-930-2266", api_base=fake.url,
                         timeout=kwargs.pop("timeout", 5.0))


def test_twilio_sdk_sends_through_the_configured_base_url(twilio):
    answer = twilio_backend(twilio).send(MESSAGE)
    assert answer.startswith("twilio SM") and answer.endswith("queued, 1 segment")
    assert twilio.requests == [{"To": "+821012345678", "From": "+15005550006", "Body": MESSAGE.body}]


def test_twilio_invalid_number_is_permanent(twilio):
    twilio.answers[MESSAGE.to] = (400, {"code": 21211, "message": "The 'To' number is not a valid phone number.",
                                        "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400})
    with pytest.raises(PermanentSMSError, match="21211"):
        twilio_backend(twilio).send(MESSAGE)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_twilio_rate_limit_and_server_errors_are_transient(twilio, status):
    twilio.answers[MESSAGE.to] = (status, {"code": 20429 if status == 429 else 20500, "message": "busy",
                                           "status": status})
    with pytest.raises(TransientSMSError, match=str(status)):
        twilio_backend(twilio).send(MESSAGE)


def test_twilio_wrong_credentials_are_permanent(twilio):
    with pytest.raises(PermanentSMSError, match="401"):
        twilio_backend(twilio, token="wrong").send(MESSAGE)


def test_twilio_timeout_is_transient(twilio):
    twilio.delay = 1.0
    with pytest.raises(TransientSMSError, match="cannot reach Twilio"):
        twilio_backend(twilio, timeout=0.2).send(MESSAGE)


def test_solapi_signs_requests_and_sends_korean_numbers_in_national_form(solapi):
    answer = solapi_backend(solapi).send(MESSAGE)
    assert answer.startswith("solapi M4V") and " 2000 " in answer
    [request] = solapi.requests
    assert request["message"] == {"to": "01012345678", "from": "029302266", "text": MESSAGE.body}


def test_solapi_foreign_number_carries_its_country_code(solapi):
    solapi_backend(solapi).send(SMSMessage(to="+14155552671", body="hi", key="k"))
    assert solapi.requests[0]["message"]["country"] == "1"
    assert solapi.requests[0]["message"]["to"] == "4155552671"


def test_solapi_signature_matches_the_documented_formula():
    header = authorization_header("key", "secret", date="2026-11-25T00:00:00.000Z", salt="abc123")
    import hashlib
    import hmac

    expected = hmac.new(b"secret", b"2026-11-25T00:00:00.000Zabc123", hashlib.sha256).hexdigest()
    assert header == f"HMAC-SHA256 apiKey=key, date=2026-11-25T00:00:00.000Z, salt=abc123, signature={expected}"


def test_solapi_bad_signature_is_permanent(solapi):
    with pytest.raises(PermanentSMSError, match="SignatureDoesNotMatch"):
        solapi_backend(solapi, secret="wrong").send(MESSAGE)


def test_solapi_invalid_number_is_permanent(solapi):
    solapi.answers["01012345678"] = (400, {"errorCode": "ValidationError",
                                           "errorMessage": "수신번호 형식이 올바르지 않습니다."})
    with pytest.raises(PermanentSMSError, match="ValidationError"):
        solapi_backend(solapi).send(MESSAGE)


def test_solapi_refused_message_status_is_permanent(solapi):
    solapi.answers["01012345678"] = (200, {"statusCode": "3059", "statusMessage": "변작된 발신번호"})
    with pytest.raises(PermanentSMSError, match="3059"):
        solapi_backend(solapi).send(MESSAGE)


@pytest.mark.parametrize("status", [429, 500, 502])
def test_solapi_rate_limit_and_server_errors_are_transient(solapi, status):
    solapi.answers["01012345678"] = (status, {"errorCode": "TooManyRequests", "errorMessage": "later"})
    with pytest.raises(TransientSMSError):
        solapi_backend(solapi).send(MESSAGE)


def test_solapi_timeout_and_refused_connection_are_transient(solapi):
    solapi.delay = 1.0
    with pytest.raises(TransientSMSError, match="cannot reach Solapi"):
        solapi_backend(solapi, timeout=0.2).send(MESSAGE)
    with pytest.raises(TransientSMSError, match="cannot reach Solapi"):
        SolapiBackend(KEY, SECRET, "0212345678", api_base="http://127.0.0.1:9", timeout=1).send(MESSAGE)


def test_console_backend_keeps_messages_as_files(tmp_path):
    answer = ConsoleBackend(str(tmp_path)).send(MESSAGE)
    [path] = tmp_path.glob("*.json")
    assert answer == f"console: {path.name}"
    assert json.loads(path.read_text())["to"] == "+821012345678"


def test_unset_backend_waits_instead_of_dropping_the_message():
    with pytest.raises(TransientSMSError, match="SMS_BACKEND is not set"):
        backend_from_config({"SMS_BACKEND": ""})


def _sms_delivery(app, key: str = "test-sms:1") -> int:
    with app.app_context():
        delivery = Delivery(idempotency_key=key, channel=SMS, kind="test", recipient="+821012345678",
                            body="hello from the club")
        db.session.add(delivery)
        db.session.commit()
        return delivery.id


def _status(app, delivery_id: int) -> Delivery:
    with app.app_context():
        delivery = db.session.get(Delivery, delivery_id)
        db.session.expunge(delivery)
        return delivery


def test_sms_job_sends_once_even_when_run_twice(app_factory, solapi):
    from jobs.sms import send_sms_delivery

    app = app_factory(SMS_BACKEND="solapi", SOLAPI_API_KEY=KEY, SOLAPI_API_SECRET=SECRET,
                      SMS_SENDER="0212345678", SOLAPI_API_BASE=solapi.url)
    delivery_id = _sms_delivery(app)
    with app.app_context():
        first = send_sms_delivery(delivery_id)
        second = send_sms_delivery(delivery_id)
    assert first.startswith("solapi") and second.startswith("skipped")
    assert len(solapi.requests) == 1
    delivery = _status(app, delivery_id)
    assert delivery.status == SENT and delivery.provider_response.startswith("solapi M4V")


def test_sms_job_releases_on_transient_error_and_fails_on_permanent(app_factory, twilio):
    from jobs.sms import send_sms_delivery

    app = app_factory(SMS_BACKEND="twilio", TWILIO_ACCOUNT_SID=SID, TWILIO_AUTH_TOKEN=TOKEN,
                      SMS_SENDER="+15005550006", TWILIO_API_BASE=twilio.url)
    delivery_id = _sms_delivery(app)
    twilio.answers["+821012345678"] = (503, {"code": 20503, "message": "unavailable", "status": 503})
    with app.app_context(), pytest.raises(TransientSMSError):
        send_sms_delivery(delivery_id)
    assert _status(app, delivery_id).status == PENDING
    twilio.answers["+821012345678"] = (400, {"code": 21211, "message": "invalid 'To'", "status": 400})
    with app.app_context():
        assert send_sms_delivery(delivery_id).startswith("failed")
    delivery = _status(app, delivery_id)
    assert delivery.status == FAILED and "21211" in delivery.last_error and delivery.attempts == 2
