"""Personal bearer tokens: create (shown once), list, revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from api import auth, service
from api.access import can
from api.deps import ClientDep, CurrentUser, SessionDep
from api.errors import Forbidden
from api.models import ApiToken
from api.routers import errors
from api.schemas import TokenCreate, TokenCreated, TokenOut

router = APIRouter(prefix="/tokens", tags=["tokens"])


def _out(row: ApiToken) -> TokenOut:
    return TokenOut(
        id=row.id,
        name=row.name,
        user_id=row.user_id,
        username=row.user.username,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


@router.post(
    "",
    response_model=TokenCreated,
    status_code=status.HTTP_201_CREATED,
    responses=errors(400, 401, 403),
    summary="Create a personal token (the token is shown only in this answer)",
)
def create_token(
    body: TokenCreate, user: CurrentUser, db_session: SessionDep, client: ClientDep
) -> TokenCreated:
    """A bearer token acting as you, for scripts and wallboards: `Authorization: Bearer ...`."""
    token, row = auth.create_token(db_session=db_session, user=user, name=body.name)
    service.audit(
        db_session=db_session,
        user=user,
        action="token.create",
        object_type="token",
        object_id=str(row.id),
        detail={"name": row.name},
        client=client,
    )
    return TokenCreated(**_out(row).model_dump(), token=token)


@router.get("", response_model=list[TokenOut], responses=errors(401, 403), summary="List tokens")
def list_tokens(
    user: CurrentUser,
    db_session: SessionDep,
    all_users: Annotated[
        bool, Query(alias="all", description="Every user's tokens (admins only).")
    ] = False,
) -> list[TokenOut]:
    """Your tokens, newest first (admins: everybody's with `all=true`)."""
    if all_users and not can(user, "manage_users"):
        raise Forbidden("only admins can list everybody's tokens")
    rows = service.list_tokens(db_session=db_session, user=None if all_users else user)
    return [_out(row) for row in rows]


@router.delete(
    "/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(401, 403, 404),
    summary="Revoke a token",
)
def revoke_token(
    token_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    user: CurrentUser,
    db_session: SessionDep,
    client: ClientDep,
) -> Response:
    """Revoke one of your tokens (admins: anyone's). It stops working at once."""
    row = service.revoke_token(
        db_session=db_session,
        token_id=token_id,
        user=user,
        any_user=can(user, "manage_users"),
    )
    service.audit(
        db_session=db_session,
        user=user,
        action="token.revoke",
        object_type="token",
        object_id=str(row.id),
        detail={"name": row.name, "owner": row.user.username},
        client=client,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
