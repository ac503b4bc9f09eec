"""Form errors name what is wrong with the value given, in people's words (issue 10, defect 9):
no "This field is required" for a capacity of 0 or "abc", no field names or API routes on a page;
a success looks like one and nothing else does."""
from __future__ import annotations

import re

import pytest

from tests.helpers.web import csrf_token, login


@pytest.fixture
def admin_client(client, make_user):
    make_user(email="admin@example.com", name="Admin", is_admin=True)
    login(client, "admin@example.com")
    return client


def screening_form(client, **fields):
    token = csrf_token(client.get("/screenings/new").get_data(as_text=True))
    data = {"title": "Ozu night", "film": "Tokyo Story", "starts_at": "2031-01-01T19:00", "place": "Room 2",
            "capacity": "30", "csrf_token": token, **fields}
    return client.post("/screenings/new", data=data)


@pytest.mark.parametrize("capacity, words", [
    ("0", "Capacity must be from 1 to 100,000 seats; 0 is not."),
    ("abc", "Capacity must be a whole number of seats, like 30, not &#39;abc&#39;."),
    ("-3", "Capacity must be a whole number of seats, like 30, not &#39;-3&#39;."),
    ("100001", "Capacity must be from 1 to 100,000 seats; 100001 is not."),
    ("", "Give the number of seats."),
])
def test_screening_form_capacity_errors_name_the_value(admin_client, capacity, words):
    response = screening_form(admin_client, capacity=capacity)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and words in page
    assert "This field is required" not in page


@pytest.mark.parametrize("starts_at, words", [
    ("2020-01-01T19:00", "The screening must start in the future: pick a later date and time."),
    ("tomorrow", "&#39;tomorrow&#39; is not a date and time"),
    ("", "Give the date and time the screening starts."),
])
def test_screening_form_start_errors_name_the_value(admin_client, starts_at, words):
    response = screening_form(admin_client, starts_at=starts_at)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and words in page
    # The field's name only in attributes (the field's and its error's ids), never in the words people read.
    attributes = re.compile(r'(name|id|for|aria-describedby)="starts_at(-error)?"')
    assert "This field is required" not in page and "starts_at" not in attributes.sub("", page)


def test_a_valid_screening_form_still_creates_the_screening(admin_client):
    response = screening_form(admin_client)
    assert response.status_code == 302 and "/screenings/" in response.headers["Location"]


def test_settings_page_speaks_of_the_password_not_of_its_field_name(client, make_user):
    make_user()
    login(client)
    token = csrf_token(client.get("/account/settings").get_data(as_text=True))
    base = {"email": "ada@example.com", "notification_channel": "email", "csrf_token": token}
    missing = client.post("/account/settings", data={**base, "phone": "010-9999-8888"})
    assert missing.status_code == 403
    assert "Enter your current password to change your email or phone number." in missing.get_data(as_text=True)
    wrong = client.post("/account/settings", data={**base, "phone": "010-9999-8888", "current_password": "nope"})
    assert "That is not your current password." in wrong.get_data(as_text=True)
    for response in (missing, wrong):
        assert "current_password is" not in response.get_data(as_text=True)
        assert "/api/" not in response.get_data(as_text=True)


def test_settings_page_channel_refusal_points_at_the_button_not_the_api(client, make_user):
    make_user(phone_verified_at=None)
    login(client)
    token = csrf_token(client.get("/account/settings").get_data(as_text=True))
    response = client.post("/account/settings", data={"email": "ada@example.com", "phone": "010-1234-5678",
                                                      "notification_channel": "sms", "csrf_token": token})
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and "Verify your phone number first" in page and "text me a code" in page
    assert "/api/" not in page


def test_success_info_and_error_flashes_look_different(client, make_user):
    make_user()
    login(client)
    page = client.get("/posts/").get_data(as_text=True)
    assert "/static/layout.css" in page  # the layout's rules live there (no inline styles: CSP)
    stylesheet = client.get("/static/layout.css")
    css = stylesheet.get_data(as_text=True)
    stylesheet.close()
    styles = {kind: re.search(r"\.flash-" + kind + r" \{([^}]*)\}", css).group(1)
              for kind in ("success", "error", "info")}
    assert len(set(styles.values())) == 3
    token = csrf_token(client.get("/posts/new").get_data(as_text=True))
    published = client.post("/posts/new", data={"title": "Hello", "body": "World", "csrf_token": token},
                            follow_redirects=True).get_data(as_text=True)
    assert re.search(r'class="flash flash-success"[^>]*>Post published', published)
