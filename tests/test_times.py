"""One rule for times: stored in UTC, shown in APP_TIMEZONE with its abbreviation, through one filter."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from tests.test_templates_marked import TEMPLATES, all_templates

MOMENT = datetime(2026, 12, 2, 10, 30, tzinfo=timezone.utc)  # 19:30 in Seoul


def test_local_time_in_korean_and_english(app):
    from app.times import local_date, local_time

    with app.app_context():
        assert local_time(MOMENT, "ko") == "2026년 12월 2일 (수) 오후 7:30 KST"
        assert local_time(MOMENT, "en") == "Wed, Dec 2, 2026, 7:30 PM KST"
        assert local_time("2026-12-02T10:30:00+00:00", "en") == "Wed, Dec 2, 2026, 7:30 PM KST"  # cached JSON
        assert local_time(MOMENT.replace(tzinfo=None), "en") == "Wed, Dec 2, 2026, 7:30 PM KST"  # naive = UTC
        assert local_date(MOMENT, "ko") == "2026년 12월 2일 (수)"
        assert local_time(MOMENT, "en", zone="Europe/London") == "Wed, Dec 2, 2026, 10:30 AM GMT"


def test_the_request_language_decides_the_format(app):
    from app.times import local_time

    with app.test_request_context("/", headers={"Accept-Language": "ko"}):
        assert local_time(MOMENT) == "2026년 12월 2일 (수) 오후 7:30 KST"


# A time printed in a template: an attribute ending in _at (created_at, starts_at), strftime or isoformat.
# A form's field (``form.starts_at``: an input in club time) is not a printed time.
TIME_VALUE = re.compile(r"(?<!form)\.\w+_at\b(?:\[[^\]]*\])?(?:\.\w+\([^)]*\))*|strftime|isoformat|tzname")
THROUGH_FILTER = re.compile(r"\s*\|\s*local_(?:time|date|clock)\b")
EXPRESSION = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}", re.S)


def unfiltered_times(source: str) -> list[str]:
    found = []
    for match in EXPRESSION.finditer(source):
        expression = match.group(1) or match.group(2) or ""
        for time_value in TIME_VALUE.finditer(expression):
            if time_value.group(0) in ("strftime", "isoformat", "tzname") or \
                    not THROUGH_FILTER.match(expression, time_value.end()):
                found.append(expression.strip())
    return found


def test_no_template_prints_a_time_without_the_filter():
    found = {str(p.relative_to(TEMPLATES)): unfiltered_times(p.read_text()) for p in all_templates()}
    assert {name: times for name, times in found.items() if times} == {}


def test_the_time_scanner_catches_the_old_ways():
    assert unfiltered_times("{{ a.created_at.strftime('%Y-%m-%d') }} UTC")
    assert unfiltered_times("{{ post.created_at[:16].replace('T', ' ') }}")
    assert unfiltered_times("{{ local_start.strftime('%H:%M') }}")
    assert unfiltered_times("{% trans when=screening.starts_at %}{{ when }}{% endtrans %}")
    assert unfiltered_times("{{ field(form.starts_at) }}") == []
    assert unfiltered_times("{{ post.created_at | local_time }} {% trans when=s.starts_at|local_clock %}x{% endtrans %}") == []
