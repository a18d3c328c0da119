"""Surveys: forms, answers on a call, callback lists, the satisfaction index and its drivers.

Everything hangs off a call, so every query adds `call_filter(user)`: an agent sees the answers
and callbacks of their own calls, a supervisor those of their queues, managers and admins all.
Submitting an answer and completing a callback are written to the audit trail.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from analytics.surveys import callbacks, satisfaction, service
from analytics.surveys.errors import SurveyError
from analytics.surveys.models import CallbackItem, SurveyInput
from api import service as api_service
from api.access import call_filter, can
from api.calls import get_call
from api.deps import ClientDep, CurrentUser, SessionDep, StateDep
from api.errors import Conflict, Forbidden, InvalidRequest, NotFound
from api.reports import local_time, zone_name
from api.routers import errors
from telephony.models import Agent

router = APIRouter(prefix="/surveys", tags=["surveys"])

CallId = Annotated[
    str,
    Path(
        min_length=1, max_length=64, pattern=r"^[!-~]+$", description="The judged call's Linkedid."
    ),
]


class QuestionOut(BaseModel):
    """One question of a form, scored 1-5; IVR question n is the n-th."""

    key: str
    label: str


class FormOut(BaseModel):
    """A survey form."""

    name: str
    is_default: bool
    questions: list[QuestionOut]


class ResponseIn(BaseModel):
    """An answer taken in the console (scores 1-5 by question key; any may be left out)."""

    model_config = ConfigDict(extra="forbid")

    scores: dict[str, int] = Field(
        default_factory=dict, examples=[{"overall": 4, "agent_attitude": 5}]
    )
    would_recommend: bool | None = None
    comment: str | None = Field(None, max_length=4000)
    form: str | None = Field(None, max_length=100, description="Form name [the default].")
    callback_item_id: int | None = Field(
        None, description="The callback item this answer was taken on."
    )


class ResponseOut(BaseModel):
    """A stored response with its judged call."""

    id: int
    call_id: str
    agent: str | None
    queue: str | None
    form: str
    source: str
    answered_at: datetime
    scores: dict[str, int]
    would_recommend: bool | None
    comment: str | None
    entered_by: str | None
    dissatisfied: bool


class CallbackOut(BaseModel):
    """One customer to call back."""

    id: int
    day: date
    call_id: str | None
    call_started_at: datetime | None
    queue: str | None
    reason: str
    detail: str | None
    agent: str | None
    number: str
    due_at: datetime
    status: str
    closed_at: datetime | None
    closed_by: str | None
    closed_by_call_id: str | None
    note: str | None
    response_id: int | None


class CompleteIn(BaseModel):
    """What was done (a callback seen by the connector completes an item without this)."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=2000, examples=["no answer after 3 tries"])


class FiguresOut(BaseModel):
    """Survey figures of one group or bucket (index 0-100; averages 1-5)."""

    group: str | None
    calls: int | None
    responses: int
    response_rate: float | None
    averages: dict[str, float | None]
    answers: dict[str, int]
    index: float | None
    dissatisfied: int
    dissatisfied_share: float | None
    reasons: dict[str, int]
    comments: list[str]
    would_recommend_share: float | None


class DriversOut(BaseModel):
    """Satisfaction by rings-to-answer bucket, complaint theme and QA review score."""

    ring_limit: int
    rings: list[FiguresOut]
    themes: list[FiguresOut]
    qa: list[FiguresOut]


class RejectOut(BaseModel):
    """An IVR event or CSV row that was not taken, and why."""

    source: str
    call_ref: str | None
    reason: str | None
    payload: dict[str, Any]
    created_at: datetime


def _figures(f: satisfaction.Figures) -> FiguresOut:
    return FiguresOut.model_validate(f, from_attributes=True)


@router.get("/forms", response_model=list[FormOut], responses=errors(401))
def list_forms(user: CurrentUser, db_session: SessionDep) -> list[FormOut]:
    """The survey forms, the default first."""
    return [
        FormOut(
            name=f.name,
            is_default=f.is_default,
            questions=[QuestionOut(key=q["key"], label=q["label"]) for q in f.questions],
        )
        for f in service.list_forms(db_session=db_session)
    ]


