"""Flag thresholds set in the console: admins only, validated, audited, used by the analysis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from analytics.pipeline import after_transcript
from api.models import AuditEntry
from core.db import session_scope
from tests.analytics.factories import add_transcript, make_call
from tests.api.conftest import Api


def put(api: Api, user: str, body: dict[str, Any]) -> Any:
    return api.client.put("/api/v1/flag-rules", json=body, headers=api.as_(user))


def in_force(api: Api, user: str = "sup_hotline") -> dict[str, Any]:
    reply = api.get(user, "/api/v1/flag-rules")
    assert reply.status_code == 200, reply.text
    return {r["field"]: r for r in reply.json()["rules"]}


def test_settings_until_an_admin_sets_them(api: Api) -> None:
    before = in_force(api)
    assert before["flag_long_silence_s"] == {
        "field": "flag_long_silence_s",
        "value": 20.0,
        "source": "settings",
        "setting": 20.0,
    }
    reply = put(api, "admin", {"flag_long_silence_s": 8, "followup_due_h": 4})
    assert reply.status_code == 200, reply.text
    after = {r["field"]: r for r in reply.json()["rules"]}
    assert after["flag_long_silence_s"]["value"] == 8 and after["flag_long_silence_s"][
        "source"
    ] == ("console")
    assert after["flag_overtalk_s"]["source"] == "settings"
    assert reply.json()["changed_by"] == "admin"
    # the analysis uses them: a 10 s silence is long now, and follow-ups are due in 4 h
    with session_scope(api.session_factory) as session:
        started = datetime(2026, 11, 22, 9, tzinfo=UTC)
        pk = make_call(session, api.settings, started=started, caller="13912345678")
        add_transcript(
            session, pk, [("customer", 0.0, 3.0, "Nobody called me back.")], longest_silence_s=10.0
        )
        result = after_transcript(db_session=session, call_pk=pk, settings=api.settings)
        assert "long_silence" in [f.rule for f in result.flags]
        assert result.followup is not None
        assert result.followup.due_at == started + timedelta(hours=4)
    # an empty body returns to the settings
    assert put(api, "admin", {}).status_code == 200
    assert in_force(api)["flag_long_silence_s"]["source"] == "settings"
    with session_scope(api.session_factory) as session:
        details = session.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "flag_rules.update")
        ).all()
    assert details == [{"flag_long_silence_s": 8.0, "followup_due_h": 4.0}, {}]


def test_refusals(api: Api) -> None:
    assert put(api, "manager", {"flag_overtalk_s": 3}).status_code == 403
    assert put(api, "sup_hotline", {"flag_overtalk_s": 3}).status_code == 403
    crossed = put(api, "admin", {"flag_theme_medium_score": 3, "flag_theme_high_score": 2})
    assert crossed.status_code == 422 and "flag_theme_high_score" in crossed.text
    assert put(api, "admin", {"flag_overtalk_s": 0}).status_code == 422
    assert put(api, "admin", {"bonus": 1}).status_code == 422
    assert put(api, "admin", {"flag_critical_themes": "safety; DROP"}).status_code == 422
    assert in_force(api, "admin")["flag_overtalk_s"]["source"] == "settings"
