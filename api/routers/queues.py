"""Queues and their ring policy: every signed-in user reads them, admins change them."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from api import service
from api.deps import ClientDep, CurrentUser, SessionDep, StateDep, require
from api.errors import InvalidRequest, NotFound
from api.models import User
from api.routers import errors
from api.schemas import PLAIN_TEXT, RequestBody
from telephony import service as telephony_service
from telephony.models import Queue

router = APIRouter(prefix="/queues", tags=["queues"])

QueueAdmin = Annotated[User, Depends(require("manage_settings"))]
QueuePath = Annotated[str, Path(min_length=1, max_length=200, pattern=PLAIN_TEXT)]


class QueueOut(BaseModel):
    """A queue's own settings (null: the global setting applies) and what is in force."""

    model_config = ConfigDict(from_attributes=True)

    name: str = Field(examples=["hotline"])
    ring_cycle_s: float | None = Field(description="Seconds per ring; null: CALLSCOPE_RING_CYCLE_S")
    answer_target_rings: int | None = Field(
        description="Answer within this many rings; null: CALLSCOPE_ANSWER_TARGET_RINGS"
    )
    language: str | None = Field(
        description="Transcription language zh|ko|en; null: CALLSCOPE_TRANSCRIPTION_LANGUAGE"
    )
    retention_days: int | None = Field(
        description="Days recordings and transcripts are kept (0: forever); null: "
        "CALLSCOPE_RETENTION_DAYS"
    )
    effective_ring_cycle_s: float
    effective_target_rings: int
    effective_target_s: float = Field(description="effective ring cycle x target rings")


class QueueUpdate(RequestBody):
    """Changes to a queue; fields left out stay, null returns a field to the global setting."""

    ring_cycle_s: float | None = Field(None, gt=0, le=60, examples=[5.0])
    answer_target_rings: int | None = Field(None, ge=1, le=50, examples=[3])
    language: Literal["zh", "ko", "en"] | None = None
    retention_days: int | None = Field(None, ge=0, le=36500, examples=[180])


def _out(queue: Queue, state: StateDep) -> QueueOut:
    policy = telephony_service.ring_policy(queue, state.settings)
    return QueueOut(
        name=queue.name,
        ring_cycle_s=queue.ring_cycle_s,
        answer_target_rings=queue.answer_target_rings,
        language=queue.language,
        retention_days=queue.retention_days,
        effective_ring_cycle_s=policy.ring_cycle_s,
        effective_target_rings=policy.answer_target_rings,
        effective_target_s=policy.ring_cycle_s * policy.answer_target_rings,
    )


@router.get("", response_model=list[QueueOut], responses=errors(401), summary="List queues")
def list_queues(user: CurrentUser, db_session: SessionDep, state: StateDep) -> list[QueueOut]:
    """Every queue that has taken calls, by name, with its ring policy."""
    queues = db_session.scalars(select(Queue).order_by(Queue.name))
    return [_out(q, state) for q in queues]


@router.patch(
    "/{name}",
    response_model=QueueOut,
    responses=errors(400, 401, 403, 404, 422),
    summary="Change a queue's ring cycle, answer target, language or retention",
)
def update_queue(
    name: QueuePath,
    body: QueueUpdate,
    admin: QueueAdmin,
    db_session: SessionDep,
    state: StateDep,
    client: ClientDep,
) -> QueueOut:
    """Applies to reports at once, past calls included (the target is applied at report
    time). Audited."""
    if db_session.scalar(select(Queue.id).where(Queue.name == name)) is None:
        raise NotFound(f"no queue {name!r} has taken calls")
    changes = body.model_dump(exclude_unset=True)
    try:
        queue, changed = telephony_service.update_queue(db_session=db_session, name=name, **changes)
    except ValueError as exc:  # the schema already refuses these; the service is the rule
        raise InvalidRequest(str(exc)) from exc
    if changed:
        service.audit(
            db_session=db_session,
            user=admin,
            action="queue.update",
            object_type="queue",
            object_id=str(queue.id),
            detail={"queue": name, **{field: changes[field] for field in changed}},
            client=client,
        )
    return _out(queue, state)
