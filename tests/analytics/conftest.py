"""Fixtures for the stored-analytics tests: the golden calls in the database, the real model."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from core.settings import Settings
from telephony.connector import EventWriter
from telephony.models import Call
from tests.conftest import TRACES
from tests.telephony.golden import read_events
from tests.transcription.conftest import engine  # noqa: F401  (the session's loaded model)


@pytest.fixture
def golden_calls(settings: Settings, session_factory: sessionmaker[Session]) -> dict[str, int]:
    """The 13 golden calls, written the way the live connector writes them; Linkedid -> pk."""
    writer = EventWriter(session_factory, settings)
    writer.start()
    for event in read_events(TRACES / "golden.ami"):
        writer.put(event)
    writer.stop()
    with session_scope(session_factory) as session:
        pks = {call_id: pk for call_id, pk in session.execute(select(Call.call_id, Call.id))}
    assert len(pks) == 13
    return pks
