"""`make bench` keeps working: short runs of each benchmark, and the runner's rules (skip, fail, results.json)."""
from __future__ import annotations

import json
import re
import sys
import types

import pytest

from bench import __main__ as runner
from bench import cache_bench
from bench.results import REQUIRED, Results


@pytest.mark.slow
def test_cache_benchmark_measures_every_route_and_records_its_ratios(monkeypatch, capsys):
    monkeypatch.delenv("TEST_DATABASE_URL", raising=False)  # SQLite only: keep it short
    results = Results()
    assert cache_bench.main(["--quick", "--rounds", "1", "--seconds", "0.3", "--warmup", "0.1", "--no-wrk"],
                            results) == 0
    out = capsys.readouterr().out
    for route in ("uncached", "cached", "ceiling"):
        assert len(re.findall(rf"^  {route} +\d+ .* \d+% +\d+%$", out, re.MULTILINE)) == 4, out
    for route in ("no_tracking", "bare"):
        assert len(re.findall(rf"^  {route} +\d+ .* \d+% +\d+%$", out, re.MULTILINE)) == 1, out
    assert len(re.findall(r"cached/ceiling \d+\.\d\d \(target >= 0.8: (met|NOT met)\)", out)) == 8, out
    measured = {r.name: r for r in results.ratios if r.value is not None}
    for name in ("cache.api.page", "cache.api.all", "cache.html.page", "cache.html.all",
                 "cache.api.page.no_tracking", "app.ceiling_vs_bare_flask"):
        assert measured[f"{name}.sqlite"].value > 0
        assert "load generator's CPU share" in measured[f"{name}.sqlite"].note


@pytest.mark.slow
def test_mail_benchmark_measures_the_limit_the_announcement_the_large_case_and_celery(monkeypatch, capsys):
    from bench import mail_bench

    monkeypatch.delenv("TEST_DATABASE_URL", raising=False)  # SQLite only: keep it short
    results = Results()
    assert mail_bench.main(["--recipients", "200", "--large", "400", "--rounds", "2", "--per-job", "5",
                            "--workers", "2", "--worker-classes", "jobs.worker.AppSimpleWorker"], results) == 0
    out = capsys.readouterr().out
    assert re.search(r"^  limit, 2 plain sender\(s\) .* \d+ msg/s  \(rounds: \d+ \d+\)$", out, re.MULTILINE), out
    assert re.search(r"^  announcement, 2 x AppSimpleWorker, .* \d+ msg/s  \(rounds: \d+ \d+\)", out, re.MULTILINE), out
    assert re.search(r"announcement/limit \d+\.\d\d; target >= 0.8: (met|NOT met)", out), out
    assert re.search(r"one RQ job per email, .* \d+ msg/s", out), out
    # every side sent the app's message, text and HTML, checked at the sink
    assert re.search(r"the same message on both sides: 199 messages of \d+\.\d KiB on average, text and HTML", out), out
    ratios = {r.name: r for r in results.ratios}
    for name in ("mail.10k.sqlite", "mail.100k.sqlite", "mail.100k_cost.sqlite", "mail.100k_memory.sqlite",
                 "mail.100k_request_s.sqlite"):
        assert ratios[name].value > 0, ratios[name]
    assert "one round" in ratios["mail.100k.sqlite"].note
    celery = ratios["mail.vs_celery.sqlite"]
    try:
        import celery as _celery  # noqa: F401
    except ImportError:
        assert celery.value is None and "Celery is not installed" in celery.note
    else:
        assert celery.value > 0 and re.search(r"^  Celery, prefork x 2, .* \d+ msg/s", out, re.MULTILINE), out


