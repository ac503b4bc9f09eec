"""An admin schedules a screening; a member RSVPs, cancels, and RSVPs again, in a real browser."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.helpers.browser_database import PASSWORD

pytestmark = pytest.mark.slow


def schedule_screening(person, admin, title: str) -> str:
    """The admin's part: the screening form; the path of the new screening's page."""
    person.sign_in(admin["email"], admin["password"])
    person.link("Screenings").click()
    person.link("New screening").click()
    person.look("new screening form")
    person.field("Title").fill(title)
    person.field("Film").fill("Decision to Leave")
    starts = (datetime.now() + timedelta(days=14)).replace(hour=19, minute=30)
    person.field("Starts at (club time)").fill(starts.strftime("%Y-%m-%dT%H:%M"))
    person.field("Place").fill("Library hall, 2nd floor")
    person.field("Capacity").fill("30")
    person.submit(person.button("Create screening"))
    expect(person.page.locator("h1")).to_have_text(title)
    person.look("screening created")
    path = person.page.url.removeprefix(person.base_url)
    person.sign_out()
    return path


def seats(person) -> str:
    return person.page.locator("p.muted").first.inner_text()


def test_rsvp_cancel_and_rsvp_again(person, admin, member):
    screening = schedule_screening(person, admin, "Journey screening: Decision to Leave")

    person.sign_in(member["email"], PASSWORD)
    person.link("Screenings").click()
    person.look("screenings")
    person.link("Journey screening: Decision to Leave").click()
    expect(person.page).to_have_url(re.compile(re.escape(screening) + "$"))
    assert seats(person).startswith("0 going"), seats(person)

    person.submit(person.button("RSVP"))
    expect(person.flash()).to_contain_text("You have a seat")
    assert seats(person).startswith("1 going, 29 seats left"), seats(person)
    person.look("RSVPed")

    person.submit(person.button("Cancel my RSVP"))
    expect(person.flash()).to_contain_text("Your RSVP is cancelled")
    assert seats(person).startswith("0 going, 30 seats left"), seats(person)
    person.look("RSVP cancelled")

    person.submit(person.button("RSVP"))
    person.look("RSVPed again")
    expect(person.flash()).to_contain_text("You have a seat")
    assert seats(person).startswith("1 going, 29 seats left"), seats(person)
    person.link("← All screenings").click()
    expect(person.page.locator("ul.posts")).to_contain_text("you're going")
    person.look("screenings, going")
