"""Calls: the list, the CSV export, one call with its transcript, and its recording."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response
from fastapi.responses import StreamingResponse

from api import calls, recordings, service
from api.deps import ClientDep, CurrentUser, SessionDep, StateDep
from api.routers import errors
from api.schemas import CallDetail, CallFilters, CallListQuery, CallPage, Leg
from core.db import session_scope
from telephony.service import CSV_COLUMNS, csv_row

router = APIRouter(prefix="/calls", tags=["calls"])

CallId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=r"^[!-~]+$",
        description="The call's Asterisk Linkedid.",
        examples=["1795331836.1288"],
    ),
]
EXPORT_COLUMNS = [*CSV_COLUMNS, "transcript_status", "themes", "flags", "review_status"]
_AUDIO = {"schema": {"type": "string", "format": "binary"}}


@router.get(
    "",
    response_model=CallPage,
    responses=errors(401, 422),
    summary="List the calls you may see",
)
def list_calls(
    query: Annotated[CallListQuery, Query()], user: CurrentUser, db_session: SessionDep
) -> CallPage:
    """Calls filtered by time, queue, agent, outcome and transcript text, one page at a time.

    Agents see the calls they answered or that rang them, supervisors the calls of their
    queues, managers and admins every call. `total` is exact up to 10,000 calls (`total_exact`
    false beyond); pages go 10,000 calls deep: narrow with `since`/`until` to go further.
    Searching the transcript (`q`) for digits needs the `view_unredacted` permission.
    """
    result = calls.list_calls_page(db_session=db_session, user=user, query=query)
    return CallPage.model_validate(
        {
            "items": [calls.call_item(c, result.extras[c.id]) for c in result.calls],
            "total": result.total,
            "total_exact": result.total_exact,
            "page": result.page,
            "page_size": result.page_size,
        }
    )


def _csv_cell(value: Any) -> Any:
    # a caller name is chosen by the caller: never let a spreadsheet run it as a formula
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@router.get(
    "/export.csv",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV"},
        **errors(401, 422),
    },
    summary="Export the calls you may see as CSV",
)
def export_calls(
    filters: Annotated[CallFilters, Query()],
    user: CurrentUser,
    db_session: SessionDep,
    state: StateDep,
    client: ClientDep,
) -> StreamingResponse:
    """Every matching call you may see, oldest first, as CSV (same filters as the list).
    Each export is written to the audit trail."""
    calls.call_conditions(filters, user)  # refuse a bad filter before the audit entry and 200
    service.audit(
        db_session=db_session,
        user=user,
        action="calls.export",
        object_type="calls",
        detail={"filters": filters.model_dump(mode="json", exclude_none=True)},
        client=client,
    )
    user_id = user.id

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        # the request's session is closed once the answer starts: stream from a new one
        with session_scope(state.session_factory) as session:
            owner = service.get_user(db_session=session, user_id=user_id)
            for call, extras in calls.iter_calls(db_session=session, user=owner, filters=filters):
                row = csv_row(calls.call_item(call, extras))
                row.update(
                    transcript_status=extras.transcript_status,
                    themes="; ".join(extras.themes),
                    flags="; ".join(extras.flags),
                    review_status=extras.review_status,
                )
                writer.writerow({k: _csv_cell(v) for k, v in row.items()})
                if buffer.tell() > 64 * 1024:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
        yield buffer.getvalue()

    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="calls.csv"',
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/{call_id}",
    response_model=CallDetail,
    responses=errors(401, 404),
    summary="One call with its attempts timeline and transcript",
)
def get_call(call_id: CallId, user: CurrentUser, db_session: SessionDep) -> CallDetail:
    """The call, its attempts in order, and its transcript with speakers and word times.
    Phone, ID, card and plate numbers in the transcript are masked unless your role has
    `view_unredacted`. A call you may not see answers 404, like one that does not exist."""
    call = calls.get_call(db_session=db_session, user=user, call_id=call_id)
    return CallDetail.model_validate(calls.call_detail(db_session=db_session, user=user, call=call))


@router.get(
    "/{call_id}/recording",
    response_class=Response,
    responses={
        200: {"content": {"audio/wav": _AUDIO}, "description": "The whole recording"},
        206: {"content": {"audio/wav": _AUDIO}, "description": "The requested byte range"},
        **errors(401, 404, 416),
    },
    summary="Play the call's recording (supports Range)",
)
def get_recording(
    call_id: CallId,
    user: CurrentUser,
    db_session: SessionDep,
    state: StateDep,
    client: ClientDep,
    leg: Annotated[
        Leg, Query(description="mixed (both sides), customer or agent (MixMonitor legs).")
    ] = "mixed",
    range_header: Annotated[
        str | None,
        Header(alias="Range", description="One byte range: bytes=a-b, bytes=a- or bytes=-n."),
    ] = None,
) -> Response:
    """The recording file of the call, found from the call itself and the server's path map.
    Answers 206 with Content-Range for a Range request, 416 for a range it cannot serve.
    Each play (no Range, or a Range from byte 0) is written to the audit trail."""
    call = calls.get_call(db_session=db_session, user=user, call_id=call_id)
    path = recordings.recording_path(call, leg, state.settings)
    size = path.stat().st_size
    byte_range = recordings.parse_range(range_header, size)
    if byte_range is None or byte_range.start == 0:
        service.audit(
            db_session=db_session,
            user=user,
            action="recording.play",
            object_type="call",
            object_id=call.call_id,
            detail={"leg": leg, "range": range_header},
            client=client,
        )
    headers = {
        "Accept-Ranges": "bytes",
        "Cache-Control": "no-store",
        "Content-Disposition": f'inline; filename="{call.call_id}-{leg}{path.suffix}"',
    }
    start, length, status_code = 0, size, 200
    if byte_range is not None:
        start, length, status_code = byte_range.start, byte_range.length, 206
        headers["Content-Range"] = byte_range.content_range
    headers["Content-Length"] = str(length)
    handle = path.open("rb")
    return StreamingResponse(
        recordings.stream(handle, start, length),
        status_code=status_code,
        media_type=recordings.media_type(path),
        headers=headers,
    )