@router.post(
    "/calls/{call_id}/responses",
    response_model=ResponseOut,
    status_code=201,
    responses=errors(400, 401, 403, 404, 409, 422),
    summary="Store a customer's answers about a call",
)
def submit_response(
    call_id: CallId,
    body: ResponseIn,
    user: CurrentUser,
    db_session: SessionDep,
    state: StateDep,
    client: ClientDep,
) -> ResponseOut:
    """The agent on the callback (or anyone who may see the call) enters the customer's answers.
    A score of 2 or less flags the call and opens its follow-up."""
    call = get_call(db_session=db_session, user=user, call_id=call_id)
    item: CallbackItem | None = None
    if body.callback_item_id is not None:
        item = db_session.get(CallbackItem, body.callback_item_id)
        if item is None or item.call_pk != call.id:
            raise NotFound("callback item not found for this call")
    try:
        response = service.submit_response(
            db_session=db_session,
            call_pk=call.id,
            scores=body.scores,
            settings=state.settings,
            source="console",
            form_name=body.form,
            would_recommend=body.would_recommend,
            comment=body.comment,
            entered_by=user.username,
            callback_call_pk=item.closed_by_call_pk if item is not None else None,
        )
    except SurveyError as exc:
        raise InvalidRequest(str(exc)) from exc
    if item is not None:
        if item.response_id is not None:
            raise Conflict(
                f"callback item {item.id} already has answers (response {item.response_id})"
            )
        item.response_id = response.id
    api_service.audit(
        db_session=db_session,
        user=user,
        action="survey.submit",
        object_type="call",
        object_id=call.call_id,
        detail={"response_id": response.id, "scores": response.scores()},
        client=client,
    )
    return ResponseOut.model_validate(service.response_row(response, call))


def _period(
    since: datetime | None, until: datetime | None, state: StateDep
) -> tuple[datetime | None, datetime | None]:
    """Aware UTC bounds; a bound without a zone is read in the hotline's time zone."""
    tz = zone_name(None, state.settings)
    start, end = local_time(since, tz), local_time(until, tz)
    if start is not None and end is not None and start >= end:
        raise InvalidRequest("since must be before until")
    return start, end


@router.get("/responses", response_model=list[ResponseOut], responses=errors(401, 422))
def list_responses(
    user: CurrentUser,
    db_session: SessionDep,
    state: StateDep,
    since: datetime | None = None,
    until: datetime | None = None,
    source: Literal["console", "ivr", "csv"] | None = None,
    agent: str | None = Query(None, max_length=200),
    queue: str | None = Query(None, max_length=200),
    dissatisfied: bool | None = None,
    limit: int = Query(200, ge=1, le=1000),
) -> list[ResponseOut]:
    """Answers about the calls you may see, newest first (a time without a zone is in
    CALLSCOPE_TIMEZONE)."""
    since, until = _period(since, until, state)
    rows = service.list_responses(
        db_session=db_session,
        condition=call_filter(user),
        since=since,
        until=until,
        source=source,
        agent=agent,
        queue=queue,
        dissatisfied=dissatisfied,
        limit=limit,
    )
    return [ResponseOut.model_validate(service.response_row(r, c)) for r, c in rows]


@router.get("/callbacks", response_model=list[CallbackOut], responses=errors(401, 422))
def list_callbacks(
    user: CurrentUser,
    db_session: SessionDep,
    scope: Literal["me", "team"] = "me",
    status: Literal["open", "overdue", "done"] | None = "open",
    day: date | None = None,
    limit: int = Query(500, ge=1, le=2000),
) -> list[CallbackOut]:
    """`me`: the items assigned to you (an agent); `team`: every item of the calls you may see
    (a supervisor's queues, everything for managers)."""
    agent_id: int | None = None
    if scope == "me":
        if not user.agent_name:
            return []
        agent_id = db_session.scalar(select(Agent.id).where(Agent.name == user.agent_name))
        if agent_id is None:
            return []
    items = callbacks.list_callbacks(
        db_session=db_session,
        day=day,
        status=status,
        agent_id=agent_id,
        condition=call_filter(user),
        limit=limit,
    )
    return [CallbackOut.model_validate(callbacks.item_row(db_session, i)) for i in items]


