"""Solapi (Korean SMS provider), ``POST /messages/v4/send`` over its REST API.

Authentication per Solapi's documentation: every request carries
``Authorization: HMAC-SHA256 apiKey=<key>, date=<ISO 8601>, salt=<random>,
signature=<hex HMAC-SHA256(secret, date + salt)>``. The body is
``{"message": {"to", "from", "text", "type"}}`` (``type`` SMS up to 90 EUC-KR
bytes, LMS up to 2,000: ``app.sms_text``); Korean numbers are sent in national
form (``01012345678``), others with a ``country`` code. A 2xx answer carries the
message's ``statusCode`` ("2000" = accepted); errors carry ``errorCode`` and
``errorMessage``.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timezone
from typing import Mapping

import requests

from app.members.contact import national_digits
from app.sms_text import LMS_MAX_BYTES
from jobs.sms_backends import PermanentSMSError, SMSMessage, TransientSMSError, classify_http

SEND_PATH = "/messages/v4/send"


def authorization_header(api_key: str, api_secret: str, date: str | None = None, salt: str | None = None) -> str:
    date = date or datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    salt = salt or secrets.token_hex(16)
    signature = hmac.new(api_secret.encode(), (date + salt).encode(), hashlib.sha256).hexdigest()
    return f"HMAC-SHA256 apiKey={api_key}, date={date}, salt={salt}, signature={signature}"


class SolapiBackend:
    max_bytes = LMS_MAX_BYTES  # an LMS; the message's ``type`` (SMS/LMS) comes from its EUC-KR size

    def __init__(self, api_key: str, api_secret: str, sender: str, api_base: str = "https://api.solapi.com",
                 timeout: float = 10.0) -> None:
        if not (api_key and api_secret and sender):
            raise TransientSMSError("Solapi needs SOLAPI_API_KEY, SOLAPI_API_SECRET and SMS_SENDER")
        self.api_key, self.api_secret = api_key, api_secret
        self.sender = "".join(ch for ch in sender if ch.isdigit())
        self.url = api_base.rstrip("/") + SEND_PATH
        self.timeout = timeout
        self.session = requests.Session()

    @classmethod
    def from_config(cls, config: Mapping) -> "SolapiBackend":
        return cls(config["SOLAPI_API_KEY"], config["SOLAPI_API_SECRET"],
                   config["SMS_SENDER"], config["SOLAPI_API_BASE"],
                   float(config["SMS_TIMEOUT"]))

    def payload(self, message: SMSMessage) -> dict:
        country, digits = national_digits(message.to)
        body = {"to": digits, "from": self.sender, "text": message.body}
        if message.type:
            body["type"] = message.type
        if country != 82:
            body["country"] = str(country)
        return {"message": body}

    def send(self, message: SMSMessage) -> str:
        headers = {"Authorization": authorization_header(self.api_key, self.api_secret)}
        try:
            response = self.session.post(self.url, json=self.payload(message), headers=headers, timeout=self.timeout)
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise TransientSMSError(f"cannot reach Solapi: {exc}") from exc
        except requests.RequestException as exc:
            raise TransientSMSError(f"Solapi request failed: {exc}") from exc
        try:
            data = response.json()
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        if response.status_code >= 300:
            detail = f"{data.get('errorCode', '')} {data.get('errorMessage', response.text[:200])}".strip()
            raise classify_http(response.status_code, detail, "Solapi refused")
        status = str(data.get("statusCode", ""))
        if not status.startswith("2"):
            raise PermanentSMSError(f"Solapi did not accept the message: {status} {data.get('statusMessage', '')}")
        return f"solapi {data.get('messageId', '')} {status} {data.get('statusMessage', '')}".strip()
