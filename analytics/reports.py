"""Reports built on the figures: complaint themes against the period before, and the compliance
report with its follow-up and theme columns.

A theme period [since, until) is compared with the one of equal length just before it. Per theme:
calls with the theme (each call once), matches, the change in calls and its rate; per theme
the phrases that rose most. Counted with GROUP BY in the database, like the compliance report.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from analytics.compliance import ComplianceReport, report_dict
from analytics.followups import followup_on_time_rate
from analytics.models import CallTheme, ThemeMatchRow
from telephony.models import Call, Queue
from transcription.models import Transcript


@dataclass(frozen=True, slots=True)
class PhraseChange:
    """A phrase of a theme: matches in the period and in the previous one."""

    phrase: str
    matches: int
    previous_matches: int
    change: int


@dataclass(frozen=True, slots=True)
class ThemeTrend:
    """One theme's calls in the period and the previous one."""

    theme: str
    calls: int
    matches: int
    previous_calls: int
    change: int  # calls - previous_calls
    change_rate: float | None  # change / previous_calls; None when there were none before
    rising_phrases: list[PhraseChange]


@dataclass(frozen=True, slots=True)
class ThemeReport:
    """Themes of [since, until) against [previous_since, since), most calls first."""

    since: datetime
    until: datetime
    previous_since: datetime
    queue: str | None
    calls_transcribed: int  # calls of the period with a done transcript
    themes: list[ThemeTrend]


def theme_report(
    *,
    db_session: Session,
    since: datetime,
    until: datetime,
    queue: str | None = None,
    visible: ColumnElement[bool] | None = None,
    top_phrases: int = 5,
) -> ThemeReport:
    """Complaint themes of calls started in [since, until) against the period before.

    `visible` is an extra condition on `Call` (the API's access filter).
    """
    if since >= until:
        raise ValueError(f"since ({since.isoformat()}) must be before until ({until.isoformat()})")
    if top_phrases < 0:
        raise ValueError("top_phrases must be 0 or more")
    previous_since = since - (until - since)

    def calls_in(start: datetime, end: datetime) -> list[ColumnElement[bool]]:
        conditions = [Call.started_at >= start, Call.started_at < end]
        if queue is not None:
            conditions.append(Call.queue_id.in_(select(Queue.id).where(Queue.name == queue)))
        if visible is not None:
            conditions.append(visible)
        return conditions

    def per_theme(start: datetime, end: datetime) -> dict[str, tuple[int, int]]:
        stmt = (
            select(CallTheme.theme, func.count(CallTheme.call_pk), func.sum(CallTheme.count))
            .join(Call, Call.id == CallTheme.call_pk)
            .where(and_(*calls_in(start, end)))
            .group_by(CallTheme.theme)
        )
        return {theme: (int(n), int(m or 0)) for theme, n, m in db_session.execute(stmt)}

    def per_phrase(start: datetime, end: datetime) -> dict[tuple[str, str], int]:
        phrase = func.coalesce(ThemeMatchRow.phrase, ThemeMatchRow.text)
        stmt = (
            select(ThemeMatchRow.theme, phrase, func.count())
            .join(Call, Call.id == ThemeMatchRow.call_pk)
            .where(and_(*calls_in(start, end)))
            .group_by(ThemeMatchRow.theme, phrase)
        )
        return {(theme, text): int(n) for theme, text, n in db_session.execute(stmt)}

    now, before = per_theme(since, until), per_theme(previous_since, since)
    phrases_now, phrases_before = per_phrase(since, until), per_phrase(previous_since, since)
    transcribed = db_session.scalar(
        select(func.count(func.distinct(Transcript.call_pk)))
        .join(Call, Call.id == Transcript.call_pk)
        .where(Transcript.status == "done", *calls_in(since, until))
    )
    trends = []
    for theme in sorted(set(now) | set(before)):
        calls, matches = now.get(theme, (0, 0))
        previous_calls = before.get(theme, (0, 0))[0]
        change = calls - previous_calls
        phrases = [
            PhraseChange(
                text, n, phrases_before.get((t, text), 0), n - phrases_before.get((t, text), 0)
            )
            for (t, text), n in phrases_now.items()
            if t == theme
        ]
        rising = sorted(
            (p for p in phrases if p.change > 0), key=lambda p: (-p.change, -p.matches, p.phrase)
        )[:top_phrases]
        trends.append(
            ThemeTrend(
                theme=theme,
                calls=calls,
                matches=matches,
                previous_calls=previous_calls,
                change=change,
                change_rate=change / previous_calls if previous_calls else None,
                rising_phrases=rising,
            )
        )
    trends.sort(key=lambda t: (-t.calls, -t.change, t.theme))
    return ThemeReport(
        since=since,
        until=until,
        previous_since=previous_since,
        queue=queue,
        calls_transcribed=int(transcribed or 0),
        themes=trends,
    )


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def theme_report_dict(report: ThemeReport) -> dict[str, Any]:
    """A theme report as JSON-ready data (times in ISO 8601 UTC)."""
    data = asdict(report)
    for key in ("since", "until", "previous_since"):
        data[key] = _iso(data[key])
    return data


def compliance_overview(
    *,
    db_session: Session,
    report: ComplianceReport,
    now: datetime | None = None,
    top_themes: int = 5,
) -> dict[str, Any]:
    """A compliance report as JSON-ready data with, per row, the follow-up on-time figures of the
    same group, and the period's top complaint themes against the period before.

    Themes need a bounded period: without `since` and `until` the report has no `top_themes`.
    """
    data = report_dict(report)
    s = report.settings
    rates = {
        rate.group: rate
        for rate in followup_on_time_rate(
            db_session=db_session,
            by=s.by,
            since=s.since,
            until=s.until,
            queue=s.queue,
            tz=s.tz,
            now=now,
        )
    }
    for row in data["rows"]:
        rate = rates.get(row["group"])
        row["followups_opened"] = rate.opened if rate else 0
        row["followups_on_time"] = rate.closed_on_time if rate else 0
        row["followup_on_time_rate"] = rate.on_time_rate if rate else None
    data["definitions"]["followup_on_time_rate"] = (
        "follow-ups of the group's calls closed by their due time / (closed + overdue); "
        "open ones not yet due count for neither"
    )
    if s.since is not None and s.until is not None:
        themes = theme_report(db_session=db_session, since=s.since, until=s.until, queue=s.queue)
        data["top_themes"] = theme_report_dict(themes)["themes"][:top_themes]
        data["definitions"]["top_themes"] = (
            "complaint themes by calls in [since, until); change = calls - calls of the "
            "equally long period just before"
        )
    return data
