"""Shared fixtures: databases on SQLite and PostgreSQL, settings, the golden AMI capture.

PostgreSQL, Redis and Chromium tests run whenever those are reachable and always with CI=true
(where a missing service is an error, not a skip).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from cli import common as cli_common
from cli.models import load_all_models
from core import migrate
from core.db import make_engine, make_sessionmaker
from core.settings import Settings, get_settings

FIXTURES = Path(__file__).parent / "fixtures"
TRACES = FIXTURES / "ami-traces"
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_ADMIN_URL = os.environ.get(
    "CALLSCOPE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("CALLSCOPE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PBX_MONITOR_DIR = "/opt/asterisk/var/spool/asterisk/monitor"


def reachable(host: str, port: int) -> bool:
    """True when a TCP port answers."""
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def need_service(name: str, host: str, port: int) -> None:
    """Skip (or fail in CI) when a service is not reachable."""
    if reachable(host, port):
        return
    message = f"{name} not reachable at {host}:{port}"
    if CI:
        pytest.fail(f"{message}, and CI=true requires it")
    pytest.skip(f"{message}; these tests run in CI")


@pytest.fixture(scope="session")
def truth() -> dict[str, Any]:
    """The scripted truth of the golden capture."""
    data: dict[str, Any] = json.loads((TRACES / "golden.truth.json").read_text())
    return data


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once; each test gets a copy."""
    load_all_models()
    path = tmp_path_factory.mktemp("dbtemplate") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A PostgreSQL database migrated once per session; each test gets a copy of it."""
    need_service("PostgreSQL", "127.0.0.1", 5432)
    load_all_models()
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"callscope_tpl_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    migrate.upgrade(url)
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "callscope.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    yield from _fresh_postgres(request.getfixturevalue("postgres_template"))


@pytest.fixture
def pg_url(postgres_template: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database (for tests about production deployments)."""
    yield from _fresh_postgres(postgres_template)


def _fresh_postgres(template: str) -> Iterator[str]:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"callscope_t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Settings for one test: its own database, the golden capture's recording directory."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=db_url,
        recording_dir=PBX_MONITOR_DIR,
        ami_batch_interval_s=0.05,
        broker_url=f"sqla+sqlite:///{tmp_path}/broker.db",
    )


@pytest.fixture
def session_factory(settings: Settings) -> Iterator[sessionmaker[Session]]:
    """A session factory on the test's database."""
    engine = make_engine(settings.database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def cli_env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The CLI pointed at the test's database, with no settings or engine cached from before."""
    monkeypatch.setenv("CALLSCOPE_DATABASE_URL", db_url)
    get_settings.cache_clear()
    cli_common.engine.cache_clear()
    yield
    cli_common.engine().dispose()
    get_settings.cache_clear()
    cli_common.engine.cache_clear()
