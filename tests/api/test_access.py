"""Who sees which call: the role x object matrix on the golden capture.

The expected sets are written out by hand from the capture's README (who answered, whose
phone rang, which queue), not derived from the code under test.
"""

from __future__ import annotations

import csv
import io

import pytest

from tests.api.conftest import SCENARIOS, Api

HOTLINE = {
    "answered-fast",
    "answered-9s",
    "answered-13s",
    "ring-no-answer-then-next",
    "abandoned-in-queue",
    "answered-1s-complaint",
    "overtalk",
    "two-callers-at-once#0",
    "two-callers-at-once#1",
}
SALES = {"ringall-fastest-wins", "ringing-forever-abandoned"}
ALL = set(SCENARIOS)

VISIBLE: dict[str, set[str]] = {
    "admin": ALL,
    "manager": ALL,
    "sup_hotline": HOTLINE,
    "sup_sales": SALES,
    # answered, or rang unanswered (Alice rang 15 s before Bob answered; the abandon rang her)
    "alice": {
        "answered-fast",
        "answered-9s",
        "answered-13s",
        "ring-no-answer-then-next",
        "abandoned-in-queue",
        "answered-1s-complaint",
        "overtalk",
        "two-callers-at-once#0",
    },
    "bob": {"ring-no-answer-then-next", "two-callers-at-once#1"},
    # Chen's attempt was cancelled when Park won the ringall race: it still rang Chen
    "chen": {"direct-answered", "ringall-fastest-wins", "ringing-forever-abandoned"},
    "park": {"ringall-fastest-wins", "direct-unanswered", "ringing-forever-abandoned"},
    "nobody": set(),
}


def test_the_matrix_covers_every_golden_call() -> None:
    assert len(ALL) == 13
    assert HOTLINE | SALES | {"direct-answered", "direct-unanswered"} == ALL


def listed(api: Api, user: str, **params: str) -> set[str]:
    """Scenario names of the calls in a user's list."""
    by_id = {v: k for k, v in SCENARIOS.items()}
    reply = api.get(user, "/api/v1/calls", params={"page_size": "200", **params})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["total"] == len(body["items"])
    return {by_id[item["call_id"]] for item in body["items"]}


@pytest.mark.parametrize("user", sorted(VISIBLE))
def test_each_role_sees_exactly_its_calls_and_nothing_else_by_id(api: Api, user: str) -> None:
    expected = VISIBLE[user]
    assert listed(api, user) == expected
    for scenario, call_id in SCENARIOS.items():
        detail = api.get(user, f"/api/v1/calls/{call_id}")
        recording = api.get(
            user, f"/api/v1/calls/{call_id}/recording", headers={"Range": "bytes=0-43"}
        )
        if scenario in expected:
            assert detail.status_code == 200, (user, scenario)
            assert detail.json()["call_id"] == call_id
            assert recording.status_code == 206, (user, scenario)
        else:
            # never 403: a call one may not see is indistinguishable from no call at all
            assert detail.status_code == 404, (user, scenario)
            assert recording.status_code == 404, (user, scenario)
            assert detail.json() == {"detail": "call not found"}
            assert recording.json() == detail.json()


@pytest.mark.parametrize("user", ["alice", "bob", "chen", "park", "sup_hotline"])
@pytest.mark.parametrize("since", [None, "2000-01-01T00:00:00Z"])
def test_paged_lists_count_and_page_the_same_calls(api: Api, user: str, since: str | None) -> None:
    """One call a page: the total is counted (with a start: each call looks up its attempts;
    without: the agent's calls are gathered from the indexes) and agrees with the pages."""
    by_id = {v: k for k, v in SCENARIOS.items()}
    params = {"page_size": "1", **({"since": since} if since else {})}
    seen: list[str] = []
    for page in range(1, 20):
        reply = api.get(user, "/api/v1/calls", params={**params, "page": str(page)})
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["total"] == len(VISIBLE[user]) and body["total_exact"]
        if not body["items"]:
            break
        seen += [by_id[item["call_id"]] for item in body["items"]]
    assert len(seen) == len(set(seen))
    assert set(seen) == VISIBLE[user]


