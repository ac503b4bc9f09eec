"""Journey of a member who forgot their password: ask for a link, read the mail, choose a new password,
sign in with it; the link then works no more. Every page is looked at at 1280 and 390 px wide."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.helpers.browser_database import PASSWORD

pytestmark = pytest.mark.slow

NEW_PASSWORD = "paper lantern at dusk"


def test_forgotten_password_is_reset_by_email(person, member):
    email = member["email"]
    person.goto("/auth/login")
    person.submit(person.link("Reset it"))
    person.look("forgot your password")
    person.field("Email").fill(email)
    person.submit(person.button("Email me a link"))
    expect(person.flash()).to_contain_text("a link to choose a new password is on its way")
    person.look("reset asked for")

    mail = person.wait_for_caught("mail", email, "Reset your film club password")[0]
    person.page.goto(mail.link)
    body = person.page.locator("pre").inner_text()
    person.look("reset email")
    link = re.search(r"https?://\S+/auth/reset/\S+", body).group(0)
    path = urlsplit(link).path

    person.goto(path)
    expect(person.page.locator("h1")).to_have_text("Choose a new password")
    person.look("choose a new password")
    person.field("New password").fill(NEW_PASSWORD)
    person.submit(person.button("Set my new password"))
    expect(person.flash()).to_contain_text("signed out everywhere else")
    person.look("password changed")

    person.sign_out()
    person.goto("/auth/login")
    person.field("Email").fill(email)
    person.field("Password").fill(PASSWORD)
    person.submit(person.button("Sign in"))
    expect(person.page.locator(".errors")).to_contain_text("Invalid email or password")
    person.sign_in(email, NEW_PASSWORD)
    person.sign_out()

    person.goto(path)  # used once: it works no more
    expect(person.flash()).to_contain_text("already used")
    person.look("used link")
