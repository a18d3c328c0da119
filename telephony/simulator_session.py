"""One manager connection of the PBX simulator: actions in, answers and events out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import time
from typing import TYPE_CHECKING

from telephony.simulator_replay import DropLink, EndOfReplay, Malformed, Replay
from telephony.trace import BANNER, END, AmiPacket, parse_packet, serialize

if TYPE_CHECKING:
    from telephony.simulator import PbxSimulator

log = logging.getLogger(__name__)


def reset_connection(writer: asyncio.StreamWriter) -> None:
    """Abort a connection with a TCP reset (linger 0: unsent data is dropped)."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def _ast_false(value: str) -> bool:
    return value.strip().lower() in ("off", "no", "false", "n", "f", "0")


class Session:
    """One manager connection."""

    def __init__(
        self, sim: PbxSimulator, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.sim = sim
        self.reader = reader
        self.writer = writer
        self.authenticated = False
        self.events_sent = 0
        self.closed = False
        self.replay: Replay | None = None
        self.queue: asyncio.Queue[object] = asyncio.Queue(sim.options.session_queue)
        self._writer_task: asyncio.Task[None] | None = None
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)

    # ------------------------------------------------------------------ events out
    async def offer(self, item: object) -> None:
        """Queue events (or a control item) for this session, honouring the slow-reader rule."""
        if self.closed:
            return
        if self.sim.options.slow_reader == "block":
            await self.queue.put(item)
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            log.warning("AMI session %s reads too slowly; dropping it", self.peer)
            self.sim.stats.slow_dropped += 1
            self.close(reset=True)

    async def _write_events(self) -> None:
        try:
            while not self.closed:
                item = await self.queue.get()
                if isinstance(item, list):
                    await self._write_batch(item)
                elif isinstance(item, bytes):  # an answer to an action
                    self.writer.write(item)
                    await self.writer.drain()
                elif isinstance(item, Malformed):
                    self.writer.write(item.data)
                    self.sim.stats.malformed_sent += 1
                    await self.writer.drain()
                elif isinstance(item, DropLink):
                    await self._drop(item.next_packet)
                    return
                elif isinstance(item, EndOfReplay):
                    item.replay.flushed(self)
        except (ConnectionError, OSError):
            self.close()

    async def _write_batch(self, batch: list[bytes]) -> None:
        faults = self.sim.options.faults
        limit = faults.drop_after_events
        if limit is not None and self.events_sent + len(batch) >= limit:
            keep = max(0, limit - self.events_sent)
            faults.drop_after_events = None
            if keep:
                self._count(keep)
                self.writer.write(b"".join(batch[:keep]))
            await self._drop(batch[keep] if keep < len(batch) else None)
            return
        self._count(len(batch))
        self.writer.write(b"".join(batch))
        await self.writer.drain()

    def _count(self, n: int) -> None:
        self.events_sent += n
        self.sim.stats.events_sent += n

    async def _drop(self, next_packet: bytes | None) -> None:
        faults = self.sim.options.faults
        if faults.drop_mid_packet and next_packet:
            self.writer.write(next_packet[: max(1, len(next_packet) // 2)])
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.drain()
        self.sim.stats.dropped += 1
        log.info("fault: dropping AMI session %s after %d events", self.peer, self.events_sent)
        self.close(reset=faults.drop_reset)

    # ------------------------------------------------------------------ actions in
    async def run(self) -> None:
        """Serve this connection until it closes."""
        try:
            self.writer.write(BANNER)
            await self.writer.drain()
            while not self.closed:
                try:
                    block = await self.reader.readuntil(END)
                except asyncio.IncompleteReadError:
                    break
                except asyncio.LimitOverrunError:
                    log.warning("AMI session %s sent an oversized action; closing", self.peer)
                    break
                if not await self._on_action(parse_packet(block, strict=False)):
                    break
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(ConnectionError, OSError):
                await self.writer.drain()
            self.close()

    async def _send(self, data: bytes, *, after_events: bool = True) -> None:
        """Answer an action, after the events already emitted when events are on."""
        # Asterisk writes a session's pending events first: a listing then matches what the
        # client has seen, not events still waiting in its queue.
        if after_events and self._writer_task is not None and not self.closed:
            await self.offer(data)
            return
        self.writer.write(data)
        await self.writer.drain()

    async def _on_action(self, packet: AmiPacket) -> bool:
        headers = {k.strip().lower(): v.strip() for k, v in packet.headers}
        action = headers.get("action", "")
        action_id = headers.get("actionid")
        idh = [("ActionID", action_id)] if action_id is not None else []
        name = action.lower()

        def answer(response: str, message: str) -> bytes:
            return serialize([("Response", response), *idh, ("Message", message)])

        if not action:
            await self._send(answer("Error", "Missing action in request"))
        elif name == "login":
            return await self._login(headers, idh)
        elif name == "logoff":
            await self._send(answer("Goodbye", "Thanks for all the fish."), after_events=False)
            return False
        elif not self.authenticated:
            await self._send(answer("Error", "Permission denied"))
        elif name == "ping":
            await self._send(
                serialize(
                    [("Response", "Success"), *idh]
                    + [("Ping", "Pong"), ("Timestamp", f"{time.time():.6f}")]
                )
            )
        elif name == "events":
            events_on = not _ast_false(headers.get("eventmask", "on"))
            state = "On" if events_on else "Off"
            await self._send(serialize([("Response", "Success"), *idh, ("Events", state)]))
            if events_on:
                self._subscribe()
            else:
                self._unsubscribe()
        elif name == "coreshowchannels":
            replay = self.replay or self.sim.shared_replay
            await self._send(
                replay.state.core_show_channels(replay.render, replay.now_v(), action_id)
            )
        elif name == "queuestatus":
            replay = self.replay or self.sim.shared_replay
            await self._send(
                replay.state.queue_status(
                    replay.render,
                    replay.now_v(),
                    action_id,
                    headers.get("queue") or None,
                    headers.get("member") or None,
                )
            )
        else:
            await self._send(
                answer(
                    "Error",
                    f"Invalid/unknown command: {action}. "
                    "Use Action: ListCommands to show available commands.",
                )
            )
        return True

    async def _login(self, headers: dict[str, str], idh: list[tuple[str, str]]) -> bool:
        sim = self.sim
        if self.authenticated:
            await self._send(
                serialize([("Response", "Success"), *idh, ("Message", "Already authenticated")])
            )
            return True
        options = sim.options
        ok = headers.get("username") == options.username and headers.get("secret") == options.secret
        if options.faults.fail_logins > 0:
            options.faults.fail_logins -= 1
            ok = False
        if not ok:
            sim.stats.failed_logins += 1
            if options.auth_fail_delay_s > 0:
                await asyncio.sleep(options.auth_fail_delay_s)
            await self._send(
                serialize([("Response", "Error"), *idh, ("Message", "Authentication failed")])
            )
            return False  # Asterisk closes the session after a failed login
        self.authenticated = True
        sim.stats.logins += 1
        events_on = not _ast_false(headers.get("events", "on"))
        data = serialize([("Response", "Success"), *idh, ("Message", "Authentication accepted")])
        if events_on:
            uptime = str(int(time.monotonic() - sim.started_mono))
            data += serialize(
                [
                    ("Event", "FullyBooted"),
                    ("Privilege", "system,all"),
                    ("Uptime", uptime),
                    ("LastReload", uptime),
                    ("Status", "Fully Booted"),
                ]
            )
        await self._send(data)
        if events_on:
            self._subscribe()
        return True

    def _subscribe(self) -> None:
        """Start receiving the replay's events."""
        sim, options = self.sim, self.sim.options
        if self._writer_task is None:
            self._writer_task = asyncio.create_task(self._write_events())
        if options.replay_per_client:
            if self.replay is None:
                self.replay = Replay(sim.prepared, sim)
            self.replay.subscribe(self)
            self.replay.start()
        else:
            sim.shared_replay.subscribe(self)
            if options.start_replay == "first_login":
                sim.shared_replay.start()

    def _unsubscribe(self) -> None:
        """Stop receiving events (the session stays)."""
        for replay in (self.replay, self.sim.existing_shared_replay):
            if replay is not None:
                replay.unsubscribe(self)

    def close(self, reset: bool = False) -> None:
        """Close the connection and leave the replay."""
        if self.closed:
            return
        self.closed = True
        if reset:
            reset_connection(self.writer)
        else:
            self.writer.close()
        self._unsubscribe()
        if self.replay is not None and self.sim.options.replay_per_client:
            self.replay.cancel()
        while not self.queue.empty():  # wake a replay waiting to queue more
            self.queue.get_nowait()
        if self._writer_task is not None and self._writer_task is not asyncio.current_task():
            self._writer_task.cancel()
        self.sim.sessions.discard(self)
