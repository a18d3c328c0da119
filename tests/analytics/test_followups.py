"""Follow-ups: opened by abandons and complaints, closed by a callback or a person; on-time rate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from analytics import followups
from analytics.errors import FollowUpError
from analytics.followups import FollowUpOptions, same_number
from analytics.models import FollowUp
from analytics.pipeline import AnalysisOptions, after_call, after_calls, after_transcript
from core.db import session_scope
from core.settings import Settings
from telephony.models import Call
from tests.analytics.factories import add_transcript, make_call

ABANDONED = {  # golden abandons: Linkedid -> the caller's number
    "1795331957.1306": "13900040000",  # hotline, gave up after 7 s
    "1795332011.1320": "13900070000",  # direct, after 10 s
    "1795332088.1340": "13900110000",  # sales, after 25 s
}
GOLDEN_START = datetime(2026, 11, 22, 7, 17, tzinfo=UTC)


def test_same_number_allows_trunk_prefixes_but_not_short_numbers() -> None:
    assert same_number("13900040000", "13900040000")
    assert same_number("913900040000", "13900040000")  # outside-line prefix
    assert same_number("+86 139-0004-0000", "13900040000")
    assert not same_number("13900040001", "13900040000")
    assert not same_number("1001", "91001")  # extensions: too short to match by their end
    assert not same_number(None, "13900040000")
    assert not same_number("", "")


def test_abandons_open_follow_ups_due_a_day_after_the_call(
    golden_calls: dict[str, int], settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as session:
        after_calls(db_session=session, call_pks=list(golden_calls.values()), settings=settings)
        short = make_call(
            session, settings, started=GOLDEN_START, answered=False, abandoned=True, wait_s=3.0
        )
        assert after_call(db_session=session, call_pk=short, settings=settings).followup is None
    with session_scope(session_factory) as session:
        rows = followups.list_followups(db_session=session, now=GOLDEN_START)
        by_call = {session.get(Call, r.call_pk).call_id: r for r in rows}  # type: ignore[union-attr]
        assert set(by_call) == set(ABANDONED)
        for call_id, row in by_call.items():
            call = session.get(Call, row.call_pk)
            assert call is not None
            assert row.number == ABANDONED[call_id]
            assert row.reason == f"abandoned after {call.wait_s:.0f} s"
            assert row.due_at == call.started_at + timedelta(hours=24)
            assert row.status_at(call.started_at) == "open"
            assert row.status_at(row.due_at + timedelta(seconds=1)) == "overdue"
        # a different due time is an option
        late = AnalysisOptions(followups=FollowUpOptions(due_h=4))
        pk = golden_calls["1795331957.1306"]
        result = after_call(db_session=session, call_pk=pk, settings=settings, options=late)
        assert result.followup is not None
        call = session.get(Call, pk)
        assert call is not None and result.followup.due_at == call.started_at + timedelta(hours=4)


def test_a_complaint_opens_one_and_it_goes_when_the_complaint_does(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as session:
        pk = make_call(session, settings, started=GOLDEN_START, caller="13911112222")
        transcript = add_transcript(
            session, pk, [("customer", 0.0, 3.0, "Nobody called me back, it is the third time.")]
        )
        result = after_transcript(db_session=session, call_pk=pk, settings=settings)
        assert result.followup is not None
        assert result.followup.reason == "complaint: no_callback, repeat_repair"
        # the transcript was wrong and is corrected: nothing to follow up any more
        transcript.segments[0].text = "Thanks, the car runs fine now."
        session.flush()
        assert after_transcript(db_session=session, call_pk=pk, settings=settings).followup is None
        assert session.scalar(select(FollowUp)) is None


def test_an_outbound_call_to_the_number_closes_the_follow_up(
    golden_calls: dict[str, int], settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    origin = golden_calls["1795331957.1306"]
    with session_scope(session_factory) as session:
        after_call(db_session=session, call_pk=origin, settings=settings)
        started = session.get(Call, origin).started_at  # type: ignore[union-attr]
        # a call to someone else closes nothing; nor does an inbound call from the customer
        other = make_call(
            session,
            settings,
            started=started + timedelta(hours=1),
            direction="outbound",
            queue=None,
            caller="8001",
            dialed="913900049999",
        )
        again = make_call(
            session, settings, started=started + timedelta(hours=1), caller="13900040000"
        )
        assert after_calls(db_session=session, call_pks=[other, again], settings=settings)
        assert followups.followup_for(db_session=session, call_pk=origin).status == "open"  # type: ignore[union-attr]
        callback = make_call(
            session,
            settings,
            started=started + timedelta(hours=2),
            direction="outbound",
            queue=None,
            agent="Bob Li",
            caller="8002",
            dialed="913900040000",
        )
        result = after_call(db_session=session, call_pk=callback, settings=settings)
        (closed,) = result.closed
        assert closed.call_pk == origin
        assert closed.status == "done" and closed.closed_by_call_pk == callback
        assert closed.closed_at == started + timedelta(hours=2)
        assert closed.closed_by == "Bob Li"
        assert closed.on_time is True
        # the same callback seen again closes nothing more
        assert after_call(db_session=session, call_pk=callback, settings=settings).closed == []


def test_a_callback_before_the_call_does_not_count_but_one_stored_before_analysis_does(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as session:
        t0 = GOLDEN_START
        number = "13922223333"
        earlier = make_call(
            session,
            settings,
            started=t0 - timedelta(hours=1),
            direction="outbound",
            queue=None,
            caller="8001",
            dialed=number,
        )
        origin = make_call(
            session,
            settings,
            started=t0,
            answered=False,
            abandoned=True,
            wait_s=30.0,
            caller=number,
        )
        after_calls(db_session=session, call_pks=[earlier, origin], settings=settings)
        assert followups.followup_for(db_session=session, call_pk=origin).status == "open"  # type: ignore[union-attr]
        # the agent called back (seen by the connector as the trunk shows it: the customer's
        # number as caller id) before the origin call was analysed again
        callback = make_call(
            session,
            settings,
            started=t0 + timedelta(hours=30),
            direction="outbound",
            queue=None,
            caller=number,
            dialed=None,
        )
        result = after_call(db_session=session, call_pk=origin, settings=settings)
        assert result.followup is not None
        assert result.followup.status == "done"
        assert result.followup.closed_by_call_pk == callback
        assert result.followup.on_time is False  # 30 h after the call: late


def test_only_an_answered_callback_counts_when_asked(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    strict = AnalysisOptions(followups=FollowUpOptions(require_answered_callback=True))
    with session_scope(session_factory) as session:
        number = "13944445555"
        origin = make_call(
            session,
            settings,
            started=GOLDEN_START,
            answered=False,
            abandoned=True,
            wait_s=20.0,
            caller=number,
        )
        after_call(db_session=session, call_pk=origin, settings=settings, options=strict)
        missed = make_call(
            session,
            settings,
            started=GOLDEN_START + timedelta(hours=1),
            direction="outbound",
            queue=None,
            caller="8001",
            dialed=number,
            answered=False,
        )
        picked_up = make_call(
            session,
            settings,
            started=GOLDEN_START + timedelta(hours=2),
            direction="outbound",
            queue=None,
            caller="8001",
            dialed=number,
        )
        assert (
            after_call(db_session=session, call_pk=missed, settings=settings, options=strict).closed
            == []
        )
        (closed,) = after_call(
            db_session=session, call_pk=picked_up, settings=settings, options=strict
        ).closed
        assert closed.closed_by_call_pk == picked_up


def test_a_person_closes_a_follow_up_with_a_note(
    golden_calls: dict[str, int], settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    pk = golden_calls["1795332088.1340"]
    with session_scope(session_factory) as session:
        after_call(db_session=session, call_pk=pk, settings=settings)
        with pytest.raises(FollowUpError, match="needs a note"):
            followups.close_followup(db_session=session, call_pk=pk, by="mia", note="  ")
        with pytest.raises(FollowUpError, match="no follow-up"):
            followups.close_followup(
                db_session=session, call_pk=golden_calls["1795331836.1288"], by="mia", note="x"
            )
        when = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
        row = followups.close_followup(
            db_session=session, call_pk=pk, by="mia", note="emailed the customer", now=when
        )
        assert (row.status, row.closed_by, row.note, row.closed_at) == (
            "done",
            "mia",
            "emailed the customer",
            when,
        )
        assert row.closed_by_call_pk is None and row.on_time is True
        with pytest.raises(FollowUpError, match="already closed at 2026-11-22 09:00 UTC by mia"):
            followups.close_followup(db_session=session, call_pk=pk, by="max", note="again")
        # analysing the call again leaves a closed follow-up as it is
        after_call(db_session=session, call_pk=pk, settings=settings)
        assert followups.followup_for(db_session=session, call_pk=pk).note == "emailed the customer"  # type: ignore[union-attr]


def test_on_time_rate_counts_closed_in_time_over_closed_plus_overdue(
    golden_calls: dict[str, int], settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    hotline, direct, sales = (golden_calls[k] for k in ABANDONED)
    with session_scope(session_factory) as session:
        after_calls(db_session=session, call_pks=list(golden_calls.values()), settings=settings)
        started = session.get(Call, hotline).started_at  # type: ignore[union-attr]
        # hotline: called back after 2 h (on time); direct: closed by hand after 30 h (late);
        # sales: still open
        callback = make_call(
            session,
            settings,
            started=started + timedelta(hours=2),
            direction="outbound",
            queue=None,
            caller="8001",
            dialed="13900040000",
        )
        after_call(db_session=session, call_pk=callback, settings=settings)
        followups.close_followup(
            db_session=session,
            call_pk=direct,
            by="mia",
            note="late",
            now=started + timedelta(hours=30),
        )
        # a new abandon the evening after: open, not yet due
        fresh = make_call(
            session,
            settings,
            started=started + timedelta(hours=12),
            answered=False,
            abandoned=True,
            wait_s=12.0,
            caller="13955556666",
        )
        after_call(db_session=session, call_pk=fresh, settings=settings)
    now = started + timedelta(hours=26)  # the sales abandon is overdue by now
    with session_scope(session_factory) as session:
        whole = followups.on_time_rate(db_session=session, now=now)
        assert (whole.opened, whole.closed, whole.closed_on_time, whole.overdue) == (4, 2, 1, 1)
        assert whole.open_not_due == 1
        assert whole.on_time_rate == pytest.approx(1 / 3)
        by_queue = {
            r.group: r
            for r in followups.followup_on_time_rate(db_session=session, by="queue", now=now)
        }
        assert set(by_queue) == {"hotline", "sales", None}
        assert by_queue["hotline"].on_time_rate == pytest.approx(1.0)  # one on time, one not due
        assert by_queue["hotline"].open_not_due == 1
        assert by_queue["sales"].on_time_rate == pytest.approx(0.0)  # overdue
        assert by_queue[None].on_time_rate == pytest.approx(0.0)  # direct: closed late
        day = followups.followup_on_time_rate(
            db_session=session, by="day", tz="Asia/Shanghai", now=now
        )
        assert [(r.group, r.opened) for r in day] == [("2026-11-22", 3), ("2026-11-23", 1)]
        # nothing in range: no rate rather than a made-up one
        empty = followups.on_time_rate(db_session=session, since=now + timedelta(days=5), now=now)
        assert (empty.opened, empty.on_time_rate) == (0, None)
        with pytest.raises(ValueError, match="cannot group by 'colour'"):
            followups.followup_on_time_rate(db_session=session, by="colour")
