"""`callscope themes ...`, `analyze`, `review-queue ...`, `followups ...`: stored-call analytics."""

from __future__ import annotations

import getpass
import json
import logging
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics import followups, sampling, themes
from analytics.models import ReviewQueueItem
from analytics.pipeline import (
    CallAnalysis,
    after_call,
    after_transcript,
    analyze_committed_calls,
    ensure_lexicon,
)
from cli import common
from cli import telephony as telephony_cli
from core.db import session_scope
from core.settings import Settings
from telephony import service as telephony_service
from telephony.models import Call
from transcription.models import Transcript

log = logging.getLogger(__name__)

ANALYZE_BATCH = 200


def _person() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def _call_pk(session: Session, call_id: str) -> int:
    call = telephony_service.find_call(db_session=session, call_id=call_id)
    if call is None:
        raise click.BadParameter(f"no call with id {call_id!r}", param_hint="CALL_ID")
    return call.id


def after_connector_commit(call_pks: Sequence[int]) -> None:
    """The connector's after-commit hook: flags and follow-ups from the calls' telephony facts."""
    try:
        factory, settings = common.session_factory(), common.settings()
    except Exception:  # never stop the connector (or the hooks after this one)
        log.exception("cannot analyse calls %s; `callscope analyze --all` can", list(call_pks))
        return
    analyze_committed_calls(list(call_pks), session_factory=factory, settings=settings)


telephony_cli.after_commit_hooks.append(after_connector_commit)


# --- themes ------------------------------------------------------------------------------------


@click.group("themes")
def themes_group() -> None:
    """The complaint-theme lexicon: export, import a new version, list versions."""


@themes_group.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--version", "version", type=int, help="This stored version [default: the active].")
def themes_export(file: Path, version: int | None) -> None:
    """Write the lexicon as YAML to FILE (edit it, then `themes import` it)."""
    with session_scope(common.session_factory()) as session:
        text = themes.export_yaml(db_session=session, version=version)
        shown = version or themes.active_theme_set(db_session=session).version
    file.write_text(text, encoding="utf-8")
    click.echo(f"lexicon version {shown} written to {file}")


@themes_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--note", help="What changed and why (shown in `themes versions`).")
@click.option("--by", "by", help="Who made the change [default: the login name].")
def themes_import(file: Path, note: str | None, by: str | None) -> None:
    """Check a YAML lexicon and store it as a new active version."""
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise click.BadParameter(f"{file} is not UTF-8 text", param_hint="FILE") from exc
    with session_scope(common.session_factory()) as session:
        row = themes.import_yaml(
            db_session=session, text=text, created_by=by or _person(), note=note, source=str(file)
        )
        version, count = row.version, len(row.content.get("themes", []))
    click.echo(f"lexicon version {version} is now active ({count} themes)")
    click.echo("run `callscope analyze --all` to re-analyse stored transcripts with it")


@themes_group.command("versions")
def themes_versions() -> None:
    """Every stored lexicon version, the active one marked with *."""
    with session_scope(common.session_factory()) as session:
        themes.active_theme_set(db_session=session)
        for row in themes.list_theme_sets(db_session=session):
            mark = "*" if row.active else " "
            when = row.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
            note = f"  {row.note}" if row.note else ""
            click.echo(
                f"{mark} {row.version:>3}  {when}Z  {row.fingerprint[:12]}  "
                f"{row.created_by or '-'}{note}"
            )


@themes_group.command("activate")
@click.argument("version", type=int)
def themes_activate(version: int) -> None:
    """Make a stored version the active one again (to undo an import)."""
    with session_scope(common.session_factory()) as session:
        themes.activate_version(db_session=session, version=version)
    click.echo(f"lexicon version {version} is now active")


# --- analyze -----------------------------------------------------------------------------------


def _summary(call_id: str, result: CallAnalysis) -> dict[str, Any]:
    return {
        "call_id": call_id,
        "themes": None
        if result.themes is None
        else [{"theme": r.theme, "score": r.score, "count": r.count} for r in result.themes],
        "flags": [
            {"rule": f.rule, "severity": f.severity, "reason": f.reason} for f in result.flags
        ],
        "followup": None
        if result.followup is None
        else {
            "status": result.followup.status,
            "reason": result.followup.reason,
            "due_at": result.followup.due_at.isoformat(),
        },
        "closed_followups": len(result.closed),
    }


