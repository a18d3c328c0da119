"""Signing in and out with a password (cookie session), and who am I."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api import auth
from api.access import permissions_of
from api.deps import ClientDep, PrincipalDep, SessionDep, StateDep
from api.errors import Unauthorized
from api.routers import errors
from api.schemas import LoginIn, LoginOut, MeOut, UserOut

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/login",
    response_model=LoginOut,
    responses=errors(400, 401, 429),
    summary="Sign in; sets the session cookie and returns the CSRF token",
)
def login(
    body: LoginIn,
    response: Response,
    db_session: SessionDep,
    state: StateDep,
    client: ClientDep,
) -> LoginOut:
    """Check the password and open a browser session.

    The session cookie is HttpOnly, SameSite=Lax and Secure (unless the server was started
    for plain-HTTP loopback). Send the returned `csrf_token` as `X-CSRF-Token` with every
    POST/PUT/PATCH/DELETE made with the cookie. Repeated failures answer 429 with Retry-After.
    """
    ip = client.ip or "unknown"
    auth.check_login_allowed(
        db_session=db_session, username=body.username, ip=ip, limits=state.login_limits
    )
    user = auth.authenticate(db_session=db_session, username=body.username, password=body.password)
    auth.record_login_attempt(db_session=db_session, username=body.username, ip=ip, ok=bool(user))
    if user is None:
        db_session.commit()  # the failure must count although the answer is an error
        raise Unauthorized("wrong username or password")
    cookie, web_session = auth.create_session(
        db_session=db_session, user=user, ttl=state.session_ttl
    )
    response.set_cookie(
        auth.SESSION_COOKIE,
        cookie,
        max_age=int(state.session_ttl.total_seconds()),
        path="/",
        secure=state.secure_cookies,
        httponly=True,
        samesite="lax",
    )
    return LoginOut(user=UserOut.model_validate(user), csrf_token=web_session.csrf_token)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(401, 403),
    summary="End this browser session",
)
def logout(principal: PrincipalDep, db_session: SessionDep, state: StateDep) -> Response:
    """End the cookie session (a bearer token stays valid: revoke it under /tokens)."""
    if principal.session is not None:
        db_session.delete(principal.session)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(
        auth.SESSION_COOKIE, path="/", secure=state.secure_cookies, httponly=True, samesite="lax"
    )
    return response


@router.get("/me", response_model=MeOut, responses=errors(401), summary="Who am I")
def me(principal: PrincipalDep) -> MeOut:
    """The signed-in user, how they are authenticated, and their permissions."""
    return MeOut(
        user=UserOut.model_validate(principal.user),
        auth="cookie" if principal.session is not None else "bearer",
        csrf_token=principal.session.csrf_token if principal.session is not None else None,
        permissions=permissions_of(principal.user),
    )
