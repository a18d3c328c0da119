"""`callscope report ...`: compliance figures as JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import click

from analytics import compliance, reports
from cli import common
from core.db import session_scope


@click.group("report")
def report_group() -> None:
    """Reports on stored calls."""


def _when(value: str | None, option: str, zone: ZoneInfo) -> datetime | None:
    """An option's time; a value without a zone is taken in the report's --tz."""
    when = common.parse_when(value, option)
    if when is None or value is None:
        return when
    if datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is None:
        return when.replace(tzinfo=zone).astimezone(UTC)
    return when


@report_group.command("compliance")
@click.option(
    "--by",
    type=click.Choice(list(compliance.GROUPINGS)),
    default="queue",
    show_default=True,
    help="One row per queue, answering agent, hour, day or week (Monday).",
)
@click.option("--since", help="Calls started at or after (ISO 8601; no zone = in --tz).")
@click.option("--until", help="Calls started before (ISO 8601; no zone = in --tz).")
@click.option("--queue", help="Only this queue.")
@click.option("--tz", help="Time zone of the hour/day/week buckets [CALLSCOPE_TIMEZONE].")
@click.option(
    "--short-abandon-s",
    type=click.FloatRange(min=0),
    default=None,
    help="Abandons that waited less are short: left out of abandon rate and inclusive SL "
    "[CALLSCOPE_SHORT_ABANDON_S, default 5].",
)
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
def compliance_cmd(
    by: str,
    since: str | None,
    until: str | None,
    queue: str | None,
    tz: str | None,
    short_abandon_s: float | None,
    fmt: str,
) -> None:
    """Answer-target compliance: offered, answered, abandoned, service level, ASA, talk time."""
    zone = common.zone(tz)
    start = _when(since, "--since", zone)
    end = _when(until, "--until", zone)
    with session_scope(common.session_factory()) as session:
        try:
            report = compliance.compliance_report(
                db_session=session,
                settings=common.settings(),
                by=by,
                since=start,
                until=end,
                queue=queue,
                tz=zone.key,
                short_abandon_s=(
                    short_abandon_s
                    if short_abandon_s is not None
                    else common.settings().short_abandon_s
                ),
            )
            data = reports.compliance_overview(db_session=session, report=report)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
    if fmt == "json":
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        click.echo(_csv(data), nl=False)


def _csv(data: dict[str, Any]) -> str:
    """The settings as `# key: value` lines, then the rows with a header."""
    out = io.StringIO()
    for key, value in data["settings"].items():
        out.write(f"# {key}: {'' if value is None else value}\n")
    fields = list(data["rows"][0]) if data["rows"] else list(compliance.ROW_FIELDS)
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(data["rows"])
    return out.getvalue()


@report_group.command("themes")
@click.option(
    "--since", required=True, help="Calls started at or after (ISO 8601; no zone = --tz)."
)
@click.option("--until", required=True, help="Calls started before (ISO 8601; no zone = --tz).")
@click.option("--queue", help="Only this queue.")
@click.option("--tz", help="IANA time zone of --since/--until without a zone [CALLSCOPE_TIMEZONE].")
@click.option("--top-phrases", type=click.IntRange(min=0), default=5, show_default=True)
def themes_cmd(since: str, until: str, queue: str | None, tz: str | None, top_phrases: int) -> None:
    """Complaint themes of a period against the equally long period before it, as JSON."""
    zone = common.zone(tz)
    start, end = _when(since, "--since", zone), _when(until, "--until", zone)
    assert start is not None and end is not None
    with session_scope(common.session_factory()) as session:
        try:
            report = reports.theme_report(
                db_session=session, since=start, until=end, queue=queue, top_phrases=top_phrases
            )
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
    click.echo(json.dumps(reports.theme_report_dict(report), ensure_ascii=False, indent=2))


def register(cli: click.Group) -> None:
    """Add the report commands."""
    cli.add_command(report_group)
