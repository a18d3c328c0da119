"""Users, the audit trail and request-body validation."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import PASSWORD, Api


def audit(api: Api, **params: Any) -> dict[str, Any]:
    reply = api.get("admin", "/api/v1/audit", params=params)
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def new_user(api: Api, **fields: Any) -> Any:
    body = {"username": "dora", "password": "a long enough password", "role": "agent"}
    body.update(fields)
    return api.client.post("/api/v1/users", json=body, headers=api.as_("admin"))


def test_admin_creates_an_agent_who_can_sign_in_and_see_her_calls(api: Api) -> None:
    reply = new_user(api, agent_name="Park Jiwoo")
    assert reply.status_code == 201, reply.text
    user = reply.json()
    assert user["role"] == "agent" and user["agent_name"] == "Park Jiwoo" and user["active"]
    assert "password" not in user and "password_hash" not in user
    client = TestClient(api.app)
    login = client.post(
        "/api/v1/auth/login", json={"username": "dora", "password": "a long enough password"}
    )
    assert login.status_code == 200
    assert client.get("/api/v1/calls").json()["total"] == 3
    entries = audit(api, action="user.create")["items"]
    assert len(entries) == 1
    entry = entries[0]
    assert entry["username"] == "admin" and entry["object_id"] == str(user["id"])
    assert entry["detail"] == {
        "username": "dora",
        "role": "agent",
        "agent_name": "Park Jiwoo",
        "queues": [],
    }
    assert "password" not in str(entry)


@pytest.mark.parametrize(
    ("fields", "status", "words"),
    [
        ({"agent_name": None}, 422, "agent_name"),
        ({"role": "supervisor"}, 422, "queue"),
        ({"role": "root"}, 422, None),
        ({"username": "alice", "agent_name": "X"}, 409, "already taken"),
        ({"username": "has space", "agent_name": "X"}, 422, None),
        ({"password": "short", "agent_name": "X"}, 422, None),
        ({"agent_name": "Alice\x00Kim"}, 422, None),
        ({"role": "supervisor", "queues": ["sales\n"]}, 422, None),
    ],
)
def test_bad_users_are_refused_with_a_reason(
    api: Api, fields: dict[str, Any], status: int, words: str | None
) -> None:
    reply = new_user(api, **fields)
    assert reply.status_code == status, reply.text
    if words:
        assert words in reply.json()["detail"]


def test_unknown_fields_are_rejected_with_a_clear_body(api: Api) -> None:
    reply = new_user(api, agent_name="X", is_superuser=True)
    assert reply.status_code == 422
    assert reply.json()["detail"] == [
        {
            "type": "extra_forbidden",
            "loc": ["body", "is_superuser"],
            "msg": "Extra inputs are not permitted",
            "input": True,
        }
    ]
    patch = api.client.patch(
        f"/api/v1/users/{api.user_ids['bob']}", json={"rolle": "admin"}, headers=api.as_("admin")
    )
    assert patch.status_code == 422
    assert patch.json()["detail"][0]["loc"] == ["body", "rolle"]
    token = api.client.post(
        "/api/v1/tokens", json={"name": "x", "scope": "all"}, headers=api.as_("bob")
    )
    assert token.status_code == 422


def test_patch_changes_scope_and_is_audited(api: Api) -> None:
    bob = api.user_ids["bob"]
    reply = api.client.patch(
        f"/api/v1/users/{bob}",
        json={"role": "supervisor", "queues": ["sales", " sales "]},
        headers=api.as_("admin"),
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["queues"] == ["sales"]
    assert api.get("bob", "/api/v1/calls").json()["total"] == 2  # the sales queue's calls
    entry = audit(api, action="user.update")["items"][0]
    assert entry["detail"]["changed"] == ["role", "queues"]
    assert (
        api.client.patch(
            "/api/v1/users/999999", json={"active": False}, headers=api.as_("admin")
        ).status_code
        == 404
    )


def test_the_last_admin_cannot_be_demoted(api: Api) -> None:
    admin = api.user_ids["admin"]
    reply = api.client.patch(
        f"/api/v1/users/{admin}", json={"role": "manager"}, headers=api.as_("admin")
    )
    assert reply.status_code == 409
    assert api.get("admin", "/api/v1/users").status_code == 200  # still an admin


def test_exports_are_audited_with_their_filters(api: Api) -> None:
    api.get("sup_hotline", "/api/v1/calls/export.csv", params={"queue": "hotline"})
    entry = audit(api, action="calls.export")["items"][0]
    assert entry["username"] == "sup_hotline"
    assert entry["detail"] == {"filters": {"queue": "hotline"}}


def test_audit_is_newest_first_and_paged(api: Api) -> None:
    url = "/api/v1/calls/1795331836.1288/recording"
    for _ in range(3):
        api.get("manager", url)
    new_user(api, agent_name="X")
    everything = audit(api)
    assert everything["total"] == 4
    assert [e["action"] for e in everything["items"]] == ["user.create"] + ["recording.play"] * 3
    page = audit(api, page=2, page_size=3)
    assert len(page["items"]) == 1 and page["items"][0]["action"] == "recording.play"
    assert audit(api, username="manager")["total"] == 3
    assert audit(api, page_size=5000)["page_size"] == 200


def test_csv_cells_cannot_become_spreadsheet_formulas(api: Api) -> None:
    from sqlalchemy import update

    from core.db import session_scope
    from telephony.models import Call

    with session_scope(api.session_factory) as session:
        session.execute(
            update(Call)
            .where(Call.call_id == "1795331836.1288")
            .values(caller_name='=HYPERLINK("http://evil")')
        )
    text = api.get("manager", "/api/v1/calls/export.csv").text
    assert "'=HYPERLINK" in text
    assert ",=HYPERLINK" not in text and ',"=HYPERLINK' not in text


def test_sign_in_with_the_fixture_password(api: Api) -> None:
    reply = api.client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
    assert reply.status_code == 200
    assert "manage_users" in api.client.get("/api/v1/auth/me").json()["permissions"]
