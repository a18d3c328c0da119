"""QA reviews, flags, follow-ups and the review queue as the API serves them: every query goes
through `api.access`, and analytics errors become the API's own (422, 404, 409)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from analytics import reviews
from analytics.errors import (
    CallNotFound,
    FollowUpError,
    LexiconError,
    MatchInputError,
    ThemeSetError,
)
from analytics.models import SEVERITIES, CallTheme, Flag, FollowUp, Review, ReviewQueueItem
from api.access import call_filter, own_work_filter
from api.errors import Conflict, InvalidRequest, NotFound
from api.models import User
from api.schemas import PAGE_SIZE_CAP
from core.db import utcnow
from telephony.models import Agent, Call, Queue

REVIEW_COLUMNS = [
    "id",
    "call_id",
    "call_started_at",
    "agent",
    "queue",
    "form_name",
    "reviewer",
    "total_score",
    "failed",
    "status",
    "created_at",
    "comment",
    "agent_comment",
    "resolution",
    "resolution_comment",
    "resolved_by",
    "missed",
]
FOLLOWUP_COLUMNS = [
    "id",
    "call_id",
    "call_started_at",
    "agent",
    "queue",
    "number",
    "reason",
    "due_at",
    "status",
    "closed_at",
    "closed_by",
    "note",
    "closed_by_call_id",
    "on_time",
]
QUEUE_COLUMNS = [
    "call_id",
    "started_at",
    "source",
    "agent",
    "queue",
    "ring_to_answer_s",
    "rings",
    "answered_within_target",
    "severity",
    "reasons",
    "themes",
    "review_status",
]


@contextmanager
def analytics_errors() -> Iterator[None]:
    """Analytics errors as API errors: bad input 422, missing 404, wrong state 409."""
    try:
        yield
    except (reviews.ReviewInputError, LexiconError, MatchInputError) as exc:
        raise InvalidRequest(str(exc)) from exc
    except (reviews.FormNotFound, ThemeSetError, CallNotFound) as exc:
        raise NotFound(str(exc)) from exc
    except (reviews.ReviewStateError, FollowUpError) as exc:
        raise Conflict(str(exc)) from exc


def page_bounds(page: int, page_size: int) -> tuple[int, int]:
    """(offset, limit) of a page, the page size capped."""
    size = min(page_size, PAGE_SIZE_CAP)
    return (page - 1) * size, size


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat()


def _queue_condition(name: str) -> ColumnElement[bool]:
    return Call.queue_id == select(Queue.id).where(Queue.name == name).scalar_subquery()


# --- reviews -----------------------------------------------------------------------------------


def review_out(review: Review, call: Call) -> dict[str, Any]:
    """A review as ReviewOut."""
    return {
        "id": review.id,
        "call_id": call.call_id,
        "call_started_at": call.started_at,
        "agent": call.agent.name if call.agent else None,
        "queue": call.queue.name if call.queue else None,
        "form_id": review.form_id,
        "form_name": review.form_name,
        "reviewer": review.reviewer,
        "comment": review.comment,
        "total_score": review.total_score,
        "failed": review.failed,
        "status": review.status,
        "created_at": review.created_at,
        "updated_at": review.updated_at,
        "agent_comment": review.agent_comment,
        "agent_responded_at": review.agent_responded_at,
        "agent_responded_by": review.agent_responded_by,
        "resolution": review.resolution,
        "resolution_comment": review.resolution_comment,
        "resolved_by": review.resolved_by,
        "resolved_at": review.resolved_at,
        "scores": [
            {
                "key": s.key,
                "label": s.label,
                "weight": s.weight,
                "max_score": s.max_score,
                "critical": s.critical,
                "score": s.score,
                "auto": s.auto,
                "comment": s.comment,
                "missed": s.missed,
            }
            for s in review.scores
        ],
    }


def review_csv_row(out: dict[str, Any]) -> dict[str, Any]:
    """A ReviewOut as a CSV row: the missed items by key."""
    row = {k: out[k] for k in REVIEW_COLUMNS if k in out}
    row["missed"] = [s["key"] for s in out["scores"] if s["missed"]]
    for key in ("call_started_at", "created_at"):
        row[key] = _iso(row[key])
    return row


def get_review(*, db_session: Session, user: User, review_id: int) -> tuple[Review, Call]:
    """A review the user may see (an agent: reviews of their own calls); NotFound otherwise."""
    row = db_session.execute(
        select(Review, Call)
        .join(Call, Call.id == Review.call_pk)
        .where(Review.id == review_id, own_work_filter(user))
    ).first()
    if row is None:
        raise NotFound("review not found")
    return row[0], row[1]


def reviews_of_call(*, db_session: Session, user: User, call: Call) -> list[Review]:
    """The call's reviews, newest first, if the user may see them (else none)."""
    visible = db_session.scalar(select(Call.id).where(Call.id == call.id, own_work_filter(user)))
    if visible is None:
        return []
    return reviews.reviews_of_call(db_session=db_session, call_pk=call.id)


