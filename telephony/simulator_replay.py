"""The simulator's replay engine: emits a capture's events to sessions on time.

A `PreparedTrace` is built once per simulator (raw bytes, times, and, when a replay must
rewrite them, packet templates). A `Replay` walks it pass after pass, keeps the PBX state
up to date, and hands batches of wire bytes to its sessions' bounded queues.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from telephony.simulator_state import PbxState
from telephony.trace import (
    AmiPacket,
    PacketTemplate,
    PassRewrite,
    Tokenizer,
    TraceSpan,
    parse_packet,
    trace_uniqueids,
)

if TYPE_CHECKING:
    from telephony.simulator import PbxSimulator, SimulatorOptions
    from telephony.simulator_session import Session

log = logging.getLogger(__name__)

NOW = -1


@dataclass(frozen=True, slots=True)
class EndOfReplay:
    """Queue marker: every event of `replay` is before this."""

    replay: Replay


@dataclass(frozen=True, slots=True)
class DropLink:
    """Queue marker: drop the link here (after half of `next_packet`, when asked)."""

    next_packet: bytes | None


@dataclass(frozen=True, slots=True)
class Malformed:
    """Queue item: a malformed packet to send as it is."""

    data: bytes


def _malformed(kind: str, next_packet: bytes | None) -> bytes:
    if kind == "invalid_utf8":
        return (
            b"Event: UserEvent\r\nPrivilege: user,all\r\n"
            b"UserEvent: callscope-fault-\xff\xfe\xfd\r\n\r\n"
        )
    if kind == "truncated":
        packet = next_packet or b"Event: Newchannel\r\nPrivilege: call,all\r\nChannel: Local/x\r\n"
        cut = packet[: max(1, len(packet) // 2)].rstrip(b"\r\n")
        return cut + b"\r\n\r\n"
    return b"This is not an AMI packet\r\nnor is this line\r\n\r\n"


class PreparedTrace:
    """A capture ready to replay."""

    def __init__(self, events: Sequence[AmiPacket], options: SimulatorOptions) -> None:
        self.events = list(events)
        self.options = options
        self.raws = [e.raw for e in self.events]
        self.times: list[float] = []
        last = next((t for t in (e.timestamp for e in self.events) if t is not None), 0.0)
        for event in self.events:
            ts = event.timestamp
            last = max(last, ts) if ts is not None else last  # never go back in time
            self.times.append(last)
        self.first_ts = self.times[0] if self.times else 0.0
        self.last_ts = self.times[-1] if self.times else 0.0
        self.pass_span_s = float(
            max(1, math.ceil(self.last_ts - self.first_ts + options.loop_gap_s))
        )
        self._templates: list[PacketTemplate] | None = None
        self._span: TraceSpan | None = None

    @property
    def templates(self) -> list[PacketTemplate]:
        """Packet templates (built on first use: only re-timed or looped replays need them)."""
        if self._templates is None:
            tokenizer = Tokenizer(trace_uniqueids(self.events))
            self._templates = [tokenizer.template(raw) for raw in self.raws]
        return self._templates

    @property
    def span(self) -> TraceSpan:
        """Times and number ranges of the capture."""
        if self._span is None:
            self._span = TraceSpan.of(self.events, self.templates)
        return self._span

    def new_state(self) -> PbxState:
        """A fresh PBX state for one replay."""
        return PbxState(
            self.events,
            queue_strategies=self.options.queue_strategies,
            service_level_s=self.options.service_level_s,
        )


class Replay:
    """One run through the capture (or endless passes of it), shared by its sessions."""

    def __init__(self, prepared: PreparedTrace, sim: PbxSimulator) -> None:
        self.prepared = prepared
        self.sim = sim
        self.state = prepared.new_state()
        self.subscribers: list[Session] = []
        self.emitted = 0
        self.pass_no = 0
        self.finished = False
        self.task: asyncio.Task[None] | None = None
        self.shift_s = 0.0
        self.last_v = prepared.first_ts
        self.last_mono = time.monotonic()
        self.next_v: float | None = None
        self._pending: set[Session] | None = None
        self._rewrites: dict[int, PassRewrite] = {}
        self._resume = asyncio.Event()
        self._subscribed = asyncio.Event()
        speed = sim.options.speed
        self.timed = 0 < speed < math.inf

    # ------------------------------------------------------------------ control
    def start(self) -> None:
        """Start emitting (no-op when already running or finished)."""
        if self.task is not None or self.finished:
            return
        if self.sim.options.retime:
            self.shift_s = time.time() - self.prepared.first_ts
        self.task = asyncio.get_running_loop().create_task(self._run())
        self.sim.track(self, True)

    def cancel(self) -> None:
        """Stop emitting."""
        if self.task is not None and not self.task.done():
            self.task.cancel()
        self.sim.track(self, False)

    def resume(self) -> None:
        """Go on after a pause."""
        self._resume.set()

    def subscribe(self, session: Session) -> None:
        """Send the events from now on to `session`."""
        if not self.finished and session not in self.subscribers:
            self.subscribers.append(session)
            self._subscribed.set()

    def unsubscribe(self, session: Session) -> None:
        """Stop sending to `session` (it closed)."""
        if session in self.subscribers:
            self.subscribers.remove(session)
        self.flushed(session)

    def flushed(self, session: Session) -> None:
        """`session` wrote every event of this replay."""
        if self._pending is None:
            return
        self._pending.discard(session)
        if not self._pending:
            self._pending = None
            self.sim.replay_finished(self)

    # ------------------------------------------------------------------ rewriting
    def rewrite(self, pass_no: int) -> PassRewrite:
        """The rewrite of pass `pass_no` (ids and times of that pass)."""
        rewrite = self._rewrites.get(pass_no)
        if rewrite is None:
            if self.shift_s == 0 and pass_no == 0:
                span = TraceSpan(0.0, 0.0, 0, 0, 0, 0)  # identity: no templates needed
            else:
                span = self.prepared.span
            rewrite = PassRewrite(span, pass_no, self.prepared.pass_span_s, self.shift_s)
            if len(self._rewrites) > 4:
                self._rewrites.pop(min(self._rewrites))
            self._rewrites[pass_no] = rewrite
        return rewrite

    def render(self, index: int, pass_no: int) -> AmiPacket:
        """Capture event `index` as pass `pass_no` sent it."""
        rewrite = self.rewrite(pass_no)
        if rewrite.identity:
            return self.prepared.events[index]
        return parse_packet(self.prepared.templates[index].render(rewrite), strict=False)

    def now_v(self) -> float:
        """The replay's clock, in the capture's time (plus the passes played before)."""
        if not self.timed or self.emitted == 0:
            return self.last_v
        v = self.last_v + (time.monotonic() - self.last_mono) * self.sim.options.speed
        return min(v, self.next_v) if self.next_v is not None and not self.finished else v

    # ------------------------------------------------------------------ emitting
    async def _run(self) -> None:
        try:
            while True:
                await self._play(self.pass_no)
                if not self.sim.options.loop:
                    break
                self.pass_no += 1
            self.finished = True
            self._pending = set(self.subscribers)
            for session in list(self.subscribers):
                await session.offer(EndOfReplay(self))
            if not self._pending:
                self._pending = None
                self.sim.replay_finished(self)
        except asyncio.CancelledError:
            self.finished = True
            raise
        finally:
            self.sim.track(self, False)

    async def _play(self, pass_no: int) -> None:
        prepared = self.prepared
        options = self.sim.options
        faults = options.faults
        rewrite = self.rewrite(pass_no)
        templates = prepared.templates if not rewrite.identity else None
        times, raws = prepared.times, prepared.raws
        offset_v = pass_no * prepared.pass_span_s
        speed = options.speed
        if pass_no == 0:
            self._t0, self._v0 = time.monotonic(), prepared.first_ts
        batch: list[bytes] = []
        limit = options.batch_events
        n = len(raws)
        for i in range(n):
            v = times[i] + offset_v
            if self.timed:
                self.next_v = v
                delay = self._t0 + (v - self._v0) / speed - time.monotonic()
                if delay > 0:
                    batch = await self._flush(batch)
                    await asyncio.sleep(delay)
            data = templates[i].render(rewrite) if templates is not None else raws[i]
            if (
                faults.pause_at_index is not None
                or faults.drop_at_index is not None
                or faults.malformed_at_index is not None
            ):
                batch = await self._flush(batch)
                await self._faults(i, data)
            batch.append(data)
            self.state.apply(i, pass_no, v)
            self.emitted += 1
            self.last_v, self.last_mono = v, time.monotonic()
            if len(batch) >= limit:
                batch = await self._flush(batch)
        await self._flush(batch)
        self.next_v = None

    async def _flush(self, batch: list[bytes]) -> list[bytes]:
        # As fast as the readers read: with no reader at all, the replay waits for one.
        while not self.timed and not self.subscribers:
            self._subscribed.clear()
            await self._subscribed.wait()
        if batch:
            for session in list(self.subscribers):
                await session.offer(batch)
        await asyncio.sleep(0)  # let sessions write and answer actions, even at speed 0
        return [] if batch else batch

    async def _faults(self, index: int, next_packet: bytes) -> None:
        faults = self.sim.options.faults
        if faults.malformed_at_index in (index, NOW):
            faults.malformed_at_index = None
            data = _malformed(faults.malformed_kind, next_packet)
            log.info("fault: malformed %s packet before event %d", faults.malformed_kind, index)
            for session in list(self.subscribers):
                await session.offer(Malformed(data))
        if faults.drop_at_index in (index, NOW):
            faults.drop_at_index = None
            for session in list(self.subscribers):
                await session.offer(DropLink(next_packet))
        if faults.pause_at_index in (index, NOW):
            faults.pause_at_index = None
            paused_at = time.monotonic()
            self._resume.clear()
            self.sim.paused.set()
            log.info("replay paused before event %d", index)
            await self._resume.wait()
            if self.timed:
                self._t0 += time.monotonic() - paused_at
