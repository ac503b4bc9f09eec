"""`make bench` keeps working: one short round of the cache benchmark, and the runner's skip rule."""
from __future__ import annotations

import re

import pytest

from bench import __main__ as runner
from bench import cache_bench


@pytest.mark.slow
def test_cache_benchmark_measures_all_three_routes_on_both_workloads(monkeypatch, capsys):
    monkeypatch.delenv("TEST_DATABASE_URL", raising=False)  # SQLite only: keep it short
    assert cache_bench.main(["--rounds", "1", "--seconds", "0.3", "--warmup", "0.1", "--no-wrk"]) == 0
    out = capsys.readouterr().out
    for route in ("uncached", "cached", "ceiling"):
        assert len(re.findall(rf"^  {route} +\d+", out, re.MULTILINE)) == 2, out
    assert len(re.findall(r"cached/ceiling \d+\.\d\d \(target >= 0.8: (met|NOT met)\)", out)) == 2, out


@pytest.mark.slow
def test_mail_benchmark_measures_the_limit_and_the_announcement_in_the_same_round(monkeypatch, capsys):
    from bench import mail_bench

    monkeypatch.delenv("TEST_DATABASE_URL", raising=False)  # SQLite only: keep it short
    assert mail_bench.main(["--recipients", "200", "--rounds", "2", "--per-job", "5", "--workers", "2",
                            "--worker-classes", "jobs.worker.AppSimpleWorker"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^  limit, 2 plain sender\(s\) .* \d+ msg/s  \(rounds: \d+ \d+\)$", out, re.MULTILINE), out
    assert re.search(r"^  announcement, 2 x AppSimpleWorker, .* \d+ msg/s  \(rounds: \d+ \d+\)", out, re.MULTILINE), out
    assert re.search(r"ratio to limit \d+\.\d\d \(rounds: \d+\.\d\d \d+\.\d\d; target >= 0.8: (met|NOT met)\)",
                     out), out
    assert re.search(r"one RQ job per email, .* \d+ msg/s", out), out


def test_runner_skips_benchmarks_that_are_not_there(monkeypatch, capsys):
    monkeypatch.setattr(runner, "BENCHMARKS", ("bench.no_such_bench",))
    assert runner.main() == 0
    assert "bench.no_such_bench: not present, skipped" in capsys.readouterr().out


def test_runner_fails_when_a_benchmark_cannot_measure(monkeypatch, capsys):
    monkeypatch.setattr(runner, "BENCHMARKS", ("bench.cache_bench",))
    monkeypatch.setattr(cache_bench, "main", lambda: 1)
    assert runner.main() == 1
