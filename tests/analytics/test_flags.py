"""Flag rules on calls and transcripts built for the test: each rule fires, and does not."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from analytics import themes
from analytics.flags import FlagOptions, evaluate_call, flags_for
from analytics.models import Flag
from analytics.pipeline import AnalysisOptions, after_call
from core.db import session_scope
from core.settings import Settings
from telephony.models import Queue
from tests.analytics.factories import add_transcript, make_call

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def rules(
    session: Session, settings: Settings, pk: int, options: FlagOptions | None = None
) -> dict[str, str]:
    """rule -> severity after analysing the call's transcript and evaluating its flags."""
    themes.analyze_call(db_session=session, call_pk=pk)
    return {
        f.rule: f.severity
        for f in evaluate_call(db_session=session, call_pk=pk, settings=settings, options=options)
    }


def customer_says(session: Session, settings: Settings, *lines: str, **kw: float) -> int:
    pk = make_call(session, settings, started=T0)
    segments = [("agent", 0.0, 2.0, "Service hotline, how can I help?")]
    segments += [("customer", 2.0 + 3 * i, 4.5 + 3 * i, text) for i, text in enumerate(lines)]
    add_transcript(session, pk, segments, **kw)
    return pk


def test_a_complaint_theme_said_once_is_medium_and_repeated_is_high(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as session:
        once = customer_says(session, settings, "The advisor was rude to me.")
        thrice = customer_says(
            session, settings, "He was rude.", "So rude, honestly.", "Rude from start to end."
        )
        assert rules(session, settings, once) == {"theme:service_attitude": "medium"}
        assert rules(session, settings, thrice) == {"theme:service_attitude": "high"}
        # thresholds are options: 1 x (1 + ln 3) = 2.1 is under a high bar of 3, and a medium
        # bar of 1.5 leaves the single mention unflagged
        options = FlagOptions(theme_medium_score=1.5, theme_high_score=3.0)
        assert rules(session, settings, thrice, options) == {"theme:service_attitude": "medium"}
        assert rules(session, settings, once, options) == {}
        (flag,) = flags_for(db_session=session, call_pk=thrice)
        assert flag.reason.startswith("complaint service_attitude said 3 times, score 2.10 >= 1.5")
        assert '"rude" at 0:0' in flag.reason.lower()


def test_safety_and_escalation_are_always_flagged_critical(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as session:
        pk = customer_says(
            session, settings, "The brakes failed on the highway.", "I want to speak to a manager."
        )
        assert rules(session, settings, pk) == {
            "theme:safety": "critical",
            "theme:escalation": "critical",
        }
        # not listed as critical: still always flagged, as high
        options = FlagOptions(critical_themes=("safety",))
        assert rules(session, settings, pk, options) == {
            "theme:safety": "critical",
            "theme:escalation": "high",
        }
        # most severe first
        assert [f.rule for f in flags_for(db_session=session, call_pk=pk)] == [
            "theme:safety",
            "theme:escalation",
        ]


def test_only_the_customer_counts_unless_the_recording_has_no_legs(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as session:
        agent_only = make_call(session, settings, started=T0)
        add_transcript(
            session,
            agent_only,
            [
                ("agent", 0.0, 3.0, "Sorry, I know the brakes failed, shall I get a manager?"),
                ("customer", 3.0, 5.0, "Yes please, thank you."),
            ],
        )
        mono = make_call(session, settings, started=T0)
        add_transcript(session, mono, [("unknown", 0.0, 3.0, "The brakes failed on the highway.")])
        assert rules(session, settings, agent_only) == {}
        assert rules(session, settings, mono) == {"theme:safety": "critical"}


def test_abandoned_after_the_queue_target_is_medium(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    # default target: 3 rings x 5 s = 15 s
    with session_scope(session_factory) as session:
        late = make_call(session, settings, started=T0, answered=False, abandoned=True, wait_s=20)
        early = make_call(session, settings, started=T0, answered=False, abandoned=True, wait_s=9)
        assert rules(session, settings, late) == {"abandoned_after_target": "medium"}
        assert rules(session, settings, early) == {}
        (flag,) = flags_for(db_session=session, call_pk=late)
        assert flag.reason == (
            "caller hung up after waiting 20 s, past the 15 s target (3 rings x 5 s)"
        )
        # the queue's own target (5 rings = 25 s): 20 s is within it
        session.execute(update(Queue).values(answer_target_rings=5))
        session.expire_all()
        assert rules(session, settings, late) == {}


def test_answered_after_the_target_ring_is_low(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as session:
        ring4 = make_call(session, settings, started=T0, ring_s=16.0)
        ring3 = make_call(session, settings, started=T0, ring_s=14.0)
        assert rules(session, settings, ring4) == {"answered_late": "low"}
        assert rules(session, settings, ring3) == {}
        # a 6 s ring cycle on the queue: 16 s is ring 3, on target
        session.execute(update(Queue).values(ring_cycle_s=6.0))
        session.expire_all()
        assert rules(session, settings, ring4) == {}


def test_outbound_calls_have_no_ring_target(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as session:
        pk = make_call(session, settings, started=T0, direction="outbound", queue=None, ring_s=30.0)
        assert rules(session, settings, pk) == {}


@pytest.mark.parametrize(
    ("silence", "overtalk", "options", "want"),
    [
        (25.0, 0.0, FlagOptions(), {"long_silence": "low"}),
        (10.0, 0.0, FlagOptions(), {}),
        (10.0, 0.0, FlagOptions(long_silence_s=8.0), {"long_silence": "low"}),
        (1.0, 6.5, FlagOptions(), {"overtalk": "low"}),
        (1.0, 2.0, FlagOptions(), {}),
        (30.0, 9.0, FlagOptions(overtalk_s=10.0), {"long_silence": "low"}),
    ],
)
def test_long_silence_and_heavy_overtalk_are_low(
    settings: Settings,
    session_factory: sessionmaker[Session],
    silence: float,
    overtalk: float,
    options: FlagOptions,
    want: dict[str, str],
) -> None:
    with session_scope(session_factory) as session:
        pk = customer_says(
            session,
            settings,
            "I need an appointment.",
            longest_silence_s=silence,
            overtalk_s=overtalk,
        )
        assert rules(session, settings, pk, options) == want


def test_a_failed_transcription_of_an_answered_call_is_low(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as session:
        answered = make_call(session, settings, started=T0)
        add_transcript(session, answered, status="failed", error="recording not found")
        unanswered = make_call(
            session, settings, started=T0, answered=False, abandoned=True, wait_s=3
        )
        add_transcript(session, unanswered, status="failed", error="empty recording")
        assert rules(session, settings, answered) == {"transcription_failed": "low"}
        (flag,) = flags_for(db_session=session, call_pk=answered)
        assert flag.reason == "the recording could not be transcribed: recording not found"
        assert rules(session, settings, unanswered) == {}
        off = FlagOptions(flag_failed_transcription=False)
        assert rules(session, settings, answered, off) == {}
        # queued again: not a failure while it is being retried
        add_transcript(session, answered, status="pending", model="other-model")
        assert rules(session, settings, answered) == {}


def test_evaluating_again_changes_nothing_and_drops_what_no_longer_holds(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as session:
        pk = make_call(session, settings, started=T0, ring_s=16.0)
        transcript = add_transcript(
            session, pk, [("customer", 0.0, 2.0, "You were rude.")], longest_silence_s=40.0
        )
        first = {
            f.rule: (f.id, f.created_at)
            for f in evaluate_call(db_session=session, call_pk=pk, settings=settings)
        }
        assert set(first) == {"answered_late", "long_silence"}  # themes not analysed yet
        themes.analyze_call(db_session=session, call_pk=pk)
        second = {
            f.rule: (f.id, f.created_at)
            for f in evaluate_call(db_session=session, call_pk=pk, settings=settings)
        }
        assert set(second) == {"theme:service_attitude", "answered_late", "long_silence"}
        assert second["answered_late"] == first["answered_late"]  # kept, not re-created
        transcript.longest_silence_s = 2.0
        session.flush()
        evaluate_call(db_session=session, call_pk=pk, settings=settings)
        evaluate_call(db_session=session, call_pk=pk, settings=settings)
        stored = session.scalars(select(Flag.rule).where(Flag.call_pk == pk)).all()
        assert sorted(stored) == ["answered_late", "theme:service_attitude"]


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="theme_medium_score <= theme_high_score"):
        FlagOptions(theme_medium_score=3.0, theme_high_score=2.0)
    with pytest.raises(ValueError, match="above 0"):
        FlagOptions(overtalk_s=0)


def test_the_thresholds_are_settings(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    strict = settings.model_copy(
        update={"flag_long_silence_s": 8.0, "flag_critical_themes": "safety", "followup_due_h": 4}
    )
    options = AnalysisOptions.from_settings(strict)
    assert options.flags.long_silence_s == 8.0
    assert options.flags.critical_themes == ("safety",)
    assert options.followups.due_h == 4
    with session_scope(session_factory) as session:
        pk = customer_says(session, settings, "I need an appointment.", longest_silence_s=10.0)
        assert after_call(db_session=session, call_pk=pk, settings=settings).flags == []
        flagged = after_call(db_session=session, call_pk=pk, settings=strict).flags
        assert [f.rule for f in flagged] == ["long_silence"]


def test_inconsistent_theme_scores_are_refused() -> None:
    with pytest.raises(ValidationError, match="MEDIUM_SCORE"):
        Settings(flag_theme_medium_score=3.0, flag_theme_high_score=2.0)  # type: ignore[call-arg]
