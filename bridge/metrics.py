"""Prometheus metrics: request counters from this process, pipeline state from the database.

Pipeline gauges are read from the rows at scrape time, so they are right whatever process (web,
any worker) did the work; each app gets its own registry so tests and several apps never clash.
"""
from __future__ import annotations

import time
from collections.abc import Iterator

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bridge.db.models import Credential, Delivery


class _DatabaseCollector(Collector):
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def collect(self) -> Iterator[GaugeMetricFamily]:
        credentials = GaugeMetricFamily("edc_credentials", "Credentials by status", labels=["status"])
        deliveries = GaugeMetricFamily("edc_deliveries", "Deliveries by channel and status",
                                       labels=["channel", "status"])
        with self._sessions() as session:
            for status, count in session.execute(
                    select(Credential.status, func.count()).group_by(Credential.status)):
                credentials.add_metric([status], count)
            for channel, status, count in session.execute(
                    select(Delivery.channel, Delivery.status, func.count())
                    .group_by(Delivery.channel, Delivery.status)):
                deliveries.add_metric([channel, status], count)
        yield credentials
        yield deliveries


class Metrics:
    """The registry of one app and the counters its handlers and in-process tasks update."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("edc_http_requests", "HTTP requests", ["endpoint", "method", "status"],
                                registry=self.registry)
        self.latency = Histogram("edc_http_request_seconds", "HTTP request duration", ["endpoint"],
                                 registry=self.registry)
        self.completions = Counter("edc_completions_received", "Completions accepted", ["outcome"],
                                   registry=self.registry)
        self.sealed = Counter("edc_credentials_sealed", "Credentials sealed by this process",
                              registry=self.registry)
        self.deliveries = Counter("edc_delivery_attempts", "Delivery attempts by this process",
                                  ["channel", "outcome"], registry=self.registry)
        self.registry.register(_DatabaseCollector(sessions))

    def install(self, app: Flask) -> None:
        @app.before_request
        def _start() -> None:
            g.edc_started = time.perf_counter()

        @app.after_request
        def _count(response: Response) -> Response:
            endpoint = request.endpoint or "unmatched"
            self.requests.labels(endpoint, request.method, str(response.status_code)).inc()
            started = g.get("edc_started")
            if started is not None:
                self.latency.labels(endpoint).observe(time.perf_counter() - started)
            return response

    def render(self) -> Response:
        return Response(generate_latest(self.registry), mimetype=CONTENT_TYPE_LATEST)
