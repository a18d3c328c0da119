"""Import survey answers taken elsewhere (a spreadsheet, another system) from CSV.

Columns (a header row is required; names are matched without case; extra columns are ignored):

    call_id          the judged call's Linkedid (required)
    answered_at      when the customer answered, ISO 8601 (optional; default: the call's end)
    form             the survey form's name (optional; default: the default form)
    <question key>   one column per question of the form, e.g. overall, reach_speed, ivr_menu,
                     agent_attitude, agent_resolution, outcome: a score 1-5 or empty
    would_recommend  yes/no, y/n, 1/0, true/false or empty
    comment          free text
    entered_by       who took the answer (optional)

A bad row (unknown call, a score outside 1-5, a date that is not ISO 8601, no score at all) is
skipped and reported with its line number and the reason; the good rows are kept. Each row is
taken once: importing the same file again adds nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics.errors import CallNotFound
from analytics.surveys.errors import SurveyInputError
from analytics.surveys.models import SurveyInput
from analytics.surveys.service import find_judged_call, get_form, submit_response
from core.settings import Settings

RESERVED = ("call_id", "answered_at", "form", "would_recommend", "comment", "entered_by")
_YES = {"yes", "y", "1", "true"}
_NO = {"no", "n", "0", "false"}


@dataclass(slots=True)
class ImportResult:
    """What an import did: rows stored, rows already imported, rows skipped with reasons."""

    stored: int = 0
    already: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)


def _row_digest(row: dict[str, str]) -> str:
    canonical = json.dumps({k: v.strip() for k, v in sorted(row.items()) if v}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _when(raw: str) -> datetime:
    try:
        when = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise SurveyInputError(f"answered_at {raw!r} is not an ISO 8601 date/time") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _recommend(raw: str) -> bool | None:
    value = raw.strip().lower()
    if not value:
        return None
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise SurveyInputError(f"would_recommend {raw!r} is not yes or no")


def import_csv_text(*, db_session: Session, text: str, settings: Settings) -> ImportResult:
    """Import the rows of a CSV text; each good row is one response (see the module doc)."""
    result = ImportResult()
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None:
        raise SurveyInputError("the CSV file is empty: it needs a header row with call_id")
    columns = {name: (name or "").strip().lower() for name in reader.fieldnames}
    if "call_id" not in columns.values():
        raise SurveyInputError("the CSV header has no call_id column")
    for row_raw in reader:
        line = reader.line_num
        row = {columns.get(k, k): (v or "") for k, v in row_raw.items() if k is not None}
        if not any(v.strip() for v in row.values()):
            continue  # a blank line
        digest = _row_digest(row)
        seen = db_session.scalar(select(SurveyInput).where(SurveyInput.digest == digest))
        if seen is not None:
            if seen.status == "accepted":
                result.already += 1
            else:
                result.skipped.append((line, seen.reason or "rejected before"))
            continue
        call_ref = row.get("call_id", "").strip() or None
        try:
            with db_session.begin_nested():
                response_id = _import_row(db_session, row, settings)
        except (SurveyInputError, CallNotFound) as exc:
            reason = str(exc)
            result.skipped.append((line, reason))
            db_session.add(
                SurveyInput(
                    source="csv",
                    digest=digest,
                    call_ref=call_ref,
                    status="rejected",
                    reason=f"line {line}: {reason}",
                    payload=row,
                )
            )
            db_session.flush()
            continue
        db_session.add(
            SurveyInput(
                source="csv",
                digest=digest,
                call_ref=call_ref,
                status="accepted",
                payload=row,
                response_id=response_id,
            )
        )
        db_session.flush()
        result.stored += 1
    return result


def _import_row(db_session: Session, row: dict[str, str], settings: Settings) -> int:
    call_ref = row.get("call_id", "").strip()
    if not call_ref:
        raise SurveyInputError("call_id is empty")
    call = find_judged_call(db_session=db_session, call_ref=call_ref)
    form = get_form(db_session=db_session, name=row.get("form", "").strip() or None)
    scores = {k: v for k, v in row.items() if k in form.question_keys()}
    if not any(v.strip() for v in scores.values()):
        raise SurveyInputError(f"no score given (columns {', '.join(form.question_keys())})")
    raw_when = row.get("answered_at", "").strip()
    response = submit_response(
        db_session=db_session,
        call_pk=call.id,
        scores=scores,
        settings=settings,
        source="csv",
        form_name=form.name,
        would_recommend=_recommend(row.get("would_recommend", "")),
        comment=row.get("comment"),
        entered_by=row.get("entered_by", "").strip() or None,
        answered_at=_when(raw_when) if raw_when else (call.ended_at or call.started_at),
    )
    return response.id


def import_csv(*, db_session: Session, path: Path, settings: Settings) -> ImportResult:
    """Import a CSV file (UTF-8, a BOM is fine)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SurveyInputError(f"{path} is not UTF-8 text ({exc.reason})") from exc
    return import_csv_text(db_session=db_session, text=text, settings=settings)
