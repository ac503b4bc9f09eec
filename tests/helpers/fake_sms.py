"""Fake Twilio and Solapi APIs, speaking each provider's documented request and answer shapes.

Switches: ``answers[to] = (status, json)`` makes the provider answer that way for
a recipient; ``delay`` makes every answer slow (timeouts). ``requests`` records
what arrived.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator, TypeVar

from werkzeug.wrappers import Request, Response

from tests.helpers.local_http import LocalHTTPServer

Provider = TypeVar("Provider", bound="FakeProvider")


@dataclass
class FakeProvider:
    answers: dict[str, tuple[int, dict]] = field(default_factory=dict)
    requests: list[dict] = field(default_factory=list)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, item: dict) -> None:
        with self.lock:
            self.requests.append(item)


def _json(status: int, body: dict) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


class FakeTwilio(FakeProvider):
    """POST /2010-04-01/Accounts/{AccountSid}/Messages.json, HTTP Basic auth (sid:token), form body."""

    def __init__(self, account_sid: str, auth_token: str) -> None:
        super().__init__()
        self.account_sid, self.auth_token = account_sid, auth_token

    def __call__(self, environ, start_response):
        request = Request(environ)
        time.sleep(self.delay)
        match = re.fullmatch(r"/2010-04-01/Accounts/([^/]+)/Messages\.json", request.path)
        if request.method != "POST" or not match:
            return _json(404, {"code": 20404, "message": "not found", "status": 404})(environ, start_response)
        auth = request.authorization
        if not auth or (auth.username, auth.password) != (self.account_sid, self.auth_token) \
                or match.group(1) != self.account_sid:
            return _json(401, {"code": 20003, "message": "Authenticate", "status": 401})(environ, start_response)
        form = request.form.to_dict()
        self.record(form)
        to = form.get("To", "")
        if to in self.answers:
            status, body = self.answers[to]
            return _json(status, body)(environ, start_response)
        body = form.get("Body", "")
        if len(body) > 1600:
            return _json(400, {"code": 21617, "message": "The concatenated message body exceeds the 1600 character "
                               "limit.", "status": 400})(environ, start_response)
        ascii_only = all(ord(c) < 128 for c in body)
        per_part = (160, 153) if ascii_only else (70, 67)
        segments = 1 if len(body) <= per_part[0] else -(-len(body) // per_part[1])
        sid = f"SM{len(self.requests):032d}"
        return _json(201, {"sid": sid, "account_sid": self.account_sid, "to": to, "from": form.get("From"),
                           "body": form.get("Body"), "status": "queued", "num_segments": str(segments),
                           "error_code": None, "error_message": None, "direction": "outbound-api",
                           "api_version": "2010-04-01", "price": None,
                           "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json"}
                     )(environ, start_response)


AUTH_RE = re.compile(r"^HMAC-SHA256 apiKey=(?P<key>[^,]+), date=(?P<date>[^,]+), salt=(?P<salt>[^,]+), "
                     r"signature=(?P<signature>[0-9a-f]{64})$")


def _euc_kr_size(text: str) -> int:
    return len(text.encode("cp949"))


def solapi_text_refusal(text: str, kind: str | None) -> str | None:
    """What a Korean provider refuses in a text: a character EUC-KR cannot carry, or a body too long for
    its type (SMS 90 bytes, LMS 2,000). Written from the carriers' rules, not from app.sms_text."""
    try:
        size = _euc_kr_size(text)
    except UnicodeEncodeError as exc:
        return f"text holds a character EUC-KR cannot carry: {exc.object[exc.start]!r}"
    limit = {"SMS": 90, "LMS": 2000, None: 2000}.get(kind)
    if limit is None:
        return f"unknown type {kind!r}"
    if size > limit:
        return f"{kind or 'text'} is {size} bytes; at most {limit}"
    return None


class FakeSolapi(FakeProvider):
    """POST /messages/v4/send with Solapi's HMAC-SHA256 Authorization header and a JSON body."""

    def __init__(self, api_key: str, api_secret: str) -> None:
        super().__init__()
        self.api_key, self.api_secret = api_key, api_secret

    def __call__(self, environ, start_response):
        request = Request(environ)
        time.sleep(self.delay)
        if request.method != "POST" or request.path != "/messages/v4/send":
            return _json(404, {"errorCode": "NotFound", "errorMessage": "not found"})(environ, start_response)
        match = AUTH_RE.match(request.headers.get("Authorization", ""))
        expected = match and hmac.new(self.api_secret.encode(), (match["date"] + match["salt"]).encode(),
                                      hashlib.sha256).hexdigest()
        if not match or match["key"] != self.api_key or match["signature"] != expected:
            return _json(403, {"errorCode": "SignatureDoesNotMatch",
                               "errorMessage": "signature does not match"})(environ, start_response)
        message = (request.get_json(silent=True) or {}).get("message") or {}
        self.record({"message": message, "authorization": request.headers["Authorization"]})
        to = message.get("to", "")
        if to in self.answers:
            status, body = self.answers[to]
            return _json(status, body)(environ, start_response)
        if not (to and message.get("from") and message.get("text")):
            return _json(400, {"errorCode": "ValidationError",
                               "errorMessage": "to, from and text are required"})(environ, start_response)
        refusal = solapi_text_refusal(message["text"], message.get("type"))
        if refusal:
            return _json(400, {"errorCode": "ValidationError", "errorMessage": refusal})(environ, start_response)
        return _json(200, {"groupId": "G4V20261125000000AAAAAAAAAAAAAAA",
                           "messageId": f"M4V2026112500000{len(self.requests):016d}", "accountId": "12925149",
                           "statusMessage": "정상 접수(이통사로 접수 예정) ", "statusCode": "2000",
                           "to": to, "from": message["from"], "country": "82",
                           "type": message.get("type") or ("SMS" if _euc_kr_size(message["text"]) <= 90 else "LMS")}
                     )(environ, start_response)


@contextmanager
def serving(fake: Provider) -> Iterator[Provider]:
    """``fake`` answering on a local port; its ``url`` is where the backend under test should send."""
    with LocalHTTPServer(fake) as server:
        fake.url = server.url
        yield fake