@click.command("analyze")
@click.option("--call", "call_id", help="One call (its Linkedid).")
@click.option("--all", "all_calls", is_flag=True, help="Every stored call.")
def analyze(call_id: str | None, all_calls: bool) -> None:
    """Re-run themes, flags and follow-ups on stored calls and transcripts."""
    if (call_id is None) == (not all_calls):
        raise click.UsageError("give either --call CALL_ID or --all")
    factory = common.session_factory()
    settings = common.settings()
    ensure_lexicon(factory)
    if call_id is not None:
        with session_scope(factory) as session:
            pk = _call_pk(session, call_id)
            result = _analyze_one(session, pk, settings)
            summary = _summary(call_id, result)
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    with session_scope(factory) as session:
        pks = list(session.scalars(select(Call.id).order_by(Call.started_at, Call.id)))
    totals = {"calls": 0, "with_themes": 0, "flagged": 0, "open_followups": 0}
    for start in range(0, len(pks), ANALYZE_BATCH):
        with session_scope(factory) as session:
            for pk in pks[start : start + ANALYZE_BATCH]:
                result = _analyze_one(session, pk, settings)
                totals["calls"] += 1
                totals["with_themes"] += bool(result.themes)
                totals["flagged"] += bool(result.flags)
                totals["open_followups"] += bool(
                    result.followup and result.followup.status == "open"
                )
    click.echo(
        f"{totals['calls']} calls analysed: {totals['with_themes']} with complaint themes, "
        f"{totals['flagged']} flagged, {totals['open_followups']} follow-ups open"
    )


def _analyze_one(session: Session, pk: int, settings: Settings) -> CallAnalysis:
    has_transcript = session.scalar(
        select(Transcript.id).where(Transcript.call_pk == pk, Transcript.status == "done").limit(1)
    )
    if has_transcript is not None:
        return after_transcript(db_session=session, call_pk=pk, settings=settings)
    return after_call(db_session=session, call_pk=pk, settings=settings)


# --- review queue ------------------------------------------------------------------------------


@click.group("review-queue")
def review_queue_group() -> None:
    """The daily QA review queue: a random sample per agent plus every flagged call."""


def _day(value: str | None, tz: str | None) -> date:
    if value is None:
        zone = _zone(tz)
        return (datetime.now(UTC).astimezone(zone) - timedelta(days=1)).date()
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not YYYY-MM-DD", param_hint="--day") from exc


def _zone(tz: str | None) -> ZoneInfo:
    return common.zone(tz)


def _print_queue(session: Session, items: Sequence[ReviewQueueItem]) -> None:
    for item in items:
        call = session.get(Call, item.call_pk)
        if call is None:
            continue
        agent = call.agent.name if call.agent else "-"
        queue = call.queue.name if call.queue else "-"
        click.echo(
            f"{item.day}  {item.source:<8} {agent:<20} {queue:<12} {call.call_id}  "
            f"{call.started_at:%H:%M:%S}Z"
        )


@review_queue_group.command("build")
@click.option("--day", help="The day, YYYY-MM-DD in --tz [default: yesterday].")
@click.option(
    "--per-agent",
    type=click.IntRange(min=0),
    help="Calls sampled per agent [CALLSCOPE_REVIEW_SAMPLE_PER_AGENT, default 10].",
)
@click.option(
    "--seed",
    help="Secret seed: the same seed gives the same sample [CALLSCOPE_REVIEW_SEED].",
)
@click.option("--tz", help="IANA time zone of the day [CALLSCOPE_TIMEZONE, default UTC].")
def review_queue_build(
    day: str | None, per_agent: int | None, seed: str | None, tz: str | None
) -> None:
    """Build (or rebuild, identically) one day's review queue."""
    seed = seed or common.settings().review_seed
    if not seed:
        raise click.UsageError("set CALLSCOPE_REVIEW_SEED (a secret) or pass --seed")
    if per_agent is None:
        per_agent = common.settings().review_sample_per_agent
    zone = _zone(tz)
    when = _day(day, tz)
    with session_scope(common.session_factory()) as session:
        items = sampling.build_review_queue(
            db_session=session, day=when, seed=seed, per_agent=per_agent, tz=zone.key
        )
        _print_queue(session, items)
        sampled = sum(1 for i in items if i.source == "sampled")
    click.echo(
        f"{len(items)} calls to review on {when}: {sampled} sampled, {len(items) - sampled} flagged"
    )


