"""Theme trends against the period before; the compliance report's follow-up and theme columns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from analytics import reports
from analytics.compliance import compliance_report
from analytics.pipeline import after_call, after_transcript
from core.db import session_scope
from core.settings import Settings
from tests.analytics.factories import add_transcript, make_call

WEEK = datetime(2026, 11, 16, tzinfo=UTC)  # a Monday
LAST_WEEK = WEEK - timedelta(days=7)


def complaint(
    session: Session, settings: Settings, started: datetime, text: str, **kw: object
) -> int:
    pk = make_call(session, settings, started=started, **kw)  # type: ignore[arg-type]
    add_transcript(session, pk, [("customer", 0.0, 4.0, text), ("agent", 4.0, 6.0, "Sorry.")])
    after_transcript(db_session=session, call_pk=pk, settings=settings)
    return pk


@pytest.fixture
def two_weeks(settings: Settings, session_factory: sessionmaker[Session]) -> None:
    """Last week: 1 repeat-repair call. This week: 3 repeat-repair calls (two say "third
    time"), 1 no-callback call, 1 call about nothing, 1 repeat repair in another queue."""
    with session_scope(session_factory) as session:
        complaint(
            session, settings, LAST_WEEK + timedelta(hours=2), "It broke again, same problem."
        )
        for day, text in enumerate(
            [
                "This is the third time I bring it back.",
                "Third time this month, same problem again.",
                "The same problem came back.",
            ]
        ):
            complaint(session, settings, WEEK + timedelta(days=day, hours=3), text)
        complaint(session, settings, WEEK + timedelta(days=4), "Nobody called me back at all.")
        complaint(session, settings, WEEK + timedelta(days=4, hours=1), "Thanks, the car is fine.")
        complaint(
            session, settings, WEEK + timedelta(days=5), "Third time it is back.", queue="parts"
        )


@pytest.mark.usefixtures("two_weeks")
def test_themes_against_the_previous_period(session_factory: sessionmaker[Session]) -> None:
    with session_scope(session_factory) as session:
        report = reports.theme_report(
            db_session=session, since=WEEK, until=WEEK + timedelta(days=7), queue="hotline"
        )
    assert report.previous_since == LAST_WEEK
    assert report.calls_transcribed == 5  # the call in "parts" is another queue's
    themes = {t.theme: t for t in report.themes}
    repeat = themes["repeat_repair"]
    assert (repeat.calls, repeat.previous_calls, repeat.change) == (3, 1, 2)
    assert repeat.change_rate == pytest.approx(2.0)
    assert report.themes[0].theme == "repeat_repair"  # most calls first
    assert themes["no_callback"].previous_calls == 0 and themes["no_callback"].change_rate is None
    rising = {p.phrase: p for p in repeat.rising_phrases}
    assert rising, "a phrase heard this week and not before rises"
    assert all(p.change > 0 for p in repeat.rising_phrases)
    assert max(p.matches for p in repeat.rising_phrases) >= 2  # "third time", twice


@pytest.mark.usefixtures("two_weeks")
def test_every_queue_and_the_visible_filter(session_factory: sessionmaker[Session]) -> None:
    from telephony.models import Call

    with session_scope(session_factory) as session:
        everything = reports.theme_report(db_session=session, since=WEEK, until=WEEK + timedelta(7))
        none = reports.theme_report(
            db_session=session, since=WEEK, until=WEEK + timedelta(7), visible=Call.id < 0
        )
    themes = {t.theme: t for t in everything.themes}
    assert themes["repeat_repair"].calls == 4
    assert none.themes == [] and none.calls_transcribed == 0


def test_a_theme_report_needs_a_forward_period(session_factory: sessionmaker[Session]) -> None:
    with session_scope(session_factory) as session, pytest.raises(ValueError, match="before"):
        reports.theme_report(db_session=session, since=WEEK, until=WEEK)


@pytest.mark.usefixtures("two_weeks")
def test_compliance_overview_adds_follow_ups_and_top_themes(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    end = WEEK + timedelta(days=7)
    with session_scope(session_factory) as session:
        # an abandon this week opens a follow-up; a callback to it the next hour closes it on time
        lost = make_call(
            session,
            settings,
            started=WEEK + timedelta(days=2),
            answered=False,
            abandoned=True,
            wait_s=30.0,
            caller="13988887777",
            agent=None,
            ring_s=None,
        )
        after_call(db_session=session, call_pk=lost, settings=settings)
        back = make_call(
            session,
            settings,
            started=WEEK + timedelta(days=2, hours=1),
            direction="outbound",
            queue=None,
            caller="8001",
            dialed="13988887777",
        )
        after_call(db_session=session, call_pk=back, settings=settings)
        report = compliance_report(
            db_session=session, settings=settings, by="queue", since=WEEK, until=end
        )
        data = reports.compliance_overview(
            db_session=session, report=report, now=end + timedelta(days=30)
        )
    rows = {row["group"]: row for row in data["rows"]}
    hotline = rows["hotline"]
    # follow-ups this week in hotline: the abandon (closed on time) and the complaint calls
    # (3 repeat repair + 1 no callback), never closed: overdue a month later
    assert hotline["followups_opened"] == 5
    assert hotline["followups_on_time"] == 1
    assert hotline["followup_on_time_rate"] == pytest.approx(1 / 5)
    assert rows["parts"]["followups_opened"] == 1
    assert rows["parts"]["followup_on_time_rate"] == 0.0
    top = data["top_themes"]
    assert top[0]["theme"] == "repeat_repair" and top[0]["calls"] == 4
    assert top[0]["previous_calls"] == 1
    assert {"followup_on_time_rate", "top_themes"} <= set(data["definitions"])


@pytest.mark.usefixtures("two_weeks", "cli_env")
def test_cli_theme_report() -> None:
    import json

    from click.testing import CliRunner

    from cli.main import cli as callscope

    args = ["report", "themes", "--since", "2026-11-16", "--until", "2026-11-23"]
    result = CliRunner().invoke(callscope, [*args, "--queue", "hotline"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["since"] == "2026-11-16T00:00:00Z"
    assert data["previous_since"] == "2026-11-09T00:00:00Z"
    first = data["themes"][0]
    assert (first["theme"], first["calls"], first["previous_calls"]) == ("repeat_repair", 3, 1)
    bad = CliRunner().invoke(callscope, ["report", "themes", "--since", "2026-11-16"])
    assert bad.exit_code == 2 and "--until" in bad.output
