"""Calls and transcripts built for a test: calls through the connector's own upsert."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from core.settings import Settings
from telephony import service
from telephony.tracker import AttemptFacts, CallFacts
from transcription.models import Transcript, TranscriptSegment

_counter = [0]


def make_call(
    session: Session,
    settings: Settings,
    *,
    started: datetime,
    direction: str = "inbound",
    queue: str | None = "hotline",
    agent: str | None = "Alice Kim",
    caller: str | None = "13900000001",
    dialed: str | None = None,
    answered: bool = True,
    ring_s: float | None = 3.0,
    abandoned: bool = False,
    wait_s: float | None = None,
    talk_s: float = 60.0,
    call_id: str | None = None,
) -> int:
    """Store a call as the connector would (CallFacts -> upsert_call); returns its pk."""
    _counter[0] += 1
    ts = started.timestamp()
    call_id = call_id or f"{int(ts)}.{_counter[0]}"
    answered_ts = ts + (ring_s or 0.0) if answered else None
    ended = (answered_ts or ts + (wait_s or 0.0)) + (talk_s if answered else 0.0)
    attempts = (
        [AttemptFacts(agent, None, ts, answered_ts, "answered")] if answered and agent else []
    )
    facts = CallFacts(
        call_id=call_id,
        uniqueid=f"u{call_id}",
        started_ts=ts,
        ended_ts=ended,
        direction=direction,
        queue=queue,
        caller_number=caller,
        caller_name=None,
        dialed_number=dialed,
        answered=answered,
        agent=agent if answered else None,
        agent_interface=None,
        answered_ts=answered_ts,
        ring_to_answer_s=ring_s if answered else None,
        abandoned=abandoned,
        wait_s=wait_s if wait_s is not None else (ring_s if answered else None),
        talk_s=talk_s if answered else None,
        recording_mixed=None,
        attempts=attempts,
        complete=True,
    )
    call = service.upsert_call(db_session=session, facts=facts, settings=settings)
    assert call is not None
    return call.id


def add_transcript(
    session: Session,
    call_pk: int,
    segments: Sequence[tuple[str, float, float, str]] = (),
    *,
    status: str = "done",
    model: str = "test-model",
    longest_silence_s: float | None = 1.0,
    overtalk_s: float | None = 0.0,
    error: str | None = None,
) -> Transcript:
    """A transcript with these (speaker, start, end, text) segments, without running a model."""
    transcript = Transcript(
        call_pk=call_pk,
        model=model,
        status=status,
        error=error,
        language="en",
        longest_silence_s=longest_silence_s if status == "done" else None,
        overtalk_s=overtalk_s if status == "done" else None,
    )
    transcript.segments = [
        TranscriptSegment(seq=i, start_s=a, end_s=b, speaker=who, text=text)
        for i, (who, a, b, text) in enumerate(segments)
    ]
    session.add(transcript)
    session.flush()
    return transcript
