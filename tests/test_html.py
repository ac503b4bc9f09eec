"""HTML pages: lists and details from the cache, forms with CSRF tokens."""

from tests.helpers.accounts import latest_code
from tests.helpers.web import csrf_token, login


def test_list_and_detail_pages_render_with_cache_header(client, make_user):
    make_user()
    login(client)
    post_id = client.post("/api/posts", json={"title": "Parasite night", "body": "Bring snacks."}).get_json()["id"]
    first, second = client.get("/posts/"), client.get("/posts/")
    assert "Parasite night" in first.get_data(as_text=True)
    assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("MISS", "HIT")
    detail = client.get(f"/posts/{post_id}")
    assert "Bring snacks." in detail.get_data(as_text=True)
    assert client.get("/posts/424242").status_code == 404
    assert client.get("/posts/?page=zero").status_code == 400
    assert client.get("/posts/?page=\u00b2").status_code == 400  # a Unicode digit is not a page number


def test_form_post_without_csrf_token_is_refused(client, make_user):
    make_user()
    login(client)
    response = client.post("/posts/new", data={"title": "t", "body": "b"})
    assert response.status_code == 400
    assert client.get("/api/posts").get_json()["total"] == 0


def test_signed_in_author_creates_edits_and_deletes_through_forms(client, make_user):
    make_user()
    form = client.get("/auth/login").get_data(as_text=True)
    response = client.post("/auth/login", data={"email": "ada@example.com", "password": "correct-horse",
                                                "csrf_token": csrf_token(form)})
    assert response.status_code == 302
    page = client.get("/posts/new").get_data(as_text=True)
    response = client.post("/posts/new", data={"title": "From a form", "body": "Hello",
                                               "csrf_token": csrf_token(page)})
    assert response.status_code == 302
    post_url = response.headers["Location"]
    edit = client.get(f"{post_url}/edit").get_data(as_text=True)
    client.post(f"{post_url}/edit", data={"title": "Edited", "body": "Hello", "csrf_token": csrf_token(edit)})
    assert "Edited" in client.get(post_url).get_data(as_text=True)
    detail = client.get(post_url).get_data(as_text=True)
    assert f'href="{post_url}/delete"' in detail  # the post's page asks first: a link to the confirmation step
    confirm = client.get(f"{post_url}/delete").get_data(as_text=True)
    assert "Edited" in client.get(post_url).get_data(as_text=True)  # looking at the step deletes nothing
    client.post(f"{post_url}/delete", data={"csrf_token": csrf_token(confirm)})
    assert client.get(post_url).status_code == 404


def test_new_post_page_needs_sign_in(client):
    response = client.get("/posts/new")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_html_signup_sends_welcome_after_the_code_is_entered(app, client, smtp, run_jobs):
    form = client.get("/auth/signup").get_data(as_text=True)
    response = client.post("/auth/signup", data={"email": "html@example.com", "name": "Hal",
                                                 "password": "long-enough", "phone": "010-1234-5678",
                                                 "channel": "sms", "csrf_token": csrf_token(form)})
    assert response.status_code == 302 and response.headers["Location"] == "/auth/verify"
    code = latest_code(app, "+821012345678")
    run_jobs()
    assert smtp.to("html@example.com") == []  # the code went by SMS; the welcome waits for it
    page = client.get("/auth/verify").get_data(as_text=True)
    response = client.post("/auth/verify", data={"email": "html@example.com", "code": code,
                                                 "csrf_token": csrf_token(page)})
    assert response.status_code == 302
    run_jobs()
    assert [m["Subject"] for m in smtp.to("html@example.com")] == ["Welcome to the film club"]


def test_login_redirect_ignores_foreign_next(client, make_user):
    make_user()
    form = client.get("/auth/login").get_data(as_text=True)
    response = client.post("/auth/login?next=https://evil.example/", data={
        "email": "ada@example.com", "password": "correct-horse", "csrf_token": csrf_token(form)})
    assert response.headers["Location"] == "/posts/"
