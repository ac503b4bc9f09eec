"""The OpenAPI 3.1 document, built from the same pydantic models that validate requests."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from flask import Response, jsonify
from pydantic.json_schema import models_json_schema

from app.api import account_schemas as a
from app.api import bp
from app.api import schemas as s
from app.api import screening_schemas as ss

_MODELS = [s.PostCreate, s.PostUpdate, s.PostOut, s.PostPage, s.SignupRequest, s.LoginRequest,
           s.PasswordChange, s.PasswordResetRequest, s.PasswordResetConfirm,
           s.AuthAnswer, s.UserOut, s.ErrorOut, ss.ScreeningCreate, ss.ScreeningUpdate, ss.ScreeningOut,
           ss.ScreeningList,
           a.VerifyRequest, a.ResendRequest, a.AccountUpdate, a.MessageOut,
           s.AnnouncementCreate, s.AnnouncementOut, s.AnnouncementAccepted, s.AnnouncementRetried]


def _ref(model: type) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _json(model: type, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


def _body(model: type) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(model)}}}


def _errors(*codes: int) -> dict[str, Any]:
    meaning = {400: "Bad request (malformed JSON, bad query)", 401: "Not signed in",
               403: "Not allowed", 404: "Not found", 409: "Conflict (state does not allow it)", 415: "Body is not application/json",
               422: "Invalid input (see details)",
               429: "Rate limited: the message says which limit; Retry-After gives the seconds to wait"}
    return {str(code): _json(s.ErrorOut, meaning[code]) for code in codes}


SCREENING_ID = {"name": "screening_id", "in": "path", "required": True, "schema": {"type": "integer"}}
POST_ID = {"name": "post_id", "in": "path", "required": True, "schema": {"type": "integer"}}
CACHE_HEADER = {"X-Cache": {"description": "HIT when served from the cache Redis, else MISS",
                            "schema": {"type": "string", "enum": ["HIT", "MISS"]}}}


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    _, defs = models_json_schema([(m, "validation") for m in _MODELS],
                                 ref_template="#/components/schemas/{model}")
    cookie = [{"session": []}]
    return {
        "openapi": "3.1.0",
        "info": {"title": "Film club API", "version": "1.0.0",
                 "description": "Posts and members of the library's film club. Writes need the session "
                                "cookie from POST /api/auth/login and accept only application/json bodies."},
        "components": {
            "schemas": defs["$defs"],
            "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "session"}},
        },
        "paths": {
            "/api/posts": {
                "get": {
                    "summary": "A page of posts, newest first (cached)",
                    "parameters": [
                        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
                        {"name": "per_page", "in": "query",
                         "schema": {"type": "integer", "minimum": 1, "default": 20}},
                    ],
                    "responses": {"200": {**_json(s.PostPage, "The page"), "headers": CACHE_HEADER},
                                  **_errors(400)},
                },
                "post": {
                    "summary": "Write a post (verified members only: 403 otherwise)", "security": cookie,
                    "requestBody": _body(s.PostCreate),
                    "responses": {"201": _json(s.PostOut, "Created"), **_errors(400, 401, 403, 415, 422)},
                },
            },
            "/api/posts/{post_id}": {
                "parameters": [POST_ID],
                "get": {"summary": "One post (cached)",
                        "responses": {"200": {**_json(s.PostOut, "The post"), "headers": CACHE_HEADER},
                                      **_errors(404)}},
                "patch": {"summary": "Change your post", "security": cookie, "requestBody": _body(s.PostUpdate),
                          "responses": {"200": _json(s.PostOut, "Changed"),
                                        **_errors(400, 401, 403, 404, 415, 422)}},
                "delete": {"summary": "Delete your post", "security": cookie,
                           "responses": {"204": {"description": "Deleted"}, **_errors(401, 403, 404)}},
            },
            "/api/screenings": {
                "get": {"summary": "Upcoming screenings",
                        "responses": {"200": _json(ss.ScreeningList, "Upcoming, soonest first")}},
                "post": {"summary": "Create a screening (admins)", "security": cookie,
                         "requestBody": _body(ss.ScreeningCreate),
                         "responses": {"201": _json(ss.ScreeningOut, "Created; reminders scheduled"),
                                       **_errors(400, 401, 403, 415, 422)}},
            },
            "/api/screenings/{screening_id}": {
                "parameters": [SCREENING_ID],
                "get": {"summary": "One screening", "responses": {"200": _json(ss.ScreeningOut, "It"),
                                                                  **_errors(404)}},
                "patch": {"summary": "Change or move a screening (admins); pending reminders move with it",
                          "security": cookie, "requestBody": _body(ss.ScreeningUpdate),
                          "responses": {"200": _json(ss.ScreeningOut, "Changed"),
                                        **_errors(400, 401, 403, 404, 409, 415, 422)}},
                "delete": {"summary": "Cancel a screening (admins); its reminders are cancelled",
                           "security": cookie,
                           "responses": {"204": {"description": "Cancelled"}, **_errors(401, 403, 404)}},
            },
            "/api/screenings/{screening_id}/rsvp": {
                "parameters": [SCREENING_ID],
                "post": {"summary": "RSVP; reminders follow by your preferred channel", "security": cookie,
                         "responses": {"201": _json(ss.ScreeningOut, "Seat taken"),
                                       **_errors(401, 403, 404, 409)}},
                "delete": {"summary": "Cancel your RSVP and its reminders", "security": cookie,
                           "responses": {"204": {"description": "Cancelled"}, **_errors(401, 404)}},
            },
            "/api/auth/signup": {"post": {
                "summary": "Create an account (signs you in; a welcome email and a verification code on the "
                           "chosen channel are sent by workers). Until verified the member cannot post or RSVP.",
                "requestBody": _body(s.SignupRequest),
                "responses": {"201": _json(s.AuthAnswer, "Created and signed in"),
                              **_errors(400, 409, 415, 422, 429)},
            }},
            "/api/auth/login": {"post": {
                "summary": "Sign in; sets the session cookie (rate-limited per address and per account)",
                "requestBody": _body(s.LoginRequest),
                "responses": {"200": _json(s.AuthAnswer, "Signed in"), **_errors(400, 401, 415, 422, 429)},
            }},
            "/api/auth/verify": {"post": {
                "summary": "Enter a verification code; the same 400 for a wrong, expired, used or foreign code "
                           "and for an unknown email, except that after the fifth wrong try on a member's code "
                           "the 400 says it is void (ask for a new one); 409 if another member verified "
                           "this phone number first",
                "requestBody": _body(a.VerifyRequest),
                "responses": {"200": _json(a.MessageOut, "Verified"), **_errors(400, 409, 415, 422, 429)},
            }},
            "/api/auth/verify/resend": {"post": {
                "summary": "Send a new code (to the member's notification channel unless channel is given); "
                           "202 whether or not the account exists; 429 with Retry-After within the per-email "
                           "limit or the cooldown (one request counts once)",
                "requestBody": _body(a.ResendRequest),
                "responses": {"202": _json(a.MessageOut, "Accepted"), **_errors(400, 415, 422, 429)},
            }},
            "/api/account": {
                "get": {"summary": "Your account settings", "security": cookie,
                        "responses": {"200": _json(s.AuthAnswer, "You"), **_errors(401)}},
                "patch": {"summary": "Change email or phone (each sends a code and needs re-verification; "
                                     "current_password required) or the notification channel (only to a "
                                     "verified contact)", "security": cookie, "requestBody": _body(a.AccountUpdate),
                          "responses": {"200": _json(s.AuthAnswer, "Changed"),
                                        **_errors(400, 401, 403, 409, 415, 422, 429)}},
            },
            "/api/auth/logout": {"post": {"summary": "Sign out",
                                          "responses": {"204": {"description": "Signed out"}}}},
            "/api/auth/logout-everywhere": {"post": {
                "summary": "Sign out on every device: every session of the member ends, this one included",
                "security": cookie, "responses": {"204": {"description": "Every session ended"}, **_errors(401)}}},
            "/api/auth/password": {"post": {
                "summary": "Change the password (the current one required; not a common password); the "
                           "member's other sessions end, this one goes on",
                "security": cookie, "requestBody": _body(s.PasswordChange),
                "responses": {"200": _json(a.MessageOut, "Changed"), **_errors(401, 403, 415, 422, 429)},
            }},
            "/api/auth/password-reset": {"post": {
                "summary": "Mail a single-use link (valid 30 minutes) to choose a new password; 202 whether or "
                           "not the address has an account",
                "requestBody": _body(s.PasswordResetRequest),
                "responses": {"202": _json(a.MessageOut, "Accepted: a link is on its way if the account exists"),
                              **_errors(400, 415, 422, 429)},
            }},
            "/api/auth/password-reset/confirm": {"post": {
                "summary": "Set a new password with the token from the reset link; every session of the member "
                           "ends and this one is signed in",
                "requestBody": _body(s.PasswordResetConfirm),
                "responses": {"200": _json(s.AuthAnswer, "Changed and signed in"), **_errors(400, 415, 422, 429)},
            }},
            "/api/auth/me": {"get": {"summary": "The signed-in member", "security": cookie,
                                     "responses": {"200": _json(s.AuthAnswer, "You"), **_errors(401)}}},
            "/api/announcements": {"post": {
                "summary": "Email an announcement to every member (admins only). Answers at once; "
                           "workers send it in batches",
                "security": cookie, "requestBody": _body(s.AnnouncementCreate),
                "responses": {"202": {**_json(s.AnnouncementAccepted, "Accepted: one delivery per member "
                                                                      "recorded, sending in the background"),
                                      "headers": {"Location": {"schema": {"type": "string"},
                                                               "description": "the status URL"}}},
                              **_errors(400, 401, 403, 415, 422)},
            }},
            "/api/announcements/{announcement_id}": {
                "parameters": [{"name": "announcement_id", "in": "path", "required": True,
                                "schema": {"type": "integer"}}],
                "get": {"summary": "An announcement and its delivery counts (queued, sent, failed); admins only",
                        "security": cookie,
                        "responses": {"200": _json(s.AnnouncementOut, "The announcement"),
                                      **_errors(401, 403, 404)}},
            },
            "/api/announcements/{announcement_id}/retry-failed": {
                "parameters": [{"name": "announcement_id", "in": "path", "required": True,
                                "schema": {"type": "integer"}}],
                "post": {"summary": "Send the announcement's failed deliveries again (admins only)",
                         "security": cookie,
                         "responses": {"202": _json(s.AnnouncementRetried, "Failed deliveries queued again"),
                                       **_errors(401, 403, 404)}},
            },
        },
    }


@bp.get("/openapi.json")
def openapi_json() -> Response:
    return jsonify(openapi_document())
