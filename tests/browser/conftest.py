"""Fixtures of the browser journeys: the app as `make run` serves it, Debian's Chromium, members.

Chromium is Debian's (/usr/bin/chromium), driven by Playwright for Python; no
browser is ever downloaded. `make test` installs the package when it is missing
and it runs as root on Debian; otherwise these tests fail saying what to
install. ``BROWSER_TESTS=0`` skips them (and the install).

The stack and the browser start once for the package (a few seconds each) and
stop when its last test is done, so they do not load the machine while the rest
of the suite runs; each test gets a fresh page with no cookies, and its own members.
"""
from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
from typing import Iterator

import pytest

from tests.helpers.browser_database import PASSWORD, add_members, e164
from tests.helpers.processes import ROOT, Launcher
from tests.helpers.visitor import DESKTOP, JOURNEY_SETTINGS, Visitor

CHROMIUM = "/usr/bin/chromium"
# Flags that work on these machines (root, no GPU, no network beyond 127.0.0.1).
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = ROOT / "var" / "screenshots"
MISSING_CHROMIUM = (f"{CHROMIUM} is missing: the browser journeys need Debian's chromium package "
                    "(`apt-get install chromium`; `make test` installs it when run as root on Debian). "
                    "Set BROWSER_TESTS=0 to skip them.")


@pytest.fixture(scope="package", autouse=True)
def browser_tests_enabled() -> None:
    if os.environ.get("BROWSER_TESTS", "").strip() == "0":
        pytest.skip("BROWSER_TESTS=0: browser journeys skipped")


@pytest.fixture(scope="package")
def chromium() -> str:
    """Debian's Chromium, or a failure saying what to install (before anything is started)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(MISSING_CHROMIUM, pytrace=False)
    return CHROMIUM


@pytest.fixture(scope="package")
def served_app(chromium: str, tmp_path_factory) -> Iterator[Launcher]:
    """The `make run` stack (tests.helpers.processes.Launcher), one process per core as `make run` has it."""
    cores = str(os.cpu_count() or 1)
    app = Launcher(tmp_path_factory.mktemp("stack"), WORKERS=cores, WEB_CONCURRENCY=cores, **JOURNEY_SETTINGS)
    try:
        app.wait_until_healthy()
        yield app
    finally:
        try:
            if app.process.poll() is None:
                app.stop(signal.SIGTERM, timeout=60)  # as Ctrl-C would
        except subprocess.TimeoutExpired:
            pass
        app.cleanup()  # whatever is left (a failed start) gets SIGKILL


@pytest.fixture(scope="package")
def browser_context(chromium: str, served_app: Launcher, tmp_path_factory):
    """One headless Chromium with a fresh profile (--user-data-dir) for the package.

    It depends on the stack so that it closes first: a browser left open holds idle connections
    that keep gunicorn's sync workers from stopping (the launcher then waits STOP_TIMEOUT).
    """
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)  # a busy machine: wait for conditions generously
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)  # the last run's pictures only
    playwright = sync_playwright().start()
    try:
        # Playwright refuses --user-data-dir in the flags: a persistent context is how it takes one.
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=chromium, headless=True,
            args=CHROMIUM_FLAGS, viewport=DESKTOP)
        context.set_default_timeout(60_000)
        yield context
        context.close()
    finally:
        playwright.stop()


_CALL_REPORT = pytest.StashKey[pytest.TestReport]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.stash[_CALL_REPORT] = report
    return report


@pytest.fixture
def person(browser_context, served_app: Launcher, request) -> Iterator[Visitor]:
    """A fresh tab with no cookies; screenshots under var/screenshots/<test name>/.

    What went wrong after the journey's last look (a 5xx, a console error) still fails a journey that passed.
    """
    browser_context.clear_cookies()
    page = browser_context.new_page()
    visitor = Visitor(page, served_app.url, SCREENSHOTS / request.node.name)
    yield visitor
    page.close()
    report = request.node.stash.get(_CALL_REPORT, None)
    if report is not None and report.passed and visitor.problems:
        pytest.fail("after the journey's last look:\n" + "\n".join(visitor.problems), pytrace=False)


_numbers = itertools.count(1)


@pytest.fixture
def new_contact():
    """A fresh (email, Korean mobile number) each call: nobody in the session has them yet."""

    def make(prefix: str = "member") -> tuple[str, str]:
        n = next(_numbers)
        return f"{prefix}{n}@journeys.example.com", f"010-{7000 + n:04d}-{n % 10000:04d}"

    return make


@pytest.fixture
def member(served_app: Launcher, new_contact) -> dict:
    """A verified member (email channel), written straight into the stack's database; password ``PASSWORD``."""
    email, phone = new_contact("verified")
    row = {"email": email, "name": f"Member {email.split('@')[0]}", "phone": e164(phone), "password": PASSWORD}
    add_members(served_app.database_url, [row], verified=True)
    return row


@pytest.fixture(scope="package")
def admin(served_app: Launcher) -> dict:
    """An admin made the documented way: `flask create-admin` against the same var dir."""
    email = "admin@journeys.example.com"
    result = served_app.flask("create-admin", email, "--password", PASSWORD, "--name", "Club admin")
    assert result.returncode == 0, result.stdout + result.stderr
    return {"email": email, "password": PASSWORD, "name": "Club admin"}
