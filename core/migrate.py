"""Alembic migrations run from code: `callscope db upgrade` and the test fixtures use this."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str, metadata: MetaData | None = None) -> Config:
    """An Alembic config for this database; metadata only matters for autogenerate."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["target_metadata"] = metadata
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    """Migrate the database to `revision` (default: the newest of every package's branch)."""
    command.upgrade(alembic_config(url), revision)


def current_revision(engine: Engine) -> str | None:
    """The revision(s) the database is at ('a+b' for several branches), None if never migrated."""
    with engine.connect() as conn:
        heads = MigrationContext.configure(conn).get_current_heads()
    return "+".join(sorted(heads)) or None


def head_revision() -> str | None:
    """The newest revision(s) shipped with this version of callscope ('a+b' for branches)."""
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    return "+".join(sorted(heads)) or None
