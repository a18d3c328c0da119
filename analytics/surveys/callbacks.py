"""Daily callback lists: whom to call back about a call, who calls, by when; done when called.

`build_callbacks` takes the inbound calls of a local day: every complaint-flagged call, every
abandoned one (a wait of at least `short_abandon_s`), and a reproducible sample of the other
answered calls (seeded with the day and CALLSCOPE_REVIEW_SEED, so the same day draws the same
calls). A customer who called several times that day is called back once, for the most pressing
call. Each item goes to the call's agent; a call nobody answered goes to one of the agents its
call rang, round-robin by load; one that rang nobody stays unassigned (supervisors see it).
`assign="round-robin"` spreads every item by load over the agents the call is visible to.
Items are due at the end of the next local day.

An outbound call to the number, seen by the connector, completes the item (the matching is
`analytics.followups`'); so can a person, with a note.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from analytics import followups, rules
from analytics.errors import CallNotFound
from analytics.flags import is_theme_rule
from analytics.models import Flag
from analytics.sampling import day_range
from analytics.surveys.errors import CallbackError
from analytics.surveys.models import CallbackItem, SurveyResponse
from core.db import utcnow
from core.settings import Settings
from telephony.models import Agent, Call

REASONS: tuple[str, ...] = ("complaint", "abandoned", "sample")
"""Why a call is on the list, most pressing first."""


@dataclass(frozen=True, slots=True)
class CallbackOptions:
    """How many calls to sample and how to assign them."""

    sample: int = 10
    assign: str = "agent"  # agent | round-robin

    def __post_init__(self) -> None:
        if self.sample < 0:
            raise ValueError("sample must be 0 or more")
        if self.assign not in ("agent", "round-robin"):
            raise ValueError("assign must be 'agent' or 'round-robin'")


def sample_key(day: date, call_id: str, seed: str) -> str:
    """The sort key that draws the day's sample (reproducible; hides the seed)."""
    return hashlib.sha256(f"callbacks|{day.isoformat()}|{call_id}|{seed}".encode()).hexdigest()


def _reason_of(call: Call, flags: Sequence[Flag], settings: Settings) -> tuple[str, str] | None:
    themes = sorted(f.rule.split(":", 1)[1] for f in flags if is_theme_rule(f.rule))
    if themes:
        return "complaint", f"complaint: {', '.join(themes)}"
    if call.abandoned and (call.wait_s is None or call.wait_s >= settings.short_abandon_s):
        waited = f" after {call.wait_s:.0f} s" if call.wait_s is not None else ""
        return "abandoned", f"abandoned{waited}"
    return None


