"""A person at the browser: walks pages, reads the club's mailbox and text messages, and checks every page.

Every page the journeys look at (``Visitor.look``) is checked at 1280 and 390 px
wide: no horizontal scroll, a way back to the site, no serious or critical
accessibility violation found by axe-core (the npm package, vendored by `make axe`
under var/vendor/, injected into the page by Playwright: never fetched while the
tests run), and a screenshot per width under var/screenshots/<test>/ for people
to look at. All along, the page's
console errors, uncaught script errors, 5xx answers and failed stylesheets or
scripts are collected; ``look`` fails listing them.

Waits are conditions with generous deadlines (Playwright's auto-waiting, and
polling the mailbox page), never fixed sleeps: the machine may be busy. (The one
wait on the clock, the resend cooldown, is one a person must sit out too.)
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import ConsoleMessage, Locator, Page, Response, expect

from tests.helpers.processes import ROOT

# The stack the journeys run on: `make run`'s launcher (tests.helpers.processes.Launcher) with these
# settings, each with its reason.
RESEND_COOLDOWN = 15  # seconds; long enough that a click right after signing up is inside it on a busy machine
JOURNEY_SETTINGS = {
    # A lost code can be re-sent after the cooldown; the default (60 s) would make the suite wait a minute.
    "VERIFICATION_RESEND_COOLDOWN": str(RESEND_COOLDOWN),
    # The default "1 per minute" per address or number matches the default cooldown; scaled down with it.
    "RATELIMIT_CODE_SEND": f"1 per {RESEND_COOLDOWN} seconds;5 per hour;10 per day",
    # Every journey comes from 127.0.0.1: the per-address limits are meant for one person, not a whole suite.
    "RATELIMIT_SIGNUP": "200 per minute", "RATELIMIT_LOGIN": "200 per minute", "RATELIMIT_VERIFY": "200 per minute",
    "STOP_TIMEOUT": "15",
}

WIDTHS = {1280: 800, 390: 844}  # desktop, and a phone (width: height)
DESKTOP = {"width": 1280, "height": 800}
MAIL_DEADLINE = 60.0  # seconds for a message to reach the development mail server or the SMS folder
CODE = re.compile(r"\b(\d{6})\b")
# Chromium logs one of these for every 4xx answer. A 4xx page is judged by the journey that met it
# (it knows whether it expected one), a failed stylesheet or script by ``_response``.
CLIENT_ERROR_LOG = re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d")

# axe-core, as `make axe` vendors it (the version is pinned in the Makefile).
AXE_SCRIPTS = sorted((ROOT / "var" / "vendor").glob("axe-core-*/axe.min.js"))
MISSING_AXE = ("axe-core is not vendored under var/vendor/: run `make axe` (it needs npm; `make test` runs it), "
               "or skip the browser tests with BROWSER_TESTS=0")
AXE_FAILS_ON = ("serious", "critical")
# Every WCAG 2.x A and AA rule axe has, and its best practices (landmarks, headings, ...).
AXE_RUN = """() => axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ") + ": " + n.failureSummary.replace(/\\s+/g, " "))})))"""


@dataclass
class Caught:
    """A message as listed by /dev/mail or /dev/sms."""

    to: str
    title: str   # mail: subject; SMS: the text itself
    link: str | None


