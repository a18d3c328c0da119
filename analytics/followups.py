"""Follow-ups: call back every customer who complained or gave up waiting, within the due time.

A call opens a follow-up when it has a complaint-theme flag or the caller abandoned (after a
wait of at least `short_abandon_s`: shorter ones are misdials). It is due `due_h` hours after
the call started. An outbound call to the same number after that call, seen by the connector,
closes it (`closed_by_call_pk`); so can a person, with a note. An open follow-up past its due
time is overdue.

A dissatisfied survey answer (the `survey_dissatisfied` flag) also opens one, due `due_h` after
the answer, and reopens a done one when it came after the callback that closed it: only a call
made after the answer closes that one.

On-time rate = follow-ups closed by their due time / (closed + overdue): one still open and not
yet due counts for neither.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from analytics.compliance import GROUPINGS, GroupContext, zone_for
from analytics.errors import CallNotFound, FollowUpError
from analytics.flags import SURVEY_DISSATISFIED, is_theme_rule
from analytics.models import Flag, FollowUp
from analytics.surveys import lowscores
from core.db import utcnow
from core.settings import Settings
from telephony.models import Call, Queue

#: Digits two numbers must share at their end to be the same line (trunk prefixes differ).
MIN_MATCH_DIGITS = 7


@dataclass(frozen=True, slots=True)
class FollowUpOptions:
    """When follow-ups are due and what closes them."""

    due_h: float = 24.0
    require_answered_callback: bool = False  # True: a callback nobody picked up does not count

    def __post_init__(self) -> None:
        if self.due_h <= 0:
            raise ValueError("due_h must be above 0")


# --- numbers ---------------------------------------------------------------------------------


def digits(number: str | None) -> str:
    """Only the digits of a phone number."""
    return re.sub(r"\D", "", number or "")


def same_number(a: str | None, b: str | None) -> bool:
    """True when two numbers are the same line: equal digits, or one ends with the other.

    The shorter must have at least MIN_MATCH_DIGITS digits, so an outside-line prefix (9...)
    or a country code (+86...) still matches, but two extensions never do by accident.
    """
    da, db = digits(a), digits(b)
    if not da or not db:
        return False
    if da == db:
        return True
    short, long = sorted((da, db), key=len)
    return len(short) >= MIN_MATCH_DIGITS and long.endswith(short)


def _tail(number: str) -> str:
    return digits(number)[-MIN_MATCH_DIGITS:]


def reached_numbers(call: Call, options: FollowUpOptions) -> list[str]:
    """The numbers an outbound call reached, if it can count as a callback (else empty)."""
    if call.direction != "outbound":
        return []
    if options.require_answered_callback and not call.answered:
        return []
    return [n for n in (call.dialed_number, call.caller_number) if n and _tail(n)]


def number_prefilter(column: Any, numbers: Sequence[str]) -> ColumnElement[bool]:
    """A cheap SQL pre-filter: `column` ends with the last digits of one of `numbers`
    (confirm each row with `same_number`)."""
    return or_(*[column.like(f"%{_tail(n)}") for n in numbers])


# --- opening and closing ------------------------------------------------------------------------


def followup_reasons(call: Call, flags: Sequence[Flag], settings: Settings) -> list[str]:
    """Why a call needs a follow-up (empty: it does not)."""
    if call.direction != "inbound":
        return []
    reasons: list[str] = []
    themes = sorted(f.rule.split(":", 1)[1] for f in flags if is_theme_rule(f.rule))
    if themes:
        reasons.append(f"complaint: {', '.join(themes)}")
    if call.abandoned and (call.wait_s is None or call.wait_s >= settings.short_abandon_s):
        waited = f" after {call.wait_s:.0f} s" if call.wait_s is not None else ""
        reasons.append(f"abandoned{waited}")
    reasons.extend(f"survey: {f.reason}" for f in flags if f.rule == SURVEY_DISSATISFIED)
    return reasons


def followup_for(*, db_session: Session, call_pk: int) -> FollowUp | None:
    """The follow-up a call opened, if any."""
    return db_session.scalar(select(FollowUp).where(FollowUp.call_pk == call_pk))


def sync_followup(
    *,
    db_session: Session,
    call_pk: int,
    settings: Settings,
    options: FollowUpOptions | None = None,
) -> FollowUp | None:
    """Open, update or drop the call's follow-up to match its current flags; idempotent.

    A follow-up that is done stays as it is. A new one is closed at once when a callback to the
    number is already stored (transcripts can finish after the agent called back).
    """
    options = options or FollowUpOptions()
    call = db_session.get(Call, call_pk)
    if call is None:
        raise CallNotFound(f"no call with id {call_pk}")
    flags = list(db_session.scalars(select(Flag).where(Flag.call_pk == call_pk)))
    reasons = followup_reasons(call, flags, settings)
    followup = followup_for(db_session=db_session, call_pk=call_pk)
    unhappy_at = _dissatisfied_at(db_session, call_pk, flags)
    reopen = False
    if followup is not None and followup.status == "done":
        closed_at = followup.closed_at
        if unhappy_at is None or (closed_at is not None and unhappy_at <= closed_at):
            return followup
        reopen = True  # the customer was unhappy after the callback: call again
    if not reasons:
        if followup is not None:
            db_session.delete(followup)  # no longer warranted (a new lexicon, a fixed call)
            db_session.flush()
        return None
    opened = call.started_at
    since = call.ended_at or call.started_at
    if unhappy_at is not None and unhappy_at > since:
        only_survey = all(r.startswith("survey: ") for r in reasons)
        earlier = first_callback(
            db_session=db_session, number=call.caller_number, since=since, options=options
        )
        if only_survey or (earlier is not None and earlier.started_at <= unhappy_at):
            opened = since = unhappy_at  # only a call after the answer can answer it
    if followup is None:
        followup = FollowUp(call_pk=call_pk, status="open")
        db_session.add(followup)
    elif reopen:
        followup.status = "open"
        followup.closed_at = followup.closed_by = followup.closed_by_call_pk = None
    followup.number = call.caller_number
    followup.reason = "; ".join(reasons)
    followup.due_at = opened + timedelta(hours=options.due_h)
    db_session.flush()
    callback = first_callback(
        db_session=db_session, number=call.caller_number, since=since, options=options
    )
    if callback is not None:
        _close_by_call(followup, callback)
        db_session.flush()
    return followup


def _dissatisfied_at(
    db_session: Session, call_pk: int, flags: Sequence[Flag] | None
) -> datetime | None:
    if flags is not None and not any(f.rule == SURVEY_DISSATISFIED for f in flags):
        return None
    low = lowscores.low_answers(db_session=db_session, call_pk=call_pk)
    return low[0].answered_at if low else None


def _outbound_after(since: datetime, tail: str, options: FollowUpOptions) -> Select[Any]:
    like = f"%{tail}"
    stmt = select(Call).where(
        Call.direction == "outbound",
        Call.started_at > since,
        or_(Call.dialed_number.like(like), Call.caller_number.like(like)),
    )
    if options.require_answered_callback:
        stmt = stmt.where(Call.answered.is_(True))
    return stmt.order_by(Call.started_at, Call.id)


def first_callback(
    *, db_session: Session, number: str | None, since: datetime, options: FollowUpOptions
) -> Call | None:
    """The first outbound call to `number` that started after `since` (a callback), if any."""
    if not _tail(number or ""):
        return None
    candidate: Call
    for candidate in db_session.scalars(_outbound_after(since, _tail(number or ""), options)):
        if same_number(candidate.dialed_number, number) or same_number(
            candidate.caller_number, number
        ):
            return candidate
    return None


def _close_by_call(followup: FollowUp, callback: Call) -> None:
    followup.status = "done"
    followup.closed_at = callback.started_at
    followup.closed_by_call_pk = callback.id
    followup.closed_by = callback.agent.name if callback.agent else f"call {callback.call_id}"


def close_by_outbound(
    *, db_session: Session, call_pk: int, options: FollowUpOptions | None = None
) -> list[FollowUp]:
    """Close the open follow-ups this outbound call answers (a callback to their number)."""
    options = options or FollowUpOptions()
    call = db_session.get(Call, call_pk)
    if call is None:
        raise CallNotFound(f"no call with id {call_pk}")
    numbers = reached_numbers(call, options)
    if not numbers:
        return []
    stmt = (
        select(FollowUp)
        .join(Call, Call.id == FollowUp.call_pk)
        .where(
            FollowUp.status == "open",
            func.coalesce(Call.ended_at, Call.started_at) < call.started_at,
            number_prefilter(FollowUp.number, numbers),
        )
        .order_by(FollowUp.due_at)
    )
    closed: list[FollowUp] = []
    for followup in db_session.scalars(stmt):
        if "survey: " in followup.reason:
            unhappy_at = _dissatisfied_at(db_session, followup.call_pk, None)
            if unhappy_at is not None and unhappy_at > call.started_at:
                continue  # the customer was unhappy after this call started: call again
        if any(same_number(followup.number, n) for n in numbers):
            _close_by_call(followup, call)
            closed.append(followup)
    db_session.flush()
    return closed


def close_followup(
    *,
    db_session: Session,
    call_pk: int,
    by: str,
    note: str,
    now: datetime | None = None,
) -> FollowUp:
    """A person closes the follow-up of a call, saying what was done."""
    if not note or not note.strip():
        raise FollowUpError("say what was done: closing a follow-up needs a note")
    followup = followup_for(db_session=db_session, call_pk=call_pk)
    if followup is None:
        raise FollowUpError("this call has no follow-up to close")
    if followup.status == "done":
        raise FollowUpError(
            f"the follow-up was already closed at {followup.closed_at:%Y-%m-%d %H:%M} UTC "
            f"by {followup.closed_by or 'someone'}"
        )
    followup.status = "done"
    followup.closed_at = now or utcnow()
    followup.closed_by = by
    followup.note = note.strip()
    db_session.flush()
    return followup


def list_followups(
    *,
    db_session: Session,
    status: str | None = None,
    now: datetime | None = None,
    limit: int | None = None,
) -> list[FollowUp]:
    """Follow-ups by due time; `status` open (incl. overdue), overdue or done filters them."""
    now = now or utcnow()
    stmt = select(FollowUp).order_by(FollowUp.due_at, FollowUp.id)
    if status == "open":
        stmt = stmt.where(FollowUp.status == "open")
    elif status == "overdue":
        stmt = stmt.where(FollowUp.status == "open", FollowUp.due_at < now)
    elif status == "done":
        stmt = stmt.where(FollowUp.status == "done")
    elif status is not None:
        raise ValueError(f"unknown follow-up status {status!r}: use open, overdue or done")
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(db_session.scalars(stmt))


# --- the on-time rate -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FollowUpRate:
    """Follow-up figures of one group; on_time_rate is None when nothing is closed or overdue."""

    group: str | None
    opened: int
    closed: int
    closed_on_time: int
    overdue: int
    open_not_due: int
    on_time_rate: float | None


def followup_on_time_rate(
    *,
    db_session: Session,
    by: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    queue: str | None = None,
    tz: str | None = None,
    now: datetime | None = None,
) -> list[FollowUpRate]:
    """Follow-up on-time rates of calls started in [since, until), grouped as compliance groups
    its report (`by`: queue, agent, hour, day, week or any registered grouping; None: one row).
    """
    now = now or utcnow()
    if by is not None and by not in GROUPINGS:
        raise ValueError(f"cannot group by {by!r}: choose one of {', '.join(GROUPINGS)}")
    per_call = (
        select(FollowUp.status)
        .add_columns(FollowUp.due_at, FollowUp.closed_at)
        .select_from(Call)
        .outerjoin(Queue, Call.queue_id == Queue.id)
        .join(FollowUp, FollowUp.call_pk == Call.id)
    )
    if since is not None:
        per_call = per_call.where(Call.started_at >= since)
    if until is not None:
        per_call = per_call.where(Call.started_at < until)
    if queue is not None:
        per_call = per_call.where(Queue.name == queue)
    label: ColumnElement[Any] | None = None
    if by is not None:
        ctx = GroupContext(
            db_session=db_session,
            dialect=db_session.get_bind().dialect.name,
            tz=zone_for(tz).key,
            since=since,
            until=until,
        )
        per_call, label = GROUPINGS[by](per_call, ctx)
    columns = [label.label("grp")] if label is not None else []
    c = per_call.add_columns(*columns).subquery("f")

    def count(condition: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    done = c.c.status == "done"
    is_open = c.c.status == "open"
    aggregates = [
        func.count().label("opened"),
        count(done).label("closed"),
        count(and_(done, c.c.closed_at <= c.c.due_at)).label("on_time"),
        count(and_(is_open, c.c.due_at < now)).label("overdue"),
        count(and_(is_open, c.c.due_at >= now)).label("not_due"),
    ]
    if label is not None:
        stmt = select(c.c.grp, *aggregates).group_by(c.c.grp).order_by(c.c.grp.asc().nulls_last())
    else:
        stmt = select(*aggregates)
    rows: list[FollowUpRate] = []
    for r in db_session.execute(stmt):
        closed, on_time, overdue = int(r.closed), int(r.on_time), int(r.overdue)
        group = getattr(r, "grp", None)
        rows.append(
            FollowUpRate(
                group=None if group is None else str(group),
                opened=int(r.opened),
                closed=closed,
                closed_on_time=on_time,
                overdue=overdue,
                open_not_due=int(r.not_due),
                on_time_rate=on_time / (closed + overdue) if closed + overdue else None,
            )
        )
    return rows


def on_time_rate(
    *,
    db_session: Session,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> FollowUpRate:
    """The on-time rate of every follow-up of calls started in [since, until)."""
    (row,) = followup_on_time_rate(db_session=db_session, since=since, until=until, now=now)
    return row