def _review_select(user: User, filters: Any) -> Any:
    stmt = select(Review, Call).join(Call, Call.id == Review.call_pk).where(own_work_filter(user))
    if filters.since is not None:
        stmt = stmt.where(Review.created_at >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(Review.created_at < filters.until)
    if filters.agent is not None:
        agent_id = select(Agent.id).where(Agent.name == filters.agent).scalar_subquery()
        stmt = stmt.where(Call.agent_id == agent_id)
    if filters.queue is not None:
        stmt = stmt.where(_queue_condition(filters.queue))
    if filters.status is not None:
        stmt = stmt.where(Review.status == filters.status)
    if filters.failed is not None:
        stmt = stmt.where(Review.failed.is_(filters.failed))
    return stmt


def list_reviews(
    *, db_session: Session, user: User, filters: Any, paged: bool = True
) -> tuple[list[dict[str, Any]], int]:
    """Reviews the user may see, newest first, as ReviewOut dicts, and how many match."""
    stmt = _review_select(user, filters)
    total = db_session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    stmt = stmt.order_by(Review.created_at.desc(), Review.id.desc())
    if paged:
        offset, limit = page_bounds(filters.page, filters.page_size)
        stmt = stmt.offset(offset).limit(limit)
    return [review_out(r, c) for r, c in db_session.execute(stmt).unique()], total


# --- flags -------------------------------------------------------------------------------------


def flag_severity_at_least(severity: str) -> list[str]:
    """This severity and the more severe ones."""
    return list(SEVERITIES[SEVERITIES.index(severity) :])


def list_flags(
    *, db_session: Session, user: User, filters: Any, paged: bool = True
) -> tuple[list[dict[str, Any]], int]:
    """Flags of the calls the user may see: most severe first, then newest call first."""
    stmt = select(Flag, Call).join(Call, Call.id == Flag.call_pk).where(call_filter(user))
    if filters.since is not None:
        stmt = stmt.where(Call.started_at >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(Call.started_at < filters.until)
    if filters.severity is not None:
        stmt = stmt.where(Flag.severity.in_(flag_severity_at_least(filters.severity)))
    if filters.rule is not None:
        stmt = stmt.where(Flag.rule == filters.rule)
    if filters.queue is not None:
        stmt = stmt.where(_queue_condition(filters.queue))
    total = db_session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    severity_rank = case(
        *[(Flag.severity == name, i) for i, name in enumerate(SEVERITIES)], else_=-1
    )
    stmt = stmt.order_by(severity_rank.desc(), Call.started_at.desc(), Flag.id)
    if paged:
        offset, limit = page_bounds(filters.page, filters.page_size)
        stmt = stmt.offset(offset).limit(limit)
    items = [
        {
            "call_id": call.call_id,
            "started_at": call.started_at,
            "agent": call.agent.name if call.agent else None,
            "queue": call.queue.name if call.queue else None,
            "rule": flag.rule,
            "severity": flag.severity,
            "reason": flag.reason,
            "created_at": flag.created_at,
        }
        for flag, call in db_session.execute(stmt).unique()
    ]
    return items, total


# --- follow-ups --------------------------------------------------------------------------------


def followup_out(
    followup: FollowUp, call: Call, now: datetime, closer: str | None
) -> dict[str, Any]:
    """A follow-up as FollowUpOut."""
    return {
        "id": followup.id,
        "call_id": call.call_id,
        "call_started_at": call.started_at,
        "agent": call.agent.name if call.agent else None,
        "queue": call.queue.name if call.queue else None,
        "number": followup.number,
        "reason": followup.reason,
        "due_at": followup.due_at,
        "status": followup.status_at(now),
        "created_at": followup.created_at,
        "closed_at": followup.closed_at,
        "closed_by": followup.closed_by,
        "note": followup.note,
        "closed_by_call_id": closer,
        "on_time": followup.on_time,
    }


def _closer_ids(db_session: Session, followups: Sequence[FollowUp]) -> dict[int, str]:
    pks = [f.closed_by_call_pk for f in followups if f.closed_by_call_pk is not None]
    if not pks:
        return {}
    return {
        pk: cid
        for pk, cid in db_session.execute(select(Call.id, Call.call_id).where(Call.id.in_(pks)))
    }


def get_followup(*, db_session: Session, user: User, followup_id: int) -> tuple[FollowUp, Call]:
    """A follow-up the user may see (an agent: their own calls'); NotFound otherwise."""
    row = db_session.execute(
        select(FollowUp, Call)
        .join(Call, Call.id == FollowUp.call_pk)
        .where(FollowUp.id == followup_id, own_work_filter(user))
    ).first()
    if row is None:
        raise NotFound("follow-up not found")
    return row[0], row[1]


def one_followup(*, db_session: Session, followup: FollowUp, call: Call) -> dict[str, Any]:
    """One follow-up as FollowUpOut."""
    closer = _closer_ids(db_session, [followup]).get(followup.closed_by_call_pk or -1)
    return followup_out(followup, call, utcnow(), closer)


def list_followups(
    *, db_session: Session, user: User, filters: Any, paged: bool = True
) -> tuple[list[dict[str, Any]], int]:
    """Follow-ups of the user's own work (agents) or queues, soonest due first.

    Status as `analytics.followups.list_followups` reads it: open includes overdue.
    """
    now = utcnow()
    stmt = (
        select(FollowUp, Call).join(Call, Call.id == FollowUp.call_pk).where(own_work_filter(user))
    )
    if filters.status == "open":
        stmt = stmt.where(FollowUp.status == "open")
    elif filters.status == "overdue":
        stmt = stmt.where(FollowUp.status == "open", FollowUp.due_at < now)
    elif filters.status == "done":
        stmt = stmt.where(FollowUp.status == "done")
    if filters.since is not None:
        stmt = stmt.where(Call.started_at >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(Call.started_at < filters.until)
    if filters.queue is not None:
        stmt = stmt.where(_queue_condition(filters.queue))
    total = db_session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    stmt = stmt.order_by(FollowUp.due_at, FollowUp.id)
    if paged:
        offset, limit = page_bounds(filters.page, filters.page_size)
        stmt = stmt.offset(offset).limit(limit)
    rows = list(db_session.execute(stmt).unique())
    closers = _closer_ids(db_session, [f for f, _ in rows])
    return [followup_out(f, c, now, closers.get(f.closed_by_call_pk or -1)) for f, c in rows], total


def followup_csv_row(out: dict[str, Any]) -> dict[str, Any]:
    """A FollowUpOut as a CSV row (times in ISO 8601)."""
    row = dict(out)
    for key in ("call_started_at", "due_at", "created_at", "closed_at"):
        row[key] = _iso(row[key])
    return row


# --- the review queue --------------------------------------------------------------------------


def review_queue_items(
    *, db_session: Session, user: User, day: date, statuses: dict[int, str] | None = None
) -> list[dict[str, Any]]:
    """The day's queue as ReviewQueueItemOut dicts, limited to the calls the user may see:
    flagged calls most severe first, then newest call first."""
    rows = list(
        db_session.execute(
            select(ReviewQueueItem, Call)
            .join(Call, Call.id == ReviewQueueItem.call_pk)
            .where(ReviewQueueItem.day == day, call_filter(user))
        ).unique()
    )
    pks = [c.id for _, c in rows]
    flags: dict[int, list[Flag]] = {pk: [] for pk in pks}
    themes: dict[int, list[str]] = {pk: [] for pk in pks}
    if pks:
        for flag in db_session.scalars(select(Flag).where(Flag.call_pk.in_(pks))):
            flags[flag.call_pk].append(flag)
        for pk, theme in db_session.execute(
            select(CallTheme.call_pk, CallTheme.theme)
            .where(CallTheme.call_pk.in_(pks))
            .order_by(CallTheme.score.desc(), CallTheme.theme)
        ):
            themes[pk].append(theme)
    if statuses is None:
        statuses = reviews.review_statuses(db_session=db_session, call_pks=pks)
    items: list[tuple[tuple[int, float], dict[str, Any]]] = []
    for item, call in rows:
        found = sorted(flags[call.id], key=lambda f: (-SEVERITIES.index(f.severity), f.rule))
        severity = found[0].severity if found else None
        rank = SEVERITIES.index(severity) if severity else -1
        items.append(
            (
                (-rank, -call.started_at.timestamp()),
                {
                    "call_id": call.call_id,
                    "started_at": call.started_at,
                    "source": item.source,
                    "agent": call.agent.name if call.agent else None,
                    "queue": call.queue.name if call.queue else None,
                    "ring_to_answer_s": call.ring_to_answer_s,
                    "rings": call.rings,
                    "answered_within_target": call.answered_within_target,
                    "severity": severity,
                    "reasons": [
                        {
                            "rule": f.rule,
                            "severity": f.severity,
                            "reason": f.reason,
                            "created_at": f.created_at,
                        }
                        for f in found
                    ],
                    "themes": themes[call.id],
                    "review_status": statuses.get(call.id, "queued"),
                },
            )
        )
    items.sort(key=lambda pair: pair[0])
    return [out for _, out in items]


def queue_csv_row(out: dict[str, Any]) -> dict[str, Any]:
    """A ReviewQueueItemOut as a CSV row: reasons as their texts."""
    row = dict(out)
    row["started_at"] = _iso(row["started_at"])
    row["reasons"] = [f"{r['severity']}: {r['reason']}" for r in out["reasons"]]
    return row


def day_is_built(*, db_session: Session, day: date) -> bool:
    """True when the day's review queue has items."""
    return (
        db_session.scalar(select(ReviewQueueItem.id).where(ReviewQueueItem.day == day).limit(1))
        is not None
    )
