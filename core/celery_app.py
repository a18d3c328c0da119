"""The Celery application factory (no tasks here: each package registers its own)."""

from __future__ import annotations

import os

from celery import Celery

from core.settings import Settings

TASK_MODULES = ["transcription.tasks", "analytics.tasks"]


def make_celery(settings: Settings) -> Celery:
    """A Celery app on the configured broker, tuned for long, CPU-bound, idempotent tasks."""
    app = Celery("callscope", broker=settings.broker_url, include=TASK_MODULES)
    broker_options: dict[str, object] = {}
    if settings.broker_url.startswith("redis"):
        # a task not acknowledged within this time is handed to another worker
        broker_options["visibility_timeout"] = settings.broker_visibility_timeout_s
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        result_backend=settings.result_backend,
        broker_transport_options=broker_options,
        broker_connection_retry_on_startup=True,
        task_default_queue=settings.task_queue,
        worker_hijack_root_logger=False,
        timezone="UTC",
    )
    return app


_app: Celery | None = None


def get_celery() -> Celery:
    """The process's Celery app, built from settings on first use."""
    global _app
    if _app is None:
        from core.settings import get_settings

        _app = make_celery(get_settings())
    return _app


def worker_threads(settings: Settings, processes: int) -> int:
    """CPU threads per worker process so N processes do not oversubscribe the cores."""
    if settings.worker_threads > 0:
        return settings.worker_threads
    cores = os.cpu_count() or 1
    return max(1, cores // max(1, processes))
