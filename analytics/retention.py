"""Retention and privacy: delete old recordings and transcripts, or everything about a caller.

Both jobs work in two steps so a dry run shows exactly what a real run deletes: a plan
(`plan_retention`, `plan_forget`: read only), then `apply_retention` / `apply_forget`, which
delete the recording files first and then the rows (flush only; the caller commits and writes
the audit entry). A run that fails half way is safe to repeat: missing files are skipped.

Rows are deleted by following the foreign keys to the calls and transcripts tables, so the
tables other packages hang off a call (flags, follow-ups, review items, scorecards...) go too.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Column, ColumnElement, Table, delete, exists, or_, select, update
from sqlalchemy.orm import Session

from analytics.errors import AnalyticsError
from analytics.models import CallTheme, FollowUp, ThemeMatchRow
from core.db import Base, utcnow
from core.settings import Settings
from telephony.models import AmiEventLog, Call, Queue
from transcription.audio import remap_recording_path
from transcription.models import Transcript

CHUNK = 500  # ids per IN (...): well under SQLite's parameter limit


@dataclass(slots=True)
class QueueRetention:
    """What retention does in one queue (None: calls without a queue)."""

    queue: str | None
    days: int  # 0: kept forever
    cutoff: datetime | None
    call_pks: list[int] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


@dataclass(slots=True)
class RetentionPlan:
    """Calls whose recordings and transcripts are past their queue's retention."""

    now: datetime
    queues: list[QueueRetention]

    @property
    def call_pks(self) -> list[int]:
        """Every call concerned, all queues together."""
        return [pk for q in self.queues for pk in q.call_pks]

    @property
    def files(self) -> list[Path]:
        """Every recording file concerned (existing or not)."""
        return [path for q in self.queues for path in q.files]


@dataclass(slots=True)
class ForgetPlan:
    """Everything stored about one caller's number."""

    number: str
    call_pks: list[int]
    linkedids: list[str]
    files: list[Path]
    followup_ids: list[int]

    @property
    def number_digest(self) -> str:
        """SHA-256 of the number: lets the audit trail prove a request was done, without it."""
        return number_digest(self.number)


@dataclass(slots=True)
class FileRemoval:
    """What happened to the recording files."""

    removed: list[Path] = field(default_factory=list)
    missing: list[Path] = field(default_factory=list)


@dataclass(slots=True)
class Deleted:
    """Rows deleted (per table) and files removed by one run."""

    rows: Counter[str] = field(default_factory=Counter)
    files: FileRemoval = field(default_factory=FileRemoval)

    def summary(self) -> dict[str, Any]:
        """JSON-ready counts, for the audit entry and the command's output."""
        return {
            "rows": dict(sorted(self.rows.items())),
            "files_removed": len(self.files.removed),
            "files_missing": len(self.files.missing),
        }


class RetentionError(AnalyticsError):
    """A recording file could not be deleted (nothing in the database was changed yet)."""


def number_digest(number: str) -> str:
    """The SHA-256 of a caller number as stored in the audit trail."""
    return hashlib.sha256(number.strip().encode("utf-8")).hexdigest()


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _recording_files(calls: Iterable[Call], settings: Settings) -> list[Path]:
    prefixes = settings.recording_prefixes()
    paths: list[Path] = []
    for call in calls:
        for pbx in (call.recording_mixed, call.recording_customer, call.recording_agent):
            if pbx:
                paths.append(remap_recording_path(pbx, prefixes))
    return paths


def _has_recording_or_transcript() -> ColumnElement[bool]:
    return or_(
        Call.recording_mixed.is_not(None),
        Call.recording_customer.is_not(None),
        Call.recording_agent.is_not(None),
        exists().where(Transcript.call_pk == Call.id),
        exists().where(ThemeMatchRow.call_pk == Call.id),
    )


def plan_retention(
    *, db_session: Session, settings: Settings, now: datetime | None = None
) -> RetentionPlan:
    """Per queue, the calls older than its retention that still have recordings or transcripts."""
    now = now or utcnow()
    default = settings.retention_days
    policies: list[tuple[int | None, str | None, int]] = [
        (q.id, q.name, default if q.retention_days is None else q.retention_days)
        for q in db_session.scalars(select(Queue).order_by(Queue.name))
    ]
    policies.append((None, None, settings.retention_days))
    queues: list[QueueRetention] = []
    for queue_id, name, days in policies:
        if days <= 0:
            queues.append(QueueRetention(queue=name, days=0, cutoff=None))
            continue
        cutoff = now - timedelta(days=days)
        in_queue = Call.queue_id == queue_id if queue_id is not None else Call.queue_id.is_(None)
        calls = list(
            db_session.scalars(
                select(Call)
                .where(in_queue, Call.started_at < cutoff, _has_recording_or_transcript())
                .order_by(Call.id)
            )
        )
        queues.append(
            QueueRetention(
                queue=name,
                days=days,
                cutoff=cutoff,
                call_pks=[c.id for c in calls],
                files=_recording_files(calls, settings),
            )
        )
    return RetentionPlan(now=now, queues=queues)