def build_callbacks(
    *,
    db_session: Session,
    day: date,
    settings: Settings,
    options: CallbackOptions | None = None,
    tz: str | None = None,
) -> list[CallbackItem]:
    """Add the day's callback items (calls already listed keep theirs); the day's list."""
    options = options or CallbackOptions()
    zone = tz or settings.timezone
    start, end = day_range(day, zone)
    due_at = day_range(day + timedelta(days=1), zone)[1]
    calls = list(
        db_session.scalars(
            select(Call)
            .where(
                Call.started_at >= start,
                Call.started_at < end,
                Call.direction == "inbound",
                Call.caller_number.is_not(None),
            )
            .order_by(Call.started_at, Call.id)
        ).unique()
    )
    flags: dict[int, list[Flag]] = {}
    for flag in db_session.scalars(select(Flag).where(Flag.call_pk.in_([c.id for c in calls]))):
        flags.setdefault(flag.call_pk, []).append(flag)
    listed = set(db_session.scalars(select(CallbackItem.call_pk)))
    picked: list[tuple[Call, str, str]] = []
    rest: list[Call] = []
    for call in calls:
        if not followups.digits(call.caller_number):
            continue
        why = _reason_of(call, flags.get(call.id, []), settings)
        if why is not None:
            picked.append((call, why[0], why[1]))
        elif call.answered:
            rest.append(call)
    rest.sort(key=lambda c: sample_key(day, c.call_id, settings.review_seed))
    picked.extend((c, "sample", "sampled for a satisfaction callback") for c in rest)
    # one callback per customer and day: the most pressing call (the latest among equals)
    by_number: dict[str, tuple[Call, str, str]] = {}
    sampled = 0
    for call, reason, detail in sorted(
        picked, key=lambda p: (REASONS.index(p[1]), -p[0].started_at.timestamp())
    ):
        key = followups.digits(call.caller_number)[-followups.MIN_MATCH_DIGITS :]
        if key in by_number:
            continue
        if reason == "sample":
            if sampled >= options.sample:
                continue
            sampled += 1
        by_number[key] = (call, reason, detail)
    load: Counter[int] = Counter()
    for agent_id, count in db_session.execute(
        select(CallbackItem.agent_id, func.count())
        .where(CallbackItem.day == day, CallbackItem.agent_id.is_not(None))
        .group_by(CallbackItem.agent_id)
    ):
        if agent_id is not None:
            load[agent_id] = int(count)
    for call, reason, detail in sorted(by_number.values(), key=lambda p: p[0].started_at):
        if call.id in listed:
            continue
        agent_id = _assign(call, options, load)
        if agent_id is not None:
            load[agent_id] += 1
        item = CallbackItem(
            day=day,
            call_pk=call.id,
            reason=reason,
            detail=detail,
            agent_id=agent_id,
            number=call.caller_number or "",
            due_at=due_at,
            status="open",
        )
        db_session.add(item)
        db_session.flush()
        callback = followups.first_callback(
            db_session=db_session,
            number=call.caller_number,
            since=call.ended_at or call.started_at,
            options=followups.FollowUpOptions(
                due_h=rules.effective_settings(
                    db_session=db_session, settings=settings
                ).followup_due_h
            ),
        )
        if callback is not None:
            _close_by_call(db_session, item, callback)
    db_session.flush()
    return list_callbacks(db_session=db_session, day=day)


def _assign(call: Call, options: CallbackOptions, load: Counter[int]) -> int | None:
    rang = sorted({a.agent_id for a in call.attempts if a.agent_id is not None})
    if options.assign == "agent" and call.agent_id is not None:
        return call.agent_id
    # only agents who may see the call (it rang them) can call back about it
    candidates = rang or ([call.agent_id] if call.agent_id is not None else [])
    if not candidates:
        return None
    return min(candidates, key=lambda a: (load[a], a))


def _close_by_call(db_session: Session, item: CallbackItem, callback: Call) -> None:
    item.status = "done"
    item.closed_at = callback.started_at
    item.closed_by_call_pk = callback.id
    item.closed_by = callback.agent.name if callback.agent else f"call {callback.call_id}"
    if item.response_id is None:
        # a survey taken in the console for this call during the callback
        response = db_session.scalar(
            select(SurveyResponse)
            .where(
                SurveyResponse.call_pk == item.call_pk,
                SurveyResponse.callback_call_pk.is_(None),
                SurveyResponse.answered_at >= callback.started_at,
            )
            .order_by(SurveyResponse.answered_at)
        )
        if response is not None:
            item.response_id = response.id
    if item.response_id is not None:
        response = db_session.get(SurveyResponse, item.response_id)
        if response is not None and response.callback_call_pk is None:
            response.callback_call_pk = callback.id


def complete_by_outbound(
    *, db_session: Session, call_pk: int, settings: Settings
) -> list[CallbackItem]:
    """Complete the open callback items this outbound call answers (a call to their number)."""
    call = db_session.get(Call, call_pk)
    if call is None:
        raise CallNotFound(f"no call with id {call_pk}")
    options = followups.FollowUpOptions(
        due_h=rules.effective_settings(db_session=db_session, settings=settings).followup_due_h
    )
    numbers = followups.reached_numbers(call, options)
    if not numbers:
        return []
    stmt = (
        select(CallbackItem)
        .join(Call, Call.id == CallbackItem.call_pk)
        .where(
            CallbackItem.status == "open",
            func.coalesce(Call.ended_at, Call.started_at) < call.started_at,
            followups.number_prefilter(CallbackItem.number, numbers),
        )
        .order_by(CallbackItem.due_at, CallbackItem.id)
    )
    done: list[CallbackItem] = []
    for item in db_session.scalars(stmt):
        if any(followups.same_number(item.number, n) for n in numbers):
            _close_by_call(db_session, item, call)
            done.append(item)
    db_session.flush()
    return done


