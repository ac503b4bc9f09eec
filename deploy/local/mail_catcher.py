"""A development SMTP server (aiosmtpd) that keeps every message under a folder.

``make run`` starts it when ``MAIL_SERVER`` is unset; the app lists what it
caught at /dev/mail. Run by hand with ``python -m deploy.local.mail_catcher``.
"""
from __future__ import annotations

import argparse
import os
import signal
import threading
import time
import uuid
from pathlib import Path

from aiosmtpd.controller import Controller

from deploy.local.redis_server import free_port


class MaildirHandler:
    """Write each message to ``<directory>/<time>-<id>.eml`` (written whole, then renamed)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope) -> str:
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
        envelope_lines = (f"X-Envelope-From: {envelope.mail_from}\r\n"
                          f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n").encode()
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode()
        tmp = self.directory / f".{name}.tmp"
        tmp.write_bytes(envelope_lines + content)
        os.replace(tmp, self.directory / name)
        return "250 Message accepted for delivery"


def start(directory: Path, host: str = "127.0.0.1", port: int = 0) -> Controller:
    """Start in a background thread; port 0 picks a free port (see ``controller.port``)."""
    controller = Controller(MaildirHandler(directory), hostname=host, port=port or free_port())
    controller.start()
    return controller


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--dir", default="var/mail", help="where to keep the messages")
    args = parser.parse_args()
    controller = start(Path(args.dir), args.host, args.port)
    print(f"mail catcher on {args.host}:{controller.port}, keeping mail in {args.dir}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
