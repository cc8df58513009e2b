"""Prometheus metrics: what the service counts as it runs, and what it reads from the database at scrape time.

Counters and histograms live in this process. Under gunicorn each worker is a process, so set
PROMETHEUS_MULTIPROC_DIR (an empty directory, emptied at each service start) before the workers
start: prometheus_client then writes each worker's values there and a scrape sums them all,
including the sweep's from cron. Open attempts is a gauge computed from the database at scrape
time, so it is right whichever worker answers and whatever was restarted.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

from flask import Flask, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

REQUESTS = Counter("testengine_requests", "HTTP requests by endpoint, method and status", ["endpoint", "method", "status"])
LATENCY = Histogram(
    "testengine_request_seconds",
    "Time to answer a request, by endpoint",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SAVES = Counter("testengine_saves", "Answer saves, by outcome", ["outcome"])
STARTS = Counter("testengine_starts", "Tests started by apprentices")
SWEEP_SUBMITTED = Counter("testengine_sweep_submitted", "Attempts the deadline sweep submitted because time was up")
SWEEP_RUNS = Counter("testengine_sweep_runs", "Deadline sweep runs")


class OpenAttempts(Collector):
    """Open attempts by state, read when scraped (a per-process gauge would be wrong under several workers)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from sqlalchemy import func, select

        from ..extensions import db
        from ..models import Attempt
        from ..models.attempts import OPEN_STATES

        rows = db.session.execute(
            select(Attempt.state, func.count()).where(Attempt.state.in_(OPEN_STATES)).group_by(Attempt.state)
        )
        counts = {state: count for state, count in rows}
        db.session.rollback()
        gauge = GaugeMetricFamily("testengine_open_attempts", "Attempts not yet submitted, by state", labels=["state"])
        for state in OPEN_STATES:
            gauge.add_metric([state], float(counts.get(state, 0)))
        yield gauge


def exposition() -> bytes:
    """The scrape: this process's metrics (or every process's, in multiprocess mode) and the database gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)
    else:
        from prometheus_client import REGISTRY

        counted = REGISTRY
    from_database = CollectorRegistry(auto_describe=True)
    from_database.register(OpenAttempts())
    return generate_latest(counted) + generate_latest(from_database)


def install(app: Flask) -> None:
    """Time and count every request by endpoint (the route, never the URL: ids would explode the series)."""

    @app.before_request
    def _start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _count(response: Any) -> Any:
        started = g.pop("metrics_started", None)
        endpoint = request.endpoint or "unmatched"
        REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
        if started is not None:
            LATENCY.labels(endpoint).observe(time.perf_counter() - started)
        return response
