"""Issue 13's look in a real browser: the phone's header menu, the accessibility check itself, the
confirmation step before cancelling a screening, and the announcement's progress bar moving without a
reload. (Every page these journeys visit is also checked at 390 and 1280 px, with axe-core: ``look``.)"""
from __future__ import annotations

import re
import time
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.helpers.browser_database import add_members
from tests.helpers.visitor import WIDTHS

pytestmark = pytest.mark.slow

PHONE = {"width": 390, "height": WIDTHS[390]}
LIVE_AUDIENCE = 1500   # enough members that the send lasts several of the page's one-second polls
ADVANCE_DEADLINE = 90  # seconds for the bar to move twice (it moved within 2 s in a run with the machine loaded)


def test_the_accessibility_check_finds_what_it_is_there_to_find(person):
    """A check that cannot fail proves nothing: a page with an unlabelled field and an image without text."""
    person.page.set_content("<!doctype html><html lang='en'><title>t</title><main><h1>Bad</h1>"
                            "<input type='text'><img src='data:,'></main></html>")
    found = " ".join(person.accessibility_violations())
    assert "label" in found and "image-alt" in found, found


def test_the_phone_header_is_a_menu_that_opens(person, member):
    person.sign_in(member["email"], member["password"])
    person.page.set_viewport_size(PHONE)
    menu = person.page.locator("label.menu-button")
    expect(menu).to_be_visible()
    expect(person.link("Screenings")).to_be_hidden()
    expect(person.button("Sign out")).to_be_hidden()
    menu.click()
    expect(person.link("Screenings")).to_be_visible()
    expect(person.button("Sign out")).to_be_visible()
    # The name at the top is cut with an ellipsis on one line, never broken syllable by syllable.
    name = person.page.locator(".member-name")
    assert name.evaluate("e => getComputedStyle(e).textOverflow") == "ellipsis"
    assert name.evaluate("e => getComputedStyle(e).whiteSpace") == "nowrap"
    person.page.screenshot(path=person.screenshots / "menu-open-390.png")  # the first screen of a phone
    person.link("Screenings").click()
    expect(person.page.locator("h1")).to_have_text("Upcoming screenings")
    person.look("screenings from the phone menu")


def test_cancelling_a_screening_asks_first(person, admin):
    person.sign_in(admin["email"], admin["password"])
    person.goto("/screenings/new")
    person.field("Title").fill("Journey screening to cancel")
    person.field("Film").fill("The Handmaiden")
    starts = (datetime.now() + timedelta(days=20)).replace(hour=19, minute=0)
    person.field("Starts at (club time)").fill(starts.strftime("%Y-%m-%dT%H:%M"))
    person.field("Place").fill("Library hall")
    person.field("Capacity").fill("20")
    person.submit(person.button("Create screening"))
    person.link("Cancel the screening").click()
    expect(person.page.locator("h1")).to_have_text("Cancel the screening?")
    person.look("cancel screening confirmation")
    person.link("Keep the screening").click()
    expect(person.page.locator("p.muted").first).not_to_contain_text("Cancelled")
    person.link("Cancel the screening").click()
    person.submit(person.button("Cancel the screening"))
    expect(person.flash()).to_contain_text("Screening cancelled")
    expect(person.page.locator("p.muted").first).to_contain_text("Cancelled")
    person.look("screening cancelled")


def test_the_announcement_progress_bar_moves_without_a_reload(person, admin, served_app):
    add_members(served_app.database_url, [{"email": f"live{n}@journeys.example.com", "name": f"Live {n}"}
                                          for n in range(LIVE_AUDIENCE)], verified=True)
    person.sign_in(admin["email"], admin["password"])
    person.goto("/admin/announcements/new")
    person.field("Subject").fill("Journey announcement: watched live")
    person.field("Message").fill("The bar moves by itself.")
    person.submit(person.button("Send to every member"))
    page = person.page
    page.evaluate("() => { window.sameDocument = true; }")  # gone if the page reloads
    seen = []
    deadline = time.monotonic() + ADVANCE_DEADLINE
    while time.monotonic() < deadline:
        same, value, maximum = page.evaluate(
            "() => [window.sameDocument === true, document.getElementById('progress').value,"
            " document.getElementById('progress').max]")
        if not same:
            break
        if not seen or value != seen[-1]:
            seen.append(value)
        if len(seen) >= 3:
            break
        time.sleep(0.1)
    assert len(seen) >= 3 and seen == sorted(seen) and seen[-1] < maximum, \
        f"the bar should move at least twice in the same page, without a reload: {seen} of {maximum}"
    counts = page.locator("#counts").inner_text()
    assert re.search(r"[\d.]+% done: \d+ sent, \d+ failed", counts), counts  # the words move with the bar
    person.look("announcement sending, live")
    # At 100 % the script reloads the page once, and the server draws the final counts.
    expect(page.locator("body")).to_contain_text(re.compile(r"\b100(\.0)?% done"), timeout=300_000)
    person.look("announcement done, live")