def test_runner_skips_benchmarks_that_are_not_there(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("FILMCLUB_VAR_DIR", str(tmp_path))
    monkeypatch.setattr(runner, "BENCHMARKS", ("bench.no_such_bench",))
    assert runner.main() == 0
    assert "bench.no_such_bench: not present, skipped" in capsys.readouterr().out


def test_runner_fails_when_a_benchmark_cannot_measure(monkeypatch, tmp_path):
    monkeypatch.setenv("FILMCLUB_VAR_DIR", str(tmp_path))
    monkeypatch.setattr(runner, "BENCHMARKS", ("bench.cache_bench",))
    monkeypatch.setattr(cache_bench, "main", lambda argv, results: 1)
    assert runner.main() == 1
    assert (tmp_path / "bench" / "results.json").is_file()  # what was measured is still written


def test_runner_writes_every_ratio_and_names_what_was_not_measured(monkeypatch, tmp_path):
    calls = []

    def fake_main(argv, results):
        calls.append(argv)
        results.add("cache.api.page.sqlite", 0.9, 0.8)
        return 0

    monkeypatch.setitem(sys.modules, "bench.fake_bench", types.SimpleNamespace(main=fake_main))
    monkeypatch.setenv("FILMCLUB_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("BENCH_QUICK", "1")
    monkeypatch.delenv("TEST_DATABASE_URL", raising=False)
    monkeypatch.setattr(runner, "BENCHMARKS", ("bench.fake_bench",))
    monkeypatch.setitem(runner.QUICK_ARGS, "bench.fake_bench", ["--small"])
    assert runner.main() == 0

    assert calls == [["--small"]]
    document = json.loads((tmp_path / "bench" / "results.json").read_text())
    assert document["run"]["quick"] is True
    entries = {entry["name"]: entry for entry in document["ratios"]}
    assert entries["cache.api.page.sqlite"]["value"] == 0.9
    assert len(entries) == 2 * len(REQUIRED)
    assert entries["mail.vs_celery.postgresql"]["value"] is None
    assert "TEST_DATABASE_URL" in entries["mail.vs_celery.postgresql"]["note"]
    assert entries["mail.vs_celery.sqlite"]["note"].startswith("not measured: ")


def test_a_run_stopped_half_way_leaves_what_it_measured(monkeypatch, tmp_path):
    def first(argv, results):
        results.add("cache.api.page.sqlite", 0.85, 0.8)
        raise KeyboardInterrupt  # stopped half way: what was recorded is on disk already

    monkeypatch.setitem(sys.modules, "bench.first_bench", types.SimpleNamespace(main=first))
    monkeypatch.setitem(sys.modules, "bench.second_bench", types.SimpleNamespace(main=lambda argv, results: 0))
    monkeypatch.setenv("FILMCLUB_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    monkeypatch.setattr(runner, "BENCHMARKS", ("bench.first_bench", "bench.second_bench"))
    with pytest.raises(KeyboardInterrupt):
        runner.main()
    entries = {e["name"]: e for e in json.loads((tmp_path / "bench" / "results.json").read_text())["ratios"]}
    assert entries["cache.api.page.sqlite"]["value"] == 0.85
    assert entries["mail.10k.postgresql"]["note"].startswith("not measured: not reached yet")


def test_the_sink_tells_text_only_from_text_and_html_and_the_bench_refuses_to_compare_them(tmp_path):
    """A ratio of the app's text-and-HTML mail to plain senders' text-only mail would measure the email
    library: the sink counts what it got and the benchmark stops on a mismatch."""
    from app import create_app
    from bench.mail_bench import AnnouncementMail, check_same_message, measure_limit
    from bench.smtp_sink import SMTPSink
    from deploy.local.redis_server import free_port

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}", "SECRET_KEY": "t",
                      "REDIS_URL": "redis://127.0.0.1:1/0"})
    mail = AnnouncementMail.of(app)
    assert "<html" in mail.html and "Films!" in mail.body
    with SMTPSink(free_port()) as sink:
        _, with_html = measure_limit(sink, 2, 20, mail)
        _, text_only = measure_limit(sink, 1, 10, AnnouncementMail(mail.subject, mail.body, None))
    assert (with_html.messages, with_html.with_html) == (20, 20)
    assert (text_only.messages, text_only.with_html) == (10, 0)
    assert with_html.mean_size > text_only.mean_size + 1000
    assert sink.tally().messages == 30
    check_same_message(with_html, "the same", with_html)
    with pytest.raises(RuntimeError, match="other messages than the plain senders"):
        check_same_message(with_html, "text only", text_only)
