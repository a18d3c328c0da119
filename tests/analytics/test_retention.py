"""Retention per queue and "forget this caller": what goes, what stays, and the audit trail."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from analytics.models import CallTheme, Flag, FollowUp, ThemeMatchRow
from api.models import AuditEntry
from cli import common
from cli import retention as cli_retention
from core.db import session_scope
from core.settings import Settings, get_settings
from telephony.models import AmiEventLog, Call, CallAttempt, Queue
from tests.analytics.factories import add_transcript, make_call
from transcription.models import Transcript, TranscriptSegment, TranscriptWord

PBX = "/var/spool/asterisk/monitor"
NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=40)
RECENT = NOW - timedelta(days=5)


@pytest.fixture
def recordings(tmp_path: Path) -> Path:
    path = tmp_path / "monitor"
    path.mkdir()
    return path


@pytest.fixture
def callscope(
    settings: Settings, recordings: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[click.Group]:
    """The retention and privacy commands on the test's database, 30 days by default."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CALLSCOPE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CALLSCOPE_RETENTION_DAYS", "30")
    monkeypatch.setenv("CALLSCOPE_RECORDING_PATH_MAP", f"{PBX}={recordings}")
    get_settings.cache_clear()
    common.engine.cache_clear()

    @click.group()
    def group() -> None:
        pass

    cli_retention.register(group)
    yield group
    common.engine().dispose()
    common.engine.cache_clear()
    get_settings.cache_clear()


def _call(
    session: Session,
    settings: Settings,
    recordings: Path,
    *,
    started: datetime,
    queue: str,
    caller: str,
    dialed: str | None = None,
    direction: str = "inbound",
) -> int:
    """A call with everything that can hang off it: recording files and legs, a transcript
    with words, themes and matches, a flag, a follow-up and raw AMI events."""
    pk = make_call(
        session, settings, started=started, queue=queue, caller=caller, dialed=dialed,
        direction=direction,
    )  # fmt: skip
    call = session.get(Call, pk)
    assert call is not None
    for suffix, column in (("", "recording_mixed"), ("-in", "recording_customer"),
                           ("-out", "recording_agent")):  # fmt: skip
        (recordings / f"{call.call_id}{suffix}.wav").write_bytes(b"RIFF")
        setattr(call, column, f"{PBX}/{call.call_id}{suffix}.wav")
    transcript = add_transcript(
        session, pk, [("customer", 0.0, 2.0, "the heater leaks"), ("agent", 2.0, 3.0, "sorry")]
    )
    segment = transcript.segments[0]
    segment.words = [TranscriptWord(seq=0, start_s=0.0, end_s=0.5, text="the")]
    session.add_all(
        [
            CallTheme(
                call_pk=pk,
                transcript_id=transcript.id,
                theme_set_version=1,
                theme="defect",
                score=1.0,
                count=1,
            ),  # fmt: skip
            ThemeMatchRow(call_pk=pk, theme="defect", text="leaks", start=11, end=16, segment=0),
            Flag(call_pk=pk, rule="theme:defect", severity="medium", reason="defect"),
            FollowUp(call_pk=pk, number=caller, reason="complaint", due_at=started),
            AmiEventLog(
                digest=f"d-{call.call_id}",
                name="Newchannel",
                linkedid=call.call_id,
                received_ts=started.timestamp(),
                headers={"CallerIDNum": caller},
            ),  # fmt: skip
        ]
    )
    session.flush()
    return pk


@pytest.fixture
def calls(
    settings: Settings, session_factory: sessionmaker[Session], recordings: Path
) -> dict[str, int]:
    """Old and recent calls in 'hotline' (default 30 days) and 'sales' (kept 90 days)."""
    with session_scope(session_factory) as session:
        pks = {
            "hotline_old": _call(session, settings, recordings, started=OLD, queue="hotline",
                                 caller="13900000001"),
            "hotline_recent": _call(session, settings, recordings, started=RECENT,
                                    queue="hotline", caller="13900000002"),
            "sales_old": _call(session, settings, recordings, started=OLD, queue="sales",
                               caller="13900000003"),
            # a callback to 13900000002 from the agent: the same person's data
            "callback": _call(session, settings, recordings, started=RECENT, queue="sales",
                              caller="8001", dialed="13900000002", direction="outbound"),
        }  # fmt: skip
        sales = session.scalar(select(Queue).where(Queue.name == "sales"))
        assert sales is not None
        sales.retention_days = 90
    return pks


