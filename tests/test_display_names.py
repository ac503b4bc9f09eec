"""Display names are one printable line: no line breaks, control, invisible or unassigned characters."""
from __future__ import annotations

import pytest

from tests.helpers.accounts import SIGNUP, api_signup
from tests.helpers.web import csrf_token

INVISIBLE = ["Ada\u202eevil", "Ad\u200ba", "\u2066Ada\u2069", "Ada\ufeff", "Ada\ue000", "Ada\U000e0001", "Ada\u0378"]


@pytest.mark.parametrize("name", INVISIBLE + ["Ada\nLovelace", "Ada\u2028Lovelace", "Ada\x00"])
def test_the_api_refuses_a_name_that_is_not_one_printable_line(client, name):
    answer = api_signup(client, name=name)
    assert answer.status_code == 422
    assert answer.get_json()["details"][0]["field"] == "name"


@pytest.mark.parametrize("name", ["Ada Lovelace", "이민지", "Zoë O'Brien", "민지\u3000김", "Ada 🎬"])
def test_ordinary_names_are_fine(client, name):
    assert api_signup(client, name=name).status_code == 201


def test_the_sign_up_form_refuses_an_invisible_character(client):
    page = client.get("/auth/signup").get_data(as_text=True)
    answer = client.post("/auth/signup", data={**SIGNUP, "name": "Ada\u202eevil", "csrf_token": csrf_token(page)})
    assert answer.status_code == 400
    assert "Name contains an invisible formatting character (U+202E" in answer.get_data(as_text=True)


def test_create_admin_refuses_such_a_name_and_a_common_password(runner):
    result = runner.invoke(args=["create-admin", "boss@example.com", "--password", "boss-password",
                                 "--name", "Boss\u200b"])
    assert result.exit_code != 0 and "invisible formatting character" in result.output
    result = runner.invoke(args=["create-admin", "boss@example.com", "--password", "password123"])
    assert result.exit_code != 0 and "most common passwords" in result.output
