"""Signing in through the API and reading a form's CSRF token, as the tests' clients do."""
from __future__ import annotations

import re


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def login(client, email: str = "ada@example.com", password: str = "correct-horse"):
    response = client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.get_json()
    return response
