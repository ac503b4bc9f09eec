"""A minimal, fast SMTP sink for benchmarks: accepts everything and counts messages, their bytes and parts.

aiosmtpd parses every command and message in pure Python and costs more CPU
than the senders being measured; this sink speaks only what ``smtplib`` uses
(EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), so on a shared machine the
senders, not the sink, set the pace. It runs in its own process.

Besides the count it adds up the messages' sizes and counts those with an HTML
part, so a benchmark can check that the sides it compares sent the same kind
of message (``SMTPSink.tally``): a comparison of plain text against text and
HTML measures the email library, not the machinery.
"""
from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.synchronize
from dataclasses import dataclass
from multiprocessing.sharedctypes import SynchronizedArray

REPLIES = {
    b"EHLO": b"250-sink\r\n250 8BITMIME\r\n", b"HELO": b"250 sink\r\n", b"MAIL": b"250 OK\r\n",
    b"RCPT": b"250 OK\r\n", b"RSET": b"250 OK\r\n", b"NOOP": b"250 OK\r\n",
}


COUNT, BYTES, WITH_HTML = range(3)  # the fields of the sink's shared tally


@dataclass(frozen=True)
class Tally:
    """What the sink received: messages, their bytes, and how many had an HTML part."""
    messages: int
    size: int
    with_html: int

    def __sub__(self, before: "Tally") -> "Tally":
        return Tally(self.messages - before.messages, self.size - before.size, self.with_html - before.with_html)

    @property
    def mean_size(self) -> float:
        return self.size / self.messages if self.messages else 0.0

    def describe(self) -> str:
        html = ("text and HTML" if self.with_html == self.messages else
                "text only" if not self.with_html else f"{self.with_html} of {self.messages} with HTML")
        return f"{self.messages} messages of {self.mean_size / 1024:.1f} KiB on average, {html}"


class _Session(asyncio.Protocol):
    def __init__(self, counter: SynchronizedArray) -> None:
        self.counter = counter
        self.buffer = b""
        self.in_data = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(b"220 sink ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.buffer:
            if self.in_data:
                if self.buffer.startswith(b".\r\n"):
                    end, skip = 0, 3
                else:
                    end = self.buffer.find(b"\r\n.\r\n")
                    if end < 0:
                        return
                    skip = 5
                html = b"Content-Type: text/html" in self.buffer[:end]
                self.buffer = self.buffer[end + skip:]
                self.in_data = False
                with self.counter.get_lock():
                    self.counter[COUNT] += 1
                    self.counter[BYTES] += end
                    self.counter[WITH_HTML] += html
                self.transport.write(b"250 Message accepted\r\n")
                continue
            end = self.buffer.find(b"\r\n")
            if end < 0:
                return
            verb, self.buffer = self.buffer[:4].upper(), self.buffer[end + 2:]
            if verb == b"DATA":
                self.in_data = True
                self.transport.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
            elif verb == b"QUIT":
                self.transport.write(b"221 Bye\r\n")
                self.transport.close()
                return
            else:
                self.transport.write(REPLIES.get(verb, b"502 Command not implemented\r\n"))


def _serve(port: int, counter: SynchronizedArray, ready: multiprocessing.synchronize.Event) -> None:
    async def run() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _Session(counter), "127.0.0.1", port, backlog=256)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(run())


class SMTPSink:
    """``with SMTPSink(port) as sink: ... sink.count``"""

    def __init__(self, port: int) -> None:
        self.port = port
        context = multiprocessing.get_context("spawn")
        self._counter = context.Array("q", 3)
        self._ready = context.Event()
        self._process = context.Process(target=_serve, args=(port, self._counter, self._ready), daemon=True)

    @property
    def count(self) -> int:
        return self._counter[COUNT]

    def tally(self) -> Tally:
        with self._counter.get_lock():
            return Tally(*self._counter[:])

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def __enter__(self) -> "SMTPSink":
        self._process.start()
        if not self._ready.wait(10):
            raise RuntimeError("SMTP sink did not start")
        return self

    def __exit__(self, *exc_info) -> None:
        self._process.terminate()
        self._process.join(5)
