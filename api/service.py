"""Users, personal tokens and the audit trail in the database (services flush, callers commit)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from api import auth
from api.errors import Conflict, InvalidRequest, NotFound
from api.models import ROLES, ApiToken, AuditEntry, User
from core.db import utcnow


@dataclass(frozen=True, slots=True)
class Client:
    """Where a request came from, for the audit trail."""

    ip: str | None = None
    user_agent: str | None = None


# --- audit ---------------------------------------------------------------------------------


def audit(
    *,
    db_session: Session,
    user: User | None,
    action: str,
    object_type: str | None = None,
    object_id: str | None = None,
    detail: dict[str, Any] | None = None,
    client: Client | None = None,
    actor: str | None = None,
) -> AuditEntry:
    """Append one audit entry (`actor` names a non-user, e.g. the command line)."""
    client = client or Client()
    entry = AuditEntry(
        at=utcnow(),
        user_id=user.id if user is not None else None,
        username=user.username if user is not None else (actor or "system"),
        action=action,
        object_type=object_type,
        object_id=object_id,
        detail=detail or {},
        ip=client.ip,
        user_agent=(client.user_agent or None) and client.user_agent[:500],
    )
    db_session.add(entry)
    db_session.flush()
    return entry


def list_audit(
    *,
    db_session: Session,
    action: str | None = None,
    username: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[AuditEntry], int]:
    """A page of audit entries, newest first, and how many match."""
    conditions: list[ColumnElement[bool]] = []
    if action is not None:
        conditions.append(AuditEntry.action == action)
    if username is not None:
        conditions.append(AuditEntry.username == username)
    if since is not None:
        conditions.append(AuditEntry.at >= since)
    if until is not None:
        conditions.append(AuditEntry.at < until)
    total = db_session.scalar(select(func.count(AuditEntry.id)).where(*conditions)) or 0
    rows = db_session.scalars(
        select(AuditEntry)
        .where(*conditions)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows), total


# --- users ---------------------------------------------------------------------------------


def _check_scope(role: str, agent_name: str | None, queues: list[str]) -> None:
    if role not in ROLES:
        raise InvalidRequest(f"role must be one of {', '.join(ROLES)}")
    if role == "agent" and not agent_name:
        raise InvalidRequest("an agent user needs agent_name (the agent's name on the PBX)")
    if role == "supervisor" and not queues:
        raise InvalidRequest("a supervisor needs at least one queue")


def _clean_queues(queues: list[str]) -> list[str]:
    cleaned = sorted({q.strip() for q in queues if q.strip()})
    if any(len(q) > 200 for q in cleaned):
        raise InvalidRequest("queue names are at most 200 characters")
    return cleaned


def get_user(*, db_session: Session, user_id: int) -> User:
    """A user by id; NotFound if there is none."""
    user = db_session.get(User, user_id)
    if user is None:
        raise NotFound("user not found")
    return user


def get_user_by_name(*, db_session: Session, username: str) -> User:
    """A user by username; NotFound if there is none."""
    user = db_session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user


def list_users(*, db_session: Session) -> list[User]:
    """Every user, by username."""
    return list(db_session.scalars(select(User).order_by(User.username)))


def create_user(
    *,
    db_session: Session,
    username: str,
    password: str,
    role: str,
    agent_name: str | None = None,
    queues: list[str] | None = None,
    active: bool = True,
) -> User:
    """A new user with an argon2id password hash; Conflict if the username is taken."""
    queue_names = _clean_queues(queues or [])
    _check_scope(role, agent_name, queue_names)
    if db_session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"username {username!r} is already taken")
    user = User(
        username=username,
        password_hash=auth.hash_password(password),
        role=role,
        agent_name=agent_name,
        queues=queue_names,
        active=active,
        created_at=utcnow(),
    )
    db_session.add(user)
    db_session.flush()
    return user


def update_user(
    *,
    db_session: Session,
    user: User,
    changes: dict[str, Any],
) -> list[str]:
    """Apply changes (password, role, agent_name, queues, active); returns the fields changed.

    A new password or a deactivation signs the user out of every browser session.
    """
    # null means "unchanged" for everything but agent_name, where it clears the link
    changes = {k: v for k, v in changes.items() if v is not None or k == "agent_name"}
    role = changes.get("role", user.role)
    agent_name = changes.get("agent_name", user.agent_name)
    queues = _clean_queues(changes["queues"]) if "queues" in changes else list(user.queues)
    _check_scope(role, agent_name, queues)
    changed: list[str] = []
    if role != user.role:
        user.role = role
        changed.append("role")
    if agent_name != user.agent_name:
        user.agent_name = agent_name
        changed.append("agent_name")
    if queues != list(user.queues):
        user.queues = queues
        changed.append("queues")
    if "active" in changes and changes["active"] != user.active:
        user.active = bool(changes["active"])
        changed.append("active")
    if changes.get("password"):
        user.password_hash = auth.hash_password(changes["password"])
        changed.append("password")
    if "password" in changed or ("active" in changed and not user.active):
        auth.end_sessions(db_session=db_session, user_id=user.id)
    db_session.flush()
    return changed


# --- personal tokens -----------------------------------------------------------------------


def list_tokens(*, db_session: Session, user: User | None) -> list[ApiToken]:
    """The tokens of one user (None: everybody's), newest first."""
    stmt = select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    if user is not None:
        stmt = stmt.where(ApiToken.user_id == user.id)
    return list(db_session.scalars(stmt))


def revoke_token(*, db_session: Session, token_id: int, user: User, any_user: bool) -> ApiToken:
    """Revoke a token of `user` (or anyone's with `any_user`); NotFound otherwise."""
    row = db_session.get(ApiToken, token_id)
    if row is None or (row.user_id != user.id and not any_user):
        raise NotFound("token not found")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        db_session.flush()
    return row
