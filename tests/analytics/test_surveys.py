"""Survey answers on known calls: the satisfaction index, its drivers, CSV import, low answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from analytics import followups
from analytics.models import FollowUp
from analytics.surveys import satisfaction, service
from analytics.surveys.csv_import import import_csv_text
from analytics.surveys.errors import SurveyInputError
from analytics.surveys.models import SurveyInput, SurveyResponse
from core.db import session_scope
from core.settings import Settings
from telephony.models import Call
from tests.analytics.factories import make_call

DAY = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
WEIGHTS = {"overall": 2.0, "reach_speed": 1.0}


def known_calls(session: Session, settings: Settings) -> dict[str, int]:
    """Alice: one call answered on ring 1, one on ring 6; Bob: ring 1 and one never surveyed."""
    at = DAY.replace
    return {
        "a_fast": make_call(
            session, settings, started=at(hour=9), ring_s=3.0, caller="13900000011"
        ),
        "a_slow": make_call(
            session, settings, started=at(hour=10), ring_s=27.0, caller="13900000012"
        ),
        "b_fast": make_call(
            session, settings, started=at(hour=11), agent="Bob Li", caller="13900000013"
        ),
        "b_none": make_call(
            session, settings, started=at(hour=12), agent="Bob Li", caller="13900000014"
        ),
    }


def test_satisfaction_index_and_rings_relationship_on_known_data(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as session:
        pk = known_calls(session, settings)
        answer = {
            "a_fast": ({"overall": 5, "reach_speed": 5}, None),
            "a_slow": ({"overall": 2, "reach_speed": 1}, "waited forever"),
            "b_fast": ({"overall": 4, "reach_speed": 4}, "fine"),
        }
        for name, (scores, comment) in answer.items():
            service.submit_response(
                db_session=session,
                call_pk=pk[name],
                scores=scores,
                settings=settings,
                comment=comment,
                would_recommend=name != "a_slow",
                entered_by="tester",
            )
        rows = satisfaction.satisfaction_index(db_session=session, weights=WEIGHTS, by="agent")
        drivers = satisfaction.drivers(db_session=session, weights=WEIGHTS)
    alice, bob = rows
    assert (alice.group, alice.calls, alice.responses, alice.response_rate) == (
        "Alice Kim",
        2,
        2,
        1.0,
    )
    assert alice.averages == {"overall": 3.5, "reach_speed": 3.0}
    # (2 x 3.5 + 1 x 3.0) / 3 = 3.333 on 1-5 -> (3.333 - 1) / 4 x 100
    assert alice.index == pytest.approx(58.33, abs=0.01)
    assert (alice.dissatisfied, alice.dissatisfied_share) == (1, 0.5)
    assert alice.reasons == {"overall": 1, "reach_speed": 1}
    assert alice.comments == ["waited forever"]
    assert alice.would_recommend_share == 0.5
    assert (bob.group, bob.calls, bob.responses, bob.response_rate) == ("Bob Li", 2, 1, 0.5)
    assert bob.index == 75.0 and bob.dissatisfied_share == 0.0
    # answered within three rings: speed 4.5; beyond: 1.0
    within, beyond = drivers.rings
    assert (within.group, within.responses, within.averages["reach_speed"]) == (
        "within 3 rings",
        2,
        4.5,
    )
    assert (beyond.group, beyond.responses, beyond.averages["reach_speed"]) == (
        "beyond 3 rings",
        1,
        1.0,
    )
    assert [t.group for t in drivers.themes] == ["(no complaint theme)"]
    assert [q.group for q in drivers.qa] == ["not reviewed"]


def test_a_low_answer_flags_the_call_and_opens_a_follow_up_the_next_callback_closes(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as session:
        pk = known_calls(session, settings)
        service.submit_response(
            db_session=session,
            call_pk=pk["a_fast"],
            scores={"agent_attitude": 1},
            settings=settings,
            answered_at=DAY.replace(hour=15),
        )
        followup = followups.followup_for(db_session=session, call_pk=pk["a_fast"])
        assert followup is not None and followup.status == "open"
        assert followup.due_at == DAY.replace(hour=15) + followups.timedelta(hours=24)
        # a call to the customer before the answer does not settle it; one after it does
        early = make_call(
            session,
            settings,
            started=DAY.replace(hour=14),
            direction="outbound",
            caller="801",
            dialed="13900000011",
        )
        assert followups.close_by_outbound(db_session=session, call_pk=early) == []
        late = make_call(
            session,
            settings,
            started=DAY.replace(hour=16),
            direction="outbound",
            caller="801",
            dialed="13900000011",
        )
        (closed,) = followups.close_by_outbound(db_session=session, call_pk=late)
        assert closed.closed_by_call_pk == late
        # re-analysing the call keeps it closed (the answer came before the callback)
        service.react(db_session=session, call_pk=pk["a_fast"], settings=settings)
        assert session.get(FollowUp, closed.id).status == "done"  # type: ignore[union-attr]


def test_csv_import_keeps_good_rows_and_reports_bad_ones(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as session:
        pk = known_calls(session, settings)
        ids = {name: session.get(Call, p).call_id for name, p in pk.items()}  # type: ignore[union-attr]
    text = (
        "call_id,answered_at,overall,reach_speed,agent_attitude,would_recommend,comment\n"
        f"{ids['a_fast']},2026-11-22T18:00:00Z,5,4,5,yes,great\n"
        f"{ids['a_slow']},2026-11-22T18:05:00Z,6,4,5,no,\n"
        "1799999999.1,2026-11-22T18:10:00Z,3,3,3,,\n"
        f"{ids['b_fast']},yesterday,3,3,3,,\n"
        f"{ids['b_none']},,,,,maybe,\n"
        f"{ids['b_fast']},,4,x,3,,\n"
        f"{ids['b_none']},,2,3,3,n,slow\n"
    )
    with session_scope(session_factory) as session:
        result = import_csv_text(db_session=session, text=text, settings=settings)
    assert result.stored == 2
    assert result.skipped == [
        (3, "overall: 6 is outside 1-5"),
        (4, "no call '1799999999.1' is stored"),
        (5, "answered_at 'yesterday' is not an ISO 8601 date/time"),
        (
            6,
            "no score given (columns overall, reach_speed, ivr_menu, agent_attitude, "
            "agent_resolution, outcome)",
        ),
        (7, "reach_speed: 'x' is not a score from 1 to 5"),
    ]
    with session_scope(session_factory) as session:
        stored = {
            session.get(Call, r.call_pk).call_id: r  # type: ignore[union-attr]
            for r in session.scalars(select(SurveyResponse))
        }
        assert set(stored) == {ids["a_fast"], ids["b_none"]}
        good = stored[ids["a_fast"]]
        assert good.source == "csv" and good.would_recommend is True and good.comment == "great"
        assert good.scores() == {"overall": 5, "reach_speed": 4, "agent_attitude": 5}
        assert good.answered_at == datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
        # no date: the call's end
        assert stored[ids["b_none"]].answered_at == session.get(Call, pk["b_none"]).ended_at  # type: ignore[union-attr]
        rejected = session.scalars(select(SurveyInput).where(SurveyInput.status == "rejected"))
        assert len(list(rejected)) == 5
        # importing the same file again adds nothing and reports the same bad rows
        again = import_csv_text(db_session=session, text=text, settings=settings)
    assert (again.stored, again.already, len(again.skipped)) == (0, 2, 5)


def test_console_answer_outside_the_scale_is_refused_with_the_reason(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as session:
        pk = known_calls(session, settings)
        with pytest.raises(SurveyInputError, match="overall: 0 is outside 1-5"):
            service.submit_response(
                db_session=session, call_pk=pk["a_fast"], scores={"overall": 0}, settings=settings
            )
        with pytest.raises(SurveyInputError, match="question 'speed' is not on form 'default'"):
            service.submit_response(
                db_session=session, call_pk=pk["a_fast"], scores={"speed": 3}, settings=settings
            )


def test_cli_import_reports_bad_rows_and_the_report_shows_the_index(
    settings: Settings,
    session_factory: sessionmaker[Session],
    cli_env: None,
    tmp_path: Path,
) -> None:
    from cli.main import cli

    with session_scope(session_factory) as session:
        pk = known_calls(session, settings)
        call_id = session.get(Call, pk["a_fast"]).call_id  # type: ignore[union-attr]
    path = tmp_path / "answers.csv"
    path.write_text(f"call_id,overall,reach_speed\n{call_id},4,5\n{call_id},9,5\n")
    result = CliRunner().invoke(cli, ["surveys", "import", str(path)])
    assert result.exit_code == 1, result.output
    assert "line 3: overall: 9 is outside 1-5" in result.output
    assert "1 responses stored, 0 already imported, 1 rows skipped" in result.output
    report = CliRunner().invoke(cli, ["surveys", "report", "--by", "agent", "--json"])
    assert report.exit_code == 0, report.output
    (alice,) = [r for r in json.loads(report.output)["rows"] if r["responses"]]
    # overall 4 and speed 5 with the default weights (overall 2, the others 1)
    assert alice["group"] == "Alice Kim" and alice["index"] == pytest.approx(83.33, abs=0.01)
    built = CliRunner().invoke(cli, ["callbacks", "build", "--day", "2026-11-22", "--tz", "UTC"])
    assert built.exit_code == 0, built.output
    assert "4 callbacks (0 complaints, 0 abandoned, 4 sampled)" in built.output
