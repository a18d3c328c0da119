"""queue_log back-fill: the same golden calls, merged with AMI calls, following rotation."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from core.settings import Settings
from telephony import service
from telephony.connector import EventWriter, import_queue_log
from telephony.models import Call
from telephony.queue_log import (
    FollowPosition,
    QueueLogError,
    QueueLogFollower,
    QueueLogParser,
    parse_file,
    parse_line,
)
from telephony.tracker import CallFacts
from tests.conftest import TRACES
from tests.telephony.golden import assert_call_matches, expected_calls, read_events

QUEUE_LOG = TRACES / "golden.queue_log"


def queue_expectations(truth: Any) -> list[tuple[str, str, Any]]:
    """Golden calls that went through a queue (direct calls are not in queue_log)."""
    out = []
    for linkedid, caller, exp in expected_calls(truth):
        if exp.queue is None:
            continue
        if exp.scenario == "ringall-fastest-wins":
            # queue_log records no RINGCANCELED for the member that lost a ringall race
            exp = type(exp)(**{**exp.__dict__, "attempts": [("Park Jiwoo", 2, "answered")]})
        out.append((linkedid, caller, exp))
    return out


def exported(session_factory: sessionmaker[Session]) -> dict[str, dict[str, Any]]:
    with session_scope(session_factory) as session:
        return {
            row["uniqueid"]: row
            for row in map(service.export_row, service.list_calls(db_session=session))
        }


def test_parse_line_reports_what_is_wrong() -> None:
    assert parse_line("1795331836|1.2|hotline|NONE|ENTERQUEUE||139|1").event == "ENTERQUEUE"
    with pytest.raises(QueueLogError, match="5 '\\|'-separated fields"):
        parse_line("garbage")
    with pytest.raises(QueueLogError, match="not epoch seconds"):
        parse_line("yesterday|1.2|hotline|NONE|ENTERQUEUE")


def test_golden_queue_log_gives_the_golden_queue_calls(
    settings: Settings, session_factory: sessionmaker[Session], truth: Any
) -> None:
    stored, kept, errors = import_queue_log(QUEUE_LOG, session_factory, settings)
    assert (stored, kept, errors) == (11, 0, [])
    rows = exported(session_factory)
    expected = queue_expectations(truth)
    assert len(rows) == len(expected) == 11
    for linkedid, caller, exp in expected:
        uid = f"{linkedid.rsplit('.', 1)[0]}.{int(linkedid.rsplit('.', 1)[1]) + 1}"
        assert rows[uid]["source"] == "queue_log"
        assert_call_matches(rows[uid], exp, caller, linkedid)


def test_import_twice_and_after_ami_never_duplicates(
    settings: Settings, session_factory: sessionmaker[Session], truth: Any
) -> None:
    writer = EventWriter(session_factory, settings)
    writer.start()
    for event in read_events(TRACES / "golden.ami"):
        writer.put(event)
    writer.stop()
    assert writer.stats.calls_written == 13
    stored, kept, _ = import_queue_log(QUEUE_LOG, session_factory, settings)
    assert (stored, kept) == (0, 11)  # AMI already knew them all, and knew more
    import_queue_log(QUEUE_LOG, session_factory, settings)
    with session_scope(session_factory) as session:
        assert session.scalar(select(func.count(Call.id))) == 13
        sources = set(session.scalars(select(Call.source)))
    assert sources == {"ami"}
    rows = exported(session_factory)
    for linkedid, caller, exp in expected_calls(truth):
        uid = f"{linkedid.rsplit('.', 1)[0]}.{int(linkedid.rsplit('.', 1)[1]) + 1}"
        assert rows[uid]["call_id"] == linkedid
        assert_call_matches(rows[uid], exp, caller, linkedid)


def test_queue_log_first_then_ami_takes_over_with_the_linkedid(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    import_queue_log(QUEUE_LOG, session_factory, settings)
    writer = EventWriter(session_factory, settings)
    writer.start()
    for event in read_events(TRACES / "golden.ami"):
        writer.put(event)
    writer.stop()
    with session_scope(session_factory) as session:
        assert session.scalar(select(func.count(Call.id))) == 13
        call = session.scalar(select(Call).where(Call.uniqueid == "1795331836.1289"))
        assert call is not None
        assert call.call_id == "1795331836.1288"
        assert call.source == "ami"


def test_bad_lines_are_skipped_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "queue_log"
    lines = QUEUE_LOG.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:4] + ["this is not a queue_log line\n"] + lines[4:]))
    errors: list[str] = []
    facts = parse_file(path, QueueLogParser(), on_error=lambda n, _l, why: errors.append(f"{n}"))
    assert errors == ["5"]
    assert len(facts) == 11


def test_follower_catches_up_follows_and_survives_rotation(tmp_path: Path) -> None:
    path = tmp_path / "queue_log"
    lines = QUEUE_LOG.read_text().splitlines(keepends=True)
    got: list[CallFacts] = []
    positions: list[FollowPosition] = []

    def on_calls(facts: list[CallFacts], position: FollowPosition) -> None:
        got.extend(facts)
        positions.append(position)

    path.write_text("".join(lines[:8]))
    follower = QueueLogFollower(path, QueueLogParser(), on_calls)
    follower.poll_once()
    assert [f.uniqueid for f in got] == ["1795331836.1289", "1795331857.1293"]
    # a half-written line waits for its end
    with path.open("a") as fh:
        fh.write(lines[8])
        fh.write(lines[9][:10])
    follower.poll_once()
    assert len(got) == 2
    with path.open("a") as fh:
        fh.write(lines[9][10:])
        fh.writelines(lines[10:20])
    follower.poll_once()
    done_before_rotation = len(got)
    # logrotate: the old file moves away (with a last line written just before), a new one starts
    with path.open("a") as fh:
        fh.writelines(lines[20:22])
    os.rename(path, tmp_path / "queue_log.1")
    path.write_text("".join(lines[22:]))
    follower.poll_once()
    follower.poll_once()
    follower.close()
    assert len({f.uniqueid for f in got}) == 11
    assert len(got) >= done_before_rotation


def test_follower_restarts_from_its_saved_position_without_losing_calls(tmp_path: Path) -> None:
    path = tmp_path / "queue_log"
    lines = QUEUE_LOG.read_text().splitlines(keepends=True)
    # stop in the middle of a call: ENTERQUEUE seen, CONNECT not yet
    path.write_text("".join(lines[:5]))
    first: list[CallFacts] = []
    saved: list[FollowPosition] = []
    follower = QueueLogFollower(
        path, QueueLogParser(), lambda f, p: (first.extend(f), saved.append(p))
    )
    follower.poll_once()
    follower.close()
    assert [f.uniqueid for f in first] == ["1795331836.1289"]
    with path.open("a") as fh:
        fh.writelines(lines[5:])
    again: list[CallFacts] = []
    restarted = QueueLogFollower(
        path, QueueLogParser(), lambda f, p: again.extend(f), start=saved[-1]
    )
    restarted.poll_once()
    restarted.close()
    uids = [f.uniqueid for f in again]
    assert "1795331857.1293" in uids  # the call in flight at the stop is not lost
    assert "1795331836.1289" not in uids  # nothing before the saved position is read again
    assert len(uids) == 10


def test_follower_thread_stops_on_request(tmp_path: Path) -> None:
    path = tmp_path / "queue_log"
    path.write_text(QUEUE_LOG.read_text())
    got: list[CallFacts] = []
    follower = QueueLogFollower(path, QueueLogParser(), lambda f, p: got.extend(f), poll_s=0.05)
    stop = threading.Event()
    thread = threading.Thread(target=follower.run, args=(stop,))
    thread.start()
    stop.set()
    thread.join(5)
    assert not thread.is_alive()
    assert len(got) == 11
