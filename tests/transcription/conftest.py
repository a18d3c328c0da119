"""Fixtures for the transcription tests: the real bundled model and the golden recordings.

The model is loaded once for the session; the dialogues of every answered golden call are
transcribed once and shared by the tests that read them.
"""

from __future__ import annotations

import pytest

from tests.transcription.golden import GOLDEN_CALLS
from transcription.dialogue import Dialogue, transcribe_call
from transcription.engine import Engine


@pytest.fixture(scope="session")
def engine() -> Engine:
    """The default engine (bundled tiny.en, CPU int8), its model loaded once."""
    engine = Engine()
    engine.model()
    return engine


@pytest.fixture(scope="session")
def golden_dialogues(engine: Engine) -> dict[str, Dialogue]:
    """Each answered golden call transcribed from its two legs, by uniqueid."""
    return {
        call.uniqueid: transcribe_call(call.mixed, call.customer, call.agent, engine=engine)
        for call in GOLDEN_CALLS
    }