@router.post(
    "/callbacks/{item_id}/complete",
    response_model=CallbackOut,
    responses=errors(400, 401, 403, 404, 409, 422),
)
def complete_callback(
    item_id: Annotated[int, Path(ge=1)],
    body: CompleteIn,
    user: CurrentUser,
    db_session: SessionDep,
    client: ClientDep,
) -> CallbackOut:
    """Complete an item by hand, saying what was done."""
    visible = callbacks.list_callbacks(db_session=db_session, condition=call_filter(user))
    item = next((i for i in visible if i.id == item_id), None)
    if item is None:
        raise NotFound("callback item not found")
    try:
        callbacks.complete_item(
            db_session=db_session, item_id=item_id, by=user.username, note=body.note
        )
    except SurveyError as exc:
        raise Conflict(str(exc)) from exc
    api_service.audit(
        db_session=db_session,
        user=user,
        action="callback.complete",
        object_type="callback",
        object_id=str(item_id),
        detail={"note": body.note},
        client=client,
    )
    return CallbackOut.model_validate(callbacks.item_row(db_session, item))


@router.get("/satisfaction", response_model=list[FiguresOut], responses=errors(401, 422))
def satisfaction_report(
    user: CurrentUser,
    db_session: SessionDep,
    state: StateDep,
    by: Literal["agent", "queue", "hour", "day", "week"] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[FiguresOut]:
    """The satisfaction index of the calls you may see started in [since, until), by group (a
    time without a zone is in CALLSCOPE_TIMEZONE)."""
    since, until = _period(since, until, state)
    rows = satisfaction.satisfaction_index(
        db_session=db_session,
        weights=satisfaction.parse_weights(state.settings.survey_weights),
        by=by,
        since=since,
        until=until,
        condition=call_filter(user),
        tz=state.settings.timezone,
    )
    return [_figures(r) for r in rows]


@router.get("/drivers", response_model=DriversOut, responses=errors(401, 422))
def drivers(
    user: CurrentUser,
    db_session: SessionDep,
    state: StateDep,
    since: datetime | None = None,
    until: datetime | None = None,
    rings: int = Query(3, ge=1, le=20, description="Bucket: answered within this many rings."),
) -> DriversOut:
    """What moves satisfaction: rings to answer, complaint themes, QA review scores (a time
    without a zone is in CALLSCOPE_TIMEZONE)."""
    since, until = _period(since, until, state)
    found = satisfaction.drivers(
        db_session=db_session,
        weights=satisfaction.parse_weights(state.settings.survey_weights),
        since=since,
        until=until,
        condition=call_filter(user),
        ring_limit=rings,
    )
    return DriversOut(
        ring_limit=found.ring_limit,
        rings=[_figures(f) for f in found.rings],
        themes=[_figures(f) for f in found.themes],
        qa=[_figures(f) for f in found.qa],
    )


@router.get("/rejects", response_model=list[RejectOut], responses=errors(401, 403))
def rejects(
    user: CurrentUser, db_session: SessionDep, limit: int = Query(100, ge=1, le=1000)
) -> list[RejectOut]:
    """IVR events and CSV rows that were not taken, newest first (managers and admins)."""
    if not can(user, "view_all_calls"):
        raise Forbidden(f"your role ({user.role}) does not have the view_all_calls permission")
    rows = db_session.scalars(
        select(SurveyInput)
        .where(SurveyInput.status == "rejected")
        .order_by(SurveyInput.created_at.desc(), SurveyInput.id.desc())
        .limit(limit)
    )
    return [RejectOut.model_validate(r, from_attributes=True) for r in rows]
