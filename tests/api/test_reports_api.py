"""Reports through the API: the compliance figures are the service's (and the CLI's) for a
manager, cut to their queues for a supervisor, refused to agents; themes and follow-ups."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from typing import Any

from click.testing import CliRunner
from sqlalchemy import select

from analytics import compliance, reports
from api import auth
from api.models import AuditEntry, User
from cli.reports import compliance_cmd
from core.db import session_scope, utcnow
from tests.api.conftest import Api

SINCE, UNTIL = "2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z"
RANGE = {"since": SINCE, "until": UNTIL}


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def service_report(api: Api, by: str, queue: str | None = None) -> dict[str, Any]:
    with session_scope(api.session_factory) as session:
        report = compliance.compliance_report(
            db_session=session,
            settings=api.settings,
            by=by,
            since=when(SINCE),
            until=when(UNTIL),
            queue=queue,
            tz=api.settings.timezone,
            short_abandon_s=api.settings.short_abandon_s,
        )
        return reports.compliance_overview(db_session=session, report=report)


def test_a_managers_compliance_report_is_the_services(analysed: Api) -> None:
    for by in ("queue", "agent", "hour", "day", "week"):
        reply = analysed.get("manager", "/api/v1/reports/compliance", params={"by": by, **RANGE})
        assert reply.status_code == 200, reply.text
        body = reply.json()
        expected = service_report(analysed, by)
        assert body["rows"] == expected["rows"], by
        assert body["top_themes"] == expected["top_themes"]
        assert body["settings"] == {**expected["settings"], "queues": None}
    assert body["settings"]["answer_target_rings"] == 3 and body["settings"]["ring_cycle_s"] == 5.0


def test_the_same_numbers_as_callscope_report_compliance(analysed: Api, cli_env: None) -> None:
    args = ["--by", "queue", "--since", SINCE, "--until", UNTIL, "--tz", "UTC"]
    result = CliRunner().invoke(compliance_cmd, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    body = analysed.get(
        "manager", "/api/v1/reports/compliance", params={"by": "queue", "tz": "UTC", **RANGE}
    ).json()
    assert body["rows"] == printed["rows"]
    hotline = next(r for r in body["rows"] if r["group"] == "hotline")
    # by hand from the capture: 9 hotline calls, one abandon after 7 s (not short), one answer
    # past the 15 s target (Bob, after Alice's phone rang unanswered)
    assert (hotline["offered"], hotline["answered"], hotline["abandoned"]) == (9, 8, 1)
    assert hotline["short_abandoned"] == 0 and hotline["answered_within_target"] == 7
    assert hotline["sl_answered"] == 7 / 8 and hotline["sl_inclusive"] == 7 / 9


def test_supervisors_get_their_queues_and_agents_are_refused(analysed: Api) -> None:
    api = analysed
    params = {"by": "queue", **RANGE}
    rows = api.get("sup_hotline", "/api/v1/reports/compliance", params=params).json()["rows"]
    assert rows == service_report(api, "queue", queue="hotline")["rows"]
    by_hour = api.get("sup_sales", "/api/v1/reports/compliance", params={**params, "by": "hour"})
    assert by_hour.json()["rows"] == service_report(api, "hour", queue="sales")["rows"]
    assert by_hour.json()["settings"]["queues"] == ["sales"]
    other = api.get(
        "sup_sales", "/api/v1/reports/compliance", params={**params, "queue": "hotline"}
    )
    assert other.status_code == 404
    for agent in ("alice", "nobody"):
        assert api.get(agent, "/api/v1/reports/compliance").status_code == 403
        assert api.get(agent, "/api/v1/reports/followups").status_code == 403


def test_a_supervisor_of_two_queues_gets_their_sum(analysed: Api) -> None:
    api = analysed
    with session_scope(api.session_factory) as session:
        user = User(
            username="sup_both",
            password_hash="x",
            role="supervisor",
            queues=["hotline", "sales"],
            active=True,
            created_at=utcnow(),
        )
        session.add(user)
        session.flush()
        token, _ = auth.create_token(db_session=session, user=user, name="tests")
    headers = {"Authorization": f"Bearer {token}"}
    reply = api.client.get(
        "/api/v1/reports/compliance", params={"by": "day", **RANGE}, headers=headers
    )
    assert reply.status_code == 200, reply.text
    (day,) = reply.json()["rows"]
    per_queue = {r["group"]: r for r in service_report(api, "queue")["rows"]}
    parts = [per_queue["hotline"], per_queue["sales"]]
    for key in ("offered", "answered", "abandoned", "answered_within_target", "followups_opened"):
        assert day[key] == sum(p[key] for p in parts), key
    assert day["sl_answered"] == day["answered_within_target"] / day["answered"]
    assert day["max_wait_s"] == max(p["max_wait_s"] for p in parts)
    assert reply.json()["settings"]["queues"] == ["hotline", "sales"]


def test_compliance_csv_carries_the_settings_and_is_audited(analysed: Api) -> None:
    reply = analysed.get(
        "sup_hotline", "/api/v1/reports/compliance", params={"format": "csv", **RANGE}
    )
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/csv")
    lines = reply.text.splitlines()
    comments = [line for line in lines if line.startswith("# ")]
    assert "# answer_target_rings: 3" in comments and "# queues: hotline" in comments
    rows = list(csv.DictReader(line for line in lines if not line.startswith("# ")))
    assert [r["group"] for r in rows] == ["hotline"] and rows[0]["offered"] == "9"
    with session_scope(analysed.session_factory) as session:
        actions = list(session.scalars(select(AuditEntry.action)))
    assert "reports.compliance.export" in actions


def test_bad_report_requests_are_4xx(analysed: Api) -> None:
    api = analysed
    url = "/api/v1/reports/compliance"
    assert api.get("manager", url, params={"by": "month"}).status_code == 422
    assert api.get("manager", url, params={"since": UNTIL, "until": SINCE}).status_code == 422
    assert api.get("manager", url, params={"tz": "Mars/Olympus"}).status_code == 422
    themes = "/api/v1/reports/themes"
    assert api.get("manager", themes).status_code == 422  # since and until are required


def test_theme_report_counts_the_calls_each_user_may_see(analysed: Api) -> None:
    api = analysed
    manager = api.get("manager", "/api/v1/reports/themes", params=RANGE).json()
    with session_scope(api.session_factory) as session:
        expected = reports.theme_report_dict(
            reports.theme_report(db_session=session, since=when(SINCE), until=when(UNTIL))
        )
    assert manager == expected
    assert [(t["theme"], t["calls"]) for t in manager["themes"]] == [("safety", 2)]
    alice = api.get("alice", "/api/v1/reports/themes", params=RANGE).json()
    # both safety calls rang Alice; Bob's one only rang Bob
    assert [(t["theme"], t["calls"]) for t in alice["themes"]] == [("safety", 2)]
    bob = api.get("bob", "/api/v1/reports/themes", params=RANGE).json()
    assert [(t["theme"], t["calls"]) for t in bob["themes"]] == [("safety", 1)]
    assert api.get("sup_sales", "/api/v1/reports/themes", params=RANGE).json()["themes"] == []


def test_followup_on_time_report(analysed: Api) -> None:
    api = analysed
    everything = api.get("manager", "/api/v1/reports/followups", params=RANGE).json()
    assert [r["opened"] for r in everything["rows"]] == [5]
    by_queue = api.get(
        "sup_hotline", "/api/v1/reports/followups", params={"by": "queue", **RANGE}
    ).json()
    assert [(r["group"], r["opened"]) for r in by_queue["rows"]] == [("hotline", 3)]
