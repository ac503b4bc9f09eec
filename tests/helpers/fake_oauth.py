"""A local OAuth2 provider speaking Kakao's, Naver's or Google's documented shapes.

authorize (the member "consents" at once and is sent back with a code and the
state), token (authorization_code grant, client_secret_post), userinfo (Bearer
token; the provider's own JSON shape), and for Google a JWKS with an RS256-signed
OpenID Connect id_token carrying the nonce.
"""
from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from werkzeug.wrappers import Request, Response


@dataclass
class Person:
    subject: str
    name: str
    email: str | None
    email_verified: bool = True
    mobile: str | None = None


@dataclass
class FakeOAuthProvider:
    kind: str  # kakao | naver | google
    client_id: str = "club-client"
    client_secret: str = "club-secret"
    person: Person = field(default_factory=lambda: Person("1001", "Minji", "minji@example.com"))
    codes: dict = field(default_factory=dict)
    tokens: dict = field(default_factory=dict)
    url: str = ""
    paths: list = field(default_factory=list)
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "fake-1"}))

    def settings(self) -> dict:
        prefix = self.kind.upper()
        return {f"{prefix}_CLIENT_ID": self.client_id, f"{prefix}_CLIENT_SECRET": self.client_secret,
                f"{prefix}_AUTHORIZE_URL": f"{self.url}/authorize", f"{prefix}_TOKEN_URL": f"{self.url}/token",
                f"{prefix}_USERINFO_URL": f"{self.url}/userinfo", f"{prefix}_JWKS_URL": f"{self.url}/jwks"}

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.paths.append(request.path)
        handler = {"/authorize": self.authorize, "/token": self.token, "/userinfo": self.userinfo,
                   "/jwks": self.jwks}.get(request.path)
        response = handler(request) if handler else Response("not found", status=404)
        return response(environ, start_response)

    def authorize(self, request: Request) -> Response:
        args = request.args
        if args.get("client_id") != self.client_id or args.get("response_type") != "code":
            return Response("bad client", status=400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"redirect_uri": args["redirect_uri"], "nonce": args.get("nonce"), "person": self.person}
        target = f"{args['redirect_uri']}?{urlencode({'code': code, 'state': args.get('state', '')})}"
        return Response(status=302, headers={"Location": target})

    def token(self, request: Request) -> Response:
        form = request.form
        grant = self.codes.pop(form.get("code", ""), None)
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return _json(401, {"error": "invalid_client"})
        if form.get("grant_type") != "authorization_code" or grant is None \
                or form.get("redirect_uri") != grant["redirect_uri"]:
            return _json(400, {"error": "invalid_grant"})
        access_token = secrets.token_urlsafe(16)
        self.tokens[access_token] = grant["person"]
        # Naver documents expires_in as a string; the others as a number.
        body = {"access_token": access_token, "token_type": "bearer", "refresh_token": "r-" + access_token,
                "expires_in": "3600" if self.kind == "naver" else 3600}
        if self.kind == "google" and grant["nonce"]:
            body["id_token"] = self._id_token(grant["person"], grant["nonce"])
        return _json(200, body)

    def _id_token(self, person: Person, nonce: str) -> str:
        now = int(time.time())
        claims = {"iss": "https://accounts.google.com", "aud": self.client_id, "sub": person.subject,
                  "email": person.email, "email_verified": person.email_verified, "name": person.name,
                  "iat": now, "exp": now + 3600, "nonce": nonce}
        return jwt.encode({"alg": "RS256", "kid": "fake-1"}, claims, self.key)

    def jwks(self, request: Request) -> Response:
        return _json(200, KeySet([self.key]).as_dict(private=False))

    def userinfo(self, request: Request) -> Response:
        header = request.headers.get("Authorization", "")
        person = self.tokens.get(header[len("Bearer "):]) if header.lower().startswith("bearer ") else None
        if person is None:
            return _json(401, {"error": "invalid_token"})
        if self.kind == "kakao":
            account = {"profile_nickname_needs_agreement": False, "profile": {"nickname": person.name},
                       "email_needs_agreement": person.email is None}
            if person.email:
                account.update(email=person.email, is_email_valid=True, is_email_verified=person.email_verified)
            return _json(200, {"id": int(person.subject), "connected_at": "2026-11-25T00:00:00Z",
                               "kakao_account": account})
        if self.kind == "naver":
            info = {"id": person.subject, "name": person.name, "nickname": person.name}
            if person.email:
                info["email"] = person.email
            if person.mobile:
                info["mobile"] = person.mobile
            return _json(200, {"resultcode": "00", "message": "success", "response": info})
        return _json(200, {"sub": person.subject, "name": person.name, "email": person.email,
                           "email_verified": person.email_verified})


def _json(status: int, body: dict) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")
