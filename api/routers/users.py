"""User administration (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status
from sqlalchemy import func, select

from api import service
from api.deps import AdminUser, ClientDep, SessionDep
from api.errors import Conflict
from api.models import User
from api.routers import errors
from api.schemas import UserCreate, UserOut, UserUpdate

router = APIRouter(prefix="/users", tags=["users"])

UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("", response_model=list[UserOut], responses=errors(401, 403), summary="List users")
def list_users(admin: AdminUser, db_session: SessionDep) -> list[UserOut]:
    """Every user, by username."""
    return [UserOut.model_validate(u) for u in service.list_users(db_session=db_session)]


@router.post(
    "",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(400, 401, 403, 409, 422),
    summary="Create a user",
)
def create_user(
    body: UserCreate, admin: AdminUser, db_session: SessionDep, client: ClientDep
) -> UserOut:
    """A new user. An agent sees the calls of the PBX agent `agent_name`; a supervisor the
    calls of `queues`; managers and admins every call."""
    user = service.create_user(
        db_session=db_session,
        username=body.username,
        password=body.password,
        role=body.role,
        agent_name=body.agent_name,
        queues=body.queues,
        active=body.active,
    )
    service.audit(
        db_session=db_session,
        user=admin,
        action="user.create",
        object_type="user",
        object_id=str(user.id),
        detail={
            "username": user.username,
            "role": user.role,
            "agent_name": user.agent_name,
            "queues": list(user.queues),
        },
        client=client,
    )
    return UserOut.model_validate(user)


@router.patch(
    "/{user_id}",
    response_model=UserOut,
    responses=errors(400, 401, 403, 404, 409, 422),
    summary="Change a user",
)
def update_user(
    user_id: UserId,
    body: UserUpdate,
    admin: AdminUser,
    db_session: SessionDep,
    client: ClientDep,
) -> UserOut:
    """Change role, agent link, queues, active flag or password. A new password or a
    deactivation ends the user's browser sessions. The last active admin stays an admin."""
    user = service.get_user(db_session=db_session, user_id=user_id)
    changes = body.model_dump(exclude_unset=True)
    was_admin = user.role == "admin" and user.active
    changed = service.update_user(db_session=db_session, user=user, changes=changes)
    if was_admin and (user.role != "admin" or not user.active):
        admins = db_session.scalar(
            select(func.count(User.id)).where(User.role == "admin", User.active.is_(True))
        )
        if not admins:
            raise Conflict("this is the last active admin; make another admin first")
    if changed:
        service.audit(
            db_session=db_session,
            user=admin,
            action="user.update",
            object_type="user",
            object_id=str(user.id),
            detail={
                "username": user.username,
                "changed": changed,
                "role": user.role,
                "active": user.active,
            },
            client=client,
        )
    return UserOut.model_validate(user)