class Visitor:
    def __init__(self, page: Page, base_url: str, screenshots: Path) -> None:
        self.page = page
        self.base_url = base_url
        self.screenshots = screenshots
        self.problems: list[str] = []
        self.looks = 0
        page.set_viewport_size(DESKTOP)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"script error on {page.url}: {error}"))
        page.on("response", self._response)

    # -- what goes wrong while walking ------------------------------------------------
    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not CLIENT_ERROR_LOG.match(message.text):
            self.problems.append(f"console error on {self.page.url}: {message.text}")

    def _response(self, response: Response) -> None:
        if response.status >= 500:
            self.problems.append(f"{response.status} from {response.request.method} {response.url}")
        elif response.status >= 400 and response.request.resource_type != "document":
            self.problems.append(f"{response.status} for a {response.request.resource_type}: {response.url}")

    # -- walking ----------------------------------------------------------------------------
    def goto(self, path: str) -> Response | None:
        return self.page.goto(self.base_url + path)

    def submit(self, button: Locator) -> None:
        """Click a button that sends a form, and wait for the page it leads to."""
        with self.page.expect_navigation(wait_until="load"):
            button.click()

    def button(self, name: str) -> Locator:
        return self.page.get_by_role("button", name=name, exact=True)

    def link(self, name: str) -> Locator:
        return self.page.get_by_role("link", name=name, exact=True)

    def field(self, label: str | re.Pattern) -> Locator:
        """The text box, text area or list labelled ``label`` (not a radio button of the same name)."""
        return self.page.get_by_label(label, exact=True).and_(
            self.page.locator("input:not([type=radio]):not([type=checkbox]), textarea, select"))

    def choice(self, label: str) -> Locator:
        return self.page.get_by_role("radio", name=label, exact=True)

    def text(self) -> str:
        return self.page.locator("body").inner_text()

    def flash(self) -> Locator:
        return self.page.locator(".flash")

    # -- looking ----------------------------------------------------------------------------
    def look(self, name: str) -> None:
        """Check the page as it is now at each width, take its screenshots, and fail on what went wrong."""
        page = self.page
        page.wait_for_load_state("load")
        self.looks += 1
        overflow = []
        for width, height in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": height})
            scroll_width, client_width = page.evaluate(
                "() => [document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]")
            self.screenshots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=self.screenshots / f"{self.looks:02d}-{_slug(name)}-{width}.png", full_page=True)
            if scroll_width > client_width:
                overflow.append(f"{width} px: scrolls sideways ({scroll_width} > {client_width})")
            overflow.extend(f"{width} px: {v}" for v in self.accessibility_violations())
        page.set_viewport_size(DESKTOP)
        if overflow:
            self.problems.append(f"{name} ({page.url}): " + "; ".join(overflow))
        if page.locator("header a").count() == 0:
            self.problems.append(f"{name} ({page.url}): no way back (the site's header is missing): "
                                 f"{self.text()[:300]!r}")
        self.assert_no_problems()

    def accessibility_violations(self) -> list[str]:
        """axe-core's serious and critical violations on the page as it is now, one line each."""
        assert AXE_SCRIPTS, MISSING_AXE
        # Evaluated through the DevTools protocol, which the page's CSP does not govern: the page's own
        # policy (no inline script) stays what the journeys test.
        if not self.page.evaluate("() => typeof window.axe === 'object'"):
            self.page.evaluate(AXE_SCRIPTS[-1].read_text())
        found = self.page.evaluate(AXE_RUN)
        return [f"axe {v['impact']} {v['id']} ({v['help']}): {'; '.join(v['nodes'])}"
                for v in found if v["impact"] in AXE_FAILS_ON]

    def assert_no_problems(self) -> None:
        problems, self.problems = self.problems, []
        assert not problems, "\n".join(problems)

    # -- signing in and out --------------------------------------------------------------
    def sign_in(self, email: str, password: str) -> None:
        self.goto("/auth/login")
        self.field("Email").fill(email)
        self.field("Password").fill(password)
        self.submit(self.button("Sign in"))
        expect(self.button("Sign out")).to_be_visible()

    def sign_out(self) -> None:
        self.submit(self.button("Sign out"))
        expect(self.flash()).to_contain_text("Signed out")
        expect(self.link("Sign in")).to_be_visible()

    # -- the club's development mailbox and text messages ------------------------------------
    def caught(self, folder: str) -> list[Caught]:
        """What /dev/mail or /dev/sms lists now, newest first."""
        self.goto(f"/dev/{folder}")
        rows = self.page.eval_on_selector_all(
            "table tr", """rows => rows.filter(r => r.cells.length >= 2).map(r => [
                r.cells[0].innerText, r.cells[1].innerText, (r.cells[1].querySelector('a') || {}).href || null])""")
        return [Caught(to, title, link) for to, title, link in rows]

    def wait_for_caught(self, folder: str, to: str, title_contains: str, count: int = 1) -> list[Caught]:
        """Poll the mailbox page until ``count`` messages to ``to`` whose title has ``title_contains`` are listed."""
        deadline = time.monotonic() + MAIL_DEADLINE
        while True:
            found = [c for c in self.caught(folder) if to in c.to and title_contains in c.title]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(found)} of {count} messages to {to} with {title_contains!r} "
                                     f"in /dev/{folder} after {MAIL_DEADLINE:.0f} s")
            time.sleep(0.5)

    def read_email_code(self, to: str, count: int = 1) -> str:
        """Open the newest verification email to ``to`` (waiting for the ``count``-th) and read its code."""
        newest = self.wait_for_caught("mail", to, "verification code", count)[0]
        self.page.goto(newest.link)
        body = self.page.locator("pre").inner_text()
        self.look("verification email")
        return _code_in(body)

    def read_sms_code(self, to: str, count: int = 1) -> str:
        newest = self.wait_for_caught("sms", to, "verification code", count)[0]
        self.look("text messages")
        return _code_in(newest.title)

    def enter_code(self, code: str) -> None:
        """On the verification page: type the code, and see the account verified."""
        self.field("Code").fill(code)
        self.submit(self.button("Verify"))
        expect(self.flash()).to_contain_text("Verified")


def _code_in(text: str) -> str:
    match = CODE.search(text)
    assert match, f"no 6-digit code in {text!r}"
    return match.group(1)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
