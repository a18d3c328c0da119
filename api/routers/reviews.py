"""QA: scorecard forms, reviews of calls, the agent's acknowledgement or dispute, a supervisor's
resolution, and the daily review queue. Every change is written to the audit trail."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response, status

from analytics import reviews, sampling
from analytics.compliance import zone_for
from analytics.models import QaForm
from api import calls, exports, qa, service
from api.access import is_calls_agent
from api.analytics_schemas import (
    FIRST_DAY,
    LAST_DAY,
    AcknowledgeIn,
    DisputeIn,
    ListFormat,
    QaFormIn,
    QaFormOut,
    QaFormUpdate,
    ResolveIn,
    ReviewCreate,
    ReviewListQuery,
    ReviewOut,
    ReviewPage,
    ReviewQueueOut,
    ScoreIn,
)
from api.deps import ClientDep, CurrentUser, SessionDep, StateDep, require
from api.errors import Conflict, Forbidden, InvalidRequest
from api.models import User
from api.routers import errors
from api.routers.calls import CallId
from api.schemas import PAGE_SIZE_CAP

router = APIRouter(tags=["qa"])

FormId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The QA form's id.")]
ReviewId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The review's id.")]
Reviewer = Annotated[User, Depends(require("review_calls"))]
Resolver = Annotated[User, Depends(require("resolve_disputes"))]
FormManager = Annotated[User, Depends(require("manage_qa_forms"))]
Day = Annotated[
    date | None,
    Query(
        ge=FIRST_DAY,
        le=LAST_DAY,
        description="The day (YYYY-MM-DD, in `tz`) [default: yesterday].",
        examples=["2026-11-22"],
    ),
]
Tz = Annotated[
    str | None,
    Query(
        max_length=64,
        pattern=r"^[A-Za-z0-9_+\-/]+$",
        description="IANA time zone of the day [CALLSCOPE_TIMEZONE].",
        examples=["Asia/Shanghai"],
    ),
]


def _criteria(body: QaFormIn | QaFormUpdate) -> list[reviews.CriterionSpec] | None:
    if body.criteria is None:
        return None
    return [reviews.CriterionSpec(**c.model_dump()) for c in body.criteria]


def _scores(items: list[ScoreIn] | None) -> list[reviews.ScoreInput]:
    return [reviews.ScoreInput(i.criterion, i.score, i.comment) for i in items or []]


def _form_detail(form: QaForm) -> dict[str, Any]:
    return {"name": form.name, "criteria": [c.key for c in form.criteria]}


# --- forms -------------------------------------------------------------------------------------


@router.get(
    "/qa/forms",
    response_model=list[QaFormOut],
    responses=errors(401, 422),
    summary="List QA forms",
)
def list_forms(
    user: CurrentUser,
    db_session: SessionDep,
    include_inactive: Annotated[bool, Query(description="Also forms retired from use.")] = False,
) -> list[QaFormOut]:
    """The scorecards reviews use, by name (the default hotline form is created on first use)."""
    forms = reviews.list_forms(db_session=db_session, include_inactive=include_inactive)
    return [QaFormOut.model_validate(f) for f in forms]


@router.get(
    "/qa/forms/{form_id}",
    response_model=QaFormOut,
    responses=errors(401, 404, 422),
    summary="One QA form",
)
def get_form(form_id: FormId, user: CurrentUser, db_session: SessionDep) -> QaFormOut:
    """A form with its criteria, weights and critical items."""
    with qa.analytics_errors():
        return QaFormOut.model_validate(reviews.get_form(db_session=db_session, form_id=form_id))


@router.post(
    "/qa/forms",
    response_model=QaFormOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(400, 401, 403, 422),
    summary="Create a QA form",
)
def create_form(
    body: QaFormIn, user: FormManager, db_session: SessionDep, client: ClientDep
) -> QaFormOut:
    """A new scorecard (`manage_qa_forms`: managers and admins)."""
    reviews.default_form(db_session=db_session)  # the seeded default exists before any other
    with qa.analytics_errors():
        form = reviews.create_form(
            db_session=db_session,
            name=body.name,
            description=body.description,
            criteria=_criteria(body) or [],
            created_by=user.username,
            is_default=body.is_default,
        )
    service.audit(
        db_session=db_session,
        user=user,
        action="qa_form.create",
        object_type="qa_form",
        object_id=str(form.id),
        detail=_form_detail(form),
        client=client,
    )
    return QaFormOut.model_validate(form)


@router.patch(
    "/qa/forms/{form_id}",
    response_model=QaFormOut,
    responses=errors(400, 401, 403, 404, 422),
    summary="Change a QA form",
)
def update_form(
    form_id: FormId,
    body: QaFormUpdate,
    user: FormManager,
    db_session: SessionDep,
    client: ClientDep,
) -> QaFormOut:
    """Rename, edit criteria, retire (`active: false`) or make default. Past reviews keep the
    criteria they were scored on."""
    with qa.analytics_errors():
        form = reviews.get_form(db_session=db_session, form_id=form_id)
        changed = reviews.update_form(
            db_session=db_session,
            form=form,
            name=body.name,
            description=body.description,
            criteria=_criteria(body),
            active=body.active,
            is_default=body.is_default,
        )
    if changed:
        service.audit(
            db_session=db_session,
            user=user,
            action="qa_form.update",
            object_type="qa_form",
            object_id=str(form.id),
            detail={"changed": changed, **_form_detail(form)},
            client=client,
        )
    return QaFormOut.model_validate(form)


# --- reviews of a call -------------------------------------------------------------------------


@router.get(
    "/calls/{call_id}/reviews",
    response_model=list[ReviewOut],
    responses=errors(401, 404),
    summary="The call's review history",
)
def call_reviews(call_id: CallId, user: CurrentUser, db_session: SessionDep) -> list[ReviewOut]:
    """Every review of the call, newest first (the first is the one in force). Agents see
    reviews of calls they answered only."""
    call = calls.get_call(db_session=db_session, user=user, call_id=call_id)
    found = qa.reviews_of_call(db_session=db_session, user=user, call=call)
    return [ReviewOut.model_validate(qa.review_out(r, call)) for r in found]


@router.post(
    "/calls/{call_id}/reviews",
    response_model=ReviewOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(400, 401, 403, 404, 422),
    summary="Review a call",
)
def create_review(
    call_id: CallId,
    body: ReviewCreate,
    user: Reviewer,
    db_session: SessionDep,
    state: StateDep,
    client: ClientDep,
) -> ReviewOut:
    """Score the call on a form (default: the default form). Criteria marked `auto` may be
    left out: the call's facts score them. The total (0-100, weighted) and `failed` (a
    critical item scored 0) are computed here."""
    call = calls.get_call(db_session=db_session, user=user, call_id=call_id)
    with qa.analytics_errors():
        form = (
            reviews.get_form(db_session=db_session, form_id=body.form_id)
            if body.form_id is not None
            else None
        )
        review = reviews.create_review(
            db_session=db_session,
            call=call,
            form=form,
            reviewer=user.username,
            scores=_scores(body.scores),
            comment=body.comment,
            settings=state.settings,
        )
    service.audit(
        db_session=db_session,
        user=user,
        action="review.create",
        object_type="review",
        object_id=str(review.id),
        detail={
            "call_id": call.call_id,
            "form": review.form_name,
            "total_score": review.total_score,
            "failed": review.failed,
        },
        client=client,
    )
    return ReviewOut.model_validate(qa.review_out(review, call))


# --- the review list ---------------------------------------------------------------------------


def _review_list(
    query: ReviewListQuery,
    user: User,
    db_session: Any,
    client: ClientDep,
    fmt: ListFormat,
) -> ReviewPage | Response:
    if fmt == "csv":
        items, _ = qa.list_reviews(db_session=db_session, user=user, filters=query, paged=False)
        text = exports.csv_text((qa.review_csv_row(i) for i in items), qa.REVIEW_COLUMNS)
        return exports.csv_download(
            db_session=db_session,
            user=user,
            client=client,
            text=text,
            filename="reviews.csv",
            action="reviews.export",
            detail={
                "filters": query.model_dump(mode="json", exclude_none=True),
                "rows": len(items),
            },
        )
    items, total = qa.list_reviews(db_session=db_session, user=user, filters=query)
    return ReviewPage.model_validate(
        {
            "items": items,
            "total": total,
            "page": query.page,
            "page_size": min(query.page_size, PAGE_SIZE_CAP),
        }
    )


@router.get(
    "/reviews/export.csv",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV"},
        **errors(401, 422),
    },
    summary="Export the reviews you may see as CSV",
)
def export_reviews(
    query: Annotated[ReviewListQuery, Query()],
    user: CurrentUser,
    db_session: SessionDep,
    client: ClientDep,
) -> Response:
    """Every matching review, newest first, as CSV (same filters as the list); audited."""
    result = _review_list(query, user, db_session, client, "csv")
    assert isinstance(result, Response)
    return result


@router.get(
    "/reviews",
    response_model=ReviewPage,
    responses={**exports.CSV_RESPONSE, **errors(401, 422)},
    summary="List reviews",
)
def list_reviews(
    query: Annotated[ReviewListQuery, Query()],
    user: CurrentUser,
    db_session: SessionDep,
    client: ClientDep,
) -> ReviewPage | Response:
    """Reviews you may see, newest first: agents their own calls', supervisors their queues',
    managers every review. `format=csv` downloads every matching review (audited)."""
    return _review_list(query, user, db_session, client, query.format)


@router.get(
    "/reviews/{review_id}",
    response_model=ReviewOut,
    responses=errors(401, 404, 422),
    summary="One review",
)
def get_review(review_id: ReviewId, user: CurrentUser, db_session: SessionDep) -> ReviewOut:
    """A review with its scores. One you may not see answers 404, like one that does not exist."""
    review, call = qa.get_review(db_session=db_session, user=user, review_id=review_id)
    return ReviewOut.model_validate(qa.review_out(review, call))


def _agent_answer(
    review_id: int,
    user: User,
    db_session: Any,
    client: ClientDep,
    action: str,
    comment: str | None,
) -> ReviewOut:
    review, call = qa.get_review(db_session=db_session, user=user, review_id=review_id)
    if not is_calls_agent(user, call):
        raise Forbidden(
            "only the agent who answered the call can acknowledge or dispute its review"
        )
    with qa.analytics_errors():
        if action == "review.acknowledge":
            reviews.acknowledge(
                db_session=db_session, review=review, by=user.username, comment=comment
            )
        else:
            reviews.dispute(
                db_session=db_session, review=review, by=user.username, comment=comment or ""
            )
    service.audit(
        db_session=db_session,
        user=user,
        action=action,
        object_type="review",
        object_id=str(review.id),
        detail={"call_id": call.call_id, "comment": comment},
        client=client,
    )
    return ReviewOut.model_validate(qa.review_out(review, call))


@router.post(
    "/reviews/{review_id}/acknowledge",
    response_model=ReviewOut,
    responses=errors(400, 401, 403, 404, 409, 422),
    summary="Acknowledge a review (the call's agent)",
)
def acknowledge_review(
    review_id: ReviewId,
    body: AcknowledgeIn,
    user: CurrentUser,
    db_session: SessionDep,
    client: ClientDep,
) -> ReviewOut:
    """The agent who answered the call accepts the review (once; 409 after an answer)."""
    return _agent_answer(review_id, user, db_session, client, "review.acknowledge", body.comment)


@router.post(
    "/reviews/{review_id}/dispute",
    response_model=ReviewOut,
    responses=errors(400, 401, 403, 404, 409, 422),
    summary="Dispute a review (the call's agent)",
)
def dispute_review(
    review_id: ReviewId,
    body: DisputeIn,
    user: CurrentUser,
    db_session: SessionDep,
    client: ClientDep,
) -> ReviewOut:
    """The agent who answered the call disputes the review, saying why (once)."""
    return _agent_answer(review_id, user, db_session, client, "review.dispute", body.comment)


@router.post(
    "/reviews/{review_id}/resolve",
    response_model=ReviewOut,
    responses=errors(400, 401, 403, 404, 409, 422),
    summary="Resolve a disputed review",
)
def resolve_review(
    review_id: ReviewId,
    body: ResolveIn,
    user: Resolver,
    db_session: SessionDep,
    state: StateDep,
    client: ClientDep,
) -> ReviewOut:
    """A supervisor (of the call's queue), manager or admin settles a dispute: `upheld` keeps
    the scores, `revised` replaces the scores given and recomputes the total."""
    review, call = qa.get_review(db_session=db_session, user=user, review_id=review_id)
    before = {"total_score": review.total_score, "failed": review.failed}
    with qa.analytics_errors():
        reviews.resolve(
            db_session=db_session,
            review=review,
            by=user.username,
            resolution=body.resolution,
            comment=body.comment,
            scores=_scores(body.scores) if body.scores else None,
            settings=state.settings,
        )
    service.audit(
        db_session=db_session,
        user=user,
        action="review.resolve",
        object_type="review",
        object_id=str(review.id),
        detail={
            "call_id": call.call_id,
            "resolution": body.resolution,
            "before": before,
            "after": {"total_score": review.total_score, "failed": review.failed},
        },
        client=client,
    )
    return ReviewOut.model_validate(qa.review_out(review, call))


# --- the review queue --------------------------------------------------------------------------


def _day_and_zone(day: date | None, tz: str | None, default_tz: str) -> tuple[date, str]:
    try:
        zone = zone_for(tz or default_tz)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from exc
    if day is None:
        day = (datetime.now(UTC).astimezone(zone) - timedelta(days=1)).date()
    return day, zone.key


def _build(db_session: Any, state: Any, day: date, tz: str) -> None:
    seed = state.settings.review_seed
    if not seed:
        raise Conflict("set CALLSCOPE_REVIEW_SEED (a secret) to build review queues")
    sampling.build_review_queue(
        db_session=db_session,
        day=day,
        seed=seed,
        per_agent=state.settings.review_sample_per_agent,
        tz=tz,
    )


def _queue_answer(
    db_session: Any, user: User, day: date, tz: str, built_now: bool
) -> dict[str, Any]:
    items = qa.review_queue_items(db_session=db_session, user=user, day=day)
    return {"day": day, "tz": tz, "built_now": built_now, "items": items}


@router.get(
    "/review-queue",
    response_model=ReviewQueueOut,
    responses={**exports.CSV_RESPONSE, **errors(401, 403, 409, 422)},
    summary="The day's QA review queue",
)
def review_queue(
    user: Reviewer,
    db_session: SessionDep,
    state: StateDep,
    client: ClientDep,
    day: Day = None,
    tz: Tz = None,
    format: Annotated[
        ListFormat, Query(description="csv: the whole queue as a download.")
    ] = "json",
) -> ReviewQueueOut | Response:
    """The calls to review on a day: each agent's random sample (stratified by queue, seeded
    with CALLSCOPE_REVIEW_SEED) plus every flagged call, most severe first, then newest first,
    with reasons, themes, agent, queue and rings to answer. Built on first request for the day.
    Supervisors see their queues' calls only."""
    day_, zone = _day_and_zone(day, tz, state.settings.timezone)
    built_now = False
    if not qa.day_is_built(db_session=db_session, day=day_):
        _build(db_session, state, day_, zone)
        built_now = True
    answer = _queue_answer(db_session, user, day_, zone, built_now)
    if format == "csv":
        return exports.csv_download(
            db_session=db_session,
            user=user,
            client=client,
            text=exports.csv_text(
                (qa.queue_csv_row(i) for i in answer["items"]),
                qa.QUEUE_COLUMNS,
                comments={"day": day_.isoformat(), "tz": zone},
            ),
            filename=f"review-queue-{day_.isoformat()}.csv",
            action="review_queue.export",
            detail={"day": day_.isoformat(), "tz": zone, "rows": len(answer["items"])},
        )
    return ReviewQueueOut.model_validate(answer)


@router.post(
    "/review-queue/build",
    response_model=ReviewQueueOut,
    responses=errors(400, 401, 403, 409, 422),
    summary="Build (or rebuild) a day's review queue",
)
def build_review_queue(
    user: Reviewer,
    db_session: SessionDep,
    state: StateDep,
    client: ClientDep,
    day: Day = None,
    tz: Tz = None,
) -> ReviewQueueOut:
    """Draw the day's sample again and add every flagged call (the same seed draws the same
    sample, so a rebuild only adds calls stored or flagged since). Audited."""
    day_, zone = _day_and_zone(day, tz, state.settings.timezone)
    _build(db_session, state, day_, zone)
    service.audit(
        db_session=db_session,
        user=user,
        action="review_queue.build",
        object_type="review_queue",
        object_id=day_.isoformat(),
        detail={"tz": zone},
        client=client,
    )
    return ReviewQueueOut.model_validate(_queue_answer(db_session, user, day_, zone, True))
