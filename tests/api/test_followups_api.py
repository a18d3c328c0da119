"""Follow-ups through the API: who sees which, closing with a note (audited), CSV export.

After the analysis of the golden calls, follow-ups are open for the two safety complaints
(Alice's and Bob's calls) and the three abandons that waited past the short-abandon limit.
"""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from api.models import AuditEntry
from core.db import session_scope
from tests.api.conftest import SCENARIOS, Api, post

EXPECTED = {
    "answered-1s-complaint",
    "ring-no-answer-then-next",
    "abandoned-in-queue",
    "direct-unanswered",
    "ringing-forever-abandoned",
}
# an agent's own: calls they answered, and unanswered calls that rang them
VISIBLE = {
    "alice": {"answered-1s-complaint", "abandoned-in-queue"},
    "bob": {"ring-no-answer-then-next"},  # not Alice's: her phone only rang on it
    "chen": {"ringing-forever-abandoned"},
    "park": {"direct-unanswered", "ringing-forever-abandoned"},
    "nobody": set(),
    "sup_hotline": {"answered-1s-complaint", "ring-no-answer-then-next", "abandoned-in-queue"},
    "sup_sales": {"ringing-forever-abandoned"},
    "manager": EXPECTED,
    "admin": EXPECTED,
}
BY_ID = {v: k for k, v in SCENARIOS.items()}


def ids_by_scenario(api: Api) -> dict[str, int]:
    items = api.get("manager", "/api/v1/followups", params={"page_size": "200"}).json()["items"]
    return {BY_ID[i["call_id"]]: i["id"] for i in items}


def test_each_user_reaches_exactly_their_followups(analysed: Api) -> None:
    api = analysed
    ids = ids_by_scenario(api)
    assert set(ids) == EXPECTED
    for user, visible in VISIBLE.items():
        listed = api.get(user, "/api/v1/followups").json()
        assert {BY_ID[i["call_id"]] for i in listed["items"]} == visible, user
        for scenario, followup_id in ids.items():
            reply = api.get(user, f"/api/v1/followups/{followup_id}")
            assert reply.status_code == (200 if scenario in visible else 404), (user, scenario)


def test_closing_with_a_note_is_audited_once(analysed: Api) -> None:
    api = analysed
    ids = ids_by_scenario(api)
    mine = ids["answered-1s-complaint"]
    url = f"/api/v1/followups/{mine}/close"
    assert post(api, "bob", url, {"note": "called"}).status_code == 404
    assert post(api, "alice", url, {"note": ""}).status_code == 422
    closed = post(api, "alice", url, {"note": "Called back, brake check booked."})
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert body["status"] == "done" and body["closed_by"] == "alice"
    assert body["note"] == "Called back, brake check booked."
    assert post(api, "sup_hotline", url, {"note": "again"}).status_code == 409

    done = api.get("alice", "/api/v1/followups", params={"status": "done"}).json()["items"]
    assert [i["id"] for i in done] == [mine]
    still_open = api.get("alice", "/api/v1/followups", params={"status": "open"}).json()["items"]
    assert [BY_ID[i["call_id"]] for i in still_open] == ["abandoned-in-queue"]
    with session_scope(api.session_factory) as session:
        entries = list(
            session.scalars(select(AuditEntry).where(AuditEntry.action == "followup.close"))
        )
        assert [(e.username, e.object_id) for e in entries] == [("alice", str(mine))]


def test_followups_export_as_csv(analysed: Api) -> None:
    api = analysed
    reply = api.get("sup_hotline", "/api/v1/followups", params={"format": "csv"})
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(reply.text)))
    assert {BY_ID[r["call_id"]] for r in rows} == VISIBLE["sup_hotline"]
    assert all(r["reason"] for r in rows)
    with session_scope(api.session_factory) as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "followups.export"))
        assert entry is not None and entry.username == "sup_hotline"
