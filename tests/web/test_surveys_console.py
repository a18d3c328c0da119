"""The survey pages in Chromium: an agent takes a survey on a callback, the manager sees the
satisfaction index move, and both pages show the API's figures."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from analytics.surveys import callbacks, service
from core.db import make_engine, make_sessionmaker, session_scope
from telephony.models import Agent, Call
from tests.web.a11y import check_page
from tests.web.conftest import DESKTOP, NARROW, Console, ConsoleErrors, login, screenshot

pytestmark = pytest.mark.browser

WEB = Path(__file__).resolve().parents[2] / "web"
LANGS = ("en", "zh", "ko")
SCORES = {  # what the customer says on the callback (label of the button to press)
    "overall": 5,
    "reach_speed": 4,
    "ivr_menu": 4,
    "agent_attitude": 5,
    "agent_resolution": 5,
    "outcome": 5,
}


@dataclass
class SurveyData:
    """The callback list of the golden day and the answer that was there before the test."""

    day: str
    items: int
    earlier_call: str


@pytest.fixture(scope="module")
def survey_data(console: Console) -> Iterator[SurveyData]:
    """The golden day's callback list, and one earlier (middling) answer on a call of Bob's, so
    the index has a value before the agent's survey."""
    engine = make_engine(console.settings.database_url)
    factory = make_sessionmaker(engine)
    with session_scope(factory) as session:
        items = callbacks.build_callbacks(
            db_session=session,
            day=date.fromisoformat(console.day),
            settings=console.settings,
            options=callbacks.CallbackOptions(sample=20),
            tz="UTC",
        )
        bob = session.scalar(
            select(Call)
            .join(Agent, Call.agent_id == Agent.id)
            .where(Agent.name == "Bob Li", Call.direction == "inbound", Call.answered)
            .order_by(Call.started_at)
        )
        assert bob is not None, "the golden capture has a call Bob answered"
        service.submit_response(
            db_session=session,
            call_pk=bob.id,
            scores=dict.fromkeys(SCORES, 3),
            settings=console.settings,
            source="csv",
            would_recommend=False,
            entered_by="browser-test",
        )
        data = SurveyData(day=console.day, items=len(items), earlier_call=bob.call_id)
    engine.dispose()
    yield data


def _range(day: str, tz: str) -> dict[str, str]:
    """The local day as the page asks for it: midnight to midnight in the hotline's zone."""
    start = datetime.combine(date.fromisoformat(day), time(0), ZoneInfo(tz))
    end = datetime.combine(date.fromisoformat(day) + timedelta(days=1), time(0), ZoneInfo(tz))
    return {"since": start.isoformat(), "until": end.isoformat()}


def _shown_index(page: Any) -> float | None:
    raw = page.locator("[data-kpi='index']").get_attribute("data-value")
    return float(raw) if raw else None


def _open_satisfaction(page: Any, day: str) -> None:
    page.goto(f"/satisfaction?since={day}&until={day}&by=agent")
    page.wait_for_selector("body[data-sat-ready]")


