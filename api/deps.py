"""Request dependencies: the app's state, a database session per request, who is calling."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api import auth
from api.access import can
from api.errors import Forbidden, Unauthorized
from api.metrics import ApiMetrics
from api.models import ApiToken, User, WebSession
from api.service import Client
from core.settings import Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(slots=True)
class ApiState:
    """What `create_app` builds once and every request reads."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    metrics: ApiMetrics
    secure_cookies: bool
    session_ttl: timedelta
    login_limits: auth.LoginLimits


def get_state(request: Request) -> ApiState:
    """The app's state."""
    state: ApiState = request.app.state.callscope
    return state


StateDep = Annotated[ApiState, Depends(get_state)]


def get_db(state: StateDep) -> Iterator[Session]:
    """One transaction per request: committed when the endpoint returns, before the answer
    is sent (so a failed commit is a failed request), rolled back on error."""
    session = state.session_factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_db, scope="function")]


def get_client(request: Request) -> Client:
    """The caller's address and user agent, for the audit trail and rate limits."""
    return Client(
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )


ClientDep = Annotated[Client, Depends(get_client)]


@dataclass(slots=True)
class Principal:
    """The user behind a request, and whether a cookie session or a bearer token vouches."""

    user: User
    session: WebSession | None = None
    token: ApiToken | None = None

    @property
    def via(self) -> str:
        """'cookie' or 'bearer'."""
        return "cookie" if self.session is not None else "bearer"


def get_principal(request: Request, db_session: SessionDep) -> Principal:
    """Who is calling: a bearer token (no CSRF needed) or the session cookie, whose
    state-changing requests must carry the session's X-CSRF-Token."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthorized("use 'Authorization: Bearer <token>'")
        token = auth.token_for_bearer(db_session=db_session, token=value.strip())
        if token is None:
            raise Unauthorized("unknown or revoked token")
        return Principal(user=token.user, token=token)
    cookie = request.cookies.get(auth.SESSION_COOKIE)
    if cookie is None:
        raise Unauthorized("sign in first (POST /api/v1/auth/login) or send a bearer token")
    web_session = auth.session_for_cookie(db_session=db_session, cookie=cookie)
    if web_session is None:
        raise Unauthorized("your session has ended; sign in again")
    if request.method not in SAFE_METHODS and not auth.csrf_matches(
        web_session, request.headers.get(auth.CSRF_HEADER)
    ):
        raise Forbidden(f"missing or wrong {auth.CSRF_HEADER} header for this session")
    return Principal(user=web_session.user, session=web_session)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def get_current_user(principal: PrincipalDep) -> User:
    """The signed-in user."""
    return principal.user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require(permission: str) -> Callable[[User], User]:
    """A dependency that lets through only users holding `permission` (else 403)."""

    def dependency(user: CurrentUser) -> User:
        if not can(user, permission):
            raise Forbidden(f"your role ({user.role}) does not have the {permission} permission")
        return user

    dependency.__name__ = f"require_{permission}"
    return dependency


AdminUser = Annotated[User, Depends(require("manage_users"))]
AuditViewer = Annotated[User, Depends(require("view_audit"))]
