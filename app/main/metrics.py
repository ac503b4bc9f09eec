"""/metrics in the Prometheus text format.

Values are read when scraped (a collector, not counters in this process), so
every gunicorn worker answers with the same, app-wide numbers. Other parts of
the app add their families with ``register_metrics_source``.
"""
from __future__ import annotations

from typing import Callable, Iterable

from flask import current_app
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import CollectorRegistry

from app.posts.cache import post_cache

MetricsSource = Callable[[], Iterable[Metric]]


def cache_metrics() -> Iterable[Metric]:
    totals = post_cache().stats.totals()
    family = CounterMetricFamily("filmclub_cache_requests", "Post cache lookups by outcome", labels=["outcome"])
    for outcome, n in sorted(totals.items()):
        family.add_metric([outcome], n)
    yield family


class _Collector:
    def __init__(self, sources: list[MetricsSource]) -> None:
        self.sources = sources

    def collect(self) -> Iterable[Metric]:
        for source in self.sources:
            yield from source()


def register_metrics_source(app, source: MetricsSource) -> None:
    app.extensions.setdefault("metrics_sources", []).append(source)


def render_metrics() -> bytes:
    sources = [cache_metrics, *current_app.extensions.get("metrics_sources", [])]
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(sources))
    return generate_latest(registry)
