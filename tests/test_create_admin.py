"""`flask create-admin EMAIL --password PW`: creates or promotes; bad input exits non-zero."""
from sqlalchemy import select

from app.extensions import db
from app.models.user import User
from tests.helpers.web import login


def user(app, email):
    with app.app_context():
        return db.session.scalar(select(User).where(User.email == email))


def test_creates_an_admin_who_can_sign_in(app, runner, client):
    result = runner.invoke(args=["create-admin", "Boss@Example.com", "--password", "boss-password"])
    assert result.exit_code == 0, result.output
    assert "created admin" in result.output
    assert user(app, "boss@example.com").is_admin
    response = client.post("/api/auth/login", json={"email": "boss@example.com", "password": "boss-password"})
    assert response.get_json()["user"]["is_admin"] is True


def test_promotes_an_existing_member_without_touching_the_password(app, runner, make_user, client):
    make_user(email="ada@example.com")
    result = runner.invoke(args=["create-admin", "ada@example.com"])
    assert result.exit_code == 0 and "promoted" in result.output
    assert user(app, "ada@example.com").is_admin
    assert client.post("/api/auth/login", json={"email": "ada@example.com", "password": "correct-horse"}).status_code == 200


def test_bad_input_exits_non_zero_and_changes_nothing(app, runner):
    for args, expected in [
        (["create-admin", "not-an-email", "--password", "long-enough"], "EMAIL"),
        (["create-admin", "new@example.com", "--password", "short"], "at least 8"),
        (["create-admin", "new@example.com"], "give --password"),
        (["create-admin"], "Missing argument"),
    ]:
        result = runner.invoke(args=args)
        assert result.exit_code != 0 and expected in result.output, (args, result.output)
    assert user(app, "new@example.com") is None


def admin_can_do_everything(client) -> None:
    """Every admin page opens, and the admin can post, create a screening and RSVP."""
    for page in ("/admin/", "/admin/announcements/new", "/admin/rq/", "/screenings/new", "/posts/new"):
        response = client.get(page, follow_redirects=True)
        assert response.status_code == 200, (page, response.status_code)
    assert client.post("/api/posts", json={"title": "Welcome", "body": "From the admin"}).status_code == 201
    screening = client.post("/api/screenings", json={"title": "Ozu night", "film": "Tokyo Story",
                                                     "starts_at": "2031-01-01T19:00:00+09:00", "place": "Room 2",
                                                     "capacity": 10})
    assert screening.status_code == 201
    assert client.post(f"/api/screenings/{screening.get_json()['id']}/rsvp").status_code == 201


def test_a_created_admin_can_use_every_admin_page_and_post(app, runner, client):
    result = runner.invoke(args=["create-admin", "boss@example.com", "--password", "boss-password"])
    assert result.exit_code == 0, result.output
    login(client, "boss@example.com", "boss-password")
    me = client.get("/api/auth/me").get_json()["user"]
    assert me["is_verified"] and me["email_verified"] and me["notification_channel"] == "email"
    admin_can_do_everything(client)


def test_a_promoted_unverified_member_becomes_a_verified_admin(app, runner, client, make_user):
    make_user(email="sam@example.com", name="Sam", notification_channel="sms", email_verified_at=None,
              phone_verified_at=None)
    result = runner.invoke(args=["create-admin", "sam@example.com"])
    assert result.exit_code == 0 and "email marked verified" in result.output
    login(client, "sam@example.com")
    me = client.get("/api/auth/me").get_json()["user"]
    assert me["is_admin"] and me["is_verified"] and me["notification_channel"] == "email"
    admin_can_do_everything(client)