def complete_item(
    *, db_session: Session, item_id: int, by: str, note: str, response_id: int | None = None
) -> CallbackItem:
    """A person completes an item, saying what was done (e.g. 'no answer after 3 tries')."""
    item = db_session.get(CallbackItem, item_id)
    if item is None:
        raise CallbackError(f"no callback item {item_id}")
    if item.status == "done":
        when = f"{item.closed_at:%Y-%m-%d %H:%M} UTC " if item.closed_at else ""
        raise CallbackError(
            f"callback item {item_id} was already completed {when}by {item.closed_by}"
        )
    if not note.strip() and response_id is None:
        raise CallbackError("say what was done: completing a callback needs a note or a survey")
    item.status = "done"
    item.closed_at = utcnow()
    item.closed_by = by
    item.note = note.strip() or None
    if response_id is not None:
        item.response_id = response_id
    db_session.flush()
    return item


def list_callbacks(
    *,
    db_session: Session,
    day: date | None = None,
    status: str | None = None,
    agent_id: int | None = None,
    condition: ColumnElement[bool] | None = None,
    now: datetime | None = None,
    limit: int | None = None,
) -> list[CallbackItem]:
    """Items by due time; `status` open (incl. overdue), overdue or done; `condition` on Call."""
    now = now or utcnow()
    stmt = (
        select(CallbackItem)
        .join(Call, Call.id == CallbackItem.call_pk)
        .order_by(CallbackItem.due_at, CallbackItem.id)
    )
    if day is not None:
        stmt = stmt.where(CallbackItem.day == day)
    if status == "open":
        stmt = stmt.where(CallbackItem.status == "open")
    elif status == "overdue":
        stmt = stmt.where(CallbackItem.status == "open", CallbackItem.due_at < now)
    elif status == "done":
        stmt = stmt.where(CallbackItem.status == "done")
    elif status is not None:
        raise ValueError(f"unknown callback status {status!r}: use open, overdue or done")
    if agent_id is not None:
        stmt = stmt.where(CallbackItem.agent_id == agent_id)
    if condition is not None:
        stmt = stmt.where(condition)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(db_session.scalars(stmt))


def item_row(
    db_session: Session, item: CallbackItem, now: datetime | None = None
) -> dict[str, object]:
    """An item as the API and the CLI show it."""
    call = db_session.get(Call, item.call_pk)
    agent = db_session.get(Agent, item.agent_id) if item.agent_id is not None else None
    closed_by_call = (
        db_session.get(Call, item.closed_by_call_pk) if item.closed_by_call_pk is not None else None
    )
    return {
        "id": item.id,
        "day": item.day,
        "call_id": call.call_id if call else None,
        "call_started_at": call.started_at if call else None,
        "queue": call.queue.name if call and call.queue else None,
        "reason": item.reason,
        "detail": item.detail,
        "agent": agent.name if agent else None,
        "number": item.number,
        "due_at": item.due_at,
        "status": item.status_at(now or utcnow()),
        "closed_at": item.closed_at,
        "closed_by": item.closed_by,
        "closed_by_call_id": closed_by_call.call_id if closed_by_call else None,
        "note": item.note,
        "response_id": item.response_id,
    }


def sync_callbacks(*, db_session: Session, settings: Settings) -> list[CallbackItem]:
    """Complete every open item whose callback is already stored (catch-up after downtime)."""
    options = followups.FollowUpOptions(
        due_h=rules.effective_settings(db_session=db_session, settings=settings).followup_due_h
    )
    done: list[CallbackItem] = []
    for item in list_callbacks(db_session=db_session, status="open"):
        call = db_session.get(Call, item.call_pk)
        if call is None:
            continue
        callback = followups.first_callback(
            db_session=db_session,
            number=item.number,
            since=call.ended_at or call.started_at,
            options=options,
        )
        if callback is not None:
            _close_by_call(db_session, item, callback)
            done.append(item)
    db_session.flush()
    return done
