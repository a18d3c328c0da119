"""`callscope surveys ...`, `callscope callbacks ...`: survey intake, index, callback lists."""

from __future__ import annotations

import getpass
import json
import logging
from collections.abc import Sequence
from dataclasses import asdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from analytics.surveys import callbacks, ivr, satisfaction, service
from analytics.surveys.csv_import import import_csv
from analytics.surveys.errors import SurveyError
from analytics.surveys.models import SurveyInput
from cli import common
from cli import telephony as telephony_cli
from core.db import session_scope

log = logging.getLogger(__name__)


def _person() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def after_connector_commit(call_pks: Sequence[int]) -> None:
    """The connector's after-commit hook: callbacks completed by outbound calls, IVR answers."""
    try:
        factory, settings = common.session_factory(), common.settings()
    except Exception:  # never stop the connector (or the hooks after this one)
        log.exception("cannot take survey answers; `callscope surveys sync` can")
        return
    ivr.after_calls_committed(list(call_pks), session_factory=factory, settings=settings)


telephony_cli.after_commit_hooks.append(after_connector_commit)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


# --- surveys -------------------------------------------------------------------------------------


@click.group("surveys")
def surveys_group() -> None:
    """Customer surveys: import answers, take IVR answers, the satisfaction index, forms."""


@surveys_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def surveys_import(file: Path) -> None:
    """Import answers from a CSV file (columns: docs/surveys.md); bad rows are skipped and
    reported with their line number, good rows are kept. Exits 1 when a row was skipped."""
    with session_scope(common.session_factory()) as session:
        try:
            result = import_csv(db_session=session, path=file, settings=common.settings())
        except SurveyError as exc:
            raise click.ClickException(str(exc)) from exc
    for line, reason in result.skipped:
        click.echo(f"skipped {file} line {line}: {reason}", err=True)
    click.echo(
        f"{result.stored} responses stored, {result.already} already imported, "
        f"{len(result.skipped)} rows skipped"
    )
    if result.skipped:
        raise SystemExit(1)


@surveys_group.command("sync")
def surveys_sync() -> None:
    """Take the IVR survey events logged so far and complete callbacks already made
    (catch-up; the connector does both after each commit)."""
    settings = common.settings()
    with session_scope(common.session_factory()) as session:
        done = callbacks.sync_callbacks(db_session=session, settings=settings)
        result = ivr.ingest_ivr_events(db_session=session, settings=settings)
    for reason in result.reasons:
        click.echo(f"rejected {reason}", err=True)
    click.echo(
        f"IVR: {result.accepted} answers taken, {result.rejected} rejected, "
        f"{result.waiting} waiting for their call; {len(done)} callbacks completed"
    )


@surveys_group.command("rejects")
@click.option("--limit", type=int, default=50, show_default=True)
def surveys_rejects(limit: int) -> None:
    """The IVR events and CSV rows that were rejected, newest first, with the reason."""
    with session_scope(common.session_factory()) as session:
        rows = session.scalars(
            select(SurveyInput)
            .where(SurveyInput.status == "rejected")
            .order_by(SurveyInput.created_at.desc(), SurveyInput.id.desc())
            .limit(limit)
        )
        for row in rows:
            click.echo(
                f"{row.created_at:%Y-%m-%d %H:%M} {row.source:3} call {row.call_ref or '?'}: "
                f"{row.reason}"
            )


@surveys_group.command("report")
@click.option("--by", type=click.Choice(["agent", "queue", "hour", "day", "week"]))
@click.option("--since", help="Calls started at or after (ISO 8601).")
@click.option("--until", help="Calls started before (ISO 8601).")
@click.option("--tz", help="Time zone of hour/day/week [CALLSCOPE_TIMEZONE].")
@click.option("--drivers", is_flag=True, help="Also satisfaction by rings, theme, QA score.")
@click.option("--json", "as_json", is_flag=True)
def surveys_report(
    by: str | None,
    since: str | None,
    until: str | None,
    tz: str | None,
    drivers: bool,
    as_json: bool,
) -> None:
    """The satisfaction index with its per-question averages, response and dissatisfied rates."""
    settings = common.settings()
    weights = satisfaction.parse_weights(settings.survey_weights)
    start, end = common.parse_when(since, "--since"), common.parse_when(until, "--until")
    with session_scope(common.session_factory()) as session:
        rows = satisfaction.satisfaction_index(
            db_session=session,
            weights=weights,
            by=by,
            since=start,
            until=end,
            tz=common.zone(tz).key,
        )
        found = (
            satisfaction.drivers(db_session=session, weights=weights, since=start, until=end)
            if drivers
            else None
        )
    if as_json:
        out: dict[str, Any] = {"rows": [asdict(r) for r in rows]}
        if found is not None:
            out["drivers"] = asdict(found)
        click.echo(_json(out))
        return
    for row in rows:
        index = "-" if row.index is None else f"{row.index:.1f}"
        rate = "-" if row.response_rate is None else f"{row.response_rate:.0%}"
        low = "-" if row.dissatisfied_share is None else f"{row.dissatisfied_share:.0%}"
        averages = ", ".join(f"{k} {v:.2f}" for k, v in row.averages.items() if v is not None)
        click.echo(
            f"{row.group or 'all'}: index {index}, {row.responses} responses "
            f"({rate} of {row.calls} calls), dissatisfied {low}; {averages}"
        )
    if found is not None:
        for title, figures in (("rings", found.rings), ("themes", found.themes), ("QA", found.qa)):
            for f in figures:
                index = "-" if f.index is None else f"{f.index:.1f}"
                speed = f.averages.get("reach_speed")
                click.echo(
                    f"{title}: {f.group}: index {index}, speed "
                    f"{'-' if speed is None else f'{speed:.2f}'}, {f.responses} responses"
                )