@pytest.mark.parametrize(
    ("user", "agent", "expected"),
    [
        # Alice may filter for Bob's calls, but only sees the one that also rang her
        ("alice", "Bob Li", {"ring-no-answer-then-next"}),
        ("bob", "Alice Kim", set()),
        ("sup_sales", "Alice Kim", set()),
        ("sup_hotline", "Bob Li", {"ring-no-answer-then-next", "two-callers-at-once#1"}),
        ("manager", "Chen Wei", {"direct-answered"}),
    ],
)
def test_filters_never_widen_what_a_user_sees(
    api: Api, user: str, agent: str, expected: set[str]
) -> None:
    assert listed(api, user, agent=agent) == expected


@pytest.mark.parametrize("user", ["alice", "sup_sales"])
def test_queue_filter_outside_ones_scope_is_empty(api: Api, user: str) -> None:
    other = "sales" if user == "alice" else "hotline"
    assert listed(api, user, queue=other) == set()


@pytest.mark.parametrize("user", ["alice", "sup_hotline", "manager"])
def test_the_export_holds_only_the_users_calls(api: Api, user: str) -> None:
    reply = api.get(user, "/api/v1/calls/export.csv")
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(reply.text)))
    by_id = {v: k for k, v in SCENARIOS.items()}
    assert {by_id[r["call_id"]] for r in rows} == VISIBLE[user]


def test_transcripts_follow_the_call_access(api: Api) -> None:
    complaint = SCENARIOS["answered-1s-complaint"]
    assert api.get("alice", f"/api/v1/calls/{complaint}").json()["transcript"] is not None
    for user in ("bob", "sup_sales", "chen"):
        assert api.get(user, f"/api/v1/calls/{complaint}").status_code == 404
    # nor can a text search reveal it
    assert listed(api, "bob", q="brakes") == set()
    assert listed(api, "alice", q="brakes") == {"answered-1s-complaint"}


@pytest.mark.parametrize(
    ("user", "path", "allowed"),
    [
        ("admin", "/api/v1/audit", True),
        ("manager", "/api/v1/audit", False),
        ("sup_hotline", "/api/v1/audit", False),
        ("alice", "/api/v1/audit", False),
        ("admin", "/api/v1/users", True),
        ("manager", "/api/v1/users", False),
        ("alice", "/api/v1/users", False),
        ("admin", "/api/v1/tokens?all=true", True),
        ("manager", "/api/v1/tokens?all=true", False),
    ],
)
def test_admin_only_endpoints(api: Api, user: str, path: str, allowed: bool) -> None:
    reply = api.get(user, path)
    assert reply.status_code == (200 if allowed else 403), reply.text
    if not allowed:
        assert "permission" in reply.json()["detail"] or "admins" in reply.json()["detail"]


def test_without_credentials_everything_but_health_is_401(api: Api) -> None:
    call_id = SCENARIOS["answered-fast"]
    for path in (
        "/api/v1/calls",
        f"/api/v1/calls/{call_id}",
        f"/api/v1/calls/{call_id}/recording",
        "/api/v1/calls/export.csv",
        "/api/v1/audit",
        "/api/v1/users",
        "/api/v1/tokens",
        "/api/v1/auth/me",
    ):
        reply = api.client.get(path)
        assert reply.status_code == 401, path
        assert reply.headers["www-authenticate"] == "Bearer"
    assert api.client.get("/api/v1/healthz").status_code == 200


def test_a_deactivated_users_token_stops_working(api: Api) -> None:
    assert api.get("alice", "/api/v1/calls").status_code == 200
    reply = api.client.patch(
        f"/api/v1/users/{api.user_ids['alice']}", json={"active": False}, headers=api.as_("admin")
    )
    assert reply.status_code == 200
    assert api.get("alice", "/api/v1/calls").status_code == 401
