"""Scale-out proof: two worker processes on Redis and PostgreSQL share a backlog; one is
killed mid-task; every call is still transcribed exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cli.ops import link_recordings
from core.db import make_engine, make_sessionmaker, session_scope
from core.settings import Settings
from telephony.connector import EventWriter
from telephony.events import AmiEvent, is_tracked
from telephony.trace import read_trace
from telephony.tracegen import DayOptions, make_trace_day
from tests.conftest import PBX_MONITOR_DIR, REDIS_URL, TRACES, need_service
from transcription import service
from transcription.models import Transcript, TranscriptSegment

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


def start_worker(name: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", "worker", "--name", name, "--concurrency", "1"],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def test_two_workers_share_a_backlog_and_survive_one_being_killed(
    pg_url: str, tmp_path: Path
) -> None:
    need_service("Redis", "127.0.0.1", 6379)
    recordings = tmp_path / "recordings"
    day = make_trace_day(read_trace(TRACES / "golden.ami"), DayOptions(calls=24, seed=3))
    link_recordings(day.manifest, TRACES / "recordings", recordings)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=pg_url, recording_dir=PBX_MONITOR_DIR
    )
    factory = make_sessionmaker(make_engine(pg_url))
    writer = EventWriter(factory, settings)
    writer.start()
    trace = tmp_path / "day.ami"
    day.write(trace, tmp_path / "day.json")
    for packet in read_trace(trace):
        headers = dict(packet.headers)
        if is_tracked(packet.name, headers):
            writer.put(AmiEvent(packet.name, headers, time.time()))
    writer.stop()
    with session_scope(factory) as session:
        backlog = [
            t.id
            for t in service.calls_to_transcribe(
                db_session=session, call_pks=None, model="bundled:tiny.en"
            )
        ]
    assert len(backlog) >= 24

    env = dict(os.environ)
    env.update(
        CALLSCOPE_DATABASE_URL=pg_url,
        CALLSCOPE_BROKER_URL=REDIS_URL,
        CALLSCOPE_TASK_QUEUE=f"callscope-scale-{uuid.uuid4().hex[:8]}",
        CALLSCOPE_BROKER_VISIBILITY_TIMEOUT_S="8",
        CALLSCOPE_RECORDING_PATH_MAP=f"{PBX_MONITOR_DIR}={recordings}",
        CALLSCOPE_WORKER_CONCURRENCY="1",
        CALLSCOPE_WORKER_THREADS="1",
    )
    first = start_worker("first", env, tmp_path / "first.log")
    second = start_worker("second", env, tmp_path / "second.log")
    try:
        from celery import Celery

        app = Celery(broker=REDIS_URL)
        for transcript_id in backlog:
            app.send_task(
                "callscope.transcribe", args=[transcript_id], queue=env["CALLSCOPE_TASK_QUEUE"]
            )
        # kill the first worker while it is in the middle of a transcription
        deadline = time.monotonic() + 120
        victim = None
        while time.monotonic() < deadline and victim is None:
            with session_scope(factory) as session:
                victim = session.scalar(
                    select(Transcript.id).where(
                        Transcript.status == "running", Transcript.worker.like("first@%")
                    )
                )
            time.sleep(0.05)
        assert victim is not None, (tmp_path / "first.log").read_text()[-2000:]
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
        # the second worker finishes the backlog, including the killed task after the
        # visibility timeout hands it over
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            with session_scope(factory) as session:
                left = session.scalar(
                    select(func.count(Transcript.id)).where(
                        Transcript.status.in_(("pending", "running"))
                    )
                )
            if left == 0:
                break
            assert second.poll() is None, (tmp_path / "second.log").read_text()[-2000:]
            time.sleep(1)
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(30)
    with session_scope(factory) as session:
        rows = session.scalars(select(Transcript)).all()
        assert len(rows) == len(backlog)  # one transcript per call, never two
        assert {t.status for t in rows} <= {"done", "failed"}
        assert all("empty" in (t.error or "") for t in rows if t.status == "failed")
        killed = session.get(Transcript, victim)
        assert killed is not None and killed.status == "done"
        assert killed.worker is not None and killed.worker.startswith("second@")
        assert killed.attempts == 2
        # no segment was written twice
        segments = session.execute(
            select(TranscriptSegment.transcript_id, func.count(TranscriptSegment.id))
            .group_by(TranscriptSegment.transcript_id, TranscriptSegment.seq)
            .having(func.count(TranscriptSegment.id) > 1)
        ).all()
        assert segments == []
