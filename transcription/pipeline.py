"""One transcription job from start to end: claim, transcribe, store; no Celery here."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from core.settings import Settings
from telephony.models import Call
from transcription import service
from transcription.audio import remap_recording_path
from transcription.dialogue import dialogue_metrics, transcribe_call
from transcription.engine import Engine
from transcription.errors import AudioError, TranscriptionError
from transcription.models import Transcript

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RecordingPaths:
    """Where this machine finds a call's recordings (after the path mapping)."""

    mixed: Path | None
    customer: Path | None
    agent: Path | None


def local_paths(call: Call, settings: Settings) -> RecordingPaths:
    """The call's recordings as this machine sees them; legs only when both files exist."""
    prefixes = settings.recording_prefixes()

    def local(path: str | None) -> Path | None:
        return remap_recording_path(path, prefixes) if path else None

    mixed = local(call.recording_mixed)
    customer = local(call.recording_customer)
    agent = local(call.recording_agent)
    if customer is None or agent is None or not (customer.exists() and agent.exists()):
        customer = agent = None
    return RecordingPaths(mixed, customer, agent)


def _claim(session: Session, transcript_id: int, worker: str | None) -> Transcript | None:
    """Mark the transcript running (one more attempt) unless it is done; None if done/missing."""
    claimed = session.execute(
        update(Transcript)
        .where(Transcript.id == transcript_id, Transcript.status != "done")
        .values(status="running", attempts=Transcript.attempts + 1, worker=worker)
    )
    if getattr(claimed, "rowcount", 0) == 0:
        return None
    return session.get(Transcript, transcript_id)


def run_transcription(
    transcript_id: int,
    *,
    session_factory: sessionmaker[Session],
    settings: Settings,
    engine: Engine,
    worker: str | None = None,
) -> str:
    """Transcribe one call's recording into its transcript; returns the final status.

    Idempotent: a transcript that is already done is left alone. A recording that cannot be
    used ends `failed` with the reason; so does a job that was lost with its worker more
    than `MAX_ATTEMPTS` times. Other errors (database, file system) propagate for a retry.
    """
    with session_scope(session_factory) as session:
        transcript = _claim(session, transcript_id, worker)
        if transcript is None:
            log.info("transcript %s is done already (or gone); nothing to do", transcript_id)
            return "done"
        if transcript.attempts > service.MAX_ATTEMPTS:
            service.mark_failed(
                db_session=session,
                transcript=transcript,
                reason=f"gave up after {service.MAX_ATTEMPTS} attempts: the worker was lost "
                "each time (killed or out of memory?)",
            )
            return "failed"
        call = session.get(Call, transcript.call_pk)
        if call is None:
            service.mark_failed(db_session=session, transcript=transcript, reason="call deleted")
            return "failed"
        paths = local_paths(call, settings)
        language = (call.queue.language if call.queue else None) or settings.transcription_language
    try:
        dialogue = transcribe_call(
            paths.mixed, paths.customer, paths.agent, language=language, engine=engine
        )
    except (AudioError, TranscriptionError) as exc:
        with session_scope(session_factory) as session:
            row = session.get(Transcript, transcript_id)
            if row is not None:
                service.mark_failed(db_session=session, transcript=row, reason=str(exc))
        log.warning("transcript %s failed: %s", transcript_id, exc)
        return "failed"
    metrics = dialogue_metrics(dialogue)
    with session_scope(session_factory) as session:
        row = session.get(Transcript, transcript_id)
        if row is None:
            return "done"
        service.store_result(db_session=session, transcript=row, dialogue=dialogue, metrics=metrics)
    log.info(
        "transcript %s done: %.1f s of audio in %.1f s",
        transcript_id,
        dialogue.duration_s,
        dialogue.processing_s,
    )
    return "done"
