"""The audit trail (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api import service
from api.deps import AuditViewer, SessionDep
from api.routers import errors
from api.schemas import PAGE_SIZE_CAP, AuditOut, AuditPage, AuditQuery

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get(
    "", response_model=AuditPage, responses=errors(401, 403), summary="Read the audit trail"
)
def list_audit(
    query: Annotated[AuditQuery, Query()], viewer: AuditViewer, db_session: SessionDep
) -> AuditPage:
    """Recording plays, exports, user and token changes: newest first."""
    page_size = min(query.page_size, PAGE_SIZE_CAP)
    rows, total = service.list_audit(
        db_session=db_session,
        action=query.action,
        username=query.username,
        since=query.since,
        until=query.until,
        offset=(query.page - 1) * page_size,
        limit=page_size,
    )
    return AuditPage(
        items=[AuditOut.model_validate(r) for r in rows],
        total=total,
        page=query.page,
        page_size=page_size,
    )
