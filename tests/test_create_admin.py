"""`flask create-admin EMAIL --password PW`: creates or promotes; bad input exits non-zero."""
from sqlalchemy import select

from app.extensions import db
from app.models.user import User


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
