"""The API and the pages: JSON-only writes, security headers, the proxy's view of the world,
/metrics, /healthz, the development pages."""
from __future__ import annotations

import pytest

from tests.conftest import login
from tests.mail_helpers import sign_in_admin


def make_screening(client) -> int:
    from datetime import datetime, timedelta, timezone

    starts = (datetime.now(timezone.utc) + timedelta(days=3)).isoformat()
    response = client.post("/api/screenings", json={"title": "Night", "film": "Film", "starts_at": starts,
                                                    "place": "Hall", "capacity": 5})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_every_unsafe_api_request_needs_a_json_content_type(client, make_user):
    sign_in_admin(client, make_user)
    screening_id = make_screening(client)
    post_id = client.post("/api/posts", json={"title": "t", "body": "b"}).get_json()["id"]
    # Writes without a body passed before: RSVP, cancel-RSVP, delete, sign-out.
    for method, path in [("POST", f"/api/screenings/{screening_id}/rsvp"),
                         ("DELETE", f"/api/screenings/{screening_id}/rsvp"),
                         ("DELETE", f"/api/posts/{post_id}"), ("DELETE", f"/api/screenings/{screening_id}"),
                         ("POST", "/api/auth/logout"), ("POST", "/api/auth/verify/resend")]:
        for body in ({}, {"data": "x=1", "content_type": "application/x-www-form-urlencoded"},
                     {"data": "{}", "content_type": "text/plain"}):
            response = client.open(path, method=method, **body)
            assert response.status_code == 415, (method, path, body, response.status_code)
            assert "application/json" in response.get_json()["error"]
    assert client.post(f"/api/screenings/{screening_id}/rsvp", json={}).status_code == 201
    assert client.delete(f"/api/screenings/{screening_id}/rsvp", json={}).status_code == 204
    assert client.delete(f"/api/posts/{post_id}", json={}).status_code == 204
    assert client.post("/api/auth/logout", json={}).status_code == 204
    assert client.get("/api/auth/me").status_code == 401
