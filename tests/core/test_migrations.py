"""The migrations build exactly the schema the models describe, and go down again."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from cli.models import load_all_models
from core import migrate


def _differences(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": False, "compare_server_default": False}
            )
            return list(compare_metadata(context, load_all_models()))
    finally:
        engine.dispose()


def test_upgraded_sqlite_matches_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'schema.db'}"
    migrate.upgrade(url)
    assert _differences(url) == []


@pytest.mark.postgres
def test_upgraded_postgresql_matches_the_models(pg_url: str) -> None:
    assert _differences(pg_url) == []
