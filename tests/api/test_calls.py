"""The call list and one call: filters, order, pages, validation, transcript states."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import SCENARIOS, Api

BY_ID = {v: k for k, v in SCENARIOS.items()}


def names(body: dict[str, Any]) -> list[str]:
    return [BY_ID[item["call_id"]] for item in body["items"]]


def calls(api: Api, user: str = "manager", **params: Any) -> dict[str, Any]:
    reply = api.get(user, "/api/v1/calls", params=params)
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def test_items_carry_the_export_fields_and_what_analysis_adds(api: Api) -> None:
    body = calls(api, page_size=200)
    assert body["total"] == 13 and body["total_exact"] is True
    item = next(i for i in body["items"] if i["call_id"] == SCENARIOS["ring-no-answer-then-next"])
    assert item["queue"] == "hotline" and item["agent"] == "Bob Li"
    assert item["answered"] is True and item["abandoned"] is False
    assert [(a["agent"], a["outcome"]) for a in item["attempts"]] == [
        ("Alice Kim", "no_answer"),
        ("Bob Li", "answered"),
    ]
    assert item["recording"]["mixed"].endswith("1795331915.1301.wav")
    assert item["started_at"].endswith("Z")
    assert item["themes"] == [] and item["flags"] == [] and item["review_status"] is None
    status = {BY_ID[i["call_id"]]: i["transcript_status"] for i in body["items"]}
    assert status["answered-1s-complaint"] == "done"
    assert status["direct-answered"] == "pending"
    assert status["ringall-fastest-wins"] == "failed"
    assert status["answered-fast"] == "none"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"queue": "sales"}, {"ringall-fastest-wins", "ringing-forever-abandoned"}),
        ({"agent": "Park Jiwoo"}, {"ringall-fastest-wins"}),
        (
            {"answered": "false"},
            {
                "abandoned-in-queue",
                "direct-unanswered",
                "ringing-forever-abandoned",
            },
        ),
        ({"abandoned": "true", "queue": "hotline"}, {"abandoned-in-queue"}),
        # 20 s in the queue is four 5-second rings; 13 s is the third ring, still in target
        ({"within_target": "false"}, {"ring-no-answer-then-next"}),
        ({"q": "BRAKE"}, {"answered-1s-complaint", "ring-no-answer-then-next"}),
        ({"q": "squeal"}, {"answered-1s-complaint"}),
        ({"q": "%"}, set()),  # LIKE wildcards are searched as text
        ({"q": "_"}, {"ring-no-answer-then-next"}),
        ({"queue": "no such queue"}, set()),
    ],
)
def test_filters(api: Api, params: dict[str, str], expected: set[str]) -> None:
    assert set(names(calls(api, page_size=200, **params))) == expected


def test_time_range_is_half_open_and_accepts_zones(api: Api) -> None:
    everything = calls(api, sort="started_at", page_size=200)["items"]
    third = everything[2]["started_at"]
    since = calls(api, since=third, page_size=200)
    assert since["total"] == 11
    until = calls(api, until=third, page_size=200)
    assert until["total"] == 2
    # the same instant written in Shanghai time
    assert calls(api, since="2026-11-22T15:17:00+08:00")["total"] == 13
    assert calls(api, since="2026-11-22T15:17:30+08:00")["total"] == 12
    assert calls(api, until="2026-11-22")["total"] == 0  # a date is midnight UTC


def test_sorting_and_paging(api: Api) -> None:
    newest = names(calls(api))
    oldest = names(calls(api, sort="started_at"))
    assert newest == list(reversed(oldest))
    assert oldest[0] == "answered-fast"
    first = calls(api, sort="started_at", page_size=5, page=1)
    third = calls(api, sort="started_at", page_size=5, page=3)
    assert names(first) == oldest[:5] and names(third) == oldest[10:]
    assert first["total"] == third["total"] == 13
    assert calls(api, page=4, page_size=5)["items"] == []
    waits = [i["wait_s"] for i in calls(api, sort="-wait_s", page_size=200)["items"]]
    assert waits == sorted(waits, reverse=True)
    talks = [i["talk_s"] for i in calls(api, sort="talk_s", page_size=200)["items"]]
    present = [t for t in talks if t is not None]
    assert present == sorted(present) and talks[len(present) :] == [None] * (13 - len(present))


def test_page_size_is_capped_at_200(api: Api) -> None:
    body = calls(api, page_size=100000)
    assert body["page_size"] == 200
    assert len(body["items"]) == 13


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"since": "yesterday"}, ["query", "since"]),
        ({"until": "2026-13-40"}, ["query", "until"]),
        ({"answered": "maybe"}, ["query", "answered"]),
        ({"page": "0"}, ["query", "page"]),
        ({"page": "two"}, ["query", "page"]),
        ({"page_size": "-1"}, ["query", "page_size"]),
        ({"sort": "caller_number"}, ["query", "sort"]),
        ({"sort": "started_at; DROP TABLE calls"}, ["query", "sort"]),
        ({"colour": "red"}, ["query", "colour"]),
        ({"q": ""}, ["query", "q"]),
        ({"queue": "hot\x00line"}, ["query", "queue"]),  # PostgreSQL cannot store NUL
        ({"since": "9999-12-31T23:59:59-23:00"}, ["query", "since"]),  # past year 9999 in UTC
    ],
)
def test_malformed_query_values_are_422_naming_the_parameter(
    api: Api, params: dict[str, str], where: list[str]
) -> None:
    reply = api.get("manager", "/api/v1/calls", params=params)
    assert reply.status_code == 422, reply.text
    assert [problem["loc"] for problem in reply.json()["detail"]] == [where]


def test_pages_stop_ten_thousand_calls_deep(api: Api) -> None:
    reply = api.get("manager", "/api/v1/calls", params={"page": 51, "page_size": 200})
    assert reply.status_code == 422
    assert "since/until" in reply.json()["detail"]
    assert api.get("manager", "/api/v1/calls", params={"page": 50, "page_size": 200}).is_success


def test_searching_digits_needs_unredacted_access(api: Api) -> None:
    # otherwise an agent could confirm a masked phone number one guess at a time
    reply = api.get("alice", "/api/v1/calls", params={"q": "1234"})
    assert reply.status_code == 422
    assert "view_unredacted" in reply.json()["detail"]
    assert names(calls(api, "manager", q="1234")) == ["answered-1s-complaint"]


def test_call_detail_has_the_timeline_and_the_transcript(api: Api) -> None:
    call_id = SCENARIOS["ring-no-answer-then-next"]
    detail = api.get("manager", f"/api/v1/calls/{call_id}").json()
    assert [(a["seq"], a["agent"], a["outcome"]) for a in detail["timeline"]] == [
        (0, "Alice Kim", "no_answer"),
        (1, "Bob Li", "answered"),
    ]
    assert detail["timeline"][0]["ring_s"] == pytest.approx(15, abs=1)
    transcript = detail["transcript"]
    assert transcript["status"] == "done" and transcript["redacted"] is False
    assert transcript["metrics"]["talk_customer_s"] == 6.0
    speakers = [s["speaker"] for s in transcript["segments"]]
    assert speakers == ["agent", "customer"]
    words = transcript["segments"][0]["words"]
    assert [w["text"] for w in words] == [" Thank", " you", " for", " calling."]
    assert all(w["start_s"] < w["end_s"] for w in words)


def test_call_without_transcript_and_failed_transcript(api: Api) -> None:
    plain = api.get("manager", f"/api/v1/calls/{SCENARIOS['answered-fast']}").json()
    assert plain["transcript"] is None and plain["transcript_status"] == "none"
    failed = api.get("manager", f"/api/v1/calls/{SCENARIOS['ringall-fastest-wins']}").json()
    assert failed["transcript"]["status"] == "failed"
    assert failed["transcript"]["error"] == "recording is empty"
    assert failed["transcript"]["segments"] == []


def test_unknown_call_is_404(api: Api) -> None:
    reply = api.get("manager", "/api/v1/calls/1795331836.9999")
    assert reply.status_code == 404
    assert reply.json() == {"detail": "call not found"}
    assert api.get("manager", "/api/v1/calls/a%00b").status_code == 422


def test_theme_flagged_and_reviewed_filters(analysed: Api) -> None:
    from tests.api.test_reviews import ALL_MET, review

    api = analysed
    # both customers who mention their brakes: the safety theme, always flagged
    safety = {"answered-1s-complaint", "ring-no-answer-then-next"}
    assert set(names(calls(api, page_size=200, theme="safety"))) == safety
    assert names(calls(api, page_size=200, theme="upsell")) == []
    flagged = set(names(calls(api, page_size=200, flagged="true")))
    unflagged = set(names(calls(api, page_size=200, flagged="false")))
    assert safety <= flagged and not flagged & unflagged
    assert len(flagged | unflagged) == 13
    assert names(calls(api, page_size=200, reviewed="true")) == []
    reply = review(api, "sup_hotline", SCENARIOS["answered-fast"], ALL_MET)
    assert reply.status_code == 201, reply.text
    assert names(calls(api, page_size=200, reviewed="true")) == ["answered-fast"]
    assert "answered-fast" not in names(calls(api, page_size=200, reviewed="false"))
    # the filters combine with access: Bob never sees Alice's reviewed call
    assert names(calls(api, "bob", page_size=200, reviewed="true")) == []
    bad = api.get("manager", "/api/v1/calls", params={"theme": "Safety; DROP"})
    assert bad.status_code == 422 and "theme" in bad.text
