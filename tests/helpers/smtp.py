"""A real SMTP server (aiosmtpd) for the tests, with switches to misbehave.

It records every accepted message; tests can make it refuse given recipients
for good (550) or for now (451), or refuse everything for a while.
"""
from __future__ import annotations

import asyncio
import email
import threading
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from deploy.local.redis_server import free_port


@dataclass
class RecordingHandler:
    messages: list[EmailMessage] = field(default_factory=list)
    refuse_permanently: set[str] = field(default_factory=set)
    refuse_temporarily: set[str] = field(default_factory=set)
    data_delay: float = 0.0   # seconds the server takes to answer DATA: a slow server
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse_permanently:
            return "550 5.1.1 No such user here"
        if address in self.refuse_temporarily:
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted"

    def reset(self) -> None:
        with self.lock:
            self.messages.clear()
        self.refuse_permanently.clear()
        self.refuse_temporarily.clear()
        self.data_delay = 0.0

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]


class SMTPServer:
    """``smtputf8=False`` makes a server that does not offer SMTPUTF8 (aiosmtpd offers it by default)."""

    def __init__(self, smtputf8: bool = True) -> None:
        self.handler = RecordingHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                     enable_SMTPUTF8=smtputf8)

    def start(self) -> "SMTPServer":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