def test_agent_takes_a_survey_and_the_manager_sees_the_index_move(
    console: Console, new_page: Any, survey_data: SurveyData
) -> None:
    period = _range(survey_data.day, console.settings.timezone)
    (whole_before,) = console.api("manager", "GET", "/surveys/satisfaction", params=period)
    manager = new_page()
    login(manager, "manager")
    _open_satisfaction(manager, survey_data.day)
    before = _shown_index(manager)
    assert before is not None and before == whole_before["index"]

    mine = console.api("alice", "GET", "/surveys/callbacks", params={"scope": "me"})
    item = next(i for i in mine if i["response_id"] is None)
    agent = new_page()
    login(agent, "alice")
    agent.locator(".mainnav a", has_text="Callbacks").click()
    agent.wait_for_url("**/callbacks")
    rows = agent.locator("#cb-body tr[data-item]")
    rows.first.wait_for()
    shown = set(rows.evaluate_all("rows => rows.map(r => Number(r.dataset.item))"))
    assert shown == {i["id"] for i in mine}  # her items, and only hers
    agent.locator(f"#cb-body tr[data-item='{item['id']}'] button").click()
    survey = agent.locator("#cb-form")
    survey.wait_for()
    href = agent.locator("#cb-detail a.cb-calllink").get_attribute("href") or ""
    assert href.endswith(f"/calls/{item['call_id']}")  # the judged call, its facts beside
    assert agent.locator("#cb-facts dd").count() == 9
    assert agent.locator("#cb-state").get_attribute("data-answered") == "false"
    questions = survey.locator("fieldset[data-question^='q-']")
    assert questions.count() == 6
    for key, score in SCORES.items():
        survey.locator(f"#cb-q-{key}-{score}").check()
    survey.locator("#cb-recommend-yes").check()
    survey.locator("#cb-comment").fill("Quick answer, fixed on the first call.")
    problems = check_page(agent)
    _shoot_both(agent, "callbacks", "#cb-form")
    survey.locator("button[type=submit]").click()
    agent.locator("#cb-state[data-answered='true']").wait_for()
    assert agent.locator("#cb-form").count() == 0
    # what the connector would do on seeing the call: here the agent says so by hand
    agent.locator("#cb-complete button[type=submit]").click()
    agent.locator("#cb-state[data-status='done']").wait_for()
    assert "alice" in agent.locator("#cb-state").inner_text()

    done = console.api("alice", "GET", "/surveys/callbacks", params={"status": "done"})
    stored = next(i for i in done if i["id"] == item["id"])
    assert stored["closed_by"] == "alice" and stored["response_id"] is not None
    (answer,) = [
        r
        for r in console.api("alice", "GET", "/surveys/responses")
        if r["id"] == stored["response_id"]
    ]
    assert answer["call_id"] == item["call_id"] and answer["source"] == "console"
    assert answer["scores"] == SCORES and answer["would_recommend"] is True
    assert answer["comment"].startswith("Quick answer") and answer["entered_by"] == "alice"

    # the manager's index moves, to the API's figure
    _open_satisfaction(manager, survey_data.day)
    after = _shown_index(manager)
    (whole,) = console.api("manager", "GET", "/surveys/satisfaction", params=period)
    assert after == whole["index"] and after is not None and after > before
    assert manager.locator("[data-kpi='index'] .value").inner_text() == f"{whole['index']:.1f}"
    by_agent = console.api(
        "manager", "GET", "/surveys/satisfaction", params={**period, "by": "agent"}
    )
    alice = next(r for r in by_agent if r["group"] == "Alice Kim")
    cell = manager.locator("#sat-groups tr[data-group='Alice Kim'] td[data-field='index']")
    assert float(cell.get_attribute("data-value") or "nan") == alice["index"]
    responses = manager.locator("[data-kpi='responses']").get_attribute("data-value")
    assert int(responses or "-1") == whole["responses"]
    drivers = console.api("manager", "GET", "/surveys/drivers", params=period)
    assert manager.locator("#drv-rings tbody tr[data-group]").count() == len(drivers["rings"])
    manager.wait_for_function("document.querySelector('#chart-rings').width > 0")
    problems += check_page(manager)
    _shoot_both(manager, "satisfaction", "body[data-sat-ready] #sat-groups tr[data-group]")
    assert not problems, "\n".join(problems)


def test_survey_pages_in_chinese_and_korean(
    console: Console, new_page: Any, page_errors: ConsoleErrors
) -> None:
    page = new_page(locale="zh-CN")
    login(page, "sup_hotline")
    assert "回访" in page.locator(".mainnav").inner_text()
    page.goto(f"/satisfaction?since={console.day}&until={console.day}")
    page.wait_for_selector("body[data-sat-ready]")
    assert page.locator("h1").inner_text() == "满意度"
    assert page.locator("[data-kpi='index'] .label").inner_text() == "满意度指数"
    page = new_page(locale="ko-KR")
    login(page, "alice")
    page.goto("/callbacks")
    page.locator("#cb-body tr").first.wait_for()
    assert page.locator("h1").inner_text() == "해피콜"
    assert page.locator("label[for='cb-status']").inner_text() == "상태"
    # an agent does not open the manager's dashboard
    page_errors.allow(
        "/satisfaction: Failed to load resource: the server responded with a status of 403"
    )
    assert page.goto("/satisfaction").status == 403


def test_every_survey_label_is_in_three_languages() -> None:
    catalogue = json.loads((WEB / "messages.json").read_text(encoding="utf-8"))
    sources = [
        WEB / "templates" / "callbacks.html",
        WEB / "templates" / "satisfaction.html",
        WEB / "static" / "js" / "callbacks.js",
        WEB / "static" / "js" / "satisfaction.js",
    ]
    used: set[str] = set()
    for source in sources:
        text = source.read_text(encoding="utf-8")
        used |= set(re.findall(r"""\bt(?:Or)?\(\s*["']([a-z_]+\.[a-z_.]+)["']""", text))
        used |= set(re.findall(r"""\bt\[['"]([a-z_]+\.[a-z_.]+)['"]\]""", text))
    used |= {f"survey.q.{key}" for key in SCORES}
    used |= {f"cb.reason_{reason}" for reason in callbacks.REASONS}
    used |= {f"cb.status_{status}" for status in ("open", "overdue", "done")}
    assert len(used) > 60
    missing = sorted(
        f"{key} ({lang})" for key in used for lang in LANGS if not catalogue.get(key, {}).get(lang)
    )
    assert not missing, "untranslated: " + ", ".join(missing)


def _shoot_both(page: Any, name: str, ready: str) -> None:
    """Screenshots at desktop and narrow widths, waiting for `ready` after each resize."""
    page.set_viewport_size(DESKTOP)
    page.wait_for_selector(ready)
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, name)
    page.set_viewport_size(NARROW)
    page.wait_for_selector(ready)
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, name)
    page.set_viewport_size(DESKTOP)
