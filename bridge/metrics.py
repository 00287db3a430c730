"""Prometheus metrics: request counters, pipeline state from the database.

Pipeline gauges are read from the rows at scrape time, so they are right whatever process (web,
any worker) did the work; each app gets its own registry so tests and several apps never clash.
Under ``edc-bridge serve`` several gunicorn worker processes answer requests: with
``PROMETHEUS_MULTIPROC_DIR`` set (serve sets and empties it at start) counters live in that folder and
every scrape adds up all processes, whichever one answers it.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bridge.db.models import PENDING_CREDENTIAL_STATUSES, Credential, Delivery, utcnow
from bridge.tasks.claims import stale_claims

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess(folder: Path) -> None:
    """Count in ``folder``, shared by this process and the ones it forks, emptied first.

    Files of an earlier run would add its counts to this one's. Metrics made before this call keep
    counting in their own process only, so the server calls it before building the app.
    """
    if folder.is_dir():
        shutil.rmtree(folder)
    folder.mkdir(mode=0o700, parents=True)
    os.environ[MULTIPROC_ENV] = str(folder)
    values.ValueClass = values.get_value_class()


class _DatabaseCollector(Collector):
    def __init__(self, sessions: sessionmaker[Session], lease: dt.timedelta) -> None:
        self._sessions = sessions
        self._lease = lease

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
            # Heartbeats come every quarter lease: two missed beats mean the chunk's worker is stuck or gone.
            stuck, oldest = stale_claims(session, utcnow(), self._lease / 2)
        yield credentials
        yield deliveries
        yield GaugeMetricFamily("edc_delivery_claims_stale",
                                "Deliveries being sent whose claim's heartbeat is older than half the lease "
                                "(stuck or dead worker; the sweep releases them after the whole lease)",
                                value=stuck)
        yield GaugeMetricFamily("edc_delivery_claim_stale_seconds",
                                "Age of the oldest stale claim's heartbeat (0 when none)", value=oldest)
        yield self._oldest()

    def _oldest(self) -> GaugeMetricFamily:
        """The watchdog: how long the oldest unfinished work has waited. A credential still unsealed
        long after the sweep grace, or a delivery chunk claimed longer than the lease, means stalled
        workers (or no beat running the sweep), whatever each process believes it is doing."""
        oldest = GaugeMetricFamily("edc_oldest_unfinished_seconds",
                                   "Age of the oldest credential not yet sealed (since intake) and of the "
                                   "oldest delivery claimed by a worker (since its claim); 0 when none",
                                   labels=["stage"])
        now = utcnow()
        with self._sessions() as session:
            received = session.scalar(select(func.min(Credential.created_at)).where(
                Credential.status.in_(PENDING_CREDENTIAL_STATUSES)))
            claimed = session.scalar(select(func.min(Delivery.updated_at)).where(Delivery.status == "sending"))
        for stage, since in (("issuance", received), ("delivery_claimed", claimed)):
            oldest.add_metric([stage], max(0.0, (now - since).total_seconds()) if since is not None else 0.0)
        return oldest


class Metrics:
    """The registry of one app and the counters its handlers and in-process tasks update."""

    def __init__(self, sessions: sessionmaker[Session], lease: dt.timedelta = dt.timedelta(minutes=10)) -> None:
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
        self.claims_lost = Counter("edc_delivery_claims_lost",
                                   "Deliveries this process stopped handling because their claim had gone to "
                                   "another run (before_send: not sent; after_send: outcome not recorded)",
                                   ["channel", "stage"], registry=self.registry)
        self._database = _DatabaseCollector(sessions, lease)
        self.registry.register(self._database)

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
        registry = self.registry
        folder = os.environ.get(MULTIPROC_ENV)
        if folder and values.ValueClass is not values.MutexValue:
            registry = CollectorRegistry()  # every process's counters, read from their files
            MultiProcessCollector(registry, path=folder)
            registry.register(self._database)
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
