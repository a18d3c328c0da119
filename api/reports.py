"""Reports as the API serves them, cut to what the user may see.

Managers and admins get exactly what `callscope report compliance` prints
(`analytics.reports.compliance_overview`). A supervisor gets the same figures for their queues:
one queue's report is that queue's report; over several queues, each queue is computed by the
same service and the rows of a group added up (counts summed, fractions recomputed from the
sums, ASA weighted by answered calls, longest wait the longest). Agents get 403: these are
group figures (their own calls' themes are in the theme report, filtered like the call list).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from analytics import compliance, reports
from analytics.followups import FollowUpRate, followup_on_time_rate
from api.access import call_filter, can, report_queues
from api.errors import Forbidden, InvalidRequest, NotFound
from api.models import User
from core.settings import Settings

COMPLIANCE_COLUMNS = [
    *compliance.ROW_FIELDS,
    "followups_opened",
    "followups_on_time",
    "followup_on_time_rate",
]


def require_reports(user: User) -> None:
    """403 for users without `view_reports` (agents)."""
    if not can(user, "view_reports"):
        raise Forbidden(
            f"group reports are for supervisors and managers; your role ({user.role}) sees its "
            "own calls in the call list and the theme report"
        )


def scope(user: User, queue: str | None) -> list[str] | None:
    """The queues a report covers: None = all (managers, no queue asked), else a list."""
    allowed = report_queues(user)
    if queue is not None:
        if allowed is not None and queue not in allowed:
            raise NotFound(f"no queue {queue!r} among the queues you supervise")
        return [queue]
    return allowed


def local_time(value: datetime | None, tz: str) -> datetime | None:
    """A report time: one without a zone is in the report's time zone, as the CLI reads it."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=compliance.zone_for(tz))
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise InvalidRequest("the time is out of range in UTC") from exc


def zone_name(tz: str | None, settings: Settings) -> str:
    """The report's IANA zone: asked, else CALLSCOPE_TIMEZONE."""
    try:
        return compliance.zone_for(tz or settings.timezone).key
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from exc


def _merge_rows(rows: Sequence[compliance.ComplianceRow]) -> compliance.ComplianceRow:
    if len(rows) == 1:
        return rows[0]
    answered = sum(r.answered for r in rows)
    abandoned = sum(r.abandoned for r in rows)
    short = sum(r.short_abandoned for r in rows)
    offered = sum(r.offered for r in rows)
    awt = sum(r.answered_within_target for r in rows)
    asa_parts = [(r.asa_s, r.answered) for r in rows if r.asa_s is not None and r.answered]
    asa_weight = sum(n for _, n in asa_parts)
    waits = [r.max_wait_s for r in rows if r.max_wait_s is not None]
    return compliance.ComplianceRow(
        group=rows[0].group,
        offered=offered,
        answered=answered,
        abandoned=abandoned,
        short_abandoned=short,
        answered_within_target=awt,
        abandoned_within_target=sum(r.abandoned_within_target for r in rows),
        sl_answered=awt / answered if answered else None,
        sl_inclusive=awt / (answered + abandoned - short) if answered + abandoned - short else None,
        asa_s=round(sum(a * n for a, n in asa_parts) / asa_weight, 3) if asa_weight else None,
        max_wait_s=max(waits) if waits else None,
        abandon_rate=(abandoned - short) / (offered - short) if offered - short > 0 else None,
        talk_s=round(sum(r.talk_s for r in rows), 3),
    )


def _merge_rates(rates: Sequence[FollowUpRate]) -> FollowUpRate:
    if len(rates) == 1:
        return rates[0]
    closed = sum(r.closed for r in rates)
    on_time = sum(r.closed_on_time for r in rates)
    overdue = sum(r.overdue for r in rates)
    return FollowUpRate(
        group=rates[0].group,
        opened=sum(r.opened for r in rates),
        closed=closed,
        closed_on_time=on_time,
        overdue=overdue,
        open_not_due=sum(r.open_not_due for r in rates),
        on_time_rate=on_time / (closed + overdue) if closed + overdue else None,
    )