@review_queue_group.command("show")
@click.option("--day", help="The day, YYYY-MM-DD [default: yesterday, UTC].")
def review_queue_show(day: str | None) -> None:
    """The review queue of a day, as built."""
    when = _day(day, None)
    with session_scope(common.session_factory()) as session:
        _print_queue(session, sampling.review_queue(db_session=session, day=when))


# --- follow-ups --------------------------------------------------------------------------------


@click.group("followups")
def followups_group() -> None:
    """Customers to call back after a complaint or an abandoned call."""


@followups_group.command("list")
@click.option("--open", "only_open", is_flag=True, help="Only those still open (incl. overdue).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def followups_list(only_open: bool, fmt: str) -> None:
    """Follow-ups by due time, with their status now."""
    now = datetime.now(UTC)
    with session_scope(common.session_factory()) as session:
        rows = followups.list_followups(
            db_session=session, status="open" if only_open else None, now=now
        )
        data: list[dict[str, Any]] = []
        for row in rows:
            call = session.get(Call, row.call_pk)
            closer = session.get(Call, row.closed_by_call_pk) if row.closed_by_call_pk else None
            data.append(
                {
                    "call_id": call.call_id if call else None,
                    "number": row.number,
                    "reason": row.reason,
                    "due_at": row.due_at.isoformat(),
                    "status": row.status_at(now),
                    "closed_at": row.closed_at.isoformat() if row.closed_at else None,
                    "closed_by": row.closed_by,
                    "closed_by_call": closer.call_id if closer else None,
                    "note": row.note,
                }
            )
    if fmt == "json":
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for item in data:
        closed = f"  closed by {item['closed_by']}" if item["closed_by"] else ""
        click.echo(
            f"{item['status']:<8} due {item['due_at'][:16]}  {item['call_id']}  "
            f"{item['number'] or '-'}  {item['reason']}{closed}"
        )
    click.echo(f"{len(data)} follow-ups")


@followups_group.command("close")
@click.argument("call_id")
@click.option("--note", required=True, help="What was done (called back, emailed, ...).")
@click.option("--by", "by", help="Who closes it [default: the login name].")
def followups_close(call_id: str, note: str, by: str | None) -> None:
    """Close the follow-up of a call by hand, with a note."""
    with session_scope(common.session_factory()) as session:
        row = followups.close_followup(
            db_session=session, call_pk=_call_pk(session, call_id), by=by or _person(), note=note
        )
        late = "" if row.on_time else " (late)"
    click.echo(f"follow-up of {call_id} closed{late}")


@followups_group.command("rate")
@click.option("--by", "by", help="Group as compliance does: queue, agent, hour, day, week.")
@click.option("--since", help="Calls started at or after (ISO 8601, UTC if no zone).")
@click.option("--until", help="Calls started before (ISO 8601).")
@click.option("--queue", help="Only this queue.")
@click.option("--tz", help="Time zone of hour/day/week groups [CALLSCOPE_TIMEZONE].")
def followups_rate(
    by: str | None, since: str | None, until: str | None, queue: str | None, tz: str | None
) -> None:
    """Follow-up on-time rate: closed by their due time / (closed + overdue)."""
    zone = _zone(tz)
    with session_scope(common.session_factory()) as session:
        try:
            rows = followups.followup_on_time_rate(
                db_session=session,
                by=by,
                since=common.parse_when(since, "--since"),
                until=common.parse_when(until, "--until"),
                queue=queue,
                tz=zone.key,
            )
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
    click.echo(
        json.dumps(
            {
                "definition": "closed_on_time / (closed + overdue)",
                "rows": [asdict(r) for r in rows],
            },
            indent=2,
        )
    )


def register(cli: click.Group) -> None:
    """Add the analysis commands."""
    cli.add_command(themes_group)
    cli.add_command(analyze)
    cli.add_command(review_queue_group)
    cli.add_command(followups_group)
