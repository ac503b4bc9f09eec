"""SMTP sending with one connection reused for many messages.

Errors are sorted the way a retry policy needs them: ``TransientMailError``
(connection refused, timeouts, 4xx replies: try again later) and
``PermanentMailError`` (5xx for a recipient: record it, do not retry).
"""
from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Mapping


class MailError(Exception):
    """Base class for sending failures.

    ``session_usable`` is True when the server answered (and the session was
    reset), so a batch can go on with the next recipient on the same
    connection; False when the connection itself is gone.
    """

    session_usable = False


class TransientMailError(MailError):
    """Worth retrying later."""


class PermanentMailError(MailError):
    """The server refused this message for good."""


@dataclass(frozen=True)
class SMTPSettings:
    host: str
    port: int
    use_tls: bool = False
    use_ssl: bool = False
    username: str = ""
    password: str = ""
    timeout: float = 10.0
    sender: str = ""

    @classmethod
    def from_config(cls, config: Mapping) -> "SMTPSettings":
        if not config.get("MAIL_SERVER"):
            raise TransientMailError("MAIL_SERVER is not set: no SMTP server to send through")
        return cls(
            host=config["MAIL_SERVER"], port=int(config["MAIL_PORT"]),
            use_tls=bool(config["MAIL_USE_TLS"]), use_ssl=bool(config["MAIL_USE_SSL"]),
            username=config.get("MAIL_USERNAME", ""), password=config.get("MAIL_PASSWORD", ""),
            timeout=float(config.get("MAIL_TIMEOUT", 10.0)), sender=config["MAIL_DEFAULT_SENDER"],
        )


def build_message(sender: str, recipient: str, subject: str, body: str, message_id_key: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain="filmclub.local")
    # The idempotency key travels in a header so a duplicate is recognisable downstream.
    message["X-Delivery-Key"] = message_id_key
    message.set_content(body)
    return message


def _classify(code: int, text: bytes | str, what: str, session_usable: bool = False) -> MailError:
    reply = text.decode(errors="replace") if isinstance(text, bytes) else text
    message = f"{what}: {code} {reply}"
    error = PermanentMailError(message) if 500 <= code < 600 else TransientMailError(message)
    error.session_usable = session_usable
    return error


class SMTPConnection:
    """One SMTP session; use as a context manager and call ``send`` many times."""

    def __init__(self, settings: SMTPSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> "SMTPConnection":
        s = self.settings
        try:
            if s.use_ssl:
                self._smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout,
                                              context=ssl.create_default_context())
            else:
                self._smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
                if s.use_tls:
                    self._smtp.starttls(context=ssl.create_default_context())
            if s.username:
                self._smtp.login(s.username, s.password)
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentMailError(f"SMTP login refused: {exc.smtp_code} {exc.smtp_error!r}") from exc
        except smtplib.SMTPResponseException as exc:
            raise _classify(exc.smtp_code, exc.smtp_error, "SMTP connection") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientMailError(f"cannot reach SMTP server {s.host}:{s.port}: {exc}") from exc
        return self

    def __exit__(self, *exc_info) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None

    def send(self, message: EmailMessage) -> str:
        """Send one message; returns the server's answer to DATA (e.g. ``250 OK``)."""
        assert self._smtp is not None, "use SMTPConnection as a context manager"
        smtp = self._smtp
        sender, recipient = message["From"], message["To"]
        try:
            smtp.ehlo_or_helo_if_needed()
            code, text = smtp.mail(_address(sender))
            if code != 250:
                smtp.rset()
                raise _classify(code, text, "MAIL FROM refused", session_usable=True)
            code, text = smtp.rcpt(_address(recipient))
            if code not in (250, 251):
                smtp.rset()
                raise _classify(code, text, f"recipient {recipient} refused", session_usable=True)
            code, text = smtp.data(message.as_bytes())
            if code != 250:
                raise _classify(code, text, "message refused", session_usable=code != 421)
            return f"{code} {text.decode(errors='replace')}"[:500]
        except MailError:
            raise
        except smtplib.SMTPResponseException as exc:
            raise _classify(exc.smtp_code, exc.smtp_error, "SMTP error") from exc
        except (OSError, socket.timeout, smtplib.SMTPException) as exc:
            raise TransientMailError(f"SMTP connection lost: {exc}") from exc


def _address(header: str) -> str:
    from email.utils import parseaddr

    return parseaddr(header)[1] or header
