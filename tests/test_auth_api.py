"""Sign-up, sign-in and sign-out over JSON."""
from tests.helpers.web import login


def signup(client, **fields):
    body = {"email": "Ada@Example.com", "name": "Ada", "password": "correct-horse",
            "phone": "010-1234-5678", "channel": "email", **fields}
    return client.post("/api/auth/signup", json=body)


def test_signup_creates_member_and_signs_in(client):
    response = signup(client)
    assert response.status_code == 201
    data = response.get_json()
    assert data["user"]["email"] == "ada@example.com"
    assert "verification code was sent" in data["message"] and "once you are verified" in data["message"]
    assert client.get("/api/auth/me").get_json()["user"]["name"] == "Ada"


def test_signup_with_a_verified_address_is_409(client, make_user):
    make_user()  # ada@example.com, verified
    response = signup(client, email="ADA@example.com", phone="010-2345-6789")
    assert response.status_code == 409


def test_signup_bad_input_is_422(client):
    assert signup(client, email="not-an-email").status_code == 422
    assert signup(client, password="short").status_code == 422
    response = client.post("/api/auth/signup", json={"email": "a@example.com"})
    assert response.status_code == 422
    assert {d["field"] for d in response.get_json()["details"]} == {"name", "password", "phone", "channel"}


def test_login_wrong_password_is_401(client, make_user):
    make_user()
    response = client.post("/api/auth/login", json={"email": "ada@example.com", "password": "nope"})
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid email or password"


def test_logout_ends_the_session(client, make_user):
    make_user()
    login(client)
    assert client.post("/api/auth/logout", json={}).status_code == 204
    assert client.get("/api/auth/me").status_code == 401


def test_session_cookie_is_httponly_and_samesite_lax(client, make_user):
    make_user()
    cookie = login(client).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_cross_site_form_post_is_refused(client, make_user):
    """A form on another site can send text/plain; the API only takes application/json."""
    make_user()
    login(client)
    response = client.post("/api/posts", data='{"title": "x", "body": "y"}', content_type="text/plain")
    assert response.status_code == 415
    assert client.post("/api/auth/logout", data="x=1",
                       content_type="application/x-www-form-urlencoded").status_code == 415


def test_one_email_normaliser_strict_for_input_lenient_for_lookups():
    import pytest

    from app.members.contact import InvalidContact, normalise_email

    assert normalise_email(" Ada@Example.COM ") == "ada@example.com"
    assert normalise_email(" Ada@Example.COM ", strict=False) == "ada@example.com"
    assert normalise_email(" Old..Dots@Example.com ", strict=False) == "old..dots@example.com"
    with pytest.raises(InvalidContact, match="period"):
        normalise_email("old..dots@example.com")
