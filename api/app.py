"""The FastAPI application factory: nothing is built at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api.auth import LoginLimits
from api.deps import ApiState
from api.errors import ApiError
from api.metrics import ApiMetrics, MetricsMiddleware
from api.routers import (
    audit,
    auth,
    calls,
    flag_rules,
    followups,
    live,
    ops,
    queues,
    reports,
    reviews,
    surveys,
    themes,
    tokens,
    users,
)
from core.db import make_engine, make_sessionmaker
from core.settings import Settings

API_PREFIX = "/api/v1"
DESCRIPTION = """\
Everything the callscope console shows: calls with their attempts, transcripts and
recordings, filtered by what each user may see.

**Authentication**: `POST /api/v1/auth/login` sets a session cookie and returns a CSRF token
to send as `X-CSRF-Token` on every POST/PUT/PATCH/DELETE; scripts use a personal token
(`POST /api/v1/tokens`) as `Authorization: Bearer <token>` instead.

**Access**: agents see their own calls, supervisors their queues' calls, managers and admins
every call. A call you may not see answers 404, exactly like one that does not exist.
"""


def create_app(
    settings: Settings,
    *,
    secure_cookies: bool = True,
    session_ttl: timedelta = timedelta(hours=12),
    login_limits: LoginLimits | None = None,
) -> FastAPI:
    """Build the API on the configured database.

    `secure_cookies=False` drops the cookie's Secure flag, for a console served over plain
    HTTP on loopback (the demo); anything reachable from the network must keep it.
    """
    engine = make_engine(settings.database_url, echo=settings.database_echo)
    session_factory = make_sessionmaker(engine)
    metrics = ApiMetrics(session_factory)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(
        title="callscope API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.callscope = ApiState(
        settings=settings,
        engine=engine,
        session_factory=session_factory,
        metrics=metrics,
        secure_cookies=secure_cookies,
        session_ttl=session_ttl,
        login_limits=login_limits or LoginLimits(),
    )

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )

    for module in (auth, tokens, calls, users, audit):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(reviews.router, prefix=API_PREFIX)
    app.include_router(themes.router, prefix=API_PREFIX)
    app.include_router(followups.router, prefix=API_PREFIX)
    app.include_router(reports.router, prefix=API_PREFIX)
    app.include_router(live.router, prefix=API_PREFIX)
    app.include_router(queues.router, prefix=API_PREFIX)
    app.include_router(flag_rules.router, prefix=API_PREFIX)
    app.include_router(surveys.router, prefix=API_PREFIX)
    app.include_router(ops.router, prefix=API_PREFIX)
    # the conventional unversioned paths for load balancers and Prometheus
    app.include_router(ops.router, include_in_schema=False)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app
