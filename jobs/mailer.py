"""SMTP sending with one connection reused for many messages.

Errors are sorted the way a retry policy needs them: ``TransientMailError``
(connection refused, timeouts, 4xx replies: try again later) and
``PermanentMailError`` (5xx for a recipient, or a message that cannot be
built or addressed: record it, do not retry).

A message fails alone: whatever is wrong with one row (a subject with a line
break written before input was validated, an address this server cannot take)
is a ``PermanentMailError`` with ``session_usable`` set, so a batch records it
and goes on with the next row on the same connection.

Internationalised addresses (the choice, see README "Internationalised
addresses"): a non-ASCII domain is sent in its IDNA form (``xn--``), which
every server takes; a non-ASCII mailbox name (``민지@...``) needs the server's
SMTPUTF8 extension (RFC 6531). When the server offers it the message goes out
with ``MAIL FROM ... SMTPUTF8`` and UTF-8 headers; when it does not, that one
delivery fails with a reason saying so.
"""
from __future__ import annotations

import smtplib
import socket
import ssl
import time
from dataclasses import dataclass
from email import policy
from email.header import Header
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import TYPE_CHECKING, Callable, Mapping

import idna

from app.exceptions import MailError, PermanentMailError, TransientMailError, UnsendableMessage
from app.text_rules import single_line_problem

if TYPE_CHECKING:
    from jobs.send_rate import SendRate


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
            username=config["MAIL_USERNAME"], password=config["MAIL_PASSWORD"],
            timeout=float(config["MAIL_TIMEOUT"]), sender=config["MAIL_DEFAULT_SENDER"],
        )




@dataclass(frozen=True)
class Envelope:
    """SMTP envelope addresses, and whether the message needs the server's SMTPUTF8."""

    sender: str
    recipient: str
    smtputf8: bool


