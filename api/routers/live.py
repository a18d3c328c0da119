"""The live wallboard feed: a snapshot the connector stores about once a second.

`GET /live` answers the last snapshot; `GET /live/stream` sends one every second as
server-sent events until the client goes. Any signed-in role may read them: they hold
queue names, wait times and agent names, never a caller's number.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from api.deps import CurrentUser, SessionDep, StateDep
from api.routers import errors
from core.db import session_scope
from telephony.live import read_snapshot

router = APIRouter(prefix="/live", tags=["live"])

STALE_AFTER_S = 5.0  # the connector publishes every second; older means it is not running
STREAM_INTERVAL_S = 1.0


class WaitingOut(BaseModel):
    """A caller waiting for a person now."""

    call_id: str
    queue: str | None
    wait_s: float
    ringing: list[str]


class AgentOut(BaseModel):
    """An agent's state as AMI shows it."""

    name: str
    state: str  # ringing | talking | free
    queue: str | None = None
    since_s: float | None = None


class TodayOut(BaseModel):
    """Today's inbound calls so far, in the hotline's time zone."""

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    answered_within_target: int = 0
    within_target_rate: float | None = None


class LiveOut(BaseModel):
    """One wallboard frame."""

    at: str | None = None  # PBX time of the snapshot, ISO 8601 UTC
    age_s: float | None = None  # how long ago the connector stored it
    stale: bool = True  # no snapshot, or none for STALE_AFTER_S: is the connector running?
    connected: bool = False  # the connector's AMI link was up
    waiting: list[WaitingOut] = []
    longest_wait_s: float = 0.0
    agents: list[AgentOut] = []
    agent_counts: dict[str, int] = {"ringing": 0, "talking": 0, "free": 0}
    today: TodayOut = TodayOut()


def _snapshot(db_session: Session) -> LiveOut:
    data: dict[str, Any] | None = read_snapshot(db_session=db_session)
    if data is None:
        return LiveOut()
    out = LiveOut.model_validate(data)
    out.stale = out.age_s is None or out.age_s > STALE_AFTER_S
    return out


def _read(factory: sessionmaker[Session]) -> LiveOut:
    with session_scope(factory) as session:
        return _snapshot(session)


@router.get("", response_model=LiveOut, responses=errors(401), summary="The wallboard now")
def live(_user: CurrentUser, db_session: SessionDep) -> LiveOut:
    """Calls waiting now and for how long, agents ringing / talking / free, and today's
    within-target rate (answered within target / answered)."""
    return _snapshot(db_session)


@router.get(
    "/stream",
    response_class=StreamingResponse,
    include_in_schema=False,  # an endless text/event-stream: not for schema-driven clients
)
async def live_stream(
    request: Request,
    _user: CurrentUser,
    state: StateDep,
    limit: int | None = Query(None, ge=1, description="Stop after this many snapshots."),
) -> StreamingResponse:
    """Server-sent events: one `snapshot` event a second (the body of `GET /live`)."""
    factory = state.session_factory

    async def frames() -> AsyncIterator[str]:
        yield f"retry: {int(STREAM_INTERVAL_S * 3000)}\n\n"
        sent = 0
        while limit is None or sent < limit:
            if await request.is_disconnected():
                break
            snap = await run_in_threadpool(_read, factory)
            sent += 1
            body = json.dumps(snap.model_dump(mode="json"), separators=(",", ":"))
            yield f"id: {sent}\nevent: snapshot\ndata: {body}\n\n"
            if limit is not None and sent >= limit:
                break
            await asyncio.sleep(STREAM_INTERVAL_S)

    return StreamingResponse(
        frames(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
