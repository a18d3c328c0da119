"""`callscope users ...`: create users, print tokens, list; the results work against the API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api import auth
from api.app import create_app
from api.models import AuditEntry, User
from cli import api as cli_api
from cli import common
from core.db import session_scope
from core.settings import Settings, get_settings


@pytest.fixture
def callscope(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[click.Group]:
    """The API commands on a bare group, on the test's (migrated) database."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("CALLSCOPE_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    common.engine.cache_clear()

    @click.group()
    def group() -> None:
        pass

    cli_api.register(group)
    yield group
    common.engine().dispose()
    common.engine.cache_clear()
    get_settings.cache_clear()


def test_create_with_password_on_stdin(
    callscope: click.Group, session_factory: sessionmaker[Session]
) -> None:
    result = CliRunner().invoke(
        callscope,
        [
            "users",
            "create",
            "--username",
            "lee",
            "--role",
            "supervisor",
            "--queues",
            "hotline",
            "--queues",
            "sales,parts",
            "--password-stdin",
        ],
        input="a very good password\n",
    )
    assert result.exit_code == 0, result.output
    assert "password:" not in result.output
    with session_scope(session_factory) as session:
        user = auth.authenticate(
            db_session=session, username="lee", password="a very good password"
        )
        assert user is not None
        assert user.role == "supervisor" and user.queues == ["hotline", "parts", "sales"]
        entry = session.scalar(select(AuditEntry))
        assert entry is not None and entry.action == "user.create"
        assert entry.username.startswith("cli:") and entry.user_id is None


def test_without_a_terminal_a_strong_password_is_generated_and_printed(
    callscope: click.Group, session_factory: sessionmaker[Session]
) -> None:
    result = CliRunner().invoke(
        callscope, ["users", "create", "--username", "root", "--role", "admin"]
    )
    assert result.exit_code == 0, result.output
    password = result.output.split("password: ", 1)[1].strip()
    assert len(password) >= 16
    with session_scope(session_factory) as session:
        assert auth.authenticate(db_session=session, username="root", password=password)


def test_on_a_terminal_the_password_is_asked_twice(
    callscope: click.Group, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_api, "_interactive", lambda: True)
    mismatch = CliRunner().invoke(
        callscope,
        ["users", "create", "--username", "amy", "--role", "agent", "--agent", "Alice Kim"],
        input="first password 1\nsecond password\nfirst password 1\nfirst password 1\n",
    )
    assert mismatch.exit_code == 0, mismatch.output
    assert "do not match" in mismatch.output
    with session_scope(session_factory) as session:
        assert auth.authenticate(db_session=session, username="amy", password="first password 1")


def test_refusals_are_clear(callscope: click.Group) -> None:
    runner = CliRunner()
    no_agent = runner.invoke(
        callscope,
        ["users", "create", "--username", "x", "--role", "agent", "--password-stdin"],
        input="long enough password\n",
    )
    assert no_agent.exit_code != 0 and "agent_name" in no_agent.output
    bad_role = runner.invoke(callscope, ["users", "create", "--username", "x", "--role", "god"])
    assert bad_role.exit_code == 2
    short = runner.invoke(
        callscope,
        ["users", "create", "--username", "x", "--role", "admin", "--password-stdin"],
        input="short\n",
    )
    assert short.exit_code != 0 and "10 characters" in short.output
    runner.invoke(callscope, ["users", "create", "--username", "x", "--role", "admin"])
    again = runner.invoke(callscope, ["users", "create", "--username", "x", "--role", "admin"])
    assert again.exit_code == 1 and "already taken" in again.output
    unknown = runner.invoke(callscope, ["users", "token", "--username", "ghost"])
    assert unknown.exit_code == 1 and "ghost" in unknown.output


def test_token_and_list(
    callscope: click.Group, settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    runner = CliRunner()
    runner.invoke(callscope, ["users", "create", "--username", "mia", "--role", "manager"])
    result = runner.invoke(callscope, ["users", "token", "--username", "mia", "--name", "board"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert token.startswith("cs_")
    with TestClient(create_app(settings)) as client:
        me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["user"]["username"] == "mia"
    listing = runner.invoke(callscope, ["users", "list"])
    assert listing.output.splitlines() == ["mia\tmanager\t-\tactive"]
    with session_scope(session_factory) as session:
        assert session.scalar(select(User.username)) == "mia"
