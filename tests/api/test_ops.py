"""Health and Prometheus metrics."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from api.app import create_app
from core.db import session_scope, utcnow
from telephony.models import Call
from tests.api.conftest import SCENARIOS, Api


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus exposition."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = re.match(r"^([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)$", line)
        if match is None or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(3) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match.group(4))
    raise AssertionError(f"no sample {name} {labels}")


def test_healthy(api: Api) -> None:
    for path in ("/api/v1/healthz", "/healthz"):
        reply = api.client.get(path)
        assert reply.status_code == 200
        assert reply.json()["status"] == "ok"
        assert reply.json()["checks"]["database"] == {"ok": True, "detail": None}


def test_an_unreachable_broker_is_503_naming_it(api: Api) -> None:
    settings = api.settings.model_copy(update={"broker_url": "redis://127.0.0.1:1/0"})
    with TestClient(create_app(settings)) as client:
        reply = client.get("/healthz")
    assert reply.status_code == 503
    body = reply.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is False
    assert "broker unreachable" in body["checks"]["broker"]["detail"]


def test_an_unreachable_database_is_503_naming_it(api: Api) -> None:
    settings = api.settings.model_copy(
        update={"database_url": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
    )
    with TestClient(create_app(settings)) as client:
        reply = client.get("/healthz")
        scrape = client.get("/metrics")
    assert reply.status_code == 503
    assert reply.json()["checks"]["database"]["ok"] is False
    assert reply.json()["checks"]["broker"]["ok"] is True
    # a scrape still answers, saying the figures could not be read
    assert scrape.status_code == 200
    assert metric(scrape.text, "callscope_metrics_database_up") == 0


def test_metrics_count_requests_by_route_template_and_read_the_database(api: Api) -> None:
    with session_scope(api.session_factory) as session:
        session.execute(update(Call).values(started_at=utcnow() - timedelta(days=2)))
        for scenario in ("answered-fast", "overtalk"):
            session.execute(
                update(Call)
                .where(Call.call_id == SCENARIOS[scenario])
                .values(started_at=utcnow() - timedelta(seconds=1))
            )
        assert len(list(session.scalars(select(Call.id)))) == 13
    for scenario in ("answered-fast", "overtalk", "answered-9s"):
        api.get("manager", f"/api/v1/calls/{SCENARIOS[scenario]}")
    api.get("alice", f"/api/v1/calls/{SCENARIOS['direct-answered']}")  # 404
    api.get("manager", "/api/v1/nothing-here")
    text = api.client.get("/metrics").text
    route = "/api/v1/calls/{call_id}"
    assert metric(text, "callscope_http_requests_total", route=route, status="200") == 3
    assert metric(text, "callscope_http_requests_total", route=route, status="404") == 1
    assert metric(text, "callscope_http_requests_total", route="<unmatched>", status="404") == 1
    assert metric(text, "callscope_http_request_duration_seconds_count", route=route) == 4
    assert metric(text, "callscope_transcription_backlog") == 1  # the pending transcript
    assert metric(text, "callscope_calls_today") == 2
    assert metric(text, "callscope_metrics_database_up") == 1
    assert metric(text, "callscope_ami_last_event_timestamp_seconds") > 1.7e9
    assert "/api/v1/calls/1795" not in text  # no series per call id
