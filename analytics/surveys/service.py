"""Survey forms and responses: store an answer on the call it judges, list them, react to low ones.

A response judges one call (`call_pk`) and, when it was taken on a callback by phone, names that
call too (`callback_call_pk`). Storing one re-runs the judged call's flags and follow-up: a score
of 2 or less flags the call (`survey_dissatisfied`) and opens a follow-up (see
`analytics.followups`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from analytics.errors import CallNotFound
from analytics.pipeline import after_call
from analytics.surveys.errors import SurveyInputError
from analytics.surveys.models import (
    DEFAULT_FORM,
    DEFAULT_QUESTIONS,
    DISSATISFIED_MAX,
    SCORE_MAX,
    SCORE_MIN,
    SOURCES,
    SurveyAnswer,
    SurveyForm,
    SurveyResponse,
)
from core.db import utcnow
from core.settings import Settings
from telephony import service as telephony_service
from telephony.models import Agent, Call, Queue

_KEY_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")


# --- forms -------------------------------------------------------------------------------------


def default_form(*, db_session: Session) -> SurveyForm:
    """The default form, stored with the six standard dimensions on first use."""
    form = db_session.scalar(select(SurveyForm).where(SurveyForm.is_default.is_(True)))
    if form is None:
        form = db_session.scalar(select(SurveyForm).where(SurveyForm.name == DEFAULT_FORM))
    if form is None:
        form = SurveyForm(
            name=DEFAULT_FORM,
            questions=[{"key": k, "label": label} for k, label in DEFAULT_QUESTIONS],
            is_default=True,
            active=True,
            created_by="callscope",
        )
        db_session.add(form)
        db_session.flush()
    return form


def get_form(*, db_session: Session, name: str | None = None) -> SurveyForm:
    """A form by name (None: the default); SurveyInputError names the forms there are."""
    if name is None:
        return default_form(db_session=db_session)
    form = db_session.scalar(select(SurveyForm).where(SurveyForm.name == name))
    if form is None:
        default_form(db_session=db_session)
        known = ", ".join(db_session.scalars(select(SurveyForm.name).order_by(SurveyForm.name)))
        raise SurveyInputError(f"no survey form {name!r} (forms: {known})")
    return form


def list_forms(*, db_session: Session) -> list[SurveyForm]:
    """Every form, the default first."""
    default_form(db_session=db_session)
    return list(
        db_session.scalars(
            select(SurveyForm).order_by(SurveyForm.is_default.desc(), SurveyForm.name)
        )
    )


def save_form(
    *,
    db_session: Session,
    name: str,
    questions: Sequence[Mapping[str, Any]],
    make_default: bool = False,
    by: str | None = None,
) -> SurveyForm:
    """Create or replace a form's questions ([{key, label}], each scored 1-5, IVR order)."""
    if not name.strip():
        raise SurveyInputError("a survey form needs a name")
    cleaned: list[dict[str, Any]] = []
    for n, question in enumerate(questions, start=1):
        key = str(question.get("key") or "").strip()
        label = str(question.get("label") or "").strip()
        if not key or not set(key) <= _KEY_CHARS:
            raise SurveyInputError(
                f"question {n}: key {key!r} must be lower-case letters, digits and _"
            )
        if key in {q["key"] for q in cleaned}:
            raise SurveyInputError(f"question {n}: key {key!r} is used twice")
        cleaned.append({"key": key, "label": label or key})
    if not cleaned:
        raise SurveyInputError("a survey form needs at least one question")
    if len(cleaned) > 8:
        raise SurveyInputError("at most 8 questions: IVR keys 1-8 name them, 9 is recommend")
    form = db_session.scalar(select(SurveyForm).where(SurveyForm.name == name))
    if form is None:
        form = SurveyForm(name=name, is_default=False, active=True, created_by=by)
        db_session.add(form)
    form.questions = cleaned
    if make_default:
        for other in db_session.scalars(select(SurveyForm).where(SurveyForm.is_default)):
            other.is_default = False
        form.is_default = True
    db_session.flush()
    return form


# --- responses ---------------------------------------------------------------------------------


def check_scores(form: SurveyForm, scores: Mapping[str, Any]) -> dict[str, int]:
    """Scores as {key: 1..5}; SurveyInputError names the question and the bad value."""
    keys = form.question_keys()
    out: dict[str, int] = {}
    for key, raw in scores.items():
        if key not in keys:
            raise SurveyInputError(
                f"question {key!r} is not on form {form.name!r} ({', '.join(keys)})"
            )
        if raw is None or raw == "":
            continue
        try:
            score = int(str(raw).strip())
        except ValueError:
            raise SurveyInputError(f"{key}: {raw!r} is not a score from 1 to 5") from None
        if not SCORE_MIN <= score <= SCORE_MAX:
            raise SurveyInputError(f"{key}: {score} is outside {SCORE_MIN}-{SCORE_MAX}")
        out[key] = score
    return out


