"""Answer-target compliance: offered, answered, abandoned and service level, aggregated in SQL.

A report groups inbound calls that started in [since, until) by queue, answering agent, or
hour, day or week (in UTC or the hotline's own time zone), and counts everything with one
GROUP BY in the database: no call is ever loaded into Python, so a report over one week costs
the same on a table with one month of history as on one with ten years (see
docs/benchmarks-reports.md).

The target of a call is its queue's ring policy, as `telephony.service.ring_policy` applies it:
`target_s = ring_cycle_s x answer_target_rings`, from the queue where set, else the settings.
It is applied at report time, so changing a queue's target changes its past figures too.

Groupings are a registry (`GROUPINGS`, `register_grouping`): a new one (complaint themes,
follow-ups...) adds its joins and a label expression without touching the figures.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, Float, Integer, Select, and_, case, func, literal, select
from sqlalchemy.orm import Session

from core.settings import Settings
from telephony.models import Agent, Call, Queue

DEFAULT_SHORT_ABANDON_S = 5.0

DEFINITIONS: dict[str, str] = {
    "offered": "inbound calls that started in [since, until)",
    "abandoned": "offered calls where the caller hung up before a person answered",
    "short_abandoned": "abandons with a wait under short_abandon_s (misdials, instant hang-ups)",
    "target_s": "ring_cycle_s x answer_target_rings of the call's queue (queue override, "
    "else the settings); answered within target = answered before the target ring ended",
    "abandoned_within_target": "abandons with a wait under the call's target_s",
    "sl_answered": "answered_within_target / answered: only answered calls count, as in "
    "Asterisk's queue SL",
    "sl_inclusive": "answered_within_target / (answered + abandoned - short_abandoned): every "
    "abandon that is not short counts as a miss. Asterisk's SL2 differs: it counts abandons "
    "within target as met, = (answered_within_target + abandoned_within_target) / "
    "(answered + abandoned)",
    "asa_s": "average ring_to_answer_s of the answered calls (average speed of answer)",
    "max_wait_s": "longest wait_s of any offered call",
    "abandon_rate": "(abandoned - short_abandoned) / (offered - short_abandoned)",
    "talk_s": "total talk seconds of the answered calls",
    "group_agent": "the answering agent; calls nobody answered are grouped under null",
    "group_time": "hour 'YYYY-MM-DDTHH:00', day 'YYYY-MM-DD', week = its Monday 'YYYY-MM-DD', "
    "in the report's tz; the repeated hour when clocks go back counts as one hour",
}

_SECONDS_STEP = 6 * 3600  # zone offsets are sampled this often, then bisected to the second


@dataclass(frozen=True, slots=True)
class ComplianceSettings:
    """The parameters a report was computed with."""

    ring_cycle_s: float
    answer_target_rings: int
    short_abandon_s: float
    tz: str
    since: datetime | None
    until: datetime | None
    by: str
    queue: str | None


@dataclass(frozen=True, slots=True)
class ComplianceRow:
    """The figures of one group; fractions are 0-1, None when their denominator is 0."""

    group: str | None
    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    answered_within_target: int
    abandoned_within_target: int
    sl_answered: float | None
    sl_inclusive: float | None
    asa_s: float | None
    max_wait_s: float | None
    abandon_rate: float | None
    talk_s: float


@dataclass(frozen=True, slots=True)
class ComplianceReport:
    """The rows of a report, in group order (null group last), and its settings."""

    settings: ComplianceSettings
    rows: list[ComplianceRow]


ROW_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(ComplianceRow))


@dataclass(frozen=True, slots=True)
class GroupContext:
    """What a grouping may use to build its label: the session, time zone and date range."""

    db_session: Session
    dialect: str
    tz: str
    since: datetime | None
    until: datetime | None


Grouping = Callable[[Select[Any], GroupContext], tuple[Select[Any], ColumnElement[Any]]]
"""Adds the joins a grouping needs to the per-call select, and returns its label expression.

