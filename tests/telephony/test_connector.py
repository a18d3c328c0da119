"""The real connector over TCP against the PBX simulator replaying the real capture."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from core.settings import Settings
from telephony import service
from telephony.connector import Connector, rebuild_calls
from telephony.errors import AmiAuthError
from telephony.events import is_tracked
from telephony.models import AmiEventLog, Call
from telephony.simulator import Faults, SimulatorOptions
from telephony.simulator_thread import SimulatorThread
from telephony.trace import read_trace
from tests.conftest import TRACES
from tests.telephony.golden import assert_call_matches, expected_calls

GOLDEN = read_trace(TRACES / "golden.ami")


def index_of(name: str, linkedid: str) -> int:
    """Position in the capture of the first event `name` of call `linkedid`."""
    return next(i for i, p in enumerate(GOLDEN) if p.name == name and p.get("Linkedid") == linkedid)


@pytest.fixture
def simulator() -> Iterator[SimulatorThread]:
    sim = SimulatorThread(GOLDEN, SimulatorOptions(port=0, speed=0))
    sim.start()
    yield sim
    sim.stop()


def connector_for(
    settings: Settings, factory: sessionmaker[Session], port: int, **overrides: Any
) -> Connector:
    merged = settings.model_copy(
        update={
            "ami_port": port,
            "ami_username": "callscope",
            "ami_secret": "callscope",
            "ami_ping_interval_s": 0.2,
            **overrides,
        }
    )
    return Connector(merged, factory)


def run_in_thread(connector: Connector) -> threading.Thread:
    errors: list[BaseException] = []

    def target() -> None:
        try:
            connector.run()
        except BaseException as exc:  # surfaced by the test through the thread's result
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.errors = errors  # type: ignore[attr-defined]
    thread.start()
    return thread


def wait_for(predicate: Any, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def call_count(factory: sessionmaker[Session]) -> int:
    with session_scope(factory) as session:
        return int(session.scalar(select(func.count(Call.id))) or 0)


def rows(factory: sessionmaker[Session]) -> dict[str, dict[str, Any]]:
    with session_scope(factory) as session:
        return {
            r["call_id"]: r for r in map(service.export_row, service.list_calls(db_session=session))
        }


def finish(connector: Connector, thread: threading.Thread) -> None:
    connector.stop()
    thread.join(15)
    assert not thread.is_alive()
    assert not thread.errors  # type: ignore[attr-defined]


def check_golden(factory: sessionmaker[Session], truth: Any) -> None:
    stored = rows(factory)
    expected = expected_calls(truth)
    assert sorted(stored) == sorted(linkedid for linkedid, _, _ in expected)
    for linkedid, caller, exp in expected:
        assert stored[linkedid]["source"] == "ami"
        assert_call_matches(stored[linkedid], exp, caller, linkedid)


def test_golden_capture_over_tcp_gives_every_call_right(
    simulator: SimulatorThread,
    settings: Settings,
    session_factory: sessionmaker[Session],
    truth: Any,
) -> None:
    connector = connector_for(settings, session_factory, simulator.port)
    thread = run_in_thread(connector)
    assert simulator.wait_done(30)
    wait_for(lambda: call_count(session_factory) == 13, what="13 calls")
    finish(connector, thread)
    check_golden(session_factory, truth)
    assert connector.state.connects == 1


def test_link_drops_mid_call_and_comes_back_without_losing_or_doubling(
    simulator: SimulatorThread,
    settings: Settings,
    session_factory: sessionmaker[Session],
    truth: Any,
) -> None:
    # hold the PBX in the middle of "ring-no-answer-then-next" (Alice ringing) and cut the link
    cut = index_of("AgentRingNoAnswer", "1795331915.1300")
    simulator.pause_at(cut)
    connector = connector_for(settings, session_factory, simulator.port)
    thread = run_in_thread(connector)
    assert simulator.wait_paused(30)
    wait_for(lambda: call_count(session_factory) == 3, what="the first three calls")
    simulator.drop_all()
    wait_for(lambda: connector.state.connects >= 2, what="the reconnect")
    # the resync saw the call still ringing: it must not be finished early
    assert call_count(session_factory) == 3
    simulator.resume()
    assert simulator.wait_done(30)
    wait_for(lambda: call_count(session_factory) == 13, what="13 calls")
    finish(connector, thread)
    check_golden(session_factory, truth)


def test_same_stream_twice_never_makes_two_calls(
    settings: Settings, session_factory: sessionmaker[Session], truth: Any
) -> None:
    options = SimulatorOptions(port=0, speed=0, replay_per_client=True)
    with SimulatorThread(GOLDEN, options) as sim:
        connector = connector_for(settings, session_factory, sim.port)
        thread = run_in_thread(connector)
        assert sim.wait_done(30)
        wait_for(lambda: call_count(session_factory) == 13, what="13 calls")
        first = connector.writer.stats.events
        # the link drops; the new session replays the whole capture again
        sim.server.replay_done.clear()
        sim.drop_all()
        wait_for(lambda: connector.state.connects >= 2, what="the reconnect")
        assert sim.wait_done(30)
        tracked = sum(is_tracked(p.name, dict(p.headers)) for p in GOLDEN)
        wait_for(lambda: connector.writer.stats.duplicates >= tracked, what="the replay")
        finish(connector, thread)
    assert call_count(session_factory) == 13
    with session_scope(session_factory) as session:
        logged = session.scalar(select(func.count(AmiEventLog.id)))
    # only the second session's own resync answers (QueueMember, CoreShowChannelsComplete) are new
    assert first <= logged < first + 10
    check_golden(session_factory, truth)


def test_malformed_packets_are_skipped_and_nothing_is_lost(
    settings: Settings, session_factory: sessionmaker[Session], truth: Any
) -> None:
    faults = Faults(
        malformed_at_index=index_of("AgentConnect", "1795331884.1296"), malformed_kind="no_colon"
    )
    options = SimulatorOptions(port=0, speed=0, faults=faults)
    with SimulatorThread(GOLDEN, options) as sim:
        connector = connector_for(settings, session_factory, sim.port)
        thread = run_in_thread(connector)
        assert sim.wait_done(30)
        wait_for(lambda: call_count(session_factory) == 13, what="13 calls")
        sim.inject_malformed("invalid_utf8")
        time.sleep(0.3)
        assert connector.link is not None and connector.link.alive
        finish(connector, thread)
        assert sim.server.stats.malformed_sent >= 1
    check_golden(session_factory, truth)


def test_refused_connections_are_retried_with_backoff(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    options = SimulatorOptions(port=0, speed=0, faults=Faults(refuse_for_s=1.5))
    with SimulatorThread(GOLDEN, options) as sim:
        connector = connector_for(settings, session_factory, sim.port)
        thread = run_in_thread(connector)
        wait_for(lambda: call_count(session_factory) == 13, timeout=40, what="13 calls")
        finish(connector, thread)
        refused = sim.server.stats.refused
    # backoff 0.5 s, 1 s, ...: a handful of tries in 1.5 s, not a storm
    assert 1 <= refused <= 4
    assert connector.state.connects == 1


def test_wrong_password_stops_at_once_with_a_clear_error(
    simulator: SimulatorThread, settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    connector = connector_for(settings, session_factory, simulator.port, ami_secret="wrong")
    with pytest.raises(AmiAuthError, match="refused AMI user 'callscope'"):
        connector.run()
    assert simulator.server.stats.failed_logins == 1


def test_rebuild_derives_the_same_calls_from_the_event_log(
    simulator: SimulatorThread,
    settings: Settings,
    session_factory: sessionmaker[Session],
    truth: Any,
) -> None:
    connector = connector_for(settings, session_factory, simulator.port)
    thread = run_in_thread(connector)
    assert simulator.wait_done(30)
    wait_for(lambda: call_count(session_factory) == 13, what="13 calls")
    finish(connector, thread)
    # a "bad fix" corrupts a stored call; rebuild derives it again from the raw events
    with session_scope(session_factory) as session:
        call = session.scalar(select(Call).where(Call.call_id == "1795331915.1300"))
        assert call is not None
        call.ring_to_answer_s = 99.0
    assert rebuild_calls(session_factory, settings) == 13
    assert call_count(session_factory) == 13
    check_golden(session_factory, truth)


def cli_env(settings: Settings, port: int, secret: str = "callscope") -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        CALLSCOPE_DATABASE_URL=settings.database_url,
        CALLSCOPE_AMI_PORT=str(port),
        CALLSCOPE_AMI_USERNAME="callscope",
        CALLSCOPE_AMI_SECRET=secret,
        CALLSCOPE_RECORDING_DIR=settings.recording_dir,
    )
    return env


def test_cli_connect_stores_calls_and_exits_cleanly_on_sigterm(
    simulator: SimulatorThread, settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "connect"],
        env=cli_env(settings, simulator.port),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: call_count(session_factory) == 13, what="13 calls via the CLI")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "13 calls written" in err


def test_cli_connect_with_a_wrong_secret_exits_3(
    simulator: SimulatorThread, settings: Settings
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "connect"],
        env=cli_env(settings, simulator.port, secret="nope"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 3
    assert "refused AMI user 'callscope'" in result.stderr
    assert simulator.server.stats.failed_logins == 1


def test_queue_log_recovers_queue_calls_missed_while_ami_was_down(
    settings: Settings, session_factory: sessionmaker[Session], tmp_path: Any
) -> None:
    # AMI only saw the first five calls; queue_log saw every queue call
    cut = index_of("Newchannel", "1795331968.1310")
    queue_log = tmp_path / "queue_log"
    queue_log.write_text((TRACES / "golden.queue_log").read_text())
    with SimulatorThread(GOLDEN[:cut], SimulatorOptions(port=0, speed=0)) as sim:
        merged = settings.model_copy(
            update={
                "ami_port": sim.port,
                "ami_username": "callscope",
                "ami_secret": "callscope",
                "ami_ping_interval_s": 0.2,
            }
        )
        connector = Connector(merged, session_factory, queue_log=queue_log)
        thread = run_in_thread(connector)
        wait_for(lambda: call_count(session_factory) == 11, what="11 calls")
        finish(connector, thread)
    stored = rows(session_factory)
    sources = sorted(r["source"] for r in stored.values())
    assert sources == ["ami"] * 5 + ["queue_log"] * 6
    assert stored["1795331836.1288"]["source"] == "ami"  # seen by AMI: keeps its Linkedid
    recovered = {r["uniqueid"]: r for r in stored.values() if r["source"] == "queue_log"}
    assert recovered["1795332025.1325"]["agent"] == "Alice Kim"
    assert recovered["1795332088.1341"]["abandoned"] is True
    # the follower's position is saved: a restart does not read the file again
    with session_scope(session_factory) as session:
        saved = service.get_state(db_session=session, key=f"queue_log:{queue_log}")
    assert saved is not None and saved.endswith(f":{queue_log.stat().st_size}")


def test_every_committed_call_reaches_the_after_commit_hook(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    """Calls without a recording too (abandons, unrecorded callbacks): analysis needs them."""
    from telephony.connector import EventWriter
    from tests.telephony.golden import read_events

    seen: list[int] = []
    writer = EventWriter(session_factory, settings, on_calls_committed=seen.extend)
    writer.start()
    for event in read_events(TRACES / "golden.ami"):
        if event.get("Variable") != "MIXMONITOR_FILENAME":  # as if nothing were recorded
            writer.put(event)
    writer.stop()
    with session_scope(session_factory) as session:
        stored = set(session.scalars(select(Call.id)))
        assert session.scalar(select(func.count()).where(Call.recording_mixed.is_not(None))) == 0
    assert len(stored) == 13
    assert sorted(seen) == sorted(stored)
