"""`callscope connect`, `import-queue-log`, `calls ...`, `queues ...`: the telephony commands."""

from __future__ import annotations

import csv
import io
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import click

from cli import common
from core.db import session_scope
from telephony import service
from telephony.connector import Connector, import_queue_log, rebuild_calls
from telephony.errors import AmiAuthError, AmiProtocolError

log = logging.getLogger(__name__)

# Filled by the other CLI modules: each gets the pks of every call the connector committed
# (transcription queues those with recordings; analysis flags them and closes follow-ups).
after_commit_hooks: list[Callable[[Sequence[int]], None]] = []


@click.command("connect")
@click.option("--host", help="AMI host [CALLSCOPE_AMI_HOST].")
@click.option("--port", type=int, help="AMI port [CALLSCOPE_AMI_PORT].")
@click.option("--username", help="AMI user [CALLSCOPE_AMI_USERNAME].")
@click.option("--secret", help="AMI secret [CALLSCOPE_AMI_SECRET].")
@click.option(
    "--queue-log",
    "queue_log",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also back-fill from and follow this queue_log [CALLSCOPE_QUEUE_LOG_PATH].",
)
def connect(
    host: str | None,
    port: int | None,
    username: str | None,
    secret: str | None,
    queue_log: Path | None,
) -> None:
    """Log every call from Asterisk: stay connected to AMI, reconnect, never give up.

    Exits 3 when Asterisk refuses the login (wrong user or secret: retrying cannot help).
    SIGTERM or Ctrl-C flushes what was received and exits 0.
    """
    base = common.settings()
    overrides = {
        k: v
        for k, v in {
            "ami_host": host,
            "ami_port": port,
            "ami_username": username,
            "ami_secret": secret,
        }.items()
        if v is not None
    }
    settings = base.model_copy(update=overrides)
    factory = common.session_factory()

    def after_commit(ids: Sequence[int]) -> None:
        for hook in after_commit_hooks:
            hook(ids)

    connector = Connector(
        settings,
        factory,
        on_calls_committed=after_commit,
        queue_log=queue_log or settings.queue_log_path,
    )

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping the connector", signum)
        connector.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    click.echo(
        f"connecting to AMI {settings.ami_host}:{settings.ami_port} as {settings.ami_username}",
        err=True,
    )
    try:
        connector.run()
    except AmiAuthError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(3)
    except AmiProtocolError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(4)
    stats = connector.writer.stats
    click.echo(f"stopped: {stats.events} events, {stats.calls_written} calls written", err=True)


@click.command("import-queue-log")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_queue_log_cmd(file: Path) -> None:
    """Back-fill queue calls from an Asterisk queue_log (merged with AMI calls, no duplicates)."""
    stored, kept, errors = import_queue_log(file, common.session_factory(), common.settings())
    for error in errors:
        click.echo(f"skipped {file}: {error}", err=True)
    click.echo(f"{stored} calls stored, {kept} already known from AMI, {len(errors)} lines skipped")


@click.group("calls")
def calls_group() -> None:
    """Stored calls: export, rebuild."""


@calls_group.command("rebuild")
def rebuild() -> None:
    """Re-derive every AMI call from the raw event log (after a fix to the call tracker)."""
    count = rebuild_calls(common.session_factory(), common.settings())
    click.echo(f"{count} calls rebuilt from the event log")


@calls_group.command("export")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
@click.option("--since", help="Calls started at or after (ISO 8601, UTC if no zone).")
@click.option("--until", help="Calls started before (ISO 8601).")
@click.option("--queue", help="Only this queue.")
@click.option("--agent", help="Only calls answered by this agent.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path))
def export(
    fmt: str,
    since: str | None,
    until: str | None,
    queue: str | None,
    agent: str | None,
    output: Path | None,
) -> None:
    """Export calls as a JSON array or CSV."""
    start = common.parse_when(since, "--since")
    end = common.parse_when(until, "--until")
    with session_scope(common.session_factory()) as session:
        rows = [
            service.export_row(call)
            for call in service.list_calls(
                db_session=session, since=start, until=end, queue=queue, agent=agent
            )
        ]
    if fmt == "json":
        text = service.dumps(rows) + "\n"
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=service.CSV_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow(service.csv_row(row))
        text = buffer.getvalue()
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


@click.group("queues")
def queues_group() -> None:
    """Queues and their ring cycle / answer target."""


@queues_group.command("set")
@click.argument("name")
@click.option("--ring-cycle", type=float, help="Seconds per ring in this queue.")
@click.option("--target-rings", type=int, help="Answer within this many rings.")
@click.option("--language", type=click.Choice(["zh", "ko", "en", "auto"]))
def queues_set(
    name: str, ring_cycle: float | None, target_rings: int | None, language: str | None
) -> None:
    """Override the ring cycle, the answer target or the transcription language of a queue."""
    changes: dict[str, Any] = {}
    if ring_cycle is not None:
        changes["ring_cycle_s"] = ring_cycle
    if target_rings is not None:
        changes["answer_target_rings"] = target_rings
    if language is not None:
        changes["language"] = None if language == "auto" else language
    with session_scope(common.session_factory()) as session:
        try:
            queue, _ = service.update_queue(db_session=session, name=name, **changes)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
        click.echo(
            f"{name}: ring cycle {queue.ring_cycle_s or 'default'}, "
            f"target {queue.answer_target_rings or 'default'} rings, "
            f"language {queue.language or 'default'}"
        )


def register(cli: click.Group) -> None:
    """Add the telephony commands."""
    cli.add_command(connect)
    cli.add_command(import_queue_log_cmd)
    cli.add_command(calls_group)
    cli.add_command(queues_group)
