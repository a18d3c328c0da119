"""Run the PBX simulator in a background thread: for tests and tools that are not asyncio."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from telephony.simulator import (
    MalformedKind,
    PbxSimulator,
    RefuseMode,
    SimulatorError,
    SimulatorOptions,
)
from telephony.simulator_replay import NOW
from telephony.trace import AmiPacket, read_trace

T = TypeVar("T")


class SimulatorThread:
    """A PbxSimulator on its own event loop in a daemon thread.

    `start()` returns the bound port (useful with port 0); `stop()` ends the server. The
    fault switches and waits are safe to call from any thread.
    """

    def __init__(
        self, trace: Sequence[AmiPacket] | Path, options: SimulatorOptions | None = None
    ) -> None:
        self.events = read_trace(trace) if isinstance(trace, Path) else list(trace)
        self.options = options or SimulatorOptions()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: PbxSimulator | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    @property
    def server(self) -> PbxSimulator:
        """The running server (read its counters; change it through call())."""
        if self._server is None:
            raise SimulatorError("the simulator thread is not running")
        return self._server

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return self.server.port

    def start(self, timeout: float = 10.0) -> int:
        """Start the thread and the server; the bound port."""
        if self._thread is not None:
            raise SimulatorError("the simulator thread was already started")
        self._thread = threading.Thread(target=self._run, name="pbx-simulator", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise SimulatorError(f"the PBX simulator did not start within {timeout:.0f} s")
        if self._error is not None:
            raise self._error
        return self.port

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to start(); the thread must not die silently
            self._error = exc
            self._started.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            self._server = PbxSimulator(self.events, self.options)
            await self._server.start()
        except BaseException as exc:
            self._error = exc
            self._started.set()
            return
        self._started.set()
        await self._stop.wait()
        await self._server.stop()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server and wait for the thread."""
        loop, stop, thread = self._loop, self._stop, self._thread
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stop.set)
        if thread is not None:
            thread.join(timeout)

    def __enter__(self) -> SimulatorThread:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ cross-thread calls
    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `fn(*args, **kwargs)` on the server's loop; its result."""
        if self._loop is None:
            raise SimulatorError("the simulator thread is not running")

        async def run() -> T:
            return fn(*args, **kwargs)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(10.0)

    def _wait(self, event: Callable[[], asyncio.Event], timeout: float) -> bool:
        if self._loop is None:
            raise SimulatorError("the simulator thread is not running")

        async def wait() -> bool:
            try:
                await asyncio.wait_for(event().wait(), timeout)
            except TimeoutError:
                return False
            return True

        return asyncio.run_coroutine_threadsafe(wait(), self._loop).result(timeout + 5.0)

    def wait_done(self, timeout: float = 30.0) -> bool:
        """Wait until a replay has reached every one of its sessions; False on timeout."""
        return self._wait(lambda: self.server.replay_done, timeout)

    def wait_paused(self, timeout: float = 30.0) -> bool:
        """Wait until the replay holds at a pause_at() index; False on timeout."""
        return self._wait(lambda: self.server.paused, timeout)

    def drop_after(self, events: int, *, mid_packet: bool = False, reset: bool = False) -> None:
        """Drop the next session that reaches `events` events sent."""
        self.call(self.server.drop_after, events, mid_packet=mid_packet, reset=reset)

    def drop_at(self, index: int, *, mid_packet: bool = False, reset: bool = False) -> None:
        """Drop every session before capture event `index`."""
        self.call(self.server.drop_at, index, mid_packet=mid_packet, reset=reset)

    def drop_all(self, *, reset: bool = False) -> None:
        """Drop every session now."""
        self.call(self.server.drop_all, reset=reset)

    def refuse_connections(self, seconds: float, mode: RefuseMode = "close") -> None:
        """Refuse new connections for `seconds`."""
        self.call(self.server.refuse_connections, seconds, mode)

    def inject_malformed(self, kind: MalformedKind = "no_colon", at_index: int = NOW) -> None:
        """Send a malformed packet before capture event `at_index` (default: the next one)."""
        self.call(self.server.inject_malformed, kind, at_index)

    def fail_next_logins(self, count: int = 1) -> None:
        """Refuse the next `count` logins."""
        self.call(self.server.fail_next_logins, count)

    def pause_at(self, index: int = NOW) -> None:
        """Hold the replay before capture event `index`."""
        self.call(self.server.pause_at, index)

    def resume(self) -> None:
        """Let a paused replay go on."""
        self.call(self.server.resume)
