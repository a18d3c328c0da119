"""Reports: answer-target compliance, complaint themes against the previous period, follow-up
on-time rates. Managers see every queue, supervisors their own queues; agents get 403 for the
group reports and see their own calls in the theme report."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api import exports
from api import reports as report_data
from api.analytics_schemas import (
    ComplianceQuery,
    ComplianceReportOut,
    FollowUpReportOut,
    FollowUpReportQuery,
    ThemeReportOut,
    ThemeReportQuery,
)
from api.deps import ClientDep, CurrentUser, SessionDep, StateDep
from api.errors import InvalidRequest
from api.routers import errors

router = APIRouter(prefix="/reports", tags=["reports"])


@router.get(
    "/compliance",
    response_model=ComplianceReportOut,
    responses={**exports.CSV_RESPONSE, **errors(401, 403, 404, 422)},
    summary="Answer-target compliance by queue, agent, hour, day or week",
)
def compliance_report(
    query: Annotated[ComplianceQuery, Query()],
    user: CurrentUser,
    db_session: SessionDep,
    state: StateDep,
    client: ClientDep,
) -> ComplianceReportOut | Response:
    """Offered, answered, abandoned (short abandons apart), answered within the target ring,
    both service levels (`sl_answered`: answered calls only, like Asterisk's SL;
    `sl_inclusive`: abandons count as misses), ASA, longest wait, abandon rate, talk time and
    follow-up on-time rate per group: the figures `callscope report compliance` prints, with
    the settings used and what each figure means. Supervisors: their queues only (a queue
    outside them answers 404). Agents: 403. `format=csv` downloads the rows (audited)."""
    settings = state.settings
    tz = report_data.zone_name(query.tz, settings)
    since = report_data.local_time(query.since, tz)
    until = report_data.local_time(query.until, tz)
    data = report_data.compliance_data(
        db_session=db_session,
        user=user,
        settings=settings,
        by=query.by,
        since=since,
        until=until,
        queue=query.queue,
        tz=tz,
        short_abandon_s=(
            query.short_abandon_s if query.short_abandon_s is not None else settings.short_abandon_s
        ),
    )
    if query.format == "csv":
        comments = {**data["settings"], "queues": ", ".join(data["settings"]["queues"] or [])}
        return exports.csv_download(
            db_session=db_session,
            user=user,
            client=client,
            text=exports.csv_text(data["rows"], report_data.COMPLIANCE_COLUMNS, comments=comments),
            filename=f"compliance-by-{query.by}.csv",
            action="reports.compliance.export",
            detail={"query": query.model_dump(mode="json", exclude_none=True)},
        )
    return ComplianceReportOut.model_validate(data)


@router.get(
    "/themes",
    response_model=ThemeReportOut,
    responses=errors(401, 422),
    summary="Complaint themes against the previous period",
)
def themes_report(
    query: Annotated[ThemeReportQuery, Query()],
    user: CurrentUser,
    db_session: SessionDep,
    state: StateDep,
) -> ThemeReportOut:
    """Calls per theme in [since, until) against the equally long period just before, the
    change, and the phrases that rose most. Counts only the calls you may see (agents: their
    own; supervisors: their queues), as `callscope report themes` does for everything."""
    tz = report_data.zone_name(query.tz, state.settings)
    since = report_data.local_time(query.since, tz)
    until = report_data.local_time(query.until, tz)
    if since is None or until is None:  # required by the schema
        raise InvalidRequest("since and until are required")
    return ThemeReportOut.model_validate(
        report_data.theme_data(
            db_session=db_session,
            user=user,
            since=since,
            until=until,
            queue=query.queue,
            top_phrases=query.top_phrases,
        )
    )


@router.get(
    "/followups",
    response_model=FollowUpReportOut,
    responses=errors(401, 403, 404, 422),
    summary="Follow-up on-time rate",
)
def followups_report(
    query: Annotated[FollowUpReportQuery, Query()],
    user: CurrentUser,
    db_session: SessionDep,
    state: StateDep,
) -> FollowUpReportOut:
    """Follow-ups of calls started in the range closed by their due time / (closed + overdue),
    in one row or per group. Supervisors: their queues; agents: 403."""
    tz = report_data.zone_name(query.tz, state.settings)
    return FollowUpReportOut.model_validate(
        report_data.followup_data(
            db_session=db_session,
            user=user,
            by=query.by,
            since=report_data.local_time(query.since, tz),
            until=report_data.local_time(query.until, tz),
            queue=query.queue,
            tz=tz,
        )
    )
