"""Shared wiring for CLI commands: settings, engine and session factory, migration check."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import click
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from analytics.compliance import zone_for
from cli.models import load_all_models
from core.db import make_engine, make_sessionmaker
from core.errors import DatabaseError
from core.migrate import current_revision, head_revision
from core.settings import Settings, get_settings


def settings() -> Settings:
    """The settings (a bad value ends the command with a clear message)."""
    return get_settings()


@lru_cache(maxsize=1)
def engine() -> Engine:
    """The process's engine."""
    load_all_models()
    s = settings()
    return make_engine(s.database_url, echo=s.database_echo)


def session_factory(check: bool = True) -> sessionmaker[Session]:
    """A session factory; with `check`, refuses a database that is not migrated to head."""
    eng = engine()
    if check:
        try:
            current = current_revision(eng)
        except OperationalError as exc:
            raise DatabaseError(
                f"cannot open the database {eng.url.render_as_string(hide_password=True)}: "
                f"{exc.orig}"
            ) from exc
        head = head_revision()
        if current != head:
            raise DatabaseError(
                f"the database is at migration {current or 'none'}, this callscope needs {head}: "
                "run `callscope db upgrade`"
            )
    return make_sessionmaker(eng)


def parse_when(value: str | None, option: str) -> datetime | None:
    """An ISO 8601 date or time from the command line, as aware UTC (naive = UTC)."""
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 date/time (e.g. 2026-11-22 or 2026-11-22T08:00Z)",
            param_hint=option,
        ) from exc
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def zone(tz: str | None, option: str = "--tz") -> ZoneInfo:
    """The time zone of --tz, else the hotline's (CALLSCOPE_TIMEZONE)."""
    try:
        return zone_for(tz or settings().timezone)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from exc
