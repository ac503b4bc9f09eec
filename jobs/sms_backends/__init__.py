"""SMS backends, chosen by ``SMS_BACKEND``: ``console`` (development), ``twilio``, ``solapi``.

Every backend has one method, ``send(message) -> str`` (the provider's answer,
kept in the delivery log), and sorts failures the way the retry policy needs
them, like ``jobs.mailer``: ``TransientSMSError`` (timeouts, connection errors,
429, 5xx: try again later) and ``PermanentSMSError`` (the provider refused this
message for good, e.g. an invalid number: record it, do not retry).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Protocol

from app.exceptions import PermanentSMSError, SMSError, TransientSMSError


@dataclass(frozen=True)
class SMSMessage:
    to: str    # E.164
    body: str
    key: str   # the delivery's idempotency key, for logs and provider-side de-duplication
    type: str | None = None  # "SMS" or "LMS" by the body's EUC-KR bytes (app.sms_text.fit); None: the provider's guess


class SMSBackend(Protocol):
    # The longest body (EUC-KR bytes) the provider takes; app.sms_text.fit cuts to it.
    max_bytes: int

    def send(self, message: SMSMessage) -> str: ...


def classify_http(status: int, detail: str, what: str) -> SMSError:
    """429, 408 and 5xx are worth retrying; any other 4xx is this message's fault."""
    message = f"{what}: HTTP {status} {detail}"[:1000]
    if status in (408, 429) or status >= 500:
        return TransientSMSError(message)
    return PermanentSMSError(message)


def backend_from_config(config: Mapping) -> SMSBackend:
    name = config["SMS_BACKEND"]
    if name == "console":
        # Loaded when chosen: each backend imports this module's base classes.
        from jobs.sms_backends.console import ConsoleBackend

        return ConsoleBackend(config["DEV_SMS_DIR"])
    if name == "twilio":
        # Loaded when chosen: each backend imports this module's base classes.
        from jobs.sms_backends.twilio import TwilioBackend

        return TwilioBackend.from_config(config)
    if name == "solapi":
        # Loaded when chosen: each backend imports this module's base classes.
        from jobs.sms_backends.solapi import SolapiBackend

        return SolapiBackend.from_config(config)
    # Like an unset MAIL_SERVER: the message waits (transient) until SMS is configured.
    raise TransientSMSError("SMS_BACKEND is not set: no SMS provider to send through")