@surveys_group.group("forms")
def forms_group() -> None:
    """Survey forms (the default one has the six standard questions)."""


@forms_group.command("list")
def forms_list() -> None:
    """Every form with its questions in IVR order."""
    with session_scope(common.session_factory()) as session:
        for form in service.list_forms(db_session=session):
            mark = " (default)" if form.is_default else ""
            click.echo(f"{form.name}{mark}")
            for n, q in enumerate(form.questions, start=1):
                click.echo(f"  {n}. {q['key']}: {q['label']}")


@forms_group.command("save")
@click.argument("name")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--default", "make_default", is_flag=True, help="Make it the default form.")
def forms_save(name: str, file: Path, make_default: bool) -> None:
    """Create or replace form NAME from a JSON list of {"key": ..., "label": ...}."""
    try:
        questions = json.loads(file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="FILE") from exc
    if not isinstance(questions, list) or not all(isinstance(q, dict) for q in questions):
        raise click.BadParameter('a JSON list of {"key", "label"} objects', param_hint="FILE")
    with session_scope(common.session_factory()) as session:
        try:
            form = service.save_form(
                db_session=session,
                name=name,
                questions=questions,
                make_default=make_default,
                by=_person(),
            )
        except SurveyError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"form {form.name}: {len(form.questions)} questions")


# --- callbacks -----------------------------------------------------------------------------------


@click.group("callbacks")
def callbacks_group() -> None:
    """Daily callback lists: complaints, abandoned calls and a sample, assigned to agents."""


def _day(value: str | None, tz: str | None) -> date:
    if value is None:
        return (datetime.now(common.zone(tz)) - timedelta(days=1)).date()
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(
            f"{value!r} is not a date like 2026-11-22", param_hint="--day"
        ) from exc


@callbacks_group.command("build")
@click.option("--day", help="The day of the calls (YYYY-MM-DD) [yesterday].")
@click.option("--sample", type=int, default=10, show_default=True, help="Other calls sampled.")
@click.option(
    "--assign",
    type=click.Choice(["agent", "round-robin"]),
    default="agent",
    show_default=True,
    help="agent: the call's agent; round-robin: by load among the agents the call rang.",
)
@click.option("--tz", help="Time zone of the day [CALLSCOPE_TIMEZONE].")
def callbacks_build(day: str | None, sample: int, assign: str, tz: str | None) -> None:
    """Add the day's callback items (run daily; running it again adds nothing)."""
    settings = common.settings()
    which = _day(day, tz)
    with session_scope(common.session_factory()) as session:
        items = callbacks.build_callbacks(
            db_session=session,
            day=which,
            settings=settings,
            options=callbacks.CallbackOptions(sample=sample, assign=assign),
            tz=common.zone(tz).key,
        )
        rows = [callbacks.item_row(session, i) for i in items]
    counts = {r: sum(1 for x in rows if x["reason"] == r) for r in callbacks.REASONS}
    click.echo(
        f"{which}: {len(rows)} callbacks ({counts['complaint']} complaints, "
        f"{counts['abandoned']} abandoned, {counts['sample']} sampled), "
        f"{sum(1 for x in rows if x['status'] == 'done')} already done"
    )


@callbacks_group.command("list")
@click.option("--day", help="Only this day's list (YYYY-MM-DD).")
@click.option("--status", type=click.Choice(["open", "overdue", "done"]))
@click.option("--json", "as_json", is_flag=True)
def callbacks_list(day: str | None, status: str | None, as_json: bool) -> None:
    """Callback items by due time."""
    which = date.fromisoformat(day) if day else None
    with session_scope(common.session_factory()) as session:
        rows = [
            callbacks.item_row(session, i)
            for i in callbacks.list_callbacks(db_session=session, day=which, status=status)
        ]
    if as_json:
        click.echo(_json(rows))
        return
    for r in rows:
        click.echo(
            f"#{r['id']} {r['status']:7} due {r['due_at']:%Y-%m-%d %H:%M} {r['number']} "
            f"{r['agent'] or '(unassigned)'}: {r['detail']} (call {r['call_id']})"
        )


@callbacks_group.command("complete")
@click.argument("item_id", type=int)
@click.option("--note", required=True, help="What was done.")
def callbacks_complete(item_id: int, note: str) -> None:
    """Complete a callback item by hand (e.g. 'no answer after 3 tries')."""
    with session_scope(common.session_factory()) as session:
        try:
            item = callbacks.complete_item(
                db_session=session, item_id=item_id, by=_person(), note=note
            )
        except SurveyError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"callback #{item.id} done")


def register(cli: click.Group) -> None:
    """Add the survey and callback commands."""
    cli.add_command(surveys_group)
    cli.add_command(callbacks_group)
