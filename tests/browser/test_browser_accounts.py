"""Journeys of a new member in a real browser: sign up by email or by text message, verify,
sign out and in; lose the code and get a new one; change the phone number with the password."""
from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.helpers.browser_database import PASSWORD
from tests.helpers.browser_database import e164
from tests.helpers.visitor import RESEND_COOLDOWN

pytestmark = pytest.mark.slow

CHANNEL_LABELS = {"email": "Email", "sms": "Text message (SMS)"}


def sign_up(person, email: str, phone: str, channel: str, name: str = "New Member") -> float:
    """Fill the sign-up form as a person would; the time the account was made (monotonic)."""
    person.goto("/auth/signup")
    person.look("sign-up form")
    person.field("Email").fill(email)
    person.field("Name").fill(name)
    person.field("Password").fill(PASSWORD)
    person.field("Mobile phone").fill(phone)
    person.choice(CHANNEL_LABELS[channel]).check()
    person.submit(person.button("Sign up"))
    signed_up = time.monotonic()
    expect(person.flash()).to_contain_text("Welcome")
    expect(person.page).to_have_url(re.compile(r"/auth/verify$"))
    return signed_up


def test_sign_up_by_email_verify_sign_out_and_in(person, new_contact):
    email, phone = new_contact("by-email")
    sign_up(person, email, phone, "email", name="Email Member")
    person.look("verify after signing up")
    expect(person.link("Verify your account")).to_be_visible()

    code = person.read_email_code(email)
    person.goto("/auth/verify")
    expect(person.field("Email")).to_have_value(email)
    person.enter_code(code)
    person.look("verified")
    person.wait_for_caught("mail", email, "Welcome")  # the welcome follows the verification
    expect(person.link("Verify your account")).to_have_count(0)
    expect(person.link("New post")).to_be_visible()

    person.sign_out()
    person.look("signed out")
    person.goto("/auth/login")
    person.field("Email").fill(email)
    person.field("Password").fill("not-the-password")
    person.submit(person.button("Sign in"))
    expect(person.page.locator(".errors")).to_contain_text("Invalid email or password")
    person.look("wrong password")
    person.sign_in(email, PASSWORD)
    expect(person.link("Email Member")).to_be_visible()
    person.look("signed in")
    person.sign_out()
    person.look("signed out again")


def test_sign_up_by_text_message_and_verify(person, new_contact):
    email, phone = new_contact("by-sms")
    sign_up(person, email, phone, "sms", name="Sms Member")
    person.look("verify after signing up by SMS")

    code = person.read_sms_code(e164(phone))
    person.goto("/auth/verify")
    person.enter_code(code)
    expect(person.link("Verify your account")).to_have_count(0)
    person.link("Sms Member").click()
    expect(person.page.locator("main, body").first).to_contain_text("phone verified")
    person.look("settings after verifying by SMS")


@pytest.mark.parametrize("channel", ["email", "sms"])
def test_lost_code_is_sent_again_after_the_cooldown(person, new_contact, channel):
    email, phone = new_contact(f"lost-{channel}")
    signed_up = sign_up(person, email, phone, channel, name="Forgetful Member")
    # The first code is lost (never read). Asking again at once: the page says how long to wait.
    person.submit(person.button("Send a new code"))
    page_text = person.text()
    assert "on its way" not in page_text, page_text[:500]
    assert re.search(r"\b\d+\s*(seconds?|초)", page_text), page_text[:500]
    person.look("new code asked too soon")

    # A person waits as long as the page says; the cooldown runs from the first code.
    time.sleep(max(0.0, signed_up + RESEND_COOLDOWN + 1 - time.monotonic()))
    person.goto("/auth/verify")
    person.submit(person.button("Send a new code"))
    person.look("new code asked after the cooldown")
    code = person.read_email_code(email, count=2) if channel == "email" else person.read_sms_code(e164(phone), 2)
    person.goto("/auth/verify")
    person.enter_code(code)
    expect(person.link("Verify your account")).to_have_count(0)
    person.look("verified with the second code")


def test_phone_number_changed_with_the_password(person, member, new_contact):
    _, new_phone = new_contact("phone-change")
    person.sign_in(member["email"], PASSWORD)
    person.link(member["name"]).click()
    expect(person.page).to_have_url(re.compile(r"/account/settings$"))
    person.look("account settings")

    person.field("Mobile phone").fill(new_phone)
    person.submit(person.button("Save"))
    expect(person.page.locator(".errors")).to_contain_text("password")
    expect(person.field("Mobile phone")).to_have_value(e164(new_phone))  # what was typed, kept
    person.look("phone change without the password")

    person.field(re.compile("^Current password")).fill(PASSWORD)
    person.submit(person.button("Save"))
    expect(person.flash()).to_contain_text("code was sent to your new phone number")
    person.look("code sent to the new phone")
    code = person.read_sms_code(e164(new_phone))
    person.goto("/auth/verify")
    person.enter_code(code)

    person.goto("/account/settings")
    expect(person.field("Mobile phone")).to_have_value(e164(new_phone))
    expect(person.page.locator("body")).to_contain_text("phone verified")
    person.look("settings with the new phone verified")