def envelope_for(sender: str, recipient: str) -> Envelope:
    """The envelope for ``recipient``: the domain in IDNA form; UTF-8 only when the mailbox name needs it.

    Raises ``UnsendableMessage`` for an address no server can take.
    """
    sender_address = parseaddr(sender)[1] or sender
    problem = single_line_problem(recipient)
    if problem or not recipient or any(c.isspace() for c in recipient) or "@" not in recipient:
        raise UnsendableMessage(f"recipient {recipient!r} is not a usable email address"
                                f"{': ' + problem if problem else ''}")
    local, _, domain = recipient.rpartition("@")
    if not domain.isascii():
        try:
            domain = idna.encode(domain, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise UnsendableMessage(f"recipient {recipient!r}: the domain is not a valid internationalised "
                                    f"domain name ({exc})") from None
    return Envelope(sender_address, f"{local}@{domain}", smtputf8=not (local.isascii() and sender_address.isascii()))


def build_message(sender: str, recipient: str, subject: str, body: str, message_id_key: str,
                  html: str | None = None) -> EmailMessage:
    """The message for one row. Raises ``UnsendableMessage`` (naming what is wrong) if it cannot be built."""
    problem = single_line_problem(subject)
    if problem:
        raise UnsendableMessage(f"the subject cannot be sent: it {problem}")
    try:
        return _build(sender, recipient, subject, body, message_id_key, html)
    except (ValueError, TypeError, LookupError) as exc:
        raise UnsendableMessage(f"the message cannot be built: {type(exc).__name__}: {exc}") from exc


def _build(sender: str, recipient: str, subject: str, body: str, message_id_key: str,
           html: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    if "=?" in subject:
        # Text that looks like an RFC 2047 encoded word ("=?utf-8?q?x?=") would be written as it is
        # and decoded by the reader into something else ("x"): encode the whole subject instead.
        message.set_raw("Subject", Header(subject, "utf-8", header_name="Subject").encode())
    else:
        message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain="filmclub.local")
    # The idempotency key travels in a header so a duplicate is recognisable downstream.
    message["X-Delivery-Key"] = message_id_key
    message.set_content(body)
    if html is not None:  # multipart/alternative: the plain text first, the HTML part preferred by readers
        message.add_alternative(html, subtype="html")
    return message


def _classify(code: int, text: bytes | str, what: str, session_usable: bool = False) -> MailError:
    reply = text.decode(errors="replace") if isinstance(text, bytes) else text
    message = f"{what}: {code} {reply}"
    error = PermanentMailError(message) if 500 <= code < 600 else TransientMailError(message)
    error.session_usable = session_usable
    if isinstance(error, TransientMailError):
        lowered = reply.lower()
        error.rate_exceeded = code == 454 or "rate exceeded" in lowered or "throttl" in lowered
    return error


# A "sending too fast" answer (SES: 454 Throttling failure: Maximum sending rate exceeded) pauses the
# senders and the same message is tried again, this many times in all, the pause doubling from the first.
RATE_EXCEEDED_TRIES = 6
RATE_EXCEEDED_FIRST_PAUSE = 1.0
RATE_EXCEEDED_MAX_PAUSE = 8.0


class SMTPConnection:
    """One SMTP session; use as a context manager and call ``send`` many times."""

    def __init__(self, settings: SMTPSettings, rate: "SendRate | None" = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        """``rate``: the shared sending rate (``jobs.send_rate``) each message waits its turn from."""
        self.settings = settings
        self.rate = rate
        self._sleep = sleep
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

    def deliver(self, sender: str, recipient: str, subject: str, body: str, key: str,
                html: str | None = None) -> str:
        """Address, build and send one message; returns the server's answer to DATA.

        Raises ``UnsendableMessage`` (session still usable) when this message
        cannot be sent through this server, whatever the reason.
        """
        envelope = envelope_for(sender, recipient)
        header_recipient = recipient if envelope.smtputf8 else envelope.recipient
        message = build_message(sender, header_recipient, subject, body, key, html)
        return self.send(message, envelope)

    def offers_smtputf8(self) -> bool:
        assert self._smtp is not None, "use SMTPConnection as a context manager"
        try:
            self._smtp.ehlo_or_helo_if_needed()
        except smtplib.SMTPResponseException as exc:
            raise _classify(exc.smtp_code, exc.smtp_error, "SMTP EHLO") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientMailError(f"SMTP connection lost: {exc}") from exc
        return self._smtp.has_extn("smtputf8")

    def send(self, message: EmailMessage, envelope: Envelope | None = None) -> str:
        """Send one message; returns the server's answer to DATA (e.g. ``250 OK``)."""
        assert self._smtp is not None, "use SMTPConnection as a context manager"
        if envelope is None:
            envelope = envelope_for(message["From"], parseaddr(message["To"])[1] or message["To"])
        options: tuple[str, ...] = ()
        # CRLF line ends on the wire: smtplib sends bytes as they are, and a bare LF is refused by
        # servers that guard against SMTP smuggling (aiosmtpd: "500 Line too long" past 1,000 bytes).
        serialise = policy.SMTP
        if envelope.smtputf8:
            if not self.offers_smtputf8():
                raise UnsendableMessage(
                    f"recipient {envelope.recipient}: a mailbox name with non-ASCII characters needs SMTPUTF8, "
                    f"which the SMTP server {self.settings.host}:{self.settings.port} does not offer")
            options, serialise = ("SMTPUTF8", "BODY=8BITMIME"), policy.SMTPUTF8
        try:
            data = message.as_bytes(policy=serialise)
        except (ValueError, TypeError, LookupError) as exc:
            raise UnsendableMessage(f"the message cannot be serialised: {type(exc).__name__}: {exc}") from exc
        pause = RATE_EXCEEDED_FIRST_PAUSE
        for attempt in range(1, RATE_EXCEEDED_TRIES + 1):
            if self.rate is not None:
                self.rate.acquire()
            try:
                return self._transaction(envelope, options, data)
            except TransientMailError as exc:
                if not (exc.rate_exceeded and exc.session_usable) or attempt == RATE_EXCEEDED_TRIES:
                    raise
                self._slow_down(pause)
                pause = min(pause * 2, RATE_EXCEEDED_MAX_PAUSE)
        raise AssertionError("unreachable")

    def _slow_down(self, seconds: float) -> None:
        """Every sender sharing the rate pauses (or this one alone, when no rate is configured)."""
        if self.rate is not None:
            self.rate.slow_down(seconds)   # the next acquire() waits it out
        else:
            self._sleep(seconds)

    def _transaction(self, envelope: Envelope, options: tuple[str, ...], data: bytes) -> str:
        """MAIL, RCPT, DATA for one message on the open session."""
        smtp = self._smtp
        assert smtp is not None
        try:
            smtp.ehlo_or_helo_if_needed()
            code, text = smtp.mail(envelope.sender, options)
            if code != 250:
                smtp.rset()
                raise _classify(code, text, "MAIL FROM refused", session_usable=True)
            code, text = smtp.rcpt(envelope.recipient)
            if code not in (250, 251):
                smtp.rset()
                raise _classify(code, text, f"recipient {envelope.recipient} refused", session_usable=True)
            code, text = smtp.data(data)
            if code != 250:
                raise _classify(code, text, "message refused", session_usable=code != 421)
            return f"{code} {text.decode(errors='replace')}"[:500]
        except MailError:
            raise
        except smtplib.SMTPResponseException as exc:
            raise _classify(exc.smtp_code, exc.smtp_error, "SMTP error") from exc
        except (OSError, socket.timeout, smtplib.SMTPException) as exc:
            raise TransientMailError(f"SMTP connection lost: {exc}") from exc

