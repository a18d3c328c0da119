"""Is the database reachable, and the task broker? Each check answers within a few seconds."""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from api.schemas import CheckOut

TIMEOUT_S = 2.0


def check_database(engine: Engine) -> CheckOut:
    """The application database answers a trivial query."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure is the answer, not an error of the health check
        return CheckOut(ok=False, detail=f"database unreachable: {type(exc).__name__}")
    return CheckOut(ok=True)


def check_broker(url: str) -> CheckOut:
    """The Celery broker answers: Redis PING, a SQLAlchemy broker's database, or a TCP connect."""
    try:
        if url.startswith(("redis://", "rediss://")):
            import redis

            client = redis.Redis.from_url(
                url, socket_connect_timeout=TIMEOUT_S, socket_timeout=TIMEOUT_S
            )
            try:
                client.ping()
            finally:
                client.close()
            return CheckOut(ok=True)
        if url.startswith("sqla+"):
            return _check_sqla_broker(url[len("sqla+") :])
        if url.startswith("memory://"):
            return CheckOut(ok=True, detail="in-process broker")
        parts = urlsplit(url)
        if not parts.hostname:
            return CheckOut(ok=False, detail="broker URL names no host")
        with socket.create_connection((parts.hostname, parts.port or 5672), timeout=TIMEOUT_S):
            return CheckOut(ok=True)
    except Exception as exc:  # any failure is the answer, not an error of the health check
        return CheckOut(ok=False, detail=f"broker unreachable: {type(exc).__name__}")


def _check_sqla_broker(url: str) -> CheckOut:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database or "")
        if not path.exists():
            # kombu creates the file on first use; a writable directory is all it needs
            if path.parent.is_dir():
                return CheckOut(ok=True, detail="broker database not created yet")
            return CheckOut(ok=False, detail="broker database directory does not exist")
    engine = create_engine(url, pool_pre_ping=False)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    finally:
        engine.dispose()
    return CheckOut(ok=True)