def _grouped(items: Sequence[Any]) -> list[list[Any]]:
    groups: dict[str | None, list[Any]] = {}
    for item in items:
        groups.setdefault(item.group, []).append(item)
    # the services' order: by group, null last
    keys = sorted(groups, key=lambda g: (g is None, g or ""))
    return [groups[k] for k in keys]


def compliance_data(
    *,
    db_session: Session,
    user: User,
    settings: Settings,
    by: str,
    since: datetime | None,
    until: datetime | None,
    queue: str | None,
    tz: str,
    short_abandon_s: float,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The compliance report the user may see, shaped like `compliance_overview`."""
    require_reports(user)
    queues = scope(user, queue)
    targets: list[str | None] = [None] if queues is None else list(queues)
    try:
        parts = [
            compliance.compliance_report(
                db_session=db_session,
                settings=settings,
                by=by,
                since=since,
                until=until,
                queue=q,
                tz=tz,
                short_abandon_s=short_abandon_s,
            )
            for q in targets
        ]
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from exc
    if len(parts) == 1:
        data = reports.compliance_overview(db_session=db_session, report=parts[0], now=now)
    else:
        data = _merged_overview(db_session, user, parts, targets, by, since, until, tz, now)
    data["settings"]["queues"] = queues
    return data


def _merged_overview(
    db_session: Session,
    user: User,
    parts: Sequence[compliance.ComplianceReport],
    targets: Sequence[str | None],
    by: str,
    since: datetime | None,
    until: datetime | None,
    tz: str,
    now: datetime | None,
) -> dict[str, Any]:
    rows = [_merge_rows(g) for g in _grouped([r for p in parts for r in p.rows])]
    merged = compliance.ComplianceReport(settings=parts[0].settings, rows=rows)
    data = compliance.report_dict(merged)
    data["settings"]["queue"] = None
    rates = {
        g[0].group: _merge_rates(g)
        for g in _grouped(
            [
                rate
                for q in targets
                for rate in followup_on_time_rate(
                    db_session=db_session,
                    by=by,
                    since=since,
                    until=until,
                    queue=q,
                    tz=tz,
                    now=now,
                )
            ]
        )
    }
    # as compliance_overview adds them
    for row in data["rows"]:
        rate = rates.get(row["group"])
        row["followups_opened"] = rate.opened if rate else 0
        row["followups_on_time"] = rate.closed_on_time if rate else 0
        row["followup_on_time_rate"] = rate.on_time_rate if rate else None
    data["definitions"]["followup_on_time_rate"] = (
        "follow-ups of the group's calls closed by their due time / (closed + overdue); "
        "open ones not yet due count for neither"
    )
    if since is not None and until is not None:
        themes = reports.theme_report(
            db_session=db_session, since=since, until=until, visible=call_filter(user)
        )
        data["top_themes"] = reports.theme_report_dict(themes)["themes"][:5]
    return data


def theme_data(
    *,
    db_session: Session,
    user: User,
    since: datetime,
    until: datetime,
    queue: str | None,
    top_phrases: int,
) -> dict[str, Any]:
    """The theme report over the calls the user may see (call_filter): every role."""
    try:
        report = reports.theme_report(
            db_session=db_session,
            since=since,
            until=until,
            queue=queue,
            visible=call_filter(user),
            top_phrases=top_phrases,
        )
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from exc
    return reports.theme_report_dict(report)


def followup_data(
    *,
    db_session: Session,
    user: User,
    by: str | None,
    since: datetime | None,
    until: datetime | None,
    queue: str | None,
    tz: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Follow-up on-time rates the user may see (supervisors: their queues, summed)."""
    require_reports(user)
    queues = scope(user, queue)
    targets: list[str | None] = [None] if queues is None else list(queues)
    try:
        parts = [
            rate
            for q in targets
            for rate in followup_on_time_rate(
                db_session=db_session, by=by, since=since, until=until, queue=q, tz=tz, now=now
            )
        ]
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from exc
    rows = [_merge_rates(g) for g in _grouped(parts)] if len(targets) > 1 else parts
    return {
        "since": _iso(since),
        "until": _iso(until),
        "by": by,
        "tz": tz,
        "queues": queues,
        "rows": [asdict(r) for r in rows],
    }


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.astimezone(UTC).isoformat().replace("+00:00", "Z")
