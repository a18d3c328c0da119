"""`callscope report ...`: compliance figures as JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import click

from analytics import compliance
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
@click.option("--tz", help="IANA time zone of the hour/day/week buckets [default: UTC].")
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
    try:
        zone = compliance.zone_for(tz)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--tz") from exc
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
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
    data = compliance.report_dict(report)
    if fmt == "json":
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        click.echo(_csv(data), nl=False)


def _csv(data: dict[str, Any]) -> str:
    """The settings as `# key: value` lines, then the rows with a header."""
    out = io.StringIO()
    for key, value in data["settings"].items():
        out.write(f"# {key}: {'' if value is None else value}\n")
    writer = csv.DictWriter(out, fieldnames=list(compliance.ROW_FIELDS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(data["rows"])
    return out.getvalue()


def register(cli: click.Group) -> None:
    """Add the report commands."""
    cli.add_command(report_group)
