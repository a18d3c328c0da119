"""The live wallboard feed: the connector publishes what the PBX is doing, the API serves it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api import auth
from api.app import create_app
from api.models import User
from core.db import session_scope
from core.settings import Settings
from telephony.live import read_snapshot
from telephony.models import Call
from telephony.simulator import Faults, SimulatorOptions
from telephony.simulator_thread import SimulatorThread
from tests.telephony.test_connector import GOLDEN, connector_for, finish, run_in_thread

# ring-no-answer-then-next: the first agent's phone rings 16 s unanswered, then the next one's
WAITING = "1795331915.1300"


def snapshot(factory: sessionmaker[Session]) -> dict[str, Any] | None:
    with session_scope(factory) as session:
        return read_snapshot(db_session=session)


def wait_snapshot(
    factory: sessionmaker[Session], predicate: Callable[[dict[str, Any]], bool], what: str
) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    last = None
    while time.monotonic() < deadline:
        last = snapshot(factory)
        if last is not None and predicate(last):
            return last
        time.sleep(0.1)
    raise AssertionError(f"no snapshot with {what}; last: {last}")


def test_a_waiting_call_appears_on_the_wallboard_then_leaves_it(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    # hold the replay just before the second agent answers
    pause = next(
        i
        for i, p in enumerate(GOLDEN)
        if p.get("Linkedid") == WAITING
        and (p.name == "AgentConnect" or (p.name == "DialEnd" and p.get("DialStatus") == "ANSWER"))
    )
    options = SimulatorOptions(port=0, speed=0, faults=Faults(pause_at_index=pause))
    with SimulatorThread(GOLDEN, options) as sim:
        connector = connector_for(settings, session_factory, sim.port)
        thread = run_in_thread(connector)
        assert sim.wait_paused(30)

        def waiting_now(snap: dict[str, Any]) -> bool:
            return [w["call_id"] for w in snap["waiting"]] == [WAITING]

        paused_at = time.monotonic()
        held = wait_snapshot(
            session_factory,
            lambda s: waiting_now(s) and s["waiting"][0]["ringing"],
            "the call waiting while the second agent's phone rings",
        )
        call = held["waiting"][0]
        assert call["queue"] == "hotline"
        # waits are in PBX time: the capture's 16 s so far, not the instant replay's
        assert 15.5 <= call["wait_s"] < 17.0 + (time.monotonic() - paused_at)
        assert call["ringing"], "the agent whose phone rings"
        states = {a["name"]: a["state"] for a in held["agents"]}
        assert all(states[name] == "ringing" for name in call["ringing"])
        assert "free" in states.values()  # the other members the PBX reported
        assert held["connected"] is True
        assert held["longest_wait_s"] == call["wait_s"]

        # it keeps ticking while nothing happens: the wait grows with the clock
        later = wait_snapshot(
            session_factory,
            lambda s: waiting_now(s) and s["waiting"][0]["wait_s"] >= call["wait_s"] + 1.5,
            "a longer wait",
        )
        assert later["at"] > held["at"]

        sim.resume()
        assert sim.wait_done(30)
        done = wait_snapshot(
            session_factory,
            lambda s: not s["waiting"] and s["agent_counts"]["talking"] == 0,
            "nobody waiting or talking",
        )
        finish(connector, thread)

    with session_scope(session_factory) as session:
        answered = session.scalar(
            select(func.count()).where(Call.answered, Call.direction == "inbound")
        )
        within = session.scalar(
            select(func.count()).where(
                Call.answered, Call.direction == "inbound", Call.answered_within_target
            )
        )
    today = done["today"]
    assert today["answered"] == answered and today["answered_within_target"] == within
    assert today["within_target_rate"] == within / answered
    # a stopped connector says so
    assert snapshot(session_factory)["connected"] is False  # type: ignore[index]


def test_api_serves_the_snapshot_and_streams_it(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    with SimulatorThread(GOLDEN, SimulatorOptions(port=0, speed=0)) as sim:
        connector = connector_for(settings, session_factory, sim.port)
        thread = run_in_thread(connector)
        assert sim.wait_done(30)
        wait_snapshot(session_factory, lambda s: s["today"]["offered"] > 0, "calls today")
        with session_scope(session_factory) as session:
            agent = User(username="alice", password_hash="x", role="agent", agent_name="Alice Kim")
            session.add(agent)
            session.flush()
            token, _ = auth.create_token(db_session=session, user=agent, name="wallboard")
        with TestClient(create_app(settings)) as client:
            assert client.get("/api/v1/live").status_code == 401
            headers = {"Authorization": f"Bearer {token}"}
            body = client.get("/api/v1/live", headers=headers).json()
            assert body["stale"] is False and body["connected"] is True
            assert body["today"]["offered"] > 0 and body["waiting"] == []
            with client.stream("GET", "/api/v1/live/stream?limit=2", headers=headers) as resp:
                assert resp.status_code == 200
                assert resp.headers["content-type"].startswith("text/event-stream")
                started = time.monotonic()
                frames = [
                    json.loads(line[len("data: ") :])
                    for line in resp.iter_lines()
                    if line.startswith("data: ")
                ]
                assert time.monotonic() - started >= 0.9  # one a second
            assert len(frames) == 2 and all(f["today"] == body["today"] for f in frames)
            metrics = client.get("/metrics").text
            assert "callscope_connector_connected 1.0" in metrics
            assert "callscope_longest_wait_seconds 0.0" in metrics
        finish(connector, thread)
        with TestClient(create_app(settings)) as client:
            assert "callscope_connector_connected 0.0" in client.get("/metrics").text
