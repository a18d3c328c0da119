"""Transcription jobs against the database: idempotent, clear failures, bounded attempts."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from core.settings import Settings
from telephony.connector import EventWriter
from telephony.models import Call
from tests.conftest import PBX_MONITOR_DIR, TRACES
from tests.telephony.golden import read_events
from transcription import service
from transcription.engine import Engine
from transcription.models import Transcript, TranscriptSegment
from transcription.pipeline import run_transcription

pytestmark = pytest.mark.slow


@pytest.fixture
def mapped(settings: Settings) -> Settings:
    """Settings whose path map finds the PBX's recordings in the test fixtures."""
    return settings.model_copy(
        update={"recording_path_map": f"{PBX_MONITOR_DIR}={TRACES / 'recordings'}"}
    )


@pytest.fixture
def loaded(mapped: Settings, session_factory: sessionmaker[Session]) -> dict[str, int]:
    """The golden calls in the database with pending transcripts; call_id -> transcript id."""
    writer = EventWriter(session_factory, mapped)
    writer.start()
    for event in read_events(TRACES / "golden.ami"):
        writer.put(event)
    writer.stop()
    with session_scope(session_factory) as session:
        rows = service.calls_to_transcribe(db_session=session, call_pks=None, model="m")
        return {
            session.get(Call, t.call_pk).call_id: t.id  # type: ignore[union-attr]
            for t in rows
        }


def run(tid: int, factory: sessionmaker[Session], settings: Settings, engine: Engine) -> str:
    return run_transcription(tid, session_factory=factory, settings=settings, engine=engine)


def test_a_call_is_transcribed_with_who_said_what_and_only_once(
    loaded: dict[str, int],
    mapped: Settings,
    session_factory: sessionmaker[Session],
    engine: Engine,
) -> None:
    assert len(loaded) == 13  # every golden call has a MixMonitor recording
    tid = loaded["1795332025.1324"]  # answered-1s-complaint: brakes, third time, manager
    assert run(tid, session_factory, mapped, engine) == "done"
    with session_scope(session_factory) as session:
        transcript = session.get(Transcript, tid)
        assert transcript is not None
        assert transcript.status == "done" and transcript.language == "en"
        customer = " ".join(s.text for s in transcript.segments if s.speaker == "customer")
        agent = " ".join(s.text for s in transcript.segments if s.speaker == "agent")
        assert "brakes" in customer.lower() and "third time" in customer.lower()
        assert "thank you for calling" in agent.lower()
        assert "brakes" not in agent.lower()
        assert transcript.talk_customer_s and transcript.talk_customer_s > 5
        assert transcript.talk_agent_s and transcript.talk_agent_s > 2
        assert transcript.audio_s and transcript.audio_s > 10
        assert all(s.words for s in transcript.segments)
        segments = session.scalar(select(func.count(TranscriptSegment.id)))
    # the same task again (a redelivery): nothing changes, never a second transcript
    assert run(tid, session_factory, mapped, engine) == "done"
    with session_scope(session_factory) as session:
        assert session.scalar(select(func.count(Transcript.id))) == 13
        assert session.scalar(select(func.count(TranscriptSegment.id))) == segments
        assert service.status_of(db_session=session, call_pk=transcript.call_pk) == "done"


def test_an_empty_recording_fails_with_a_reason_a_person_understands(
    loaded: dict[str, int],
    mapped: Settings,
    session_factory: sessionmaker[Session],
    engine: Engine,
) -> None:
    tid = loaded["1795331957.1306"]  # abandoned in queue: MixMonitor wrote a 44-byte file
    assert run(tid, session_factory, mapped, engine) == "failed"
    with session_scope(session_factory) as session:
        transcript = session.get(Transcript, tid)
        assert transcript is not None and transcript.status == "failed"
        assert "empty" in (transcript.error or "")
        assert service.status_of(db_session=session, call_pk=transcript.call_pk) == "failed"
        # retry --failed puts it back in the queue
        again = service.failed_transcripts(db_session=session)
        assert [t.id for t in again] == [tid] and again[0].status == "pending"


def test_a_missing_recording_fails_clearly(
    loaded: dict[str, int],
    settings: Settings,
    session_factory: sessionmaker[Session],
    engine: Engine,
    tmp_path: Path,
) -> None:
    elsewhere = settings.model_copy(
        update={"recording_path_map": f"{PBX_MONITOR_DIR}={tmp_path / 'not-mounted'}"}
    )
    tid = loaded["1795331836.1288"]
    assert run(tid, session_factory, elsewhere, engine) == "failed"
    with session_scope(session_factory) as session:
        transcript = session.get(Transcript, tid)
        assert transcript is not None
        assert "not-mounted" in (transcript.error or "")


def test_a_job_lost_with_its_worker_too_often_ends_failed(
    loaded: dict[str, int],
    mapped: Settings,
    session_factory: sessionmaker[Session],
    engine: Engine,
) -> None:
    tid = loaded["1795331836.1288"]
    with session_scope(session_factory) as session:
        transcript = session.get(Transcript, tid)
        assert transcript is not None
        transcript.status = "running"
        transcript.attempts = service.MAX_ATTEMPTS
    assert run(tid, session_factory, mapped, engine) == "failed"
    with session_scope(session_factory) as session:
        transcript = session.get(Transcript, tid)
        assert transcript is not None
        assert "gave up after" in (transcript.error or "")
