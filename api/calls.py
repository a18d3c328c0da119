"""Calls as the API serves them: filtered by what the user may see, paged, with transcripts.

The list never counts the whole table: `total` counts at most TOTAL_CAP matching calls
(`total_exact` false beyond), and pages stop at MAX_DEPTH calls deep, so a page costs the same
on a month of calls as on years of them (docs/benchmarks-api.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, not_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from analytics.models import CallTheme, Flag, Review
from analytics.reviews import review_statuses
from api.access import call_filter, can, own_work_filter
from api.errors import InvalidRequest, NotFound
from api.models import User
from api.redact import redact_segment
from api.schemas import PAGE_SIZE_CAP, CallFilters, CallListQuery
from telephony.models import Agent, Call, Queue
from telephony.service import export_row
from transcription.models import Transcript, TranscriptSegment

TOTAL_CAP = 10_000
MAX_DEPTH = 10_000

_SORT_COLUMNS: dict[str, InstrumentedAttribute[Any]] = {
    "started_at": Call.started_at,
    "wait_s": Call.wait_s,
    "ring_to_answer_s": Call.ring_to_answer_s,
    "talk_s": Call.talk_s,
}


@dataclass(slots=True)
class CallExtras:
    """What other packages know about a call: transcript state, themes, flags, review."""

    transcript_status: str = "none"
    themes: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    review_status: str | None = None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def call_conditions(
    filters: CallFilters, user: User, *, whole_history: bool = False
) -> list[ColumnElement[bool]]:
    """The WHERE conditions of a call query: the user's access first, then the filters
    (`whole_history`: see `call_filter`)."""
    if (
        filters.q is not None
        and not can(user, "view_unredacted")
        and any(c.isdecimal() for c in filters.q)
    ):
        raise InvalidRequest(
            "searching transcripts for digits needs the view_unredacted permission "
            "(phone, ID and plate numbers are masked for your role)"
        )
    conditions: list[ColumnElement[bool]] = [call_filter(user, whole_history=whole_history)]
    if filters.since is not None:
        conditions.append(Call.started_at >= filters.since)
    if filters.until is not None:
        conditions.append(Call.started_at < filters.until)
    if filters.queue is not None:
        queue_id = select(Queue.id).where(Queue.name == filters.queue).scalar_subquery()
        conditions.append(Call.queue_id == queue_id)
    if filters.agent is not None:
        agent_id = select(Agent.id).where(Agent.name == filters.agent).scalar_subquery()
        conditions.append(Call.agent_id == agent_id)
    if filters.answered is not None:
        conditions.append(Call.answered.is_(filters.answered))
    if filters.within_target is not None:
        conditions.append(Call.answered_within_target.is_(filters.within_target))
    if filters.abandoned is not None:
        conditions.append(Call.abandoned.is_(filters.abandoned))
    if filters.theme is not None:
        conditions.append(
            exists(
                select(CallTheme.id).where(
                    CallTheme.call_pk == Call.id, CallTheme.theme == filters.theme
                )
            )
        )
    if filters.flagged is not None:
        flagged = exists(select(Flag.id).where(Flag.call_pk == Call.id))
        conditions.append(flagged if filters.flagged else not_(flagged))
    if filters.reviewed is not None:
        reviewed: ColumnElement[bool] = exists(select(Review.id).where(Review.call_pk == Call.id))
        if user.role == "agent":  # as on the list: agents know the reviews of calls they took
            reviewed = and_(reviewed, own_work_filter(user))
        conditions.append(reviewed if filters.reviewed else not_(reviewed))
    if filters.q is not None:
        pattern = f"%{_escape_like(filters.q)}%"
        conditions.append(
            exists(
                select(TranscriptSegment.id)
                .join(Transcript, Transcript.id == TranscriptSegment.transcript_id)
                .where(
                    Transcript.call_pk == Call.id,
                    TranscriptSegment.text.ilike(pattern, escape="\\"),
                )
            )
        )
    return conditions


def _ordered(stmt: Select[Any], sort: str) -> Select[Any]:
    descending = sort.startswith("-")
    name = sort.lstrip("-")
    column = _SORT_COLUMNS[name]
    key = column.desc() if descending else column.asc()
    if name != "started_at":
        # calls without the figure last, on both databases; started_at is never null, and a
        # NULLS clause there would keep PostgreSQL from reading ix_calls_started_at in order
        key = key.nulls_last()
    return stmt.order_by(key, Call.id.desc() if descending else Call.id.asc())


@dataclass(slots=True)
class CallPageResult:
    """One page of calls with what the list shows beside them."""

    calls: list[Call]
    extras: dict[int, CallExtras]
    total: int
    total_exact: bool
    page: int
    page_size: int


def list_calls_page(*, db_session: Session, user: User, query: CallListQuery) -> CallPageResult:
    """A page of the calls the user may see, matching the filters, in the asked order."""
    page_size = min(query.page_size, PAGE_SIZE_CAP)
    offset = (query.page - 1) * page_size
    if offset + page_size > MAX_DEPTH:
        raise InvalidRequest(
            f"pages go {MAX_DEPTH} calls deep; narrow the list with since/until or other filters"
        )
    conditions = call_conditions(query, user)
    stmt = _ordered(select(Call).where(*conditions), query.sort).offset(offset).limit(page_size)
    calls = list(db_session.scalars(stmt).unique())
    if offset == 0 and len(calls) < page_size:
        total, exact = len(calls), True  # the whole result is on this page: nothing to count
    else:
        # without a start the count may run over the whole history: gather, do not look up
        counting = (
            conditions
            if query.since is not None
            else call_conditions(query, user, whole_history=True)
        )
        capped = select(Call.id).where(*counting).limit(TOTAL_CAP + 1).subquery()
        counted = db_session.scalar(select(func.count()).select_from(capped)) or 0
        total, exact = min(counted, TOTAL_CAP), counted <= TOTAL_CAP
    return CallPageResult(
        calls=calls,
        extras=extras_for(db_session=db_session, call_pks=[c.id for c in calls], user=user),
        total=total,
        total_exact=exact,
        page=query.page,
        page_size=page_size,
    )


def iter_calls(
    *, db_session: Session, user: User, filters: CallFilters, batch: int = 1000
) -> Iterator[tuple[Call, CallExtras]]:
    """Every call the user may see that matches, oldest first, in batches (for the export)."""
    conditions = call_conditions(filters, user)
    last: tuple[Any, int] | None = None
    while True:
        stmt = select(Call).where(*conditions)
        if last is not None:
            stmt = stmt.where(
                (Call.started_at > last[0]) | ((Call.started_at == last[0]) & (Call.id > last[1]))
            )
        calls = list(
            db_session.scalars(stmt.order_by(Call.started_at, Call.id).limit(batch)).unique()
        )
        if not calls:
            return
        extras = extras_for(db_session=db_session, call_pks=[c.id for c in calls], user=user)
        for call in calls:
            yield call, extras[call.id]
        last = (calls[-1].started_at, calls[-1].id)
        db_session.expunge_all()


def get_call(*, db_session: Session, user: User, call_id: str) -> Call:
    """The call with this Linkedid if the user may see it; NotFound otherwise (either way)."""
    call = db_session.scalar(select(Call).where(Call.call_id == call_id, call_filter(user)))
    if call is None:
        raise NotFound("call not found")
    return call


# --- what other packages add ---------------------------------------------------------------


def _combined_status(statuses: set[str]) -> str:
    # as transcription.service.status_of, for many calls in one query
    if not statuses:
        return "none"
    if "done" in statuses:
        return "done"
    if statuses & {"pending", "running"}:
        return "pending"
    return "failed"


def extras_for(
    *, db_session: Session, call_pks: Sequence[int], user: User | None = None
) -> dict[int, CallExtras]:
    """Transcript status, themes, flags and review state of these calls (a few queries).

    With `user`, the review state is what that user may know (see `_add_review_status`).
    """
    extras = {pk: CallExtras() for pk in call_pks}
    if not call_pks:
        return extras
    statuses: dict[int, set[str]] = {pk: set() for pk in call_pks}
    for pk, status in db_session.execute(
        select(Transcript.call_pk, Transcript.status).where(Transcript.call_pk.in_(call_pks))
    ):
        statuses[pk].add(status)
    for pk, found in statuses.items():
        extras[pk].transcript_status = _combined_status(found)
    _add_analytics(db_session, call_pks, extras)
    _add_review_status(db_session, call_pks, extras, user)
    return extras


def _add_review_status(
    db_session: Session, call_pks: Sequence[int], extras: dict[int, CallExtras], user: User | None
) -> None:
    """The status of each call's newest QA review, or `queued` when it waits in a review queue.

    An agent sees the review state of calls they answered only, and never `queued`: which of
    their calls the secret QA sample picked is for reviewers to know.
    """
    statuses = review_statuses(db_session=db_session, call_pks=call_pks)
    if user is not None and user.role == "agent":
        own = set(
            db_session.scalars(select(Call.id).where(Call.id.in_(call_pks), own_work_filter(user)))
        )
        statuses = {pk: s for pk, s in statuses.items() if pk in own and s != "queued"}
    for pk, status in statuses.items():
        extras[pk].review_status = status


def _add_analytics(
    db_session: Session, call_pks: Sequence[int], extras: dict[int, CallExtras]
) -> None:
    """Complaint themes and flag rules of these calls, in two queries."""
    for pk, theme in db_session.execute(
        select(CallTheme.call_pk, CallTheme.theme)
        .where(CallTheme.call_pk.in_(call_pks))
        .order_by(CallTheme.theme)
    ):
        if theme not in extras[pk].themes:
            extras[pk].themes.append(theme)
    for pk, rule in db_session.execute(
        select(Flag.call_pk, Flag.rule).where(Flag.call_pk.in_(call_pks)).order_by(Flag.id)
    ):
        if rule not in extras[pk].flags:
            extras[pk].flags.append(rule)


# --- shaping -------------------------------------------------------------------------------


def call_item(call: Call, extras: CallExtras) -> dict[str, Any]:
    """A call as the list shows it: the export row plus transcript state and analytics."""
    row = export_row(call)
    row.update(
        transcript_status=extras.transcript_status,
        themes=extras.themes,
        flags=extras.flags,
        review_status=extras.review_status,
    )
    return row


def _best_transcript(db_session: Session, call: Call) -> Transcript | None:
    transcripts = list(
        db_session.scalars(
            select(Transcript)
            .where(Transcript.call_pk == call.id)
            .order_by(Transcript.updated_at.desc(), Transcript.id.desc())
        )
    )
    done = [t for t in transcripts if t.status == "done"]
    chosen = done or transcripts
    return chosen[0] if chosen else None


def call_detail(*, db_session: Session, user: User, call: Call) -> dict[str, Any]:
    """A call with its timeline and transcript, personal numbers masked unless the user may
    see them."""
    extras = extras_for(db_session=db_session, call_pks=[call.id], user=user)[call.id]
    row = call_item(call, extras)
    row["timeline"] = [
        {
            "seq": a.seq,
            "agent": a.agent_name,
            "started_at": a.started_at,
            "ring_s": a.ring_s,
            "outcome": a.outcome,
        }
        for a in call.attempts
    ]
    transcript = _best_transcript(db_session, call)
    row["transcript"] = (
        None
        if transcript is None
        else transcript_view(transcript, redact=not can(user, "view_unredacted"))
    )
    return row


def transcript_view(transcript: Transcript, *, redact: bool) -> dict[str, Any]:
    """A transcript with segments and words; `redact` masks personal numbers in both."""
    segments = []
    for segment in transcript.segments:
        text = segment.text
        word_texts = [w.text for w in segment.words]
        if redact:
            text, word_texts = redact_segment(text, word_texts)
        segments.append(
            {
                "seq": segment.seq,
                "start_s": segment.start_s,
                "end_s": segment.end_s,
                "speaker": segment.speaker,
                "text": text,
                "words": [
                    {
                        "start_s": w.start_s,
                        "end_s": w.end_s,
                        "text": word_text,
                        "probability": w.probability,
                    }
                    for w, word_text in zip(segment.words, word_texts, strict=True)
                ],
            }
        )
    return {
        "status": transcript.status,
        "model": transcript.model,
        "language": transcript.language,
        "audio_s": transcript.audio_s,
        "error": transcript.error,
        "redacted": redact,
        "metrics": {
            "talk_customer_s": transcript.talk_customer_s,
            "talk_agent_s": transcript.talk_agent_s,
            "talk_unknown_s": transcript.talk_unknown_s,
            "silence_ratio": transcript.silence_ratio,
            "longest_silence_s": transcript.longest_silence_s,
            "overtalk_s": transcript.overtalk_s,
        },
        "segments": segments,
    }
