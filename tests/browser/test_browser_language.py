"""A member switches the site to Korean in the footer, signs in, and the site stays Korean; switching
back to English is kept too. Screenshots of both languages, at both widths, go to var/screenshots/."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.slow


def choose_language(person, code: str, button: str) -> None:
    person.page.get_by_label({"Change language": "Language", "언어 바꾸기": "언어"}[button], exact=True) \
        .select_option(code)
    person.submit(person.button(button))


def test_the_footer_switch_is_kept_after_signing_in(person, member):
    html = person.page.locator("html")
    person.goto("/screenings/")
    expect(html).to_have_attribute("lang", "en")  # the browser asks for English (Accept-Language: en-US)
    choose_language(person, "ko", "Change language")
    expect(html).to_have_attribute("lang", "ko")
    expect(person.page.get_by_role("heading", level=1)).to_have_text("다가오는 상영회")
    person.look("screenings in korean")

    person.goto("/auth/login")
    person.look("sign-in in korean")
    person.field("이메일").fill(member["email"])
    person.field("비밀번호").fill(member["password"])
    person.submit(person.button("로그인"))
    expect(person.button("로그아웃")).to_be_visible()
    expect(html).to_have_attribute("lang", "ko")
    person.look("posts in korean, signed in")

    choose_language(person, "en", "언어 바꾸기")
    expect(html).to_have_attribute("lang", "en")
    expect(person.button("Sign out")).to_be_visible()
    person.look("posts in english, signed in")
