"""CSV downloads of the API's lists: formula-safe cells, and an audit entry for each export."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import Response
from sqlalchemy.orm import Session

from api import service
from api.models import User
from api.service import Client

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "JSON (format=json), or every matching row as CSV (format=csv).",
    }
}


def safe_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run as a formula; lists joined with '; '."""
    if isinstance(value, list | tuple):
        value = "; ".join(str(v) for v in value)
    # names, notes and comments are typed by people: never let a spreadsheet run one
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_text(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str],
    *,
    comments: Mapping[str, Any] | None = None,
) -> str:
    """Rows as CSV with a header; `comments` first as `# key: value` lines (report settings)."""
    out = io.StringIO()
    for key, value in (comments or {}).items():
        out.write(f"# {key}: {'' if value is None else value}\n")
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: safe_cell(v) for k, v in row.items()})
    return out.getvalue()


def csv_download(
    *,
    db_session: Session,
    user: User,
    client: Client,
    text: str,
    filename: str,
    action: str,
    detail: dict[str, Any],
) -> Response:
    """The CSV as an attachment, written to the audit trail like the calls export."""
    service.audit(
        db_session=db_session,
        user=user,
        action=action,
        object_type="export",
        object_id=filename,
        detail=detail,
        client=client,
    )
    return Response(
        content=text,
        media_type=CSV_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