def plan_forget(*, db_session: Session, settings: Settings, number: str) -> ForgetPlan:
    """The calls from (or back to) `number`, their recordings and follow-ups."""
    number = number.strip()
    calls = list(
        db_session.scalars(
            select(Call)
            .where(or_(Call.caller_number == number, Call.dialed_number == number))
            .order_by(Call.id)
        )
    )
    followups = list(db_session.scalars(select(FollowUp.id).where(FollowUp.number == number)))
    return ForgetPlan(
        number=number,
        call_pks=[c.id for c in calls],
        linkedids=[c.call_id for c in calls],
        files=_recording_files(calls, settings),
        followup_ids=followups,
    )


def remove_files(paths: Iterable[Path]) -> FileRemoval:
    """Delete recording files (a symlink is removed, never its target); missing ones are fine."""
    result = FileRemoval()
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            result.missing.append(path)
        except OSError as exc:
            raise RetentionError(
                f"cannot delete the recording {path}: {exc.strerror}; give this user write "
                "access to the recordings directory and run the command again"
            ) from exc
        else:
            result.removed.append(path)
    return result


def _referencing(table: Table) -> list[tuple[Table, Column[Any], Column[Any], str | None]]:
    """(child table, child column, referenced column of `table`, ondelete) for each FK."""
    found = []
    for child in Base.metadata.sorted_tables:
        for fk in child.foreign_keys:
            if fk.column.table is table:
                assert fk.parent.table is child
                found.append((child, fk.parent, fk.column, fk.ondelete))
    return found


def _delete_where(
    session: Session, table: Table, column: Column[Any], values: Sequence[Any], rows: Counter[str]
) -> None:
    """Delete the rows of `table` whose `column` is in `values`, and what hangs off them."""
    if not values:
        return
    for child, child_column, parent_column, ondelete in _referencing(table):
        if child is table:
            continue
        for chunk in _chunks(values):
            if parent_column is column:
                keys: Sequence[Any] = list(chunk)
            else:
                keys = list(session.scalars(select(parent_column).where(column.in_(chunk))))
            if not keys:
                continue
            if (ondelete or "").upper() == "SET NULL":
                session.execute(
                    update(child).where(child_column.in_(keys)).values({child_column.name: None})
                )
            else:
                _delete_where(session, child, child_column, keys, rows)
    for chunk in _chunks(values):
        result = session.execute(delete(table).where(column.in_(chunk)))
        rows[table.name] += int(getattr(result, "rowcount", 0) or 0)


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def apply_retention(*, db_session: Session, plan: RetentionPlan) -> Deleted:
    """Delete the planned recordings and transcripts (themes and matches with them); flush.

    The calls stay, with their facts for the compliance figures, and no longer point at a
    recording (so nothing queues them for transcription again).
    """
    done = Deleted()
    pks = plan.call_pks
    done.files = remove_files(plan.files)
    transcripts = _table(Transcript)
    _delete_where(db_session, transcripts, transcripts.c.call_pk, pks, done.rows)
    for model in (ThemeMatchRow, CallTheme):
        table = _table(model)
        _delete_where(db_session, table, table.c.call_pk, pks, done.rows)
    for chunk in _chunks(pks):
        db_session.execute(
            update(Call)
            .where(Call.id.in_(chunk))
            .values(recording_mixed=None, recording_customer=None, recording_agent=None)
        )
    db_session.flush()
    db_session.expire_all()
    return done


def apply_forget(*, db_session: Session, plan: ForgetPlan) -> Deleted:
    """Delete the caller's calls with everything hanging off them, the raw AMI events of
    those calls, their follow-ups and recordings; flush."""
    done = Deleted()
    done.files = remove_files(plan.files)
    followups = _table(FollowUp)
    _delete_where(db_session, followups, followups.c.id, plan.followup_ids, done.rows)
    events = _table(AmiEventLog)
    _delete_where(db_session, events, events.c.linkedid, plan.linkedids, done.rows)
    calls = _table(Call)
    _delete_where(db_session, calls, calls.c.id, plan.call_pks, done.rows)
    db_session.flush()
    db_session.expire_all()
    return done


__all__ = [
    "Deleted",
    "FileRemoval",
    "ForgetPlan",
    "RetentionError",
    "RetentionPlan",
    "apply_forget",
    "apply_retention",
    "number_digest",
    "plan_forget",
    "plan_retention",
    "remove_files",
]
