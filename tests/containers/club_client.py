"""A member or admin of the club over HTTP, with the standard library only.

The container tests use it from the host (through the nginx proxy) and, for the all-in-one container of
drill 2, from inside that container (its web server listens on 127.0.0.1 there):
``python -m tests.containers.club_client announce BASE EMAIL PASSWORD SUBJECT``.
"""
from __future__ import annotations

import http.cookiejar
import json
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


class Client:
    """One browser-like session (cookies kept) against ``base``.

    It reads English (``Accept-Language: en``) unless told otherwise, so the mail the drills count has the
    English subjects; ``language=None`` sends no Accept-Language (the club's default, Korean, applies).
    """

    def __init__(self, base: str, timeout: float = 60.0, language: str | None = "en") -> None:
        self.base = base.rstrip("/")
        self.timeout = timeout
        self.language = language
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def request(self, method: str, path: str, payload: dict | None = None) -> Reply:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.language:
            request.add_header("Accept-Language", self.language)
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                return Reply(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, dict(error.headers), error.read())

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def post(self, path: str, payload: dict) -> Reply:
        return self.request("POST", path, payload)

    def login(self, email: str, password: str) -> None:
        reply = self.post("/api/auth/login", {"email": email, "password": password})
        if reply.status != 200:
            raise RuntimeError(f"sign-in as {email}: {reply.status} {reply.body[:300]!r}")

    def signup(self, email: str, phone: str, password: str = "drill-password") -> Reply:
        return self.post("/api/auth/signup", {"email": email, "name": email.split("@")[0], "password": password,
                                              "phone": phone, "channel": "email"})

    def announce(self, subject: str, body: str = "Film club drill") -> dict:
        reply = self.post("/api/announcements", {"subject": subject, "body": body})
        if reply.status != 202:
            raise RuntimeError(f"announcement: {reply.status} {reply.body[:300]!r}")
        return reply.json()


def main(argv: list[str]) -> int:
    command, base, email, password, subject = argv
    if command != "announce":
        raise SystemExit(f"unknown command {command!r}")
    client = Client(base)
    client.login(email, password)
    print(json.dumps(client.announce(subject)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
