"""The API on a test database holding the golden capture, a few transcripts and one user of
each role (agents for each of the four golden agents, a supervisor per queue).

Passwords are hashed once per session (argon2 is slow on purpose); every user's password is
PASSWORD. `Api.as_(name)` gives the bearer headers of a user.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api import auth
from api.app import create_app
from api.models import User
from core.db import session_scope, utcnow
from core.settings import Settings
from telephony.connector import EventWriter
from telephony.models import Call
from tests.conftest import PBX_MONITOR_DIR, TRACES
from tests.telephony.golden import read_events
from transcription.models import Transcript, TranscriptSegment, TranscriptWord

PASSWORD = "correct horse battery"
RECORDINGS = TRACES / "recordings"
MODEL = "bundled:tiny.en"

# name: (role, agent_name, queues)
USERS: dict[str, tuple[str, str | None, list[str]]] = {
    "admin": ("admin", None, []),
    "manager": ("manager", None, []),
    "sup_hotline": ("supervisor", None, ["hotline"]),
    "sup_sales": ("supervisor", None, ["sales"]),
    "alice": ("agent", "Alice Kim", []),
    "bob": ("agent", "Bob Li", []),
    "chen": ("agent", "Chen Wei", []),
    "park": ("agent", "Park Jiwoo", []),
    "nobody": ("agent", "Not On The PBX", []),
}

# what the customer says in the complaint call: a phone number over three words and a plate
COMPLAINT_WORDS = [
    " My",
    " brakes",
    " squeal.",
    " Call",
    " me",
    " on",
    " 138",
    " 1234",
    " 5678,",
    " the",
    " car",
    " is",
    " 京A12345.",
]


def scenario_ids() -> dict[str, str]:
    """Golden scenario name -> Linkedid ('two-callers-at-once#0' and '#1' for the pair)."""
    truth = json.loads((TRACES / "golden.truth.json").read_text())
    out: dict[str, str] = {}
    for call in truth["calls"]:
        ids = call["linkedids"]
        if len(ids) == 1:
            out[call["id"]] = ids[0]
        else:
            for i, linkedid in enumerate(ids):
                out[f"{call['id']}#{i}"] = linkedid
    return out


SCENARIOS = scenario_ids()


@pytest.fixture(scope="session")
def password_hash() -> str:
    """PASSWORD hashed once."""
    return auth.hash_password(PASSWORD)


@dataclass
class Api:
    """A test client on the app plus what the fixtures stored."""

    client: TestClient
    app: FastAPI
    settings: Settings
    session_factory: sessionmaker[Session]
    tokens: dict[str, str]
    user_ids: dict[str, int]

    def as_(self, name: str) -> dict[str, str]:
        """Bearer headers of a fixture user."""
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    def get(self, name: str, url: str, **kwargs: Any) -> Any:
        """GET as a fixture user (bearer)."""
        headers = {**self.as_(name), **kwargs.pop("headers", {})}
        return self.client.get(url, headers=headers, **kwargs)


def load_golden(session_factory: sessionmaker[Session], settings: Settings) -> None:
    """The golden AMI capture through the real writer."""
    writer = EventWriter(session_factory, settings)
    writer.start()
    for event in read_events(TRACES / "golden.ami"):
        writer.put(event)
    writer.stop()
    assert writer.stats.calls_written == 13


def add_transcripts(session: Session) -> None:
    """A done transcript with personal numbers (Alice's complaint call), a plain done one
    (Bob's), a pending one (Chen's direct call) and a failed one (the ringall call)."""
    calls = {c.call_id: c for c in session.scalars(select(Call))}

    def done(call_id: str, segments: list[tuple[str, str, list[str]]]) -> None:
        transcript = Transcript(
            call_pk=calls[call_id].id,
            model=MODEL,
            status="done",
            attempts=1,
            language="en",
            audio_s=17.9,
            talk_customer_s=6.0,
            talk_agent_s=3.0,
            talk_unknown_s=0.0,
            silence_ratio=0.4,
            longest_silence_s=2.5,
            overtalk_s=0.0,
        )
        session.add(transcript)
        session.flush()
        t = 0.0
        for seq, (speaker, text, words) in enumerate(segments):
            segment = TranscriptSegment(
                transcript_id=transcript.id,
                seq=seq,
                start_s=t,
                end_s=t + len(words) * 0.4,
                speaker=speaker,
                text=text,
            )
            segment.words = [
                TranscriptWord(
                    seq=i, start_s=t + i * 0.4, end_s=t + i * 0.4 + 0.3, text=w, probability=0.9
                )
                for i, w in enumerate(words)
            ]
            session.add(segment)
            t += len(words) * 0.4 + 0.5

    greeting = [" Thank", " you", " for", " calling."]
    done(
        SCENARIOS["answered-1s-complaint"],
        [
            ("agent", " Thank you for calling.", greeting),
            ("customer", "".join(COMPLAINT_WORDS), COMPLAINT_WORDS),
        ],
    )
    done(
        SCENARIOS["ring-no-answer-then-next"],
        [
            ("agent", " Thank you for calling.", greeting),
            ("customer", " The brake pedal feels soft_ish.", [" The", " brake", " pedal"]),
        ],
    )
    session.add(
        Transcript(call_pk=calls[SCENARIOS["direct-answered"]].id, model=MODEL, status="pending")
    )
    session.add(
        Transcript(
            call_pk=calls[SCENARIOS["ringall-fastest-wins"]].id,
            model=MODEL,
            status="failed",
            error="recording is empty",
        )
    )


def add_users(session: Session, password_hash: str) -> tuple[dict[str, str], dict[str, int]]:
    """One user per USERS entry and a bearer token for each."""
    tokens: dict[str, str] = {}
    ids: dict[str, int] = {}
    for name, (role, agent_name, queues) in USERS.items():
        user = User(
            username=name,
            password_hash=password_hash,
            role=role,
            agent_name=agent_name,
            queues=queues,
            active=True,
            created_at=utcnow(),
        )
        session.add(user)
        session.flush()
        tokens[name], _ = auth.create_token(db_session=session, user=user, name="tests")
        ids[name] = user.id
    return tokens, ids


@pytest.fixture
def api_settings(settings: Settings) -> Settings:
    """The test settings with the PBX's monitor directory mapped to the golden recordings."""
    return settings.model_copy(
        update={
            "recording_path_map": f"{PBX_MONITOR_DIR}={RECORDINGS}",
            "review_seed": "test-review-seed",
        }
    )


@pytest.fixture
def api(
    api_settings: Settings,
    session_factory: sessionmaker[Session],
    password_hash: str,
) -> Iterator[Api]:
    """The app on the loaded database, with a plain-HTTP test client (cookies not Secure)."""
    load_golden(session_factory, api_settings)
    with session_scope(session_factory) as session:
        add_transcripts(session)
        tokens, ids = add_users(session, password_hash)
    app = create_app(
        api_settings,
        secure_cookies=False,
        login_limits=auth.LoginLimits(per_username=5, per_ip=8),
    )
    with TestClient(app) as client:
        yield Api(client, app, api_settings, session_factory, tokens, ids)


def recording_file(call_id: str, leg: str = "mixed") -> Path:
    """The golden recording file of a call's leg."""
    base, seq = call_id.rsplit(".", 1)
    uniqueid = f"{base}.{int(seq) + 1}"
    suffix = {"mixed": "", "customer": "-in", "agent": "-out"}[leg]
    return RECORDINGS / f"{uniqueid}{suffix}.wav"


@pytest.fixture
def analysed(api: Api) -> Api:
    """The API after the analysis pipeline ran on every golden call: themes of the done
    transcripts (both customers mention their brakes: safety), flags and follow-ups."""
    from analytics.pipeline import after_call, after_transcript

    with session_scope(api.session_factory) as session:
        for call in session.scalars(select(Call).order_by(Call.started_at)):
            done = session.scalar(
                select(Transcript.id).where(
                    Transcript.call_pk == call.id, Transcript.status == "done"
                )
            )
            run = after_transcript if done is not None else after_call
            run(db_session=session, call_pk=call.id, settings=api.settings)
    return api


def post(api: Api, name: str, url: str, body: Any = None, **kwargs: Any) -> Any:
    """POST JSON as a fixture user (bearer)."""
    return api.client.post(url, json=body or {}, headers=api.as_(name), **kwargs)
