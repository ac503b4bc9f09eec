"""The look half of issue 13 that a page's HTML shows without a browser: confirmation steps before deleting a
post or cancelling a screening, pagination that never links to an empty page, empty states, the favicon,
labelled fields with their errors tied to them, the header menu, and the announcement page's live progress
(its script is a served file; the no-JavaScript refresh stays). What needs a browser (widths, axe-core,
the bar moving) is in tests/browser/."""
from __future__ import annotations

import re
from html import unescape

import pytest

from app.models.types import utcnow
from app.security.headers import POLICY
from tests.helpers.web import csrf_token, login

LINK = re.compile(r'<a [^>]*href="([^"]+)"[^>]*>([^<]*)</a>')


def links(html: str) -> dict[str, str]:
    """Link text -> href."""
    return {unescape(text).strip(): unescape(href) for href, text in LINK.findall(html)}


def post(client, title: str = "Hello", body: str = "First") -> int:
    response = client.post("/api/posts", json={"title": title, "body": body})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


# -- confirmations --------------------------------------------------------------------------------

def test_deleting_a_post_asks_first_on_its_own_page_and_keeping_it_changes_nothing(client, make_user):
    make_user()
    login(client)
    post_id = post(client, "Ozu season notes")
    detail = client.get(f"/posts/{post_id}").get_data(as_text=True)
    assert f'action="/posts/{post_id}/delete"' not in detail  # no one-tap delete on the post's page
    assert links(detail)["Delete"] == f"/posts/{post_id}/delete"
    confirm = client.get(f"/posts/{post_id}/delete")
    page = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "Ozu season notes" in page and "Delete this post?" in page
    assert f'action="/posts/{post_id}/delete"' in page and links(page)["Keep the post"] == f"/posts/{post_id}"
    assert client.get(f"/posts/{post_id}").status_code == 200  # looking at the step deleted nothing
    assert client.post(f"/posts/{post_id}/delete", data={"csrf_token": csrf_token(page)}).status_code == 302
    assert client.get(f"/posts/{post_id}").status_code == 404


def test_only_the_author_reaches_the_delete_step(client, app, make_user):
    make_user()
    make_user(email="other@example.com", name="Other")
    login(client)
    post_id = post(client)
    other = app.test_client()
    login(other, "other@example.com")
    assert other.get(f"/posts/{post_id}/delete").status_code == 403
    assert app.test_client().get(f"/posts/{post_id}/delete").status_code == 302  # anonymous: sign in first
    assert client.get("/posts/999999/delete").status_code == 404


def test_cancelling_a_screening_asks_first_and_only_admins_see_the_step(client, app, make_user):
    make_user(email="admin@example.com", name="Admin", is_admin=True)
    make_user()
    login(client, "admin@example.com")
    screening_id = client.post("/api/screenings", json={
        "title": "Ozu night", "film": "Tokyo Story", "place": "Room 2", "capacity": 3,
        "starts_at": utcnow().replace(year=utcnow().year + 1).isoformat()}).get_json()["id"]
    detail = client.get(f"/screenings/{screening_id}").get_data(as_text=True)
    assert f'action="/screenings/{screening_id}/cancel"' not in detail
    assert links(detail)["Cancel the screening"] == f"/screenings/{screening_id}/cancel"
    step = client.get(f"/screenings/{screening_id}/cancel").get_data(as_text=True)
    assert "Cancel the screening?" in step and "Ozu night" in step
    assert client.get(f"/api/screenings/{screening_id}").get_json()["status"] != "cancelled"
    member = app.test_client()
    login(member)
    assert member.get(f"/screenings/{screening_id}/cancel").status_code == 403
    response = client.post(f"/screenings/{screening_id}/cancel", data={"csrf_token": csrf_token(step)})
    assert response.status_code == 302
    assert client.get(f"/api/screenings/{screening_id}").get_json()["status"] == "cancelled"
    # A cancelled screening has no step left to confirm: back to its page.
    assert client.get(f"/screenings/{screening_id}/cancel").status_code == 302


# -- pagination and empty states ---------------------------------------------------------------------

def page_links(client, query: str) -> tuple[str, dict[str, str]]:
    html = client.get(f"/posts/{query}").get_data(as_text=True)
    return html, {text: href for text, href in links(html).items() if "Newer" in text or "Older" in text}


