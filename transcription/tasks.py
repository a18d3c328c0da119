"""Celery tasks: thin wrappers that take ids; the model loads once per worker process."""

from __future__ import annotations

import logging
from functools import lru_cache

from celery import shared_task
from celery.app.task import Task
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from core.db import make_engine, make_sessionmaker
from core.settings import get_settings
from transcription.engine import Engine
from transcription.pipeline import run_transcription

log = logging.getLogger(__name__)

TRANSCRIBE = "callscope.transcribe"
ANALYZE = "callscope.analyze"  # analytics.tasks: sent by name, analytics builds on us


@lru_cache(maxsize=1)
def _session_factory() -> sessionmaker[Session]:
    return make_sessionmaker(make_engine(get_settings().database_url))


@lru_cache(maxsize=1)
def worker_engine() -> Engine:
    """The worker process's engine; threads split so N processes do not oversubscribe."""
    settings = get_settings()
    return Engine.from_settings(settings, processes=settings.worker_concurrency)


@shared_task(
    bind=True,
    name=TRANSCRIBE,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, ConnectionError, TimeoutError),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
)
def transcribe(self: Task, transcript_id: int) -> str:
    """Transcribe the recording of one transcript row (by id), then queue its analysis."""
    status = run_transcription(
        transcript_id,
        session_factory=_session_factory(),
        settings=get_settings(),
        engine=worker_engine(),
        worker=self.request.hostname,
    )
    try:
        self.app.send_task(ANALYZE, args=[transcript_id], queue=get_settings().task_queue)
    except Exception as exc:  # the transcript is stored; `callscope analyze --all` catches up
        log.warning("could not queue the analysis of transcript %s: %s", transcript_id, exc)
    return status
