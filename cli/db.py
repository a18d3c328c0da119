"""`callscope db ...`: database migrations."""

from __future__ import annotations

import click

from cli import common
from cli.models import load_all_models
from core import migrate


@click.group("db")
def db_group() -> None:
    """Database schema: migrate and inspect."""


@db_group.command("upgrade")
@click.option("--revision", default="heads", show_default=True, help="Target revision.")
def upgrade(revision: str) -> None:
    """Create or migrate the database to the newest schema."""
    load_all_models()
    url = common.settings().database_url
    migrate.upgrade(url, revision)
    click.echo(f"database at {migrate.current_revision(common.engine())}")


@db_group.command("current")
def current() -> None:
    """Print the database's migration revision and the newest one."""
    click.echo(f"current: {migrate.current_revision(common.engine())}")
    click.echo(f"head:    {migrate.head_revision()}")


def register(cli: click.Group) -> None:
    """Add the db commands."""
    cli.add_command(db_group)
