"""The survey endpoints: answers on a call, callback lists, the index, within the access rules."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from analytics.flags import SURVEY_DISSATISFIED
from analytics.models import Flag
from analytics.surveys import callbacks
from api.models import AuditEntry
from core.db import session_scope
from telephony.models import Call
from tests.api.conftest import SCENARIOS, Api

ALICE_CALL = SCENARIOS["answered-1s-complaint"]  # answered by Alice Kim


def post(api: Api, name: str, url: str, json: object) -> object:
    return api.client.post(url, headers=api.as_(name), json=json)


def test_an_agent_answers_for_her_call_and_the_manager_sees_the_index_move(api: Api) -> None:
    url = f"/api/v1/surveys/calls/{ALICE_CALL}/responses"
    forms = api.get("alice", "/api/v1/surveys/forms").json()
    assert [q["key"] for q in forms[0]["questions"]] == [
        "overall",
        "reach_speed",
        "ivr_menu",
        "agent_attitude",
        "agent_resolution",
        "outcome",
    ]
    before = api.get("manager", "/api/v1/surveys/satisfaction?by=agent").json()
    assert all(r["index"] is None for r in before)
    # Bob may not see Alice's call: the same 404 as a call that does not exist
    denied = post(api, "bob", url, {"scores": {"overall": 5}})
    assert denied.status_code == 404  # type: ignore[attr-defined]
    bad = post(api, "alice", url, {"scores": {"overall": 9}})
    assert bad.status_code == 422  # type: ignore[attr-defined]
    assert bad.json()["detail"] == "overall: 9 is outside 1-5"  # type: ignore[attr-defined]
    ok = post(
        api,
        "alice",
        url,
        {"scores": {"overall": 2, "agent_attitude": 4}, "comment": "still squeals"},
    )
    assert ok.status_code == 201, ok.text  # type: ignore[attr-defined]
    body = ok.json()  # type: ignore[attr-defined]
    assert body["call_id"] == ALICE_CALL and body["source"] == "console"
    assert body["entered_by"] == "alice" and body["dissatisfied"] is True
    after = {
        r["group"]: r for r in api.get("manager", "/api/v1/surveys/satisfaction?by=agent").json()
    }
    alice = after["Alice Kim"]
    assert alice["responses"] == 1 and alice["dissatisfied_share"] == 1.0
    # overall 2 (weight 2) and attitude 4 (weight 1): (4 + 4) / 3 = 2.667 -> 41.67
    assert abs(alice["index"] - 41.67) < 0.01
    assert alice["comments"] == ["still squeals"]
    # Bob sees neither her answer nor her figures
    assert api.get("bob", "/api/v1/surveys/responses").json() == []
    bobs = api.get("bob", "/api/v1/surveys/satisfaction?by=agent").json()
    assert all(r["responses"] == 0 for r in bobs)
    with session_scope(api.session_factory) as session:
        call = session.scalar(select(Call).where(Call.call_id == ALICE_CALL))
        assert call is not None
        flag = session.scalar(
            select(Flag).where(Flag.call_pk == call.id, Flag.rule == SURVEY_DISSATISFIED)
        )
        assert flag is not None
        audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "survey.submit"))
        assert audit is not None and audit.object_id == ALICE_CALL
    drivers = api.get("manager", "/api/v1/surveys/drivers").json()
    assert [r["group"] for r in drivers["rings"]] == ["within 3 rings"]


def test_callback_lists_for_me_and_my_team_and_completing_an_item(api: Api) -> None:
    with session_scope(api.session_factory) as session:
        items = callbacks.build_callbacks(
            db_session=session,
            day=date(2026, 11, 22),
            settings=api.settings,
            options=callbacks.CallbackOptions(sample=20),
            tz="UTC",
        )
        assert len(items) > 4
    mine = api.get("alice", "/api/v1/surveys/callbacks?scope=me").json()
    assert mine and {r["agent"] for r in mine} == {"Alice Kim"}
    team = api.get("sup_sales", "/api/v1/surveys/callbacks?scope=team").json()
    assert team and {r["queue"] for r in team} == {"sales"}
    everything = api.get("manager", "/api/v1/surveys/callbacks?scope=team").json()
    assert len(everything) == len(items)
    item = mine[0]
    url = f"/api/v1/surveys/callbacks/{item['id']}/complete"
    assert post(api, "bob", url, {"note": "called"}).status_code == 404  # type: ignore[attr-defined]
    done = post(api, "alice", url, {"note": "no answer after 3 tries"})
    assert done.status_code == 200, done.text  # type: ignore[attr-defined]
    assert done.json()["status"] == "done" and done.json()["closed_by"] == "alice"  # type: ignore[attr-defined]
    again = post(api, "alice", url, {"note": "again"})
    assert again.status_code == 409  # type: ignore[attr-defined]
    left = api.get("alice", "/api/v1/surveys/callbacks?scope=me").json()
    assert item["id"] not in {r["id"] for r in left}
    with session_scope(api.session_factory) as session:
        audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "callback.complete"))
        assert audit is not None and audit.object_id == str(item["id"])


def test_rejected_inputs_are_for_managers(api: Api) -> None:
    assert api.get("alice", "/api/v1/surveys/rejects").status_code == 403
    assert api.get("manager", "/api/v1/surveys/rejects").json() == []


def test_periods_without_a_zone_are_the_hotlines_and_bad_ones_are_422(api: Api) -> None:
    for path in ("satisfaction", "drivers", "responses"):
        naive = api.get("manager", f"/api/v1/surveys/{path}?since=2026-11-22T00:00:00")
        assert naive.status_code == 200, (path, naive.text)
        backwards = api.get(
            "manager", f"/api/v1/surveys/{path}?since=2026-11-23T00:00:00Z&until=2026-11-22"
        )
        assert backwards.status_code == 422 and "before" in backwards.text, path
