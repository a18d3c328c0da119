"""Themes, flags and follow-ups of golden complaint calls transcribed by the real model.

Two calls where the customer says the c_brakes prompt ("... the brakes are still squeaking.
This is the third time I brought it back for the same problem. Nobody called me back. I want to
speak to a manager."), as the bundled tiny.en model hears it from the customer's leg:

- ring-no-answer-then-next (1795331915.1300, Bob after 20 s, ring 5): "third time" and "same
  problem" (repeat_repair twice), "speak to a manager" (escalation);
- answered-1s-complaint (1795332025.1324, Alice after 1 s): only "third time" survives (the
  model hears "a fame problem" and "a man in your...").

Each call is transcribed once per module; each test stores the dialogues in its own database.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from analytics import themes
from analytics.lexicon import lexicon_to_dict
from analytics.models import CallTheme, ThemeMatchRow
from analytics.pipeline import after_transcript, analyze_transcription
from core.db import session_scope
from core.settings import Settings
from telephony.models import Call
from tests.transcription.golden import GOLDEN_CALLS, recording_id
from transcription import service
from transcription.dialogue import Dialogue, dialogue_metrics, transcribe_call
from transcription.engine import Engine
from transcription.models import Transcript, TranscriptSegment

pytestmark = pytest.mark.slow

SECOND_AGENT = "1795331915.1300"  # ring-no-answer-then-next
QUICK = "1795332025.1324"  # answered-1s-complaint


@pytest.fixture(scope="module")
def dialogues(engine: Engine) -> dict[str, Dialogue]:
    """The two complaint calls transcribed from their legs, by Linkedid (once per module)."""
    wanted = {recording_id(linkedid): linkedid for linkedid in (SECOND_AGENT, QUICK)}
    out = {}
    for call in GOLDEN_CALLS:
        if call.uniqueid in wanted:
            out[wanted[call.uniqueid]] = transcribe_call(
                call.mixed, call.customer, call.agent, engine=engine
            )
    assert len(out) == 2
    return out


@pytest.fixture
def transcribed(
    golden_calls: dict[str, int],
    dialogues: dict[str, Dialogue],
    session_factory: sessionmaker[Session],
) -> dict[str, int]:
    """The golden calls, the two complaint calls with done transcripts; Linkedid -> call pk."""
    with session_scope(session_factory) as session:
        for linkedid, dialogue in dialogues.items():
            transcript = service.transcript_for(
                db_session=session, call_pk=golden_calls[linkedid], model="tiny.en"
            )
            service.store_result(
                db_session=session,
                transcript=transcript,
                dialogue=dialogue,
                metrics=dialogue_metrics(dialogue),
            )
    return golden_calls


def test_a_complaint_call_gets_its_themes_with_offsets_and_times(
    transcribed: dict[str, int], session_factory: sessionmaker[Session]
) -> None:
    pk = transcribed[SECOND_AGENT]
    with session_scope(session_factory) as session:
        results = themes.analyze_call(db_session=session, call_pk=pk)
    assert [(r.theme, r.count) for r in results] == [("repeat_repair", 2), ("escalation", 1)]
    with session_scope(session_factory) as session:
        transcript = session.scalars(select(Transcript).where(Transcript.call_pk == pk)).one()
        segments = {s.seq: s for s in transcript.segments}
        stored = {t.theme: t for t in themes.call_themes(db_session=session, call_pk=pk)}
        assert set(stored) == {"repeat_repair", "escalation"}
        assert stored["repeat_repair"].score == pytest.approx(1.2 * 2.0, rel=0.2)
        assert stored["escalation"].always_flag and not stored["repeat_repair"].always_flag
        assert all(
            t.transcript_id == transcript.id and t.theme_set_version == 1 for t in stored.values()
        )
        matches = themes.theme_matches(db_session=session, call_pk=pk)
        assert sorted(m.text.lower() for m in matches) == [
            "same problem",
            "speak to a manager",
            "third time",
        ]
        for match in matches:
            segment: TranscriptSegment = segments[match.segment]
            assert segment.speaker == match.speaker == "customer"
            assert segment.text[match.start : match.end] == match.text
            assert match.time_s is not None and match.time_end_s is not None
            assert segment.start_s - 0.01 <= match.time_s < match.time_end_s
            assert match.time_end_s <= segment.end_s + 0.01
        # the manager is asked for last, well after the repeat repair
        by_text = {m.text.lower(): m for m in matches}
        assert by_text["speak to a manager"].time_s > by_text["same problem"].time_end_s  # type: ignore[operator]
        # again: the call's rows are replaced, never added to
        themes.analyze_call(db_session=session, call_pk=pk)
        assert session.scalar(select(func.count(ThemeMatchRow.id))) == 3
        assert session.scalar(select(func.count(CallTheme.id))) == 2


def test_flags_and_follow_ups_of_the_golden_complaints(
    transcribed: dict[str, int], settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as session:
        slow = after_transcript(
            db_session=session, call_pk=transcribed[SECOND_AGENT], settings=settings
        )
        quick = after_transcript(db_session=session, call_pk=transcribed[QUICK], settings=settings)
        slow_call = session.get(Call, transcribed[SECOND_AGENT])
        assert slow_call is not None
        assert [(f.rule, f.severity) for f in slow.flags] == [
            ("theme:escalation", "critical"),  # always flagged
            ("theme:repeat_repair", "high"),  # said twice: 1.2 x (1 + ln 2) >= 2
            ("answered_late", "low"),  # ring 5 of a 3-ring target
        ]
        assert '"speak to a manager" at 0:1' in slow.flags[0].reason
        assert [(f.rule, f.severity) for f in quick.flags] == [("theme:repeat_repair", "medium")]
        assert slow.followup is not None and quick.followup is not None
        assert slow.followup.reason == "complaint: escalation, repeat_repair"
        assert slow.followup.status == "open"
        assert slow.followup.due_at == slow_call.started_at + timedelta(hours=24)
        assert slow.followup.number == "13900030000"


def test_a_new_lexicon_version_changes_the_result_on_re_analysis(
    transcribed: dict[str, int], settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    pk = transcribed[SECOND_AGENT]
    with session_scope(session_factory) as session:
        after_transcript(db_session=session, call_pk=pk, settings=settings)
        data = lexicon_to_dict(themes.active_lexicon(db_session=session))
        data["themes"] = [t for t in data["themes"] if t["id"] != "escalation"]
        themes.import_yaml(db_session=session, text=yaml.safe_dump(data), note="no escalation")
    with session_scope(session_factory) as session:
        result = after_transcript(db_session=session, call_pk=pk, settings=settings)
        assert [r.theme for r in result.themes or []] == ["repeat_repair"]
        assert [f.rule for f in result.flags] == ["theme:repeat_repair", "answered_late"]
        assert {
            t.theme_set_version for t in themes.call_themes(db_session=session, call_pk=pk)
        } == {2}
        assert result.followup is not None and result.followup.reason == "complaint: repeat_repair"


def test_the_transcription_job_hook_analyses_in_its_own_transaction(
    transcribed: dict[str, int], settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as session:
        tid = session.scalars(
            select(Transcript.id).where(Transcript.call_pk == transcribed[QUICK])
        ).one()
        abandoned = service.transcript_for(
            db_session=session, call_pk=transcribed["1795332088.1340"], model="tiny.en"
        )
        service.mark_failed(db_session=session, transcript=abandoned, reason="empty recording")
    done = analyze_transcription(tid, session_factory=session_factory, settings=settings)
    failed = analyze_transcription(abandoned.id, session_factory=session_factory, settings=settings)
    assert analyze_transcription(10_000, session_factory=session_factory, settings=settings) is None
    assert done is not None and [r.theme for r in done.themes or []] == ["repeat_repair"]
    # a call nobody answered has no speech to lose: its empty recording is no failure to flag
    assert failed is not None and failed.themes is None
    assert [f.rule for f in failed.flags] == ["abandoned_after_target"]
    with session_scope(session_factory) as session:
        assert themes.call_themes(db_session=session, call_pk=transcribed[QUICK])
