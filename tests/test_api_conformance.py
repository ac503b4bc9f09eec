"""Every /api route's real responses against /api/openapi.json, with schemathesis.

schemathesis reads the document the app serves, generates requests for every operation
(valid and invalid bodies, query strings and path ids) and sends them to a real app (its
database, the test's own redis-server). Each response must be documented: its status code,
content type, headers and body schema (schemathesis' response conformance checks). The
requests carry an administrator's session cookie (a fresh sign-in for each operation), so the
signed-in paths answer too.
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (content_type_conformance, response_headers_conformance,
                                               response_schema_conformance, status_code_conformance)

from tests.helpers.mail import sign_in_admin

ADMIN = {"email": "admin@example.com", "password": "admin-password"}  # tests.helpers.mail.sign_in_admin
EXAMPLES = 6  # per operation (each runs against the real app and its database; ~20 s in all)
CHECKS = [status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


@pytest.fixture
def api_app(app_factory):
    # No rate limits: the generated requests would hit them (429 is documented where a limit applies).
    return app_factory(RATELIMIT_ENABLED=False)


def test_every_response_of_every_operation_matches_the_document(api_app, make_user):
    # schemathesis' own pytest integration (from_fixture) does not run on pytest 9 yet: the operations
    # are drawn here with its strategies and hypothesis directly, one after the other.
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", api_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == sum(len(methods) - ("parameters" in methods)
                                  for methods in api_app.test_client().get("/api/openapi.json").json["paths"].values())
    client = api_app.test_client()
    sign_in_admin(client, make_user)
    for operation in operations:
        # A fresh session for each operation (sign-out-everywhere ends the one before).
        assert client.post("/api/auth/login", json=ADMIN).status_code == 200
        cookies = {"session": client.get_cookie("session").value}

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def responses_match(case) -> None:
            case.call_and_validate(cookies=cookies, checks=CHECKS)

        try:
            responses_match()
        except Exception as exc:
            raise AssertionError(f"{operation.method.upper()} {operation.path}: {exc}") from exc


def test_a_route_without_a_declaration_fails_the_document(app):
    from app.api.openapi import openapi_document

    app.add_url_rule("/api/undeclared", "api.undeclared", lambda: "")
    with pytest.raises(LookupError, match="/api/undeclared"):
        openapi_document(app)


def test_the_documented_page_size_is_the_configured_one(app_factory):
    document = app_factory(POSTS_PER_PAGE=7, POSTS_MAX_PER_PAGE=70).test_client().get("/api/openapi.json").json
    per_page = next(p for p in document["paths"]["/api/posts"]["get"]["parameters"] if p["name"] == "per_page")
    assert (per_page["schema"]["default"], per_page["schema"]["maximum"]) == (7, 70)
