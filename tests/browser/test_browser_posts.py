"""A member writes a post in a real browser, with paragraphs typed with Enter; edits it; deletes it."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.helpers.browser_database import PASSWORD

pytestmark = pytest.mark.slow


def type_lines(person, textarea, lines: list[str]) -> None:
    """Type into a text area as a person does: Enter between lines, an empty line between paragraphs."""
    textarea.click()
    for number, line in enumerate(lines):
        if number:
            textarea.press("Enter")
        if line:
            textarea.press_sequentially(line)


def write_post(person, title: str, lines: list[str]) -> None:
    person.link("New post").click()
    expect(person.page).to_have_url(re.compile(r"/posts/new$"))
    person.look("new post form")
    person.field("Title").fill(title)
    type_lines(person, person.field("Body"), lines)
    person.submit(person.button("Save"))
    expect(person.flash()).to_contain_text("Post published")
    expect(person.page.locator("h1")).to_have_text(title)


def shown_body(person) -> str:
    """The post's text as the browser lays it out (innerText keeps line and paragraph breaks)."""
    return person.page.locator("article").inner_text()


def test_post_written_edited_and_deleted(person, member):
    person.sign_in(member["email"], PASSWORD)
    write_post(person, "Journey notes: the greenhouse", ["The greenhouse scene.", "", "Who is Ben?"])
    assert "The greenhouse scene." in shown_body(person) and "Who is Ben?" in shown_body(person)
    person.look("post published")
    post_url = person.page.url

    person.link("Edit").click()
    expect(person.field("Title")).to_have_value("Journey notes: the greenhouse")
    person.look("edit form")
    person.field("Title").fill("Journey notes: the greenhouse, seen twice")
    person.submit(person.button("Save"))
    expect(person.flash()).to_contain_text("Post updated")
    expect(person.page.locator("h1")).to_have_text("Journey notes: the greenhouse, seen twice")
    person.look("post edited")

    person.link("← All posts").click()
    expect(person.link("Journey notes: the greenhouse, seen twice")).to_be_visible()
    person.look("posts list with the post")

    person.goto(post_url.removeprefix(person.base_url))
    person.link("Delete").click()  # deleting asks first, on a page of its own
    expect(person.page.locator("h1")).to_have_text("Delete this post?")
    person.look("delete post confirmation")
    person.link("Keep the post").click()
    expect(person.page.locator("h1")).to_have_text("Journey notes: the greenhouse, seen twice")
    person.link("Delete").click()
    person.submit(person.button("Delete"))
    expect(person.flash()).to_contain_text("Post deleted")
    expect(person.page.get_by_text("Journey notes: the greenhouse")).to_have_count(0)
    person.look("post deleted")


def test_typed_paragraphs_and_line_breaks_are_kept(person, member):
    person.sign_in(member["email"], PASSWORD)
    write_post(person, "Paragraphs", ["First paragraph.", "", "Second paragraph, line one;", "line two."])
    body = shown_body(person)
    assert re.search(r"First paragraph\.\n\s*\n\s*Second paragraph, line one;\nline two\.", body), body
    person.look("post with paragraphs")

    person.link("Edit").click()
    textarea = person.field("Body")
    assert "First paragraph.\n\nSecond paragraph, line one;\nline two." in textarea.input_value()
    textarea.press("ControlOrMeta+End")
    type_lines(person, textarea, ["", "", "Third paragraph."])
    person.submit(person.button("Save"))
    expect(person.flash()).to_contain_text("Post updated")
    body = shown_body(person)
    assert re.search(r"line two\.\n\s*\n\s*Third paragraph\.", body), body
    person.look("post with a third paragraph")


def test_long_words_do_not_widen_the_page(person, member):
    """A title or a link with no space to break at wraps on a phone instead of making the page scroll sideways."""
    long_word = "Supercalifragilistic" * 6
    link = "https://library.example/film-club/archive/" + "programme-notes-" * 8 + "autumn.html"
    person.sign_in(member["email"], PASSWORD)
    write_post(person, long_word, [f"Notes are at {link}", "", long_word])
    person.look("post with long words")
    person.link("← All posts").click()
    expect(person.link(long_word)).to_be_visible()
    person.look("posts list with a long title")
