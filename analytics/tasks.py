"""Celery task: themes, flags and follow-ups of a call once its transcription has finished."""

from __future__ import annotations

from functools import lru_cache

from celery import shared_task
from sqlalchemy.orm import Session, sessionmaker

from analytics.pipeline import analyze_transcription
from core.db import make_engine, make_sessionmaker
from core.settings import get_settings

ANALYZE = "callscope.analyze"


@lru_cache(maxsize=1)
def _session_factory() -> sessionmaker[Session]:
    return make_sessionmaker(make_engine(get_settings().database_url))


@shared_task(name=ANALYZE, acks_late=True, reject_on_worker_lost=True)
def analyze(transcript_id: int) -> bool:
    """Analyse the call of one finished (done or failed) transcript; errors are logged."""
    result = analyze_transcription(
        transcript_id, session_factory=_session_factory(), settings=get_settings()
    )
    return result is not None
