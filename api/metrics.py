"""Prometheus metrics of one app: requests by route template, and figures read from the DB.

Each app has its own registry, so several apps in one process (tests) never clash.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.db import session_scope
from telephony.live import read_snapshot
from telephony.models import AmiEventLog, Call
from transcription.models import Transcript

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class DatabaseCollector(Collector):
    """Figures read from the database at scrape time."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "callscope_metrics_database_up", "1 when the figures below could be read"
        )
        try:
            figures = self._read()
        except Exception:  # a scrape must still answer when the database does not
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        backlog = GaugeMetricFamily(
            "callscope_transcription_backlog",
            "Transcripts pending or running",
        )
        backlog.add_metric([], figures["backlog"])
        yield backlog
        today = GaugeMetricFamily("callscope_calls_today", "Calls that started since 00:00 UTC")
        today.add_metric([], figures["calls_today"])
        yield today
        live = figures["live"]
        if live is not None:
            connected = GaugeMetricFamily(
                "callscope_connector_connected",
                "1 when the connector's AMI link is up and its snapshot is under 10 s old",
            )
            connected.add_metric([], 1 if live.get("connected") and live["age_s"] < 10 else 0)
            yield connected
            waiting = GaugeMetricFamily(
                "callscope_calls_waiting",
                "Callers waiting for a person now, by queue",
                labels=["queue"],
            )
            per_queue: dict[str, int] = {}
            for call in live.get("waiting", []):
                name = call.get("queue") or ""
                per_queue[name] = per_queue.get(name, 0) + 1
            for name, count in sorted(per_queue.items()):
                waiting.add_metric([name], count)
            yield waiting
            longest = GaugeMetricFamily(
                "callscope_longest_wait_seconds", "The longest current wait of a caller"
            )
            longest.add_metric([], float(live.get("longest_wait_s", 0.0)))
            yield longest
        if figures["last_event_ts"] is not None:
            last = GaugeMetricFamily(
                "callscope_ami_last_event_timestamp_seconds",
                "When the connector last stored an AMI event (epoch seconds): the link's pulse",
            )
            last.add_metric([], figures["last_event_ts"])
            yield last

    def _read(self) -> dict[str, Any]:
        midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        with session_scope(self.session_factory) as session:
            backlog = session.scalar(
                select(func.count(Transcript.id)).where(
                    Transcript.status.in_(("pending", "running"))
                )
            )
            calls_today = session.scalar(
                select(func.count(Call.id)).where(Call.started_at >= midnight)
            )
            last_id = session.scalar(select(func.max(AmiEventLog.id)))
            last_ts = (
                session.scalar(select(AmiEventLog.received_ts).where(AmiEventLog.id == last_id))
                if last_id is not None
                else None
            )
            live = read_snapshot(db_session=session)
        return {
            "backlog": backlog or 0,
            "calls_today": calls_today or 0,
            "last_event_ts": last_ts,
            "live": live,
        }


class ApiMetrics:
    """The app's registry: request counter and latency histogram, and the DB collector."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "callscope_http_requests",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "callscope_http_request_duration_seconds",
            "Time to answer a request (until the last byte), by method and route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(DatabaseCollector(session_factory))

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)


def route_template(scope: Scope) -> str:
    """The matched route's full template ('/api/v1/calls/{call_id}'), '<unmatched>' if none.

    The route object knows its path below the prefix it was included with; the prefix is what
    the request path has in front of that path filled in with the request's path parameters.
    """
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return "<unmatched>"
    try:
        filled = path.format(**scope.get("path_params", {}))
    except (KeyError, IndexError, ValueError):
        return path
    request_path = str(scope.get("path", ""))
    if request_path.endswith(filled):
        return request_path[: len(request_path) - len(filled)] + path
    return path


class MetricsMiddleware:
    """Times every HTTP request and counts it under its route template (not its raw path,
    which would make one series per call id)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            template = route_template(scope)
            method = scope.get("method", "GET")
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - began)
