"""A PBX simulator: an asyncio AMI server that replays a real Asterisk capture.

It speaks the manager protocol as Asterisk 22 does: the banner, `Key: Value` actions ended by
a blank line, Login (then FullyBooted), Ping, Logoff, CoreShowChannels, QueueStatus, and the
error answers for anything else. Logged-in sessions receive the capture's events with their
original spacing (scaled by `speed`; 0 = as fast as the client reads). By default one replay
runs per server and every session sees the same live stream, like a real PBX; with
`replay_per_client` each session gets its own replay from the start.

Faults for tests (a dataclass, also switchable at runtime): drop the link after N events or
at an event index (optionally mid-packet), refuse connections for a while, send a malformed
packet, fail logins, pause at an index. A slow reader is never buffered without bound: each
session has a small queue and its writes wait for `drain()`; a full queue holds the replay
back (`slow_reader="block"`) or drops that session, as Asterisk's write timeout does
(`"disconnect"`).

Modules: this one (options, faults, the server), `simulator_session` (one connection),
`simulator_replay` (emitting on time), `simulator_state` (what CoreShowChannels and
QueueStatus report), `simulator_thread` (`SimulatorThread`: the server in a background
thread, for tests and tools that are not asyncio).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from telephony.errors import TelephonyError
from telephony.simulator_replay import NOW, PreparedTrace, Replay
from telephony.simulator_session import Session, reset_connection
from telephony.trace import AmiPacket, read_trace, serialize

log = logging.getLogger(__name__)

MalformedKind = Literal["no_colon", "truncated", "invalid_utf8"]
RefuseMode = Literal["close", "unlisten"]


class SimulatorError(TelephonyError):
    """The simulator cannot run as configured."""


@dataclass
class Faults:
    """Faults to inject; each one fires once, then clears itself."""

    drop_after_events: int | None = None  # close a session once it was sent this many events
    drop_at_index: int | None = None  # close every session before this capture event
    drop_mid_packet: bool = False  # ...after sending half of the next packet
    drop_reset: bool = False  # abort the TCP connection (RST) instead of closing it
    refuse_for_s: float = 0.0  # refuse connections this long after start
    refuse_mode: RefuseMode = "close"  # accept and reset at once, or do not listen at all
    malformed_at_index: int | None = None  # send a malformed packet before this event
    malformed_kind: MalformedKind = "no_colon"
    fail_logins: int = 0  # refuse this many logins even with the right secret
    pause_at_index: int | None = None  # hold the replay before this event until resume()


@dataclass
class SimulatorOptions:
    """How the simulator listens, authenticates and replays."""

    host: str = "127.0.0.1"
    port: int = 5038  # 0 = any free port (start() returns it)
    username: str = "callscope"
    secret: str = "callscope"
    speed: float = 1.0  # 2 = twice as fast; 0 or inf = as fast as the client reads
    loop: bool = False  # replay again and again, with fresh ids and later times each pass
    loop_gap_s: float = 5.0  # quiet time between two passes
    retime: bool = False  # shift Timestamps so the replay's start is now
    replay_per_client: bool = False  # each session replays from the start (tests)
    start_replay: Literal["first_login", "immediately"] = "first_login"
    slow_reader: Literal["block", "disconnect"] = "block"
    session_queue: int = 8  # batches of events buffered per session
    write_buffer_bytes: int = 256 * 1024  # transport buffer above which a write waits
    socket_send_buffer: int | None = None  # kernel send buffer (None: the OS's, which grows)
    batch_events: int = 256  # events sent in one write when they are due together
    auth_fail_delay_s: float = 0.0  # Asterisk sleeps 1 s before answering a bad login
    queue_strategies: dict[str, str] = field(default_factory=dict)  # for QueueParams
    service_level_s: int = 0
    faults: Faults = field(default_factory=Faults)

    def __post_init__(self) -> None:
        if math.isnan(self.speed) or self.speed < 0:
            raise SimulatorError(f"speed must be 0 (as fast as possible) or more, not {self.speed}")
        if not 0 <= self.port <= 65535:
            raise SimulatorError(f"port must be between 0 and 65535, not {self.port}")
        if self.session_queue < 1 or self.batch_events < 1:
            raise SimulatorError("session_queue and batch_events must be at least 1")


@dataclass
class SimulatorStats:
    """Counters for tests and logs."""

    connections: int = 0
    refused: int = 0
    logins: int = 0
    failed_logins: int = 0
    events_sent: int = 0
    dropped: int = 0
    slow_dropped: int = 0
    malformed_sent: int = 0
    replays_finished: int = 0


class PbxSimulator:
    """The AMI server. `await start()` listens (and returns the port); `await stop()` ends it."""

    def __init__(
        self, events: Sequence[AmiPacket], options: SimulatorOptions | None = None
    ) -> None:
        if not events:
            raise SimulatorError("the trace has no events to replay")
        self.options = options or SimulatorOptions()
        self.prepared = PreparedTrace(events, self.options)
        self.stats = SimulatorStats()
        self.sessions: set[Session] = set()
        self.replay_done = asyncio.Event()
        self.paused = asyncio.Event()
        self.started_mono = time.monotonic()
        self.port = self.options.port
        self._server: asyncio.Server | None = None
        self._refuse_until = 0.0
        self._reopen: asyncio.TimerHandle | None = None
        self._shared: Replay | None = None
        self._replays: set[Replay] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def from_trace(cls, path: Path, options: SimulatorOptions | None = None) -> PbxSimulator:
        """A simulator replaying the events of a raw AMI capture file."""
        return cls(read_trace(path), options)

    @property
    def shared_replay(self) -> Replay:
        """The server's replay (also what CoreShowChannels reports before any login)."""
        if self._shared is None:
            self._shared = Replay(self.prepared, self)
        return self._shared

    @property
    def existing_shared_replay(self) -> Replay | None:
        """The server's replay if one was made."""
        return self._shared

    def replay_finished(self, replay: Replay) -> None:
        """Called by a replay whose events all reached its sessions."""
        self.stats.replays_finished += 1
        self.replay_done.set()

    def track(self, replay: Replay, running: bool) -> None:
        """Keep (or forget) a running replay, so stop() can end it."""
        if running:
            self._replays.add(replay)
        else:
            self._replays.discard(replay)

    async def start(self) -> int:
        """Listen; the bound port."""
        self.started_mono = time.monotonic()
        if self.options.retime or self.options.loop:
            _ = self.prepared.templates  # build them now, not on the first login
        await self._listen()
        if self.options.start_replay == "immediately" and not self.options.replay_per_client:
            self.shared_replay.start()
        faults = self.options.faults
        if faults.refuse_for_s > 0:
            self.refuse_connections(faults.refuse_for_s, faults.refuse_mode)
        log.info("PBX simulator listening on %s:%d", self.options.host, self.port)
        return self.port

    async def _listen(self) -> None:
        try:
            self._server = await asyncio.start_server(
                self._on_connect, self.options.host, self.port, limit=1 << 16
            )
        except OSError as exc:
            raise SimulatorError(
                f"cannot listen on {self.options.host}:{self.port}: {exc.strerror or exc}"
            ) from exc
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Say Shutdown to every session, close them and stop listening."""
        if self._reopen is not None:
            self._reopen.cancel()
        if self._server is not None:
            self._server.close()
            self._server = None
        replay_tasks = [r.task for r in self._replays if r.task is not None]
        for replay in list(self._replays):
            replay.cancel()
        shutdown = serialize(
            [
                ("Event", "Shutdown"),
                ("Privilege", "system,all"),
                ("Timestamp", f"{time.time():.6f}"),
                ("Shutdown", "Cleanly"),
                ("Restart", "False"),
            ]
        )
        sessions = list(self.sessions)
        for session in sessions:
            if session.authenticated:
                with contextlib.suppress(ConnectionError, OSError):
                    session.writer.write(shutdown)
            session.close()
        pending = [t for t in (*self._tasks, *replay_tasks) if not t.done()]
        if pending:
            _, still = await asyncio.wait(pending, timeout=1.0)
            if still:  # a peer that does not read keeps its closing link open: cut it
                for session in sessions:
                    session.writer.transport.abort()
                await asyncio.wait(still, timeout=1.0)

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        if time.monotonic() < self._refuse_until:
            self.stats.refused += 1
            reset_connection(writer)  # a reset, whatever the client already sent
            return
        writer.transport.set_write_buffer_limits(high=self.options.write_buffer_bytes)
        sock = writer.get_extra_info("socket")
        if self.options.socket_send_buffer and sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.options.socket_send_buffer)
        session = Session(self, reader, writer)
        self.sessions.add(session)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await session.run()
        finally:
            if task is not None:
                self._tasks.discard(task)

    # ------------------------------------------------------------------ faults at runtime
    def drop_after(self, events: int, *, mid_packet: bool = False, reset: bool = False) -> None:
        """Drop the next session that reaches `events` events sent."""
        faults = self.options.faults
        faults.drop_after_events, faults.drop_mid_packet, faults.drop_reset = (
            events,
            mid_packet,
            reset,
        )

    def drop_at(self, index: int, *, mid_packet: bool = False, reset: bool = False) -> None:
        """Drop every session when the replay reaches capture event `index`."""
        faults = self.options.faults
        faults.drop_at_index, faults.drop_mid_packet, faults.drop_reset = index, mid_packet, reset

    def drop_all(self, *, reset: bool = False) -> None:
        """Drop every session now."""
        for session in list(self.sessions):
            self.stats.dropped += 1
            session.close(reset=reset)

    def refuse_connections(self, seconds: float, mode: RefuseMode = "close") -> None:
        """Refuse new connections for `seconds`: close them at once, or stop listening."""
        if mode == "close":
            self._refuse_until = time.monotonic() + seconds
            return
        if self._server is not None:
            self._server.close()
            self._server = None
        loop = asyncio.get_running_loop()
        self._reopen = loop.call_later(seconds, lambda: loop.create_task(self._relisten()))

    async def _relisten(self) -> None:
        self._reopen = None
        try:
            await self._listen()
        except SimulatorError as exc:
            log.error("%s", exc)

    def inject_malformed(self, kind: MalformedKind = "no_colon", at_index: int = NOW) -> None:
        """Send a malformed packet before capture event `at_index` (default: the next one)."""
        faults = self.options.faults
        faults.malformed_at_index, faults.malformed_kind = at_index, kind

    def fail_next_logins(self, count: int = 1) -> None:
        """Refuse the next `count` logins even with the right secret."""
        self.options.faults.fail_logins = count

    def pause_at(self, index: int = NOW) -> None:
        """Hold the replay before capture event `index` until resume()."""
        self.paused.clear()
        self.options.faults.pause_at_index = index

    def resume(self) -> None:
        """Let a paused replay go on."""
        self.paused.clear()
        for replay in list(self._replays) + ([self._shared] if self._shared else []):
            replay.resume()
