"""Imports every package's models so the metadata is complete (for migrations and tests)."""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from core.db import Base

MODEL_MODULES = (
    "telephony.models",
    "transcription.models",
    "analytics.models",
    "analytics.surveys.models",
    "api.models",
)


def load_all_models() -> MetaData:
    """Import each package's models module that exists; return the full metadata."""
    for name in MODEL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise
    return Base.metadata