@pytest.mark.parametrize("total", [0, 1, 4, 5, 6])
def test_pagination_never_links_to_an_empty_page(client, make_user, total):
    """Every Newer/Older link from every page (and from past the end) leads to a page with posts."""
    make_user()
    login(client)
    for n in range(total):
        post(client, f"Post {n}")
    per_page = 2
    last = -(-total // per_page)
    for page in range(1, last + 3):
        html, found = page_links(client, f"?page={page}&per_page={per_page}")
        for text, href in found.items():
            target = client.get(href).get_data(as_text=True)
            assert "Post " in target and "No posts here." not in target, (page, text, href)
        if page > 1 and total:
            assert any("Newer" in t for t in found), (page, html)  # from anywhere past page 1, a way back
        if page < last:
            assert any("Older" in t for t in found), (page, html)
        else:
            assert not any("Older" in t for t in found), (page, html)
    if not total:
        html, found = page_links(client, "?page=3")
        assert not found and "No posts here." in html and links(html)["Write the first post"] == "/posts/new"


def test_past_the_last_page_offers_the_last_page(client, make_user):
    make_user()
    login(client)
    for n in range(3):
        post(client, f"Post {n}")
    html = client.get("/posts/?page=9&per_page=2").get_data(as_text=True)
    assert "No posts here." in html and links(html)["Go to the last page"] == "/posts/?page=2&per_page=2"
    assert links(html)["← Newer"] == "/posts/?page=2&per_page=2"


def test_empty_states_say_what_to_do(client, make_user):
    make_user(email="admin@example.com", name="Admin", is_admin=True)
    anonymous = client.get("/screenings/").get_data(as_text=True)
    assert 'class="empty"' in anonymous and "Nothing scheduled yet." in anonymous
    login(client, "admin@example.com")  # what to do is the page's own link, just above the empty state
    assert links(client.get("/screenings/").get_data(as_text=True))["New screening"] == "/screenings/new"
    admin = client.get("/admin/").get_data(as_text=True)
    assert '<p class="empty">None yet.</p>' in admin
    assert links(admin)["Write an announcement"] == "/admin/announcements/new"


# -- favicon, header, stylesheet -------------------------------------------------------------------

def test_the_favicon_is_served_where_browsers_ask_and_linked_from_every_page(client):
    for path in ("/favicon.ico", "/static/favicon.svg"):
        with client.get(path) as response:
            assert response.status_code == 200 and response.mimetype == "image/svg+xml", path
            assert response.get_data().startswith(b"<svg"), path
    page = client.get("/posts/").get_data(as_text=True)
    assert '<link rel="icon" href="/static/favicon.svg"' in page


def test_the_header_menu_opens_without_javascript_and_the_stylesheet_is_our_own(client):
    page = client.get("/posts/").get_data(as_text=True)
    # A checkbox and its label are the phone's menu button; CSS shows the links while it is checked.
    assert re.search(r'<input type="checkbox" id="menu-toggle"[^>]*>\s*<label for="menu-toggle"', page)
    assert '<nav id="site-nav"' in page and "<script" not in page
    css = ""
    for name in ("site.css", "layout.css"):
        with client.get(f"/static/{name}") as response:
            css += response.get_data(as_text=True)
    assert ".menu-toggle:checked ~ .site-nav" in css
    assert "word-break: keep-all" in css and '"Noto Sans KR"' in css and ":focus-visible" in css
    assert "@import" not in css and "url(http" not in css  # nothing fetched from another site


# -- labels and errors ----------------------------------------------------------------------------

def test_every_field_has_a_label_and_its_errors_are_tied_to_it_and_announced(client):
    page = client.get("/auth/signup").get_data(as_text=True)
    response = client.post("/auth/signup", data={"email": "not an address", "name": "", "password": "x",
                                                 "phone": "12", "channel": "sms", "csrf_token": csrf_token(page)})
    html = response.get_data(as_text=True)
    for name in ("email", "name", "password", "phone"):
        field = re.search(rf'<input [^>]*name="{name}"[^>]*>', html).group(0)
        assert f'aria-describedby="{name}-error"' in field and 'aria-invalid="true"' in field, field
        assert re.search(rf'<div class="errors" id="{name}-error" role="alert">', html), name
        assert f'<label for="{name}">' in html, name
    fresh = client.get("/auth/signup").get_data(as_text=True)
    assert "aria-invalid" not in fresh and 'role="alert"' not in fresh


# -- live progress --------------------------------------------------------------------------------

def test_the_announcement_page_polls_with_a_served_script_and_keeps_its_no_javascript_refresh(client, make_user):
    make_user(email="admin@example.com", name="Admin", is_admin=True)
    make_user()
    login(client, "admin@example.com")
    announcement_id = client.post("/api/announcements", json={"subject": "Hi", "body": "All"}).get_json()["id"]
    response = client.get(f"/admin/announcements/{announcement_id}")
    html = response.get_data(as_text=True)
    assert '<script src="/static/announcement.js" defer></script>' in html
    assert re.search(r'<noscript><meta http-equiv="refresh" content="2"></noscript>', html)
    assert f'data-status-url="/api/announcements/{announcement_id}"' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)  # no inline script: the CSP forbids it
    assert response.headers["Content-Security-Policy"] == POLICY and "script-src 'self';" in POLICY
    with client.get("/static/announcement.js") as script:
        assert script.status_code == 200 and script.mimetype in ("text/javascript", "application/javascript")
        assert 'getAttribute("data-status-url")' in script.get_data(as_text=True)  # the page names the URL
    counts = client.get(f"/api/announcements/{announcement_id}").get_json()["counts"]
    assert {"total", "sent", "failed", "queued", "sending", "percent", "done"} <= set(counts)
