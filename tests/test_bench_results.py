"""`make bench`'s results.json and chart, on a small fake result set (no servers, no network).

The chart needs matplotlib, which only `make bench` installs (requirements-bench.txt): without it the chart
test is skipped, saying so; the JSON tests always run.
"""
from __future__ import annotations

import json

import pytest

from bench.results import REQUIRED, Results, ResultsError, save, validate, write_json


def _fake_results() -> Results:
    results = Results(run={"title": "fake run", "quick": True})
    results.add("cache.api.page.sqlite", 0.83, 0.8)
    results.add("mail.vs_celery.sqlite", 1.2, 1.5)
    results.add("mail.100k_request_s.sqlite", 0.21, 0.5, better="lower", unit="s")
    results.add("reminders.100k_margin_s.sqlite", -1.5, 0.0, unit="s")
    results.not_measured("cache.html.page.sqlite", 0.8, "the page route is missing")
    results.fill_required({"postgresql": "TEST_DATABASE_URL is not set"})
    return results


def test_results_json_lists_every_required_ratio_with_name_value_and_target(tmp_path):
    write_json(_fake_results(), tmp_path / "results.json")
    document = json.loads((tmp_path / "results.json").read_text())

    entries = {entry["name"]: entry for entry in document["ratios"]}
    for base in REQUIRED:
        for database in ("sqlite", "postgresql"):
            assert f"{base}.{database}" in entries
    for entry in document["ratios"]:
        assert isinstance(entry["name"], str)
        assert entry["value"] is None or isinstance(entry["value"], float)
        assert entry["target"] is None or isinstance(entry["target"], float)
    assert (entries["cache.api.page.sqlite"]["value"], entries["cache.api.page.sqlite"]["target"]) == (0.83, 0.8)
    assert entries["cache.html.page.sqlite"]["value"] is None
    assert entries["cache.html.page.sqlite"]["note"] == "not measured: the page route is missing"
    assert entries["mail.10k.postgresql"]["note"] == "not measured: TEST_DATABASE_URL is not set"
    assert entries["mail.100k_request_s.sqlite"]["better"] == "lower"


def test_a_figure_that_is_not_finite_is_recorded_as_not_measured(tmp_path):
    results = Results()
    results.add("cache.api.all.sqlite", float("nan"), 0.8)
    document = write_json(results, tmp_path / "results.json")
    assert document["ratios"][0]["value"] is None
    assert document["ratios"][0]["note"].startswith("not measured: ")
    assert "NaN" not in (tmp_path / "results.json").read_text()


@pytest.mark.parametrize("document, complaint", [
    ([], "a list under"),
    ({"ratio": []}, "a list under"),
    ({"ratios": [{"name": "x", "value": 1.0}]}, "lacks ['target']"),
    ({"ratios": [{"name": "", "value": 1.0, "target": None}]}, "non-empty string"),
    ({"ratios": [{"name": "x", "value": "0.9", "target": None}]}, "finite number or null"),
    ({"ratios": [{"name": "x", "value": True, "target": None}]}, "finite number or null"),
    ({"ratios": [{"name": "x", "value": None, "target": 0.8}]}, "not measured"),
    ({"ratios": [{"name": "x", "value": 1, "target": None}, {"name": "x", "value": 2, "target": None}]}, "twice"),
])
def test_a_results_document_of_the_wrong_shape_is_refused(document, complaint):
    with pytest.raises(ResultsError, match=complaint.replace("[", r"\[").replace("]", r"\]")):
        validate(document)


def test_the_chart_draws_the_fake_results(tmp_path):
    pytest.importorskip("matplotlib", reason="matplotlib comes with requirements-bench.txt (make bench)")
    from matplotlib import image

    json_path, png_path, why = save(_fake_results(), tmp_path)
    assert why == "" and json_path.is_file()
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = image.imread(png_path)
    height, width = pixels.shape[:2]
    assert width >= 800 and height >= 600  # 26 rows of ratios and a panel of seconds
    assert len({tuple(p) for p in pixels.reshape(-1, pixels.shape[2])[::97]}) > 3  # not a blank image