def _count(session: Session, model: type, *where: object) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _invoke(group: click.Group, args: list[str]) -> Result:
    result = CliRunner().invoke(group, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result


def _snapshot(session: Session) -> dict[str, int]:
    return {
        model.__tablename__: _count(session, model)
        for model in (
            Call, CallAttempt, Transcript, TranscriptSegment, TranscriptWord, CallTheme,
            ThemeMatchRow, Flag, FollowUp, AmiEventLog, AuditEntry,
        )
    }  # fmt: skip


def test_retention_deletes_old_recordings_and_transcripts_per_queue(
    callscope: click.Group,
    calls: dict[str, int],
    session_factory: sessionmaker[Session],
    recordings: Path,
) -> None:
    result = _invoke(callscope, ["retention", "run", "--by", "dpo@example.com"])
    assert "hotline: 30 days: 1 calls" in result.output
    assert "sales: 90 days: 0 calls" in result.output
    with session_scope(session_factory) as session:
        old = session.get(Call, calls["hotline_old"])
        assert old is not None
        # the call and its facts stay for the compliance figures; its recording is gone
        assert old.answered and old.recording_mixed is None and old.recording_agent is None
        assert _count(session, Transcript, Transcript.call_pk == old.id) == 0
        assert _count(session, ThemeMatchRow, ThemeMatchRow.call_pk == old.id) == 0
        assert _count(session, CallTheme, CallTheme.call_pk == old.id) == 0
        assert _count(session, TranscriptSegment) == 2 * 3
        assert _count(session, TranscriptWord) == 3
        for key in ("hotline_recent", "sales_old", "callback"):
            kept = session.get(Call, calls[key])
            assert kept is not None and kept.recording_mixed is not None
            assert _count(session, Transcript, Transcript.call_pk == kept.id) == 1
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "retention.run")
        ).one()
        assert entry.username == "dpo@example.com"
        assert entry.detail["rows"]["transcripts"] == 1
        assert entry.detail["files_removed"] == 3
        old_id = old.call_id
    left = sorted(p.name for p in recordings.iterdir())
    assert len(left) == 9 and not any(name.startswith(old_id) for name in left)

    # a second run has nothing left to do, and says so in the audit trail too
    result = _invoke(callscope, ["retention", "run"])
    assert "hotline: 30 days: 0 calls" in result.output
    with session_scope(session_factory) as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "retention.run").order_by(AuditEntry.id)
        ).all()
        assert len(entries) == 2 and entries[1].username.startswith("cli:")
        assert entries[1].detail["files_removed"] == 0


def test_queue_override_and_forever(
    callscope: click.Group, calls: dict[str, int], session_factory: sessionmaker[Session]
) -> None:
    _invoke(callscope, ["retention", "queue", "sales", "--days", "10"])
    _invoke(callscope, ["retention", "queue", "hotline", "--days", "0"])
    result = _invoke(callscope, ["retention", "run"])
    assert "hotline: kept forever" in result.output
    with session_scope(session_factory) as session:
        assert _count(session, Transcript) == 3
        assert session.get(Call, calls["sales_old"]).recording_mixed is None  # type: ignore[union-attr]
        assert _count(session, AuditEntry, AuditEntry.action == "retention.queue") == 2


def test_dry_runs_delete_nothing(
    callscope: click.Group,
    calls: dict[str, int],
    session_factory: sessionmaker[Session],
    recordings: Path,
) -> None:
    with session_scope(session_factory) as session:
        before = _snapshot(session)
    files = sorted(recordings.iterdir())
    result = _invoke(callscope, ["retention", "run", "--dry-run"])
    assert "hotline: 30 days: 1 calls, 3 recording files" in result.output
    result = _invoke(callscope, ["privacy", "forget", "--number", "13900000002", "--dry-run"])
    assert "2 calls, 1 follow-ups and 6 recording files about 13900000002" in result.output
    with session_scope(session_factory) as session:
        assert _snapshot(session) == before
        assert _count(session, Call, Call.recording_mixed.is_(None)) == 0
    assert sorted(recordings.iterdir()) == files


def test_forget_removes_every_trace_of_the_caller(
    callscope: click.Group,
    calls: dict[str, int],
    session_factory: sessionmaker[Session],
    recordings: Path,
) -> None:
    number = "13900000002"
    with session_scope(session_factory) as session:
        gone = [session.get(Call, calls[k]) for k in ("hotline_recent", "callback")]
        linkedids = [c.call_id for c in gone if c is not None]
        before = _snapshot(session)
    # without --yes and without a terminal it refuses
    refused = CliRunner().invoke(callscope, ["privacy", "forget", "--number", number])
    assert refused.exit_code != 0 and "--yes" in refused.output

    result = _invoke(callscope, ["privacy", "forget", "--number", number, "--yes"])
    assert "deleted" in result.output
    with session_scope(session_factory) as session:
        assert _count(session, Call, Call.caller_number == number) == 0
        assert _count(session, Call, Call.dialed_number == number) == 0
        assert _count(session, Call, Call.id.in_([calls["hotline_recent"], calls["callback"]])) == 0
        assert _count(session, FollowUp, FollowUp.number == number) == 0
        assert _count(session, AmiEventLog, AmiEventLog.linkedid.in_(linkedids)) == 0
        after = _snapshot(session)
        # exactly two calls' worth of rows went, everything of the other callers stayed
        for table, n in {
            "calls": 2, "call_attempts": 2, "transcripts": 2, "transcript_segments": 4,
            "transcript_words": 2, "call_themes": 2, "theme_matches": 2, "flags": 2,
            "followups": 2, "ami_events": 2,
        }.items():  # fmt: skip
            assert before[table] - after[table] == n, table
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "privacy.forget")
        ).one()
        assert number not in str(entry.detail) and number not in (entry.object_id or "")
        assert entry.detail["calls"] == 2 and entry.detail["files_removed"] == 6
    left = [p.name for p in recordings.iterdir()]
    assert len(left) == 6 and not any(n.startswith(tuple(linkedids)) for n in left)
