"""Health and metrics for load balancers and Prometheus (no sign-in: they hold no call data)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from api.deps import StateDep
from api.health import check_broker, check_database
from api.schemas import HealthOut

router = APIRouter(tags=["operations"])


@router.get(
    "/healthz",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "A dependency is unavailable"}},
    summary="Database and broker reachability",
)
async def healthz(state: StateDep) -> JSONResponse:
    """200 when the database and the task broker answer; 503 naming the one that did not."""
    database = await run_in_threadpool(check_database, state.engine)
    broker = await run_in_threadpool(check_broker, state.settings.broker_url)
    health = HealthOut(
        status="ok" if database.ok and broker.ok else "unavailable",
        checks={"database": database, "broker": broker},
    )
    return JSONResponse(
        health.model_dump(mode="json"), status_code=200 if health.status == "ok" else 503
    )


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    summary="Prometheus metrics",
)
async def metrics(state: StateDep) -> Response:
    """Requests and latency by route template, transcription backlog, calls today, and when
    the connector last stored an AMI event."""
    body = await run_in_threadpool(state.metrics.render)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
