"""Transcripts in the database: which calls need one, queueing, storing a result."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from telephony.models import Call
from transcription.dialogue import Dialogue, DialogueMetrics
from transcription.models import Transcript, TranscriptSegment, TranscriptWord

MAX_ATTEMPTS = 3


def transcript_for(*, db_session: Session, call_pk: int, model: str) -> Transcript:
    """The transcript of a call by a model, created as pending when there is none."""
    transcript = db_session.scalar(
        select(Transcript).where(Transcript.call_pk == call_pk, Transcript.model == model)
    )
    if transcript is None:
        transcript = Transcript(call_pk=call_pk, model=model, status="pending", attempts=0)
        db_session.add(transcript)
        db_session.flush()
    return transcript


def calls_to_transcribe(
    *, db_session: Session, call_pks: Sequence[int] | None, model: str
) -> list[Transcript]:
    """Pending transcripts for these calls (or every call) with a recording and none yet."""
    stmt = (
        select(Call.id)
        .outerjoin(Transcript, (Transcript.call_pk == Call.id) & (Transcript.model == model))
        .where(Call.recording_mixed.is_not(None), Transcript.id.is_(None))
        .order_by(Call.started_at)
    )
    if call_pks is not None:
        stmt = stmt.where(Call.id.in_(list(call_pks)))
    return [
        transcript_for(db_session=db_session, call_pk=pk, model=model)
        for pk in db_session.scalars(stmt)
    ]


def failed_transcripts(*, db_session: Session) -> list[Transcript]:
    """Transcripts that ended failed, reset to pending so they can be queued again."""
    rows = list(db_session.scalars(select(Transcript).where(Transcript.status == "failed")))
    for transcript in rows:
        transcript.status = "pending"
        transcript.error = None
        transcript.attempts = 0
    db_session.flush()
    return rows


def stale_pending(*, db_session: Session) -> list[Transcript]:
    """Transcripts still pending or running (to queue again after a broker was wiped)."""
    return list(
        db_session.scalars(select(Transcript).where(Transcript.status.in_(("pending", "running"))))
    )


def store_result(
    *,
    db_session: Session,
    transcript: Transcript,
    dialogue: Dialogue,
    metrics: DialogueMetrics,
) -> None:
    """Replace the transcript's content with this dialogue and mark it done."""
    db_session.execute(
        delete(TranscriptSegment).where(TranscriptSegment.transcript_id == transcript.id)
    )
    db_session.expire(transcript, ["segments"])
    for seq, segment in enumerate(dialogue.segments):
        row = TranscriptSegment(
            transcript_id=transcript.id,
            seq=seq,
            start_s=round(segment.start, 3),
            end_s=round(segment.end, 3),
            speaker=segment.speaker,
            text=segment.text,
            avg_logprob=segment.avg_logprob,
            no_speech_prob=segment.no_speech_prob,
        )
        row.words = [
            TranscriptWord(
                seq=i,
                start_s=round(w.start, 3),
                end_s=round(w.end, 3),
                text=w.text[:200],
                probability=w.probability,
            )
            for i, w in enumerate(segment.words)
        ]
        db_session.add(row)
    transcript.status = "done"
    transcript.error = None
    transcript.language = dialogue.language
    transcript.audio_s = round(dialogue.duration_s, 3)
    transcript.processing_s = round(dialogue.processing_s, 3)
    transcript.talk_customer_s = metrics.talk_s.get("customer", 0.0)
    transcript.talk_agent_s = metrics.talk_s.get("agent", 0.0)
    transcript.talk_unknown_s = metrics.talk_s.get("unknown", 0.0)
    transcript.silence_ratio = metrics.silence_ratio
    transcript.longest_silence_s = metrics.longest_silence_s
    transcript.overtalk_s = metrics.overtalk_s
    db_session.flush()


def mark_failed(*, db_session: Session, transcript: Transcript, reason: str) -> None:
    """End a transcript as failed with a reason a person understands."""
    transcript.status = "failed"
    transcript.error = reason
    db_session.flush()


def status_of(*, db_session: Session, call_pk: int) -> str:
    """none / pending / done / failed for a call (running counts as pending)."""
    statuses = set(
        db_session.scalars(select(Transcript.status).where(Transcript.call_pk == call_pk))
    )
    if not statuses:
        return "none"
    if "done" in statuses:
        return "done"
    if statuses & {"pending", "running"}:
        return "pending"
    return "failed"
