"""The whole pipeline with real processes: simulator -> `callscope connect` -> broker ->
`callscope worker` -> transcripts in the database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from analytics.models import CallTheme, Flag
from cli.models import load_all_models
from core import migrate
from core.db import make_engine, make_sessionmaker, session_scope
from core.settings import Settings
from telephony.models import Call
from telephony.simulator import SimulatorOptions
from telephony.simulator_thread import SimulatorThread
from tests.conftest import PBX_MONITOR_DIR, REDIS_URL, TRACES, need_service
from transcription.models import Transcript

pytestmark = pytest.mark.slow

# 13 golden calls: 10 reached a person; 3 have empty (44-byte) recordings and must fail clearly
DONE, FAILED = 10, 3
# the complaint call the second agent answered: the worker's analysis finds these themes in it
COMPLAINT = "1795331915.1300"
COMPLAINT_THEMES = {"repeat_repair", "escalation"}


def base_env(db_url: str, broker: str, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        CALLSCOPE_DATABASE_URL=db_url,
        CALLSCOPE_BROKER_URL=broker,
        CALLSCOPE_TASK_QUEUE=f"callscope-test-{uuid.uuid4().hex[:8]}",
        CALLSCOPE_RECORDING_PATH_MAP=f"{PBX_MONITOR_DIR}={TRACES / 'recordings'}",
        CALLSCOPE_AMI_PORT=str(port),
        CALLSCOPE_AMI_USERNAME="callscope",
        CALLSCOPE_AMI_SECRET="callscope",
        CALLSCOPE_WORKER_CONCURRENCY="1",
    )
    return env


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", *args],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def statuses(factory: sessionmaker[Session]) -> dict[str, int]:
    with session_scope(factory) as session:
        rows = session.execute(
            select(Transcript.status, func.count(Transcript.id)).group_by(Transcript.status)
        ).all()
    return {status: count for status, count in rows}


def complaint_themes(factory: sessionmaker[Session]) -> set[str]:
    with session_scope(factory) as session:
        return set(
            session.scalars(
                select(CallTheme.theme)
                .join(Call, Call.id == CallTheme.call_pk)
                .where(Call.call_id == COMPLAINT)
            )
        )


def run_pipeline(db_url: str, broker: str, tmp_path: Path) -> sessionmaker[Session]:
    with SimulatorThread(TRACES / "golden.ami", SimulatorOptions(port=0, speed=0)) as sim:
        env = base_env(db_url, broker, sim.port)
        worker = start(["worker", "--loglevel", "INFO"], env, tmp_path / "worker.log")
        connector = start(["-v", "connect"], env, tmp_path / "connect.log")
        factory = make_sessionmaker(make_engine(db_url))
        try:
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                counts = statuses(factory)
                finished = counts.get("done", 0) + counts.get("failed", 0) >= DONE + FAILED
                if finished and complaint_themes(factory) >= COMPLAINT_THEMES:
                    break  # transcribed, and the analysis queued after it has run
                assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
                time.sleep(1)
        finally:
            stop(connector)
            stop(worker)
    logs = (tmp_path / "worker.log").read_text()[-3000:]
    assert statuses(factory) == {"done": DONE, "failed": FAILED}, logs
    return factory


def check(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as session:
        assert session.scalar(select(func.count(Call.id))) == 13
        failed = session.scalars(select(Transcript).where(Transcript.status == "failed")).all()
        assert all("empty" in (t.error or "") for t in failed)
        done = session.scalars(select(Transcript).where(Transcript.status == "done")).all()
        for transcript in done:
            speakers = {s.speaker for s in transcript.segments}
            assert speakers == {"customer", "agent"}, transcript.call_pk
            assert transcript.attempts == 1  # each call transcribed exactly once
        flagged = session.scalars(
            select(Flag.rule).join(Call, Call.id == Flag.call_pk).where(Call.call_id == COMPLAINT)
        ).all()
        assert "theme:escalation" in flagged


@pytest.mark.redis
def test_connector_to_transcripts_through_redis_and_a_real_worker(
    db_url: str, tmp_path: Path
) -> None:
    need_service("Redis", "127.0.0.1", 6379)
    check(run_pipeline(db_url, REDIS_URL, tmp_path))


@pytest.fixture
def embedded_db(tmp_path: Path) -> Iterator[str]:
    load_all_models()
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    migrate.upgrade(url)
    yield url


def test_connector_to_transcripts_on_the_embedded_broker(embedded_db: str, tmp_path: Path) -> None:
    broker = f"sqla+sqlite:///{tmp_path / 'broker.db'}"
    check(run_pipeline(embedded_db, broker, tmp_path))


def test_settings_reject_a_wrong_broker_value() -> None:
    with pytest.raises(Exception, match="CALLSCOPE_WORKER_CONCURRENCY"):
        from core.settings import get_settings

        os.environ["CALLSCOPE_WORKER_CONCURRENCY"] = "zero"
        get_settings.cache_clear()
        try:
            get_settings()
        finally:
            del os.environ["CALLSCOPE_WORKER_CONCURRENCY"]
            get_settings.cache_clear()
    assert Settings(_env_file=None).worker_concurrency == 1  # type: ignore[call-arg]