def find_judged_call(*, db_session: Session, call_ref: str) -> Call:
    """The call a survey judges, by Linkedid (or its caller channel's uniqueid)."""
    call = telephony_service.find_call(db_session=db_session, call_id=call_ref, uniqueid=call_ref)
    if call is None:
        raise CallNotFound(f"no call {call_ref!r} is stored")
    return call


def submit_response(
    *,
    db_session: Session,
    call_pk: int,
    scores: Mapping[str, Any],
    settings: Settings,
    source: str = "console",
    form_name: str | None = None,
    would_recommend: bool | None = None,
    comment: str | None = None,
    entered_by: str | None = None,
    answered_at: datetime | None = None,
    callback_call_pk: int | None = None,
    external_ref: str | None = None,
) -> SurveyResponse:
    """Store a whole response on the judged call, then re-run that call's flags and follow-up."""
    if source not in SOURCES:
        raise SurveyInputError(f"unknown source {source!r}: use {', '.join(SOURCES)}")
    call = db_session.get(Call, call_pk)
    if call is None:
        raise CallNotFound(f"no call with id {call_pk}")
    form = get_form(db_session=db_session, name=form_name)
    checked = check_scores(form, scores)
    comment = (comment or "").strip() or None
    if not checked and would_recommend is None and comment is None:
        raise SurveyInputError("the response is empty: give at least one score")
    response = SurveyResponse(
        form_id=form.id,
        form_name=form.name,
        call_pk=call.id,
        callback_call_pk=callback_call_pk,
        source=source,
        answered_at=answered_at or utcnow(),
        entered_by=entered_by,
        would_recommend=would_recommend,
        comment=comment,
        external_ref=external_ref,
    )
    response.answers = [SurveyAnswer(question=k, score=v) for k, v in checked.items()]
    db_session.add(response)
    db_session.flush()
    react(db_session=db_session, call_pk=call.id, settings=settings)
    return response


def react(*, db_session: Session, call_pk: int, settings: Settings) -> None:
    """Re-derive the judged call's flags and follow-up from what is stored (idempotent)."""
    after_call(db_session=db_session, call_pk=call_pk, settings=settings)


def list_responses(
    *,
    db_session: Session,
    condition: ColumnElement[bool] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    source: str | None = None,
    agent: str | None = None,
    queue: str | None = None,
    call_pk: int | None = None,
    dissatisfied: bool | None = None,
    limit: int = 200,
) -> list[tuple[SurveyResponse, Call]]:
    """Responses newest first with their judged calls; `condition` is a filter on `Call`."""
    stmt = (
        select(SurveyResponse, Call)
        .join(Call, Call.id == SurveyResponse.call_pk)
        .order_by(SurveyResponse.answered_at.desc(), SurveyResponse.id.desc())
        .limit(limit)
    )
    if condition is not None:
        stmt = stmt.where(condition)
    if since is not None:
        stmt = stmt.where(SurveyResponse.answered_at >= since)
    if until is not None:
        stmt = stmt.where(SurveyResponse.answered_at < until)
    if source is not None:
        stmt = stmt.where(SurveyResponse.source == source)
    if call_pk is not None:
        stmt = stmt.where(SurveyResponse.call_pk == call_pk)
    if agent is not None:
        stmt = stmt.where(Call.agent_id.in_(select(Agent.id).where(Agent.name == agent)))
    if queue is not None:
        stmt = stmt.where(Call.queue_id.in_(select(Queue.id).where(Queue.name == queue)))
    if dissatisfied is not None:
        low = select(SurveyAnswer.response_id).where(SurveyAnswer.score <= DISSATISFIED_MAX)
        in_low = SurveyResponse.id.in_(low)
        stmt = stmt.where(in_low if dissatisfied else ~in_low)
    return [(r, c) for r, c in db_session.execute(stmt).unique().all()]


def response_row(response: SurveyResponse, call: Call) -> dict[str, Any]:
    """A response as the API and the CLI show it."""
    return {
        "id": response.id,
        "call_id": call.call_id,
        "agent": call.agent.name if call.agent else None,
        "queue": call.queue.name if call.queue else None,
        "form": response.form_name,
        "source": response.source,
        "answered_at": response.answered_at,
        "scores": response.scores(),
        "would_recommend": response.would_recommend,
        "comment": response.comment,
        "entered_by": response.entered_by,
        "dissatisfied": response.dissatisfied,
        "callback_call_pk": response.callback_call_pk,
    }