The select already reads `calls` outer-joined to `queues`. A call that matches several labels
(a join to a many-to-many table) is counted once in each of them.
"""


def _by_queue(stmt: Select[Any], ctx: GroupContext) -> tuple[Select[Any], ColumnElement[Any]]:
    return stmt, Queue.name.expression


def _by_agent(stmt: Select[Any], ctx: GroupContext) -> tuple[Select[Any], ColumnElement[Any]]:
    # the answering agent only: unanswered calls fall under null, so the rows add up to the whole
    stmt = stmt.outerjoin(Agent, and_(Call.agent_id == Agent.id, Call.answered))
    return stmt, Agent.name.expression


def _time_grouping(unit: str) -> Grouping:
    def grouping(stmt: Select[Any], ctx: GroupContext) -> tuple[Select[Any], ColumnElement[Any]]:
        return stmt, local_bucket(ctx, unit)

    return grouping


GROUPINGS: dict[str, Grouping] = {
    "queue": _by_queue,
    "agent": _by_agent,
    "hour": _time_grouping("hour"),
    "day": _time_grouping("day"),
    "week": _time_grouping("week"),
}


def register_grouping(name: str, grouping: Grouping) -> None:
    """Make `name` a report grouping (the CLI's --by choices follow this registry)."""
    if name in GROUPINGS:
        raise ValueError(f"report grouping {name!r} is already registered")
    GROUPINGS[name] = grouping


def zone_for(tz: str | None) -> ZoneInfo:
    """The IANA time zone named `tz` (UTC when None); ValueError names an unknown one."""
    try:
        return ZoneInfo(tz or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {tz!r}: use an IANA name such as Asia/Shanghai"
        ) from exc


def utc_offsets(
    zone: ZoneInfo, start: datetime, end: datetime
) -> list[tuple[datetime | None, int]]:
    """The zone's UTC offset over [start, end] as (in force until, seconds) pieces; last is open."""

    def offset_at(epoch: int) -> int:
        offset = datetime.fromtimestamp(epoch, UTC).astimezone(zone).utcoffset()
        return int(offset.total_seconds()) if offset is not None else 0

    low, stop = math.floor(start.timestamp()), math.ceil(end.timestamp())
    current = offset_at(low)
    pieces: list[tuple[datetime | None, int]] = []
    while low < stop:
        high = min(low + _SECONDS_STEP, stop)
        if offset_at(high) == current:
            low = high
            continue
        while high - low > 1:
            middle = (low + high) // 2
            if offset_at(middle) == current:
                low = middle
            else:
                high = middle
        pieces.append((datetime.fromtimestamp(high, UTC), current))
        current, low = offset_at(high), high
    pieces.append((None, current))
    return pieces


def local_bucket(ctx: GroupContext, unit: str) -> ColumnElement[Any]:
    """SQL for the hour, day or week (its Monday) a call started in, in the context's zone."""
    if ctx.dialect == "postgresql":
        local = func.timezone(ctx.tz, Call.started_at)
        if unit == "week":
            return func.to_char(func.date_trunc("week", local), "YYYY-MM-DD")
        return func.to_char(local, 'YYYY-MM-DD"T"HH24:00' if unit == "hour" else "YYYY-MM-DD")
    # SQLite has no time zones: shift by the zone's offset, switching at each transition in range
    modifiers: list[Any] = []
    zone = zone_for(ctx.tz)
    if ctx.tz != "UTC":
        start, end = _range_bounds(ctx)
        pieces = utc_offsets(zone, start, end)
        *changes, (_, last) = pieces
        modifier: Any = literal(f"{last:+d} seconds")
        if changes:
            modifier = case(
                *[(Call.started_at < until, f"{offset:+d} seconds") for until, offset in changes],
                else_=f"{last:+d} seconds",
            )
        modifiers.append(modifier)
    if unit == "week":
        return func.date(Call.started_at, *modifiers, "-6 days", "weekday 1")
    fmt = "%Y-%m-%dT%H:00" if unit == "hour" else "%Y-%m-%d"
    return func.strftime(fmt, Call.started_at, *modifiers)


def _range_bounds(ctx: GroupContext) -> tuple[datetime, datetime]:
    """The report's range, closed with the first and last call where it is open."""
    since, until = ctx.since, ctx.until
    if since is None or until is None:
        first, last = ctx.db_session.execute(
            select(func.min(Call.started_at), func.max(Call.started_at))
        ).one()
        now = datetime.now(UTC)
        since = since or first or now
        until = until or last or now
    return since, max(since, until)


def compliance_report(
    *,
    db_session: Session,
    settings: Settings,
    by: str = "queue",
    since: datetime | None = None,
    until: datetime | None = None,
    queue: str | None = None,
    tz: str | None = None,
    short_abandon_s: float = DEFAULT_SHORT_ABANDON_S,
) -> ComplianceReport:
    """Compliance figures of inbound calls started in [since, until), one row per group."""
    if by not in GROUPINGS:
        raise ValueError(f"cannot group by {by!r}: choose one of {', '.join(GROUPINGS)}")
    if since is not None and until is not None and since >= until:
        raise ValueError(f"since ({since.isoformat()}) must be before until ({until.isoformat()})")
    if short_abandon_s < 0:
        raise ValueError("short_abandon_s must be 0 or more")
    tz_name = zone_for(tz).key
    ctx = GroupContext(
        db_session=db_session,
        dialect=db_session.get_bind().dialect.name,
        tz=tz_name,
        since=since,
        until=until,
    )
    target_s = func.coalesce(
        func.nullif(Queue.ring_cycle_s, 0), literal(settings.ring_cycle_s, Float)
    ) * func.coalesce(
        func.nullif(Queue.answer_target_rings, 0), literal(settings.answer_target_rings, Integer)
    )
    per_call = (
        select(
            Call.answered,
            Call.abandoned,
            Call.ring_to_answer_s,
            Call.wait_s,
            Call.talk_s,
            target_s.label("target_s"),
        )
        .select_from(Call)
        .outerjoin(Queue, Call.queue_id == Queue.id)
        .where(Call.direction == "inbound")
    )
    if since is not None:
        per_call = per_call.where(Call.started_at >= since)
    if until is not None:
        per_call = per_call.where(Call.started_at < until)
    if queue is not None:
        per_call = per_call.where(Queue.name == queue)
    per_call, label = GROUPINGS[by](per_call, ctx)
    c = per_call.add_columns(label.label("grp")).subquery("c")

    def count(condition: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    short = and_(c.c.abandoned, c.c.wait_s < short_abandon_s)
    stmt = (
        select(
            c.c.grp,
            func.count().label("offered"),
            count(c.c.answered).label("answered"),
            count(c.c.abandoned).label("abandoned"),
            count(short).label("short_abandoned"),
            count(and_(c.c.answered, c.c.ring_to_answer_s < c.c.target_s)).label("awt"),
            count(and_(c.c.abandoned, c.c.wait_s < c.c.target_s)).label("abwt"),
            func.avg(case((c.c.answered, c.c.ring_to_answer_s))).label("asa_s"),
            func.max(c.c.wait_s).label("max_wait_s"),
            func.coalesce(func.sum(c.c.talk_s), 0.0).label("talk_s"),
        )
        .group_by(c.c.grp)
        .order_by(c.c.grp.asc().nulls_last())
    )
    rows = [_row(r) for r in db_session.execute(stmt)]
    report_settings = ComplianceSettings(
        ring_cycle_s=settings.ring_cycle_s,
        answer_target_rings=settings.answer_target_rings,
        short_abandon_s=short_abandon_s,
        tz=tz_name,
        since=since,
        until=until,
        by=by,
        queue=queue,
    )
    return ComplianceReport(settings=report_settings, rows=rows)


def _row(r: Any) -> ComplianceRow:
    answered, abandoned, short = int(r.answered), int(r.abandoned), int(r.short_abandoned)
    offered, awt = int(r.offered), int(r.awt)
    return ComplianceRow(
        group=None if r.grp is None else str(r.grp),
        offered=offered,
        answered=answered,
        abandoned=abandoned,
        short_abandoned=short,
        answered_within_target=awt,
        abandoned_within_target=int(r.abwt),
        sl_answered=_fraction(awt, answered),
        sl_inclusive=_fraction(awt, answered + abandoned - short),
        asa_s=_seconds(r.asa_s),
        max_wait_s=_seconds(r.max_wait_s),
        abandon_rate=_fraction(abandoned - short, offered - short),
        talk_s=_seconds(r.talk_s) or 0.0,
    )


def _fraction(part: int, whole: int) -> float | None:
    return part / whole if whole > 0 else None


def _seconds(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)


def report_dict(report: ComplianceReport) -> dict[str, Any]:
    """A report as JSON-ready data: settings (times in ISO 8601 UTC), definitions, rows."""
    settings = asdict(report.settings)
    for key in ("since", "until"):
        when = settings[key]
        settings[key] = when.astimezone(UTC).isoformat().replace("+00:00", "Z") if when else None
    return {
        "settings": settings,
        "definitions": dict(DEFINITIONS),
        "rows": [asdict(row) for row in report.rows],
    }
