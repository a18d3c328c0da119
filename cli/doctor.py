"""`callscope doctor`: one line per check of a deployment, with what to do when it fails."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click

from core.errors import CallscopeError
from core.settings import Settings, get_settings


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome of one check."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    skipped: bool = False


def check_settings() -> tuple[Check, Settings | None]:
    """Settings load and validate."""
    try:
        settings = get_settings()
    except CallscopeError as exc:
        return Check("settings", False, str(exc), "correct the CALLSCOPE_* variable named"), None
    return Check("settings", True, "all CALLSCOPE_* settings are valid"), settings


def check_database(settings: Settings) -> Check:
    """The database answers and is migrated to this version's schema."""
    from sqlalchemy import text

    from cli.models import load_all_models
    from core.db import make_engine
    from core.migrate import current_revision, head_revision

    load_all_models()
    engine = make_engine(settings.database_url)
    shown = engine.url.render_as_string(hide_password=True)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        current, head = current_revision(engine), head_revision()
    except Exception as exc:
        return Check(
            "database",
            False,
            f"{shown}: {exc}",
            "check CALLSCOPE_DATABASE_URL and that the server is up",
        )
    finally:
        engine.dispose()
    if current != head:
        return Check(
            "database",
            False,
            f"{shown} at migration {current or 'none'}, needs {head}",
            "run `callscope db upgrade`",
        )
    return Check("database", True, f"{shown} at migration {current}")


def check_broker(settings: Settings) -> Check:
    """The Celery broker accepts a connection."""
    from kombu.connection import Connection

    try:
        with Connection(settings.broker_url, connect_timeout=3) as conn:  # type: ignore[no-untyped-call]
            conn.ensure_connection(max_retries=1, timeout=3)
    except Exception as exc:
        return Check(
            "broker",
            False,
            f"{settings.broker_url}: {exc}",
            "check CALLSCOPE_BROKER_URL and that Redis is up",
        )
    return Check("broker", True, settings.broker_url)


def check_model(settings: Settings) -> Check:
    """The Whisper model can be found and loaded."""
    from transcription.engine import Engine

    try:
        engine = Engine.from_settings(settings)
        engine.model()
    except CallscopeError as exc:
        return Check("model", False, str(exc), "set CALLSCOPE_WHISPER_MODEL")
    return Check(
        "model",
        True,
        f"{engine.model_name} loads ({settings.whisper_device}, {settings.whisper_compute_type})",
    )


def check_recordings(settings: Settings) -> Check:
    """Recordings are readable where this machine mounts them."""
    try:
        pairs = settings.recording_prefixes()
    except CallscopeError as exc:
        return Check("recordings", False, str(exc), "fix CALLSCOPE_RECORDING_PATH_MAP")
    targets = [Path(local) for _, local in pairs] or [Path(settings.recording_dir)]
    missing = [str(p) for p in targets if not (p.is_dir() and os.access(p, os.R_OK))]
    if missing:
        return Check(
            "recordings",
            False,
            f"not a readable directory: {', '.join(missing)}",
            "mount the PBX's monitor directory and set CALLSCOPE_RECORDING_PATH_MAP="
            "/var/spool/asterisk/monitor=/mnt/monitor",
        )
    return Check("recordings", True, ", ".join(str(p) for p in targets))


def check_ami(settings: Settings) -> Check:
    """The AMI user logs in and may list channels and queues."""
    from telephony.errors import AmiError
    from telephony.link import AmiLink

    link = AmiLink(
        settings.ami_host,
        settings.ami_port,
        settings.ami_username,
        settings.ami_secret,
        sink=lambda _event: None,
        timeout_s=5.0,
    )
    where = f"{settings.ami_username}@{settings.ami_host}:{settings.ami_port}"
    try:
        link.open()
    except AmiError as exc:
        return Check(
            "ami", False, f"{where}: {exc}", "see docs/telephony.md for the manager.conf user"
        )
    try:
        denied = []
        for action in ("CoreShowChannels", "QueueStatus"):
            response = link.action(action)
            if response is None or response.is_error():
                message = response.keys.get("Message", "no answer") if response else "no answer"
                denied.append(f"{action}: {message}")
    finally:
        link.close(logoff=True)
    if denied:
        return Check(
            "ami",
            False,
            f"{where} logged in, but " + "; ".join(denied),
            "give the user `read = call,agent,dialplan,system,user` and "
            "`write = reporting` in manager.conf",
        )
    return Check("ami", True, f"{where} logged in, may list channels and queues")


def check_queue_log(settings: Settings) -> Check:
    """The queue_log, when configured, is readable."""
    path = settings.queue_log_path
    if path is None:
        return Check("queue_log", True, "not configured (CALLSCOPE_QUEUE_LOG_PATH)", skipped=True)
    if not path.is_file() or not os.access(path, os.R_OK):
        return Check(
            "queue_log",
            False,
            f"{path} is not a readable file",
            "mount or copy Asterisk's /var/log/asterisk/queue_log and let this user read it",
        )
    return Check("queue_log", True, f"{path} readable ({path.stat().st_size} bytes)")


def run_checks(only: tuple[str, ...] = ()) -> list[Check]:
    """Run every check (or those named); settings first, the rest need them."""
    first, settings = check_settings()
    results = [first]
    if settings is None:
        return results
    checks: dict[str, Callable[[Settings], Check]] = {
        "database": check_database,
        "broker": check_broker,
        "model": check_model,
        "recordings": check_recordings,
        "ami": check_ami,
        "queue_log": check_queue_log,
    }
    for name, check in checks.items():
        if only and name not in only:
            continue
        results.append(check(settings))
    return results


@click.command("doctor")
@click.option(
    "--only",
    multiple=True,
    type=click.Choice(["database", "broker", "model", "recordings", "ami", "queue_log"]),
    help="Run only these checks (repeatable).",
)
def doctor(only: tuple[str, ...]) -> None:
    """Check settings, database and migrations, broker, model, recordings, AMI and queue_log."""
    results = run_checks(only)
    for result in results:
        mark = "skip" if result.skipped else ("ok  " if result.ok else "FAIL")
        line = f"{mark} {result.name:<10} {result.detail}"
        if not result.ok:
            line += f"\n     -> {result.fix}"
        click.echo(line)
    if not all(r.ok for r in results):
        raise SystemExit(1)


@click.command("settings")
@click.option("--markdown", is_flag=True, help="Print the reference table (docs/settings.md).")
def settings_cmd(markdown: bool) -> None:
    """Print the settings in force (secrets hidden), or the reference table."""
    from core.settings import reference_markdown

    if markdown:
        click.echo(reference_markdown(), nl=False)
        return
    first, settings = check_settings()
    if settings is None:
        raise click.ClickException(first.detail)
    for name, value in settings.model_dump().items():
        if "secret" in name or "password" in name:
            value = "***" if value else ""
        click.echo(f"CALLSCOPE_{name.upper()}={value if value is not None else ''}")
