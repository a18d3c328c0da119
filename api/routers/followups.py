"""Follow-ups: customers to call back. Agents see their own calls' follow-ups, supervisors
their queues', managers all; closing one with a note is audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from analytics import followups
from api import exports, qa, service
from api.analytics_schemas import FollowUpCloseIn, FollowUpListQuery, FollowUpOut, FollowUpPage
from api.deps import ClientDep, CurrentUser, SessionDep
from api.routers import errors
from api.schemas import PAGE_SIZE_CAP

router = APIRouter(prefix="/followups", tags=["follow-ups"])

FollowUpId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The follow-up's id.")]


@router.get(
    "",
    response_model=FollowUpPage,
    responses={**exports.CSV_RESPONSE, **errors(401, 422)},
    summary="List follow-ups",
)
def list_followups(
    query: Annotated[FollowUpListQuery, Query()],
    user: CurrentUser,
    db_session: SessionDep,
    client: ClientDep,
) -> FollowUpPage | Response:
    """Follow-ups soonest due first: an agent's own (calls they answered, or unanswered calls
    that rang them), a supervisor's queues', every one for managers. Filter open (includes
    overdue), overdue or done. `format=csv` downloads every matching one (audited)."""
    if query.format == "csv":
        items, _ = qa.list_followups(db_session=db_session, user=user, filters=query, paged=False)
        return exports.csv_download(
            db_session=db_session,
            user=user,
            client=client,
            text=exports.csv_text((qa.followup_csv_row(i) for i in items), qa.FOLLOWUP_COLUMNS),
            filename="followups.csv",
            action="followups.export",
            detail={
                "filters": query.model_dump(mode="json", exclude_none=True),
                "rows": len(items),
            },
        )
    items, total = qa.list_followups(db_session=db_session, user=user, filters=query)
    return FollowUpPage.model_validate(
        {
            "items": items,
            "total": total,
            "page": query.page,
            "page_size": min(query.page_size, PAGE_SIZE_CAP),
        }
    )


@router.get(
    "/{followup_id}",
    response_model=FollowUpOut,
    responses=errors(401, 404, 422),
    summary="One follow-up",
)
def get_followup(followup_id: FollowUpId, user: CurrentUser, db_session: SessionDep) -> FollowUpOut:
    """A follow-up you may see; any other answers 404."""
    followup, call = qa.get_followup(db_session=db_session, user=user, followup_id=followup_id)
    return FollowUpOut.model_validate(
        qa.one_followup(db_session=db_session, followup=followup, call=call)
    )


@router.post(
    "/{followup_id}/close",
    response_model=FollowUpOut,
    responses=errors(400, 401, 403, 404, 409, 422),
    summary="Close a follow-up with a note",
)
def close_followup(
    followup_id: FollowUpId,
    body: FollowUpCloseIn,
    user: CurrentUser,
    db_session: SessionDep,
    client: ClientDep,
) -> FollowUpOut:
    """Say what was done for the customer; 409 when it is closed already (by a person or by an
    outbound call the connector saw)."""
    followup, call = qa.get_followup(db_session=db_session, user=user, followup_id=followup_id)
    with qa.analytics_errors():
        followups.close_followup(
            db_session=db_session, call_pk=call.id, by=user.username, note=body.note
        )
    service.audit(
        db_session=db_session,
        user=user,
        action="followup.close",
        object_type="followup",
        object_id=str(followup.id),
        detail={"call_id": call.call_id, "note": body.note, "on_time": followup.on_time},
        client=client,
    )
    return FollowUpOut.model_validate(
        qa.one_followup(db_session=db_session, followup=followup, call=call)
    )
