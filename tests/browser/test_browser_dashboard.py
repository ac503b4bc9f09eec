"""The RQ dashboard at /admin/rq in a real browser: markup in a job shows as text, bad URLs are not 500s.

rq-dashboard's templates insert most job fields unescaped (underscore's ``<%= %>``);
its issue tracker reports it. A job whose description and failure text hold
markup is written into the stack's queue Redis (as anything that reaches the
queue could be), and an admin opens the job's page and the failed-jobs list:
the markup must read as text, no element it describes may exist, its handler
must not run, and the page's own scripts must run (no CSP refusal in the console).
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from redis import Redis
from rq.results import Result

from app.safe_jobs import JSONJob, JSONQueue

pytestmark = pytest.mark.slow

QUEUE = "markup-journey"  # no worker listens to it: the jobs stay where they are put
MARKUP = "<img src=x onerror=\"document.title='ran'\"><b>bold words</b>"


def stack_redis(served_app) -> Redis:
    services = served_app.var_dir / "run" / "services.env"
    url = dict(line.split("=", 1) for line in services.read_text().splitlines() if "=" in line)["REDIS_URL"]
    return Redis.from_url(url)


@pytest.fixture
def marked_jobs(served_app):
    connection = stack_redis(served_app)
    queue = JSONQueue(QUEUE, connection=connection)
    job = JSONJob.create("jobs.maintenance.ping", args=("markup",), id="markup-failed", connection=connection,
                         origin=QUEUE, description=MARKUP)
    job.save()
    failure = f"Traceback (most recent call last):\nValueError: {MARKUP}"
    queue.failed_job_registry.add(job, exc_string=failure)
    Result.create_failure(job, ttl=3600, exc_string=failure)  # what a worker records; the pages show it
    yield job.id
    job.delete()
    connection.close()


def test_job_description_and_failure_markup_show_as_text(person, admin, marked_jobs):
    person.sign_in(admin["email"], admin["password"])
    page = person.page

    person.goto(f"/admin/rq/0/view/job/{marked_jobs}")
    description = page.locator(".description-scroll")
    expect(description).to_have_text(MARKUP)  # the characters, as typed
    expect(page.locator("pre.exc_info")).to_contain_text(f"ValueError: {MARKUP}")
    assert page.locator(".description-scroll b, .description-scroll img, pre.exc_info b, pre.exc_info img").count() == 0
    assert page.title() != "ran"
    person.assert_no_problems()  # no 5xx, no console error (a CSP refusal of the page's own script would be one)

    person.goto(f"/admin/rq/0/view/jobs/{QUEUE}/failed/10/asc/1")
    row = page.locator("tr[data-role=job]")
    expect(row.locator(".description")).to_have_text(MARKUP)
    expect(row.locator("pre.exc_info")).to_contain_text(MARKUP)
    assert row.locator("b, img").count() == 0 and page.title() != "ran"
    person.assert_no_problems()


@pytest.mark.parametrize("path", [
    "/admin/rq/0/view/jobs/no-such-queue/queued/10/asc/1",
    "/admin/rq/0/view/jobs/%3Cb%3Equeue%3C%2Fb%3E/queued/10/asc/1",
    "/admin/rq/0/view/jobs/low/no-such-registry/10/asc/1",
    "/admin/rq/0/view/jobs/low/queued/10/asc/0",
    "/admin/rq/0/view/jobs/low/queued/10/asc/99999999999999999999999",
    "/admin/rq/0/data/jobs/low/queued/ten/asc/1.json",
    "/admin/rq/0/data/jobs/low/queued/10/asc/last.json",
    "/admin/rq/3/view/queues",
    "/admin/rq/0/view/job/no-such-job",
])
def test_bad_queue_names_and_page_numbers_are_never_a_500(person, admin, path):
    person.sign_in(admin["email"], admin["password"])
    response = person.goto(path)
    assert response is not None and response.status < 500, (path, response and response.status)
    person.page.wait_for_load_state("load")
    person.assert_no_problems()
