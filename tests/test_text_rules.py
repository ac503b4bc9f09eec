"""Free text is checked at input (a clear 422 / form error naming the field), and line breaks are kept.

Every field that reaches mail or SMS must be sendable once accepted: one-line
fields (subjects, titles, film, place, names) hold no control characters or
line breaks of any kind; bodies keep their new lines (CRLF from a browser is
normalised to LF, on the API and in forms) and show as paragraphs.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models.post import Post
from app.text_rules import multi_line_problem, normalise_newlines, paragraphs_html, single_line_problem
from tests.helpers.web import login
from tests.helpers.mail import add_members, mail_text, sign_in_admin

LINE_BREAKS = ["\r", "\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
SCREENING = {"title": "Night", "film": "Parasite", "starts_at": "2030-12-01T19:00:00+09:00", "place": "Hall",
             "capacity": 30}


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


@pytest.mark.parametrize("char", LINE_BREAKS)
def test_every_line_break_class_character_is_refused_in_one_line_text(char):
    assert "line break" in single_line_problem(f"News{char}today")


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\t", "\x7f", "\x9f", "\ud800"])
def test_control_characters_and_lone_surrogates_are_refused(char):
    assert single_line_problem(f"a{char}b") is not None
    assert (multi_line_problem(f"a{char}b") is None) == (char == "\t")


def test_ordinary_text_in_any_script_is_fine():
    for text in ["영화의 밤", "Ciné-club « été »", "🎬 Parasite (기생충)", "zero\u200bwidth", "אבג"]:
        assert single_line_problem(text) is None and multi_line_problem(text) is None


def test_crlf_and_lone_cr_become_lf():
    assert normalise_newlines("a\r\nb\rc\n") == "a\nb\nc\n"


def test_paragraphs_and_single_breaks_are_shown_and_escaped():
    assert str(paragraphs_html("One\r\ntwo\r\n\r\n<b>Three</b>")) == "<p>One<br>\ntwo</p>\n<p>&lt;b&gt;Three&lt;/b&gt;</p>"


# --- the API: 422 naming the field ---------------------------------------------------------------

def details(response) -> dict[str, str]:
    assert response.status_code == 422, response.get_json()
    return {d["field"]: d["message"] for d in response.get_json()["details"]}


def test_announcement_subject_with_a_line_break_is_422_naming_it(client, make_user):
    sign_in_admin(client, make_user)
    found = details(client.post("/api/announcements", json={"subject": "News\u2028today", "body": "b"}))
    assert "subject" in found and "U+2028" in found["subject"] and "line break" in found["subject"]
    found = details(client.post("/api/announcements", json={"subject": "News", "body": "nul\x00here"}))
    assert "body" in found and "U+0000" in found["body"]


def test_post_title_and_body_are_checked(client, make_user):
    make_user()
    login(client)
    assert "title" in details(client.post("/api/posts", json={"title": "a\x85b", "body": "ok"}))
    assert "body" in details(client.post("/api/posts", json={"title": "ok", "body": "a\x0bb"}))
    post_id = client.post("/api/posts", json={"title": "ok", "body": "ok"}).get_json()["id"]
    assert "title" in details(client.patch(f"/api/posts/{post_id}", json={"title": "x\ny"}))


@pytest.mark.parametrize("field", ["title", "film", "place"])
def test_screening_text_is_checked(client, make_user, field):
    make_user(is_admin=True)
    login(client)
    found = details(client.post("/api/screenings", json={**SCREENING, field: "Hall\r\nB"}))
    assert field in found and "line break" in found[field]


def test_sign_up_name_is_checked(client):
    found = details(client.post("/api/auth/signup", json={
        "email": "n@example.com", "name": "Min\u2029ji", "password": "long-enough", "phone": "010-2222-3333",
        "channel": "email"}))
    assert "name" in found and "U+2029" in found["name"]


def test_api_bodies_are_stored_with_lf(app, client, make_user):
    make_user()
    login(client)
    post_id = client.post("/api/posts", json={"title": "t", "body": "one\r\ntwo\r\rthree"}).get_json()["id"]
    assert client.get(f"/api/posts/{post_id}").get_json()["body"] == "one\ntwo\n\nthree"


# --- the HTML forms: an error next to the field, nothing stored -------------------------------

def test_html_post_form_keeps_paragraphs_typed_in_a_browser(app, client, make_user):
    make_user()
    login(client)
    page = client.get("/posts/new").get_data(as_text=True)
    body = "First paragraph,\r\nsecond line.\r\n\r\nSecond paragraph."
    response = client.post("/posts/new", data={"title": "Paragraphs", "body": body, "csrf_token": csrf_token(page)})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Post.body)) == "First paragraph,\nsecond line.\n\nSecond paragraph."
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<p>First paragraph,<br>\nsecond line.</p>\n<p>Second paragraph.</p>" in html


def test_html_post_form_refuses_a_control_character_with_a_message(app, client, make_user):
    make_user()
    login(client)
    page = client.get("/posts/new").get_data(as_text=True)
    response = client.post("/posts/new", data={"title": "Bell\x07", "body": "b", "csrf_token": csrf_token(page)})
    assert response.status_code == 200
    assert "Title contains a control character (U+0007" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Post.id)) is None


def test_html_announcement_form_refuses_a_subject_with_a_line_break(app_factory, make_user):
    app = app_factory(WTF_CSRF_ENABLED=False)
    client = app.test_client()
    sign_in_admin(client, make_user)
    response = client.post("/admin/announcements/new", data={"subject": "News\u2028today", "body": "b"})
    assert response.status_code == 200
    assert "Subject contains a line break (U+2028 LINE SEPARATOR)" in response.get_data(as_text=True)


def test_html_announcement_body_keeps_its_paragraphs_in_the_mail(app_factory, make_user, smtp, run_jobs):
    app = app_factory(WTF_CSRF_ENABLED=False)
    client = app.test_client()
    sign_in_admin(client, make_user)
    emails = add_members(app, 2)
    response = client.post("/admin/announcements/new",
                           data={"subject": "Programme", "body": "Friday:\r\nParasite\r\n\r\nSaturday: Burning"})
    assert response.status_code == 302
    run_jobs()
    message = smtp.to(emails[0])[0]
    assert mail_text(message).startswith("Friday:\nParasite\n\nSaturday: Burning\n\n-- \n")
    html = message.get_body(("html",)).get_content().replace("\r\n", "\n")  # the HTML part keeps the paragraphs too
    assert "Friday:<br>\nParasite</p>" in html and "Saturday: Burning</p>" in html
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<p>Friday:<br>\nParasite</p>\n<p>Saturday: Burning</p>" in page


def test_html_screening_form_refuses_a_place_with_a_line_break(app_factory, make_user):
    app = app_factory(WTF_CSRF_ENABLED=False)
    client = app.test_client()
    make_user(is_admin=True)
    login(client)
    response = client.post("/screenings/new", data={"title": "Night", "film": "Parasite",
                                                    "starts_at": "2030-12-01T19:00", "place": "Hall\x85B",
                                                    "capacity": "30"})
    assert response.status_code == 400  # the screening form answers its form errors with 400, like sign-up
    assert "Place contains a line break (U+0085" in response.get_data(as_text=True)


def test_html_sign_up_refuses_a_name_with_a_line_break(app_factory):
    client = app_factory(WTF_CSRF_ENABLED=False).test_client()
    response = client.post("/auth/signup", data={"email": "n@example.com", "name": "Min\nji",
                                                 "password": "long-enough", "phone": "010-2222-3333",
                                                 "channel": "email"})
    assert response.status_code == 400  # the sign-up page answers its form errors with 400
    assert "Name contains a line break (U+000A LINE FEED)" in response.get_data(as_text=True)
