"""`callscope retention ...` and `callscope privacy forget`: deleting data, always audited."""

from __future__ import annotations

import getpass
import sys

import click
from sqlalchemy import select

from cli import common
from core.db import session_scope

BY_HELP = "Who asked for it, for the audit trail [cli:<OS user>]."


def _actor(by: str | None) -> str:
    return by or f"cli:{getpass.getuser()}"


@click.group("retention")
def retention_group() -> None:
    """Delete recordings and transcripts after N days (CALLSCOPE_RETENTION_DAYS, per queue)."""


@retention_group.command("run")
@click.option("--dry-run", is_flag=True, help="Show what would be deleted; delete nothing.")
@click.option("--by", help=BY_HELP)
def run_retention(dry_run: bool, by: str | None) -> None:
    """Delete recordings (files) and transcripts of calls older than their queue's retention.

    The calls themselves stay, with their facts for the compliance figures. Run it daily
    (deploy/systemd/callscope-retention.timer).
    """
    from analytics import retention
    from api import service

    settings = common.settings()
    factory = common.session_factory(check=True)
    with session_scope(factory) as session:
        plan = retention.plan_retention(db_session=session, settings=settings)
        queues = []
        for q in plan.queues:
            name = q.queue or "(no queue)"
            if q.days == 0:
                click.echo(f"{name}: kept forever")
                continue
            click.echo(
                f"{name}: {q.days} days: {len(q.call_pks)} calls, {len(q.files)} recording "
                f"files before {q.cutoff:%Y-%m-%d %H:%M} UTC"
            )
            queues.append({"queue": q.queue, "days": q.days, "calls": len(q.call_pks)})
        if dry_run:
            click.echo("dry run: nothing deleted")
            return
        done = retention.apply_retention(db_session=session, plan=plan)
        summary = done.summary()
        service.audit(
            db_session=session,
            user=None,
            actor=_actor(by),
            action="retention.run",
            object_type="retention",
            detail={"queues": queues, **summary},
        )
    _echo_done(summary)


@retention_group.command("queue")
@click.argument("queue")
@click.option("--days", type=click.IntRange(min=0), help="Keep this queue's data N days (0: ever).")
@click.option("--default", "use_default", is_flag=True, help="Use CALLSCOPE_RETENTION_DAYS.")
@click.option("--by", help=BY_HELP)
def queue_retention(queue: str, days: int | None, use_default: bool, by: str | None) -> None:
    """Set how long one queue's recordings and transcripts are kept."""
    from api import service
    from telephony.models import Queue
    from telephony.service import update_queue

    if (days is not None) == use_default:
        raise click.UsageError("give either --days N or --default")
    factory = common.session_factory(check=True)
    with session_scope(factory) as session:
        if session.scalar(select(Queue.id).where(Queue.name == queue)) is None:
            raise click.ClickException(f"no queue {queue!r} has taken calls yet")
        row, changed = update_queue(db_session=session, name=queue, retention_days=days)
        if changed:
            service.audit(
                db_session=session,
                user=None,
                actor=_actor(by),
                action="retention.queue",
                object_type="queue",
                object_id=str(row.id),
                detail={"queue": queue, "retention_days": days},
            )
    shown = "the default (CALLSCOPE_RETENTION_DAYS)" if days is None else f"{days} days"
    click.echo(f"{queue}: recordings and transcripts kept {shown}")


@click.group("privacy")
def privacy_group() -> None:
    """Data-subject requests."""


@privacy_group.command("forget")
@click.option("--number", required=True, help="The caller's number, as calls show it.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--dry-run", is_flag=True, help="Show what would be deleted; delete nothing.")
@click.option("--by", help=BY_HELP)
def forget(number: str, yes: bool, dry_run: bool, by: str | None) -> None:
    """Delete everything about a caller: calls from and back to the number, attempts,
    transcripts, themes, flags, follow-ups, recordings on disk and the raw AMI events.

    The audit entry keeps a SHA-256 of the number, not the number.
    """
    from analytics import retention
    from api import service

    settings = common.settings()
    factory = common.session_factory(check=True)
    with session_scope(factory) as session:
        plan = retention.plan_forget(db_session=session, settings=settings, number=number)
        click.echo(
            f"{len(plan.call_pks)} calls, {len(plan.followup_ids)} follow-ups and "
            f"{len(plan.files)} recording files about {plan.number}"
        )
        if dry_run:
            click.echo("dry run: nothing deleted")
            return
        if not yes:
            if not sys.stdin.isatty():
                raise click.UsageError("add --yes to delete without a prompt")
            click.confirm("Delete all of it for good?", abort=True)
        done = retention.apply_forget(db_session=session, plan=plan)
        summary = done.summary()
        service.audit(
            db_session=session,
            user=None,
            actor=_actor(by),
            action="privacy.forget",
            object_type="caller",
            object_id=plan.number_digest[:32],
            detail={"number_sha256": plan.number_digest, "calls": len(plan.call_pks), **summary},
        )
    _echo_done(summary)


def _echo_done(summary: dict[str, object]) -> None:
    rows = summary["rows"]
    assert isinstance(rows, dict)
    shown = ", ".join(f"{n} {table}" for table, n in rows.items() if n) or "no rows"
    click.echo(
        f"deleted {shown}; {summary['files_removed']} recording files "
        f"({summary['files_missing']} already gone)"
    )


def register(cli: click.Group) -> None:
    """Add the retention and privacy commands."""
    cli.add_command(retention_group)
    cli.add_command(privacy_group)
