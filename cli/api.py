"""`callscope serve` and `callscope users ...`: the API server and its users."""

from __future__ import annotations

import getpass
import re
import sys

import click

from cli import common
from core.db import session_scope

LOOPBACK = ("127.0.0.1", "localhost", "::1")
ROLE_CHOICE = click.Choice(["agent", "supervisor", "manager", "admin"])


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=8000, show_default=True, help="TCP port.")
@click.option(
    "--insecure-cookies/--secure-cookies",
    default=None,
    help="Drop the session cookie's Secure flag, for plain HTTP. Default: only when "
    "listening on loopback (behind a TLS proxy, keep Secure).",
)
def serve(host: str, port: int, insecure_cookies: bool | None) -> None:
    """Serve the console and the API (OpenAPI at /docs) with uvicorn."""
    import uvicorn

    from web.app import create_console_app

    common.session_factory(check=True)  # refuse a database that is not migrated
    if insecure_cookies is None:
        insecure_cookies = host in LOOPBACK
    app = create_console_app(common.settings(), secure_cookies=not insecure_cookies)
    uvicorn.run(app, host=host, port=port, proxy_headers=True, log_level="info")


@click.group("users")
def users_group() -> None:
    """Console and API users: create, list, issue tokens."""


def _interactive() -> bool:
    return sys.stdin.isatty()


def _read_password(password_stdin: bool) -> tuple[str, bool]:
    """(password, generated?) from stdin, a prompt, or a new random one."""
    from api import auth

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise click.BadParameter("no password on stdin", param_hint="--password-stdin")
        return password, False
    if _interactive():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        return str(password), False
    return auth.new_password(), True


@users_group.command("create")
@click.option("--username", required=True, help="Sign-in name.")
@click.option("--role", type=ROLE_CHOICE, required=True, help="What the user may see and do.")
@click.option("--agent", "agent_name", help="Agent users: the agent's name on the PBX.")
@click.option(
    "--queues",
    multiple=True,
    help="Supervisors: a queue they oversee (repeat, or separate with commas).",
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of stdin. Without it: a prompt on a "
    "terminal, else a generated password that is printed.",
)
def create_user(
    username: str,
    role: str,
    agent_name: str | None,
    queues: tuple[str, ...],
    password_stdin: bool,
) -> None:
    """Create a user."""
    from api import service
    from api.errors import ApiError
    from api.schemas import USERNAME_PATTERN

    if not re.match(USERNAME_PATTERN, username):
        raise click.BadParameter(
            "letters, digits and . _ @ - only, starting with a letter or digit",
            param_hint="--username",
        )
    queue_names = [q.strip() for item in queues for q in item.split(",") if q.strip()]
    password, generated = _read_password(password_stdin)
    if len(password) < 10:
        raise click.BadParameter("use at least 10 characters", param_hint="password")
    factory = common.session_factory(check=True)
    try:
        with session_scope(factory) as session:
            user = service.create_user(
                db_session=session,
                username=username,
                password=password,
                role=role,
                agent_name=agent_name,
                queues=queue_names,
            )
            service.audit(
                db_session=session,
                user=None,
                actor=f"cli:{getpass.getuser()}",
                action="user.create",
                object_type="user",
                object_id=str(user.id),
                detail={
                    "username": username,
                    "role": role,
                    "agent_name": agent_name,
                    "queues": queue_names,
                },
            )
    except ApiError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"created {role} {username!r}")
    if generated:
        click.echo(f"password: {password}")


@users_group.command("token")
@click.option("--username", required=True, help="Whose token.")
@click.option("--name", default="cli", show_default=True, help="What the token is for.")
def create_token(username: str, name: str) -> None:
    """Print a new personal bearer token for a user (shown only this once)."""
    from api import auth, service
    from api.errors import ApiError

    factory = common.session_factory(check=True)
    try:
        with session_scope(factory) as session:
            user = service.get_user_by_name(db_session=session, username=username)
            token, row = auth.create_token(db_session=session, user=user, name=name)
            service.audit(
                db_session=session,
                user=None,
                actor=f"cli:{getpass.getuser()}",
                action="token.create",
                object_type="token",
                object_id=str(row.id),
                detail={"name": name, "owner": username},
            )
    except ApiError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(token)


@users_group.command("list")
def list_users() -> None:
    """List users: name, role, scope, active."""
    from api import service

    factory = common.session_factory(check=True)
    with session_scope(factory) as session:
        rows = service.list_users(db_session=session)
        for user in rows:
            scope = user.agent_name or ",".join(user.queues) or "-"
            state = "active" if user.active else "inactive"
            click.echo(f"{user.username}\t{user.role}\t{scope}\t{state}")
        if not rows:
            click.echo("no users yet: callscope users create --username U --role admin")


def register(cli: click.Group) -> None:
    """Add the API commands."""
    cli.add_command(serve)
    cli.add_command(users_group)
