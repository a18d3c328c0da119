"""The wallboard follows the connector's snapshot live (server-sent events), no reload."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.db import make_engine, make_sessionmaker, session_scope
from telephony import service
from telephony.live import LIVE_KEY
from tests.web.conftest import Console, login
from tests.web.test_console import shoot_both

pytestmark = pytest.mark.browser


def store(console: Console, snapshot: dict[str, Any]) -> None:
    engine = make_engine(console.settings.database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            service.set_state(db_session=session, key=LIVE_KEY, value=json.dumps(snapshot))
    finally:
        engine.dispose()


def snapshot(waiting: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "at": "2026-11-22T08:00:00Z",
        "connected": True,
        "waiting": waiting,
        "agents": [
            {"name": "Alice Kim", "state": "ringing", "queue": "hotline", "since_s": 4.0},
            {"name": "Bob Li", "state": "talking", "queue": "hotline", "since_s": 185.0},
            {"name": "Chen Wei", "state": "talking", "queue": "sales", "since_s": 62.0},
            {"name": "Park Jiwoo", "state": "free", "queue": "sales", "since_s": None},
        ],
        "today": {
            "offered": 10,
            "answered": 8,
            "abandoned": 2,
            "answered_within_target": 6,
            "within_target_rate": 0.75,
        },
        "longest_wait_s": max((w["wait_s"] for w in waiting), default=0.0),
        "agent_counts": {"ringing": 1, "talking": 2, "free": 1},
    }


def test_a_new_waiting_caller_appears_without_a_reload(console: Console, new_page: Any) -> None:
    store(console, snapshot([]))
    page = new_page()
    login(page, "manager")
    page.goto("/wallboard")
    page.locator("#wb-agents li", has_text="Alice Kim").wait_for()
    assert "75%" in page.locator("#tile-rate").inner_text()
    caller = {"call_id": "x.1", "queue": "hotline", "wait_s": 47.0, "ringing": ["Alice Kim"]}
    store(console, snapshot([caller]))
    # the stream sends a frame a second: the caller shows up with the wait, and then leaves
    page.locator("#wb-waiting li", has_text="0:47").wait_for(timeout=5000)
    assert "1" in page.locator("#tile-waiting").inner_text()
    shoot_both(page, "wallboard", "#wb-waiting li")
    store(console, snapshot([]))
    page.locator("#wb-waiting li", has_text="0:47").wait_for(state="detached", timeout=5000)
