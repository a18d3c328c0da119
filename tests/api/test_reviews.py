"""QA reviews through the API: the scorecard arithmetic, who may read and answer which review,
the dispute flow, the audit trail, CSRF on cookie sessions, the review queue.

Golden facts used (ring cycle 5 s, target 3 rings = 15 s): Alice answered `answered-fast`
after 3 s (ring 1); Bob answered `ring-no-answer-then-next` after Alice's phone rang 15 s
unanswered, so ring to answer is past 15 s: the auto-filled, critical "answered within three
rings" item is missed.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from api.models import AuditEntry
from core.db import session_scope
from telephony.models import Call
from tests.api.conftest import SCENARIOS, Api, post
from tests.api.test_auth import login

ALICE_CALL = SCENARIOS["answered-fast"]
BOB_CALL = SCENARIOS["ring-no-answer-then-next"]
SALES_CALL = SCENARIOS["ringall-fastest-wins"]

# weights of the default form: rings 1 (critical, auto), greeting 1, needs 2, courteous 2
# (critical), solved 3, closing 1 = 10
ALL_MET = [
    {"criterion": "greeting", "score": 1},
    {"criterion": "needs_confirmed", "score": 1},
    {"criterion": "courteous", "score": 1},
    {"criterion": "solved", "score": 1},
    {"criterion": "closing", "score": 1},
]


def scores(**changes: int | None) -> list[dict[str, Any]]:
    """ALL_MET with some scores changed."""
    return [
        {**s, "score": changes[s["criterion"]]} if s["criterion"] in changes else s for s in ALL_MET
    ]


def review(api: Api, user: str, call_id: str, body_scores: list[dict[str, Any]]) -> Any:
    return post(api, user, f"/api/v1/calls/{call_id}/reviews", {"scores": body_scores})


def audit_actions(api: Api) -> list[tuple[str, str, str | None]]:
    with session_scope(api.session_factory) as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(e.action, e.username, e.object_id) for e in rows]


def test_total_is_weighted_and_a_missed_critical_item_fails_the_call(api: Api) -> None:
    # solved (weight 3) missed: 7 of 10 weight points; nothing critical missed
    reply = review(api, "sup_hotline", ALICE_CALL, scores(solved=0))
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["total_score"] == 70.0
    assert body["failed"] is False
    rings = next(s for s in body["scores"] if s["key"] == "answered_within_three_rings")
    assert rings["auto"] is True and rings["score"] == 1 and rings["critical"] is True
    assert body["agent"] == "Alice Kim" and body["status"] == "submitted"

    # Bob's call: every handled item met, but the caller waited past three rings
    body = review(api, "sup_hotline", BOB_CALL, ALL_MET).json()
    rings = next(s for s in body["scores"] if s["key"] == "answered_within_three_rings")
    assert rings["score"] == 0 and rings["missed"] is True
    assert body["total_score"] == 90.0
    assert body["failed"] is True

    # closing not applicable: left out of the weights (9 of 9), courteous missed fails the call
    body = review(api, "manager", ALICE_CALL, scores(closing=None, courteous=0)).json()
    assert body["total_score"] == round(100 * 7 / 9, 2)
    assert body["failed"] is True


def test_scores_that_do_not_fit_the_form_are_refused(api: Api) -> None:
    url_call = ALICE_CALL
    unknown = review(api, "manager", url_call, [*ALL_MET, {"criterion": "smile", "score": 1}])
    assert unknown.status_code == 422 and "smile" in unknown.json()["detail"]
    missing = review(api, "manager", url_call, ALL_MET[1:])
    assert missing.status_code == 422 and "greeting" in missing.json()["detail"]
    too_high = review(api, "manager", url_call, scores(greeting=2))
    assert too_high.status_code == 422
    critical_na = review(api, "manager", url_call, scores(courteous=None))
    assert critical_na.status_code == 422 and "critical" in critical_na.json()["detail"]
    extra = post(
        api, "manager", f"/api/v1/calls/{url_call}/reviews", {"scores": ALL_MET, "bonus": 1}
    )
    assert extra.status_code == 422


def test_who_may_read_which_review_by_id_and_by_list(api: Api) -> None:
    alice_review = review(api, "sup_hotline", ALICE_CALL, ALL_MET).json()["id"]
    bob_review = review(api, "manager", BOB_CALL, ALL_MET).json()["id"]
    sales_review = review(api, "sup_sales", SALES_CALL, ALL_MET).json()["id"]
    expected = {
        "alice": {alice_review},
        # Bob's call rang Alice first: she sees the call, not Bob's review
        "bob": {bob_review},
        "park": {sales_review},  # Park answered the ringall call
        "chen": set(),  # Chen's phone rang on it, but he did not answer
        "nobody": set(),
        "sup_hotline": {alice_review, bob_review},
        "sup_sales": {sales_review},
        "manager": {alice_review, bob_review, sales_review},
        "admin": {alice_review, bob_review, sales_review},
    }
    every = {alice_review, bob_review, sales_review}
    for user, visible in expected.items():
        listed = api.get(user, "/api/v1/reviews").json()
        assert {r["id"] for r in listed["items"]} == visible, user
        assert listed["total"] == len(visible)
        for review_id in every:
            reply = api.get(user, f"/api/v1/reviews/{review_id}")
            assert reply.status_code == (200 if review_id in visible else 404), (user, review_id)
    # a list filter cannot reach around the check
    assert api.get("alice", "/api/v1/reviews", params={"agent": "Bob Li"}).json()["items"] == []
    assert api.get("bob", "/api/v1/reviews", params={"queue": "hotline"}).json()["total"] == 1
    # the call's history: Alice sees Bob's call but an empty review history on it
    assert api.get("alice", f"/api/v1/calls/{BOB_CALL}/reviews").json() == []
    history = api.get("bob", f"/api/v1/calls/{BOB_CALL}/reviews").json()
    assert [r["id"] for r in history] == [bob_review]
    assert api.get("sup_sales", f"/api/v1/calls/{BOB_CALL}/reviews").status_code == 404


def test_only_reviewers_review_and_only_calls_they_may_see(api: Api) -> None:
    assert review(api, "alice", ALICE_CALL, ALL_MET).status_code == 403
    assert review(api, "sup_sales", ALICE_CALL, ALL_MET).status_code == 404
    assert review(api, "sup_hotline", "no.such.call", ALL_MET).status_code == 404


def test_dispute_and_resolution_flow_is_enforced_and_audited(api: Api) -> None:
    created = review(api, "sup_hotline", ALICE_CALL, scores(solved=0)).json()
    review_id = created["id"]
    url = f"/api/v1/reviews/{review_id}"

    # only the call's agent answers it: Bob cannot even see it; a supervisor is not the agent
    assert post(api, "bob", f"{url}/dispute", {"comment": "no"}).status_code == 404
    assert post(api, "sup_hotline", f"{url}/acknowledge").status_code == 403
    assert post(api, "alice", f"{url}/dispute", {}).status_code == 422  # a dispute says why
    # nothing to resolve before a dispute
    early = post(api, "sup_hotline", f"{url}/resolve", {"resolution": "upheld", "comment": "ok"})
    assert early.status_code == 409

    disputed = post(api, "alice", f"{url}/dispute", {"comment": "The caller's issue was solved."})
    assert disputed.status_code == 200, disputed.text
    assert disputed.json()["status"] == "disputed"
    assert disputed.json()["agent_comment"] == "The caller's issue was solved."
    assert post(api, "alice", f"{url}/acknowledge").status_code == 409  # answered once

    revise = {
        "resolution": "revised",
        "comment": "Listened again: a visit was booked.",
        "scores": [{"criterion": "solved", "score": 1}],
    }
    assert post(api, "alice", f"{url}/resolve", revise).status_code == 403
    assert post(api, "sup_sales", f"{url}/resolve", revise).status_code == 404
    resolved = post(api, "sup_hotline", f"{url}/resolve", revise)
    assert resolved.status_code == 200, resolved.text
    body = resolved.json()
    assert body["status"] == "resolved" and body["resolution"] == "revised"
    assert body["total_score"] == 100.0 and body["failed"] is False
    assert body["resolved_by"] == "sup_hotline"
    again = post(api, "manager", f"{url}/resolve", {"resolution": "upheld", "comment": "x"})
    assert again.status_code == 409

    trail = [(a, u) for a, u, o in audit_actions(api) if o == str(review_id)]
    assert trail == [
        ("review.create", "sup_hotline"),
        ("review.dispute", "alice"),
        ("review.resolve", "sup_hotline"),
    ]


def test_acknowledge(api: Api) -> None:
    review_id = review(api, "manager", ALICE_CALL, ALL_MET).json()["id"]
    reply = post(api, "alice", f"/api/v1/reviews/{review_id}/acknowledge", {"comment": "thanks"})
    assert reply.status_code == 200
    assert reply.json()["status"] == "acknowledged"
    assert reply.json()["agent_responded_by"] == "alice"
    assert ("review.acknowledge", "alice", str(review_id)) in audit_actions(api)


def test_a_cookie_session_needs_the_csrf_token_to_review(api: Api) -> None:
    csrf = login(api.client, "sup_hotline")
    url = f"/api/v1/calls/{ALICE_CALL}/reviews"
    refused = api.client.post(url, json={"scores": ALL_MET})
    assert refused.status_code == 403
    assert "X-CSRF-Token" in refused.json()["detail"]
    assert not [a for a in audit_actions(api) if a[0] == "review.create"]
    accepted = api.client.post(url, json={"scores": ALL_MET}, headers={"X-CSRF-Token": csrf})
    assert accepted.status_code == 201, accepted.text


def test_forms_are_configurable_by_managers(api: Api) -> None:
    forms = api.get("alice", "/api/v1/qa/forms").json()
    assert [f["is_default"] for f in forms] == [True]
    keys = [c["key"] for c in forms[0]["criteria"]]
    assert keys == [
        "answered_within_three_rings",
        "greeting",
        "needs_confirmed",
        "courteous",
        "solved",
        "closing",
    ]
    form = {
        "name": "Complaint call",
        "criteria": [
            {"key": "empathy", "label": "Shows empathy", "weight": 1, "max_score": 5},
            {"key": "escalated", "label": "Escalated correctly", "weight": 3, "critical": True},
        ],
    }
    assert post(api, "sup_hotline", "/api/v1/qa/forms", form).status_code == 403
    bad = {**form, "criteria": [{**form["criteria"][0], "weight": 0}]}
    assert post(api, "manager", "/api/v1/qa/forms", bad).status_code == 422
    created = post(api, "manager", "/api/v1/qa/forms", form)
    assert created.status_code == 201, created.text
    form_id = created.json()["id"]
    assert post(api, "manager", "/api/v1/qa/forms", form).status_code == 422  # name taken

    body = {
        "form_id": form_id,
        "scores": [{"criterion": "empathy", "score": 4}, {"criterion": "escalated", "score": 1}],
    }
    reply = post(api, "sup_hotline", f"/api/v1/calls/{ALICE_CALL}/reviews", body).json()
    # 100 x (1 x 4/5 + 3 x 1) / 4
    assert reply["total_score"] == 95.0 and reply["form_name"] == "Complaint call"

    retired = api.client.patch(
        f"/api/v1/qa/forms/{form_id}", json={"active": False}, headers=api.as_("manager")
    )
    assert retired.status_code == 200 and retired.json()["active"] is False
    again = post(api, "sup_hotline", f"/api/v1/calls/{ALICE_CALL}/reviews", body)
    assert again.status_code == 422
    actions = [a for a, _, o in audit_actions(api) if o == str(form_id)]
    assert actions == ["qa_form.create", "qa_form.update"]


def test_review_status_on_the_call_list(analysed: Api) -> None:
    api = analysed

    def statuses(user: str) -> dict[str, str | None]:
        items = api.get(user, "/api/v1/calls", params={"page_size": "200"}).json()["items"]
        return {i["call_id"]: i["review_status"] for i in items}

    assert set(statuses("manager").values()) == {None}
    review_id = review(api, "sup_hotline", ALICE_CALL, ALL_MET).json()["id"]
    post(api, "alice", f"/api/v1/reviews/{review_id}/dispute", {"comment": "why?"})
    assert statuses("manager")[ALICE_CALL] == "disputed"
    assert statuses("alice")[ALICE_CALL] == "disputed"
    assert api.get("alice", f"/api/v1/calls/{ALICE_CALL}").json()["review_status"] == "disputed"

    day = started_day(api, ALICE_CALL)
    assert api.get("manager", "/api/v1/review-queue", params={"day": day}).status_code == 200
    complaint = SCENARIOS["answered-1s-complaint"]  # flagged (safety): in the queue
    assert statuses("manager")[complaint] == "queued"
    assert statuses("alice")[complaint] is None  # agents are not told what QA picked


def started_day(api: Api, call_id: str) -> str:
    with session_scope(api.session_factory) as session:
        call = session.scalar(select(Call).where(Call.call_id == call_id))
        assert call is not None
        return call.started_at.astimezone(UTC).date().isoformat()


def test_review_queue_is_built_once_and_cut_to_the_users_queues(analysed: Api) -> None:
    api = analysed
    day = started_day(api, ALICE_CALL)
    assert api.get("alice", "/api/v1/review-queue", params={"day": day}).status_code == 403

    first = api.get("sup_hotline", "/api/v1/review-queue", params={"day": day})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["built_now"] is True and body["day"] == day
    items = body["items"]
    assert items and {i["queue"] for i in items} == {"hotline"}
    # the two safety complaints are critical flags: first, the newer one first
    top = items[:2]
    assert [i["call_id"] for i in top] == [SCENARIOS["answered-1s-complaint"], BOB_CALL]
    assert all(i["severity"] == "critical" and "safety" in i["themes"] for i in top)
    assert top[0]["reasons"][0]["rule"] == "theme:safety"
    assert top[0]["agent"] == "Alice Kim" and top[0]["rings"] is not None
    severities = [i["severity"] for i in items]
    ranks = [["low", "medium", "high", "critical"].index(s) if s else -1 for s in severities]
    assert ranks == sorted(ranks, reverse=True)

    second = api.get("sup_hotline", "/api/v1/review-queue", params={"day": day}).json()
    assert second["built_now"] is False and second["items"] == items
    sales = api.get("sup_sales", "/api/v1/review-queue", params={"day": day}).json()["items"]
    assert {i["queue"] for i in sales} == {"sales"}
    everything = api.get("manager", "/api/v1/review-queue", params={"day": day}).json()["items"]
    direct = [i for i in everything if i["queue"] is None]  # direct calls: managers only
    assert direct and len(everything) == len(items) + len(sales) + len(direct)

    export = api.get("sup_hotline", "/api/v1/review-queue", params={"day": day, "format": "csv"})
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text.split("\n", 2)[2])))
    assert [r["call_id"] for r in rows] == [i["call_id"] for i in items]
    assert ("review_queue.export", "sup_hotline", f"review-queue-{day}.csv") in audit_actions(api)

    assert (
        api.get("manager", "/api/v1/review-queue", params={"day": "1999-12-31"}).status_code == 422
    )


def test_review_list_exports_as_csv_and_is_audited(api: Api) -> None:
    review(api, "sup_hotline", ALICE_CALL, scores(solved=0))
    review(api, "sup_hotline", BOB_CALL, ALL_MET)
    for url, params in (
        ("/api/v1/reviews", {"format": "csv"}),
        ("/api/v1/reviews/export.csv", {}),
    ):
        reply = api.get("alice", url, params=params)
        assert reply.status_code == 200, reply.text
        rows = list(csv.DictReader(io.StringIO(reply.text)))
        assert [r["call_id"] for r in rows] == [ALICE_CALL]
        assert rows[0]["missed"] == "solved" and rows[0]["total_score"] == "70.0"
    exports = [a for a in audit_actions(api) if a[0] == "reviews.export"]
    assert exports == [("reviews.export", "alice", "reviews.csv")] * 2


def test_reviews_are_newest_first_and_filterable(api: Api) -> None:
    review(api, "sup_hotline", ALICE_CALL, ALL_MET)
    review(api, "sup_hotline", BOB_CALL, ALL_MET)
    listed = api.get("manager", "/api/v1/reviews").json()["items"]
    assert [r["call_id"] for r in listed] == [BOB_CALL, ALICE_CALL]
    failed = api.get("manager", "/api/v1/reviews", params={"failed": "true"}).json()["items"]
    assert [r["call_id"] for r in failed] == [BOB_CALL]
    later = datetime.now(UTC).replace(year=2100).isoformat()
    none = api.get("manager", "/api/v1/reviews", params={"since": later}).json()
    assert none["total"] == 0
