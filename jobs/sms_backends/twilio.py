"""Twilio, through its official SDK (``client.messages.create``).

``TWILIO_API_BASE`` (tests and local fakes only) replaces ``https://api.twilio.com``
in every request the SDK makes: the SDK has no base-URL setting (its region and
edge options only rename the Twilio host), so a small ``TwilioHttpClient``
subclass rewrites the URL just before it is sent.
"""
from __future__ import annotations

from typing import Mapping
from urllib.parse import urlsplit, urlunsplit

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from app.sms_text import twilio_segments
from jobs.sms_backends import PermanentSMSError, SMSMessage, TransientSMSError, classify_http


class BaseURLHttpClient(TwilioHttpClient):
    """Sends the SDK's requests to ``base_url`` (scheme and host) instead of Twilio's hosts."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        parts = urlsplit(base_url)
        self._scheme, self._netloc = parts.scheme, parts.netloc

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        parts = urlsplit(url)
        return super().request(method, urlunsplit(parts._replace(scheme=self._scheme, netloc=self._netloc)),
                               *args, **kwargs)


class TwilioBackend:
    # Twilio takes at most 1,600 characters; as EUC-KR bytes are never fewer than characters, a body fitted
    # to 1,600 bytes always fits. Twilio has no SMS/LMS switch: it splits a long body into segments itself.
    max_bytes = 1600

    def __init__(self, account_sid: str, auth_token: str, sender: str, timeout: float = 10.0,
                 api_base: str = "") -> None:
        if not (account_sid and auth_token and sender):
            raise TransientSMSError("Twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and SMS_SENDER")
        http_client = BaseURLHttpClient(api_base, timeout) if api_base else TwilioHttpClient(timeout=timeout)
        self.client = Client(account_sid, auth_token, http_client=http_client)
        self.sender = sender

    @classmethod
    def from_config(cls, config: Mapping) -> "TwilioBackend":
        return cls(config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"],
                   config["SMS_SENDER"], float(config["SMS_TIMEOUT"]), config["TWILIO_API_BASE"])

    def send(self, message: SMSMessage) -> str:
        # A messaging service SID (MG...) goes in its own field; a number or sender id in From.
        sender = {"messaging_service_sid": self.sender} if self.sender.startswith("MG") else {"from_": self.sender}
        try:
            sent = self.client.messages.create(to=message.to, body=message.body, **sender)
        except TwilioRestException as exc:
            raise classify_http(exc.status, f"Twilio error {exc.code}: {exc.msg}", "Twilio refused") from exc
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise TransientSMSError(f"cannot reach Twilio: {exc}") from exc
        except (TwilioException, requests.RequestException) as exc:
            raise TransientSMSError(f"Twilio request failed: {exc}") from exc
        if sent.status == "failed" or sent.error_code:
            raise PermanentSMSError(f"Twilio failed the message {sent.sid}: {sent.error_code} {sent.error_message}")
        segments = sent.num_segments or twilio_segments(message.body)
        return f"twilio {sent.sid} {sent.status}, {segments} segment{'s' if str(segments) != '1' else ''}"
