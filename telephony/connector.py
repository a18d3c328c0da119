"""The connector: AMI link -> event queue -> writer thread -> database, forever.

The socket reader never touches the database: it hands events to `EventWriter`, which
feeds the call tracker and commits in batches. Reconnects back off exponentially (capped,
never giving up) and re-synchronise calls in flight with CoreShowChannels and QueueStatus.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from core.settings import Settings
from telephony import service
from telephony.errors import AmiAuthError, AmiConnectError, AmiProtocolError
from telephony.events import AmiEvent, is_tracked
from telephony.link import AmiLink
from telephony.live import LivePublisher
from telephony.models import AmiEventLog
from telephony.queue_log import FollowPosition, QueueLogFollower, QueueLogParser
from telephony.tracker import CallFacts, CallTracker

log = logging.getLogger(__name__)

CallsCommitted = Callable[[Sequence[int]], None]
_STOP = object()


@dataclass(slots=True)
class WriterStats:
    """Counters the writer keeps (for logs, /metrics and the benchmark)."""

    events: int = 0
    duplicates: int = 0
    calls_written: int = 0
    batches: int = 0
    errors: int = 0
    last_commit: float = 0.0
    committed_call_ids: list[str] = field(default_factory=list)


class EventWriter(threading.Thread):
    """Feeds events to the tracker and commits events and finished calls in batches."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        settings: Settings,
        *,
        tracker: CallTracker | None = None,
        on_calls_committed: CallsCommitted | None = None,
        live: bool = False,
    ) -> None:
        super().__init__(name="callscope-writer", daemon=True)
        self.session_factory = session_factory
        self.settings = settings
        self.tracker = tracker or CallTracker()
        self.on_calls_committed = on_calls_committed
        # the wallboard feed is published from this thread: the tracker is not thread-safe
        self.live = LivePublisher(self.tracker, settings) if live else None
        self.queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.stats = WriterStats()
        self._recent: dict[str, None] = {}
        self.names = service.NameCache()
        self._idle = threading.Event()
        self._idle.set()

    # -- producer side (reader thread)
    def put(self, event: AmiEvent) -> None:
        """Hand over one event; never blocks."""
        self._idle.clear()
        self.queue.put(event)

    def put_calls(self, facts: list[CallFacts]) -> None:
        """Hand over calls finished elsewhere (queue_log)."""
        if facts:
            self._idle.clear()
            self.queue.put(facts)

    def stop(self, timeout: float | None = 30.0) -> None:
        """Flush what is queued, then end the thread."""
        self.queue.put(_STOP)
        self.join(timeout)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until everything handed over so far is committed."""
        return self._idle.wait(timeout)

    # -- consumer side
    def run(self) -> None:
        batch_size = self.settings.ami_batch_size
        interval = self.settings.ami_batch_interval_s
        stopping = False
        while not stopping:
            item = self._next()
            events: list[AmiEvent] = []
            calls: list[CallFacts] = []
            deadline = time.monotonic() + interval
            while True:
                if item is _STOP:
                    stopping = True
                    break
                if isinstance(item, AmiEvent):
                    events.append(item)
                elif isinstance(item, list):
                    calls.extend(item)
                if len(events) >= batch_size:
                    break
                try:
                    item = self.queue.get_nowait()
                except queue.Empty:
                    if time.monotonic() >= deadline:
                        break
                    try:
                        item = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
                    except queue.Empty:
                        break
            if events or calls:
                self._commit(events, calls)
            if self.live is not None and (stopping or self.live.due()):
                if stopping:
                    self.live.connected = False
                self._publish_live()
            if self.queue.empty():
                self._idle.set()

    def _next(self) -> object:
        """The next item; while none comes, keep the wallboard feed ticking."""
        if self.live is None:
            return self.queue.get()
        while True:
            try:
                return self.queue.get(timeout=self.live.interval_s)
            except queue.Empty:
                self._publish_live()

    def _publish_live(self) -> None:
        assert self.live is not None
        try:
            with session_scope(self.session_factory) as session:
                self.live.publish(session)
        except Exception:
            log.exception("publishing the live wallboard snapshot failed")

    def _fresh(self, session: Session, events: list[AmiEvent]) -> list[tuple[AmiEvent, str]]:
        """Events not seen before (replays after a reconnect or restart are dropped here)."""
        digests = [(event, event.digest()) for event in events]
        unseen = [(e, d) for e, d in digests if d not in self._recent]
        if not unseen:
            self.stats.duplicates += len(digests)
            return []
        known: set[str] = set()
        keys = [d for _, d in unseen]
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            known.update(
                session.scalars(select(AmiEventLog.digest).where(AmiEventLog.digest.in_(chunk)))
            )
        fresh: list[tuple[AmiEvent, str]] = []
        for event, digest in unseen:
            if digest in known:
                continue
            known.add(digest)
            fresh.append((event, digest))
        self.stats.duplicates += len(digests) - len(fresh)
        return fresh

    def _remember(self, digests: list[str]) -> None:
        for digest in digests:
            self._recent[digest] = None
        while len(self._recent) > 200_000:
            self._recent.pop(next(iter(self._recent)))

    def _commit(self, events: list[AmiEvent], calls: list[CallFacts]) -> None:
        try:
            with session_scope(self.session_factory) as session:
                fresh = self._fresh(session, events)
                finished = list(calls)
                for event, _digest in fresh:
                    finished.extend(self.tracker.feed(event))
                    if self.live is not None:
                        self.live.observe(event)
                service.log_events(
                    db_session=session,
                    events=[e for e, _ in fresh],
                    digests=[d for _, d in fresh],
                )
                written = service.upsert_calls(
                    db_session=session, facts=finished, settings=self.settings, cache=self.names
                )
                ids = [c.id for c in written]
                call_ids = [c.call_id for c in written]
            self._remember([d for _, d in fresh])
        except Exception:
            self.stats.errors += 1
            log.exception(
                "writing a batch of %d events and %d calls failed; retrying them one by one",
                len(events),
                len(calls),
            )
            self._retry_singly(events, calls)
            return
        self.stats.events += len(fresh)
        self.stats.calls_written += len(call_ids)
        self.stats.committed_call_ids.extend(call_ids)
        self.stats.batches += 1
        self.stats.last_commit = time.time()
        self._after_commit(ids)

    def _after_commit(self, ids: list[int]) -> None:
        """Hand the committed calls to the hook (transcription, analysis); never raise."""
        if ids and self.on_calls_committed is not None:
            try:
                self.on_calls_committed(ids)
            except Exception:
                log.exception("after-commit hook failed for calls %s", ids)

    def _retry_singly(self, events: list[AmiEvent], calls: list[CallFacts]) -> None:
        """After a failed batch, commit what can be committed; log what cannot."""
        time.sleep(0.5)
        stored: list[int] = []
        for facts in calls:
            try:
                with session_scope(self.session_factory) as session:
                    call = service.upsert_call(
                        db_session=session, facts=facts, settings=self.settings
                    )
                    if call is not None:
                        stored.append(call.id)
            except Exception:
                log.exception(
                    "call %s could not be stored; it stays in the event log", facts.call_id
                )
        for event in events:
            try:
                stored.extend(self._commit_one(event))
            except Exception:
                log.exception(
                    "AMI event %s could not be stored: %s", event.name, dict(event.headers)
                )
        self._after_commit(stored)

    def _commit_one(self, event: AmiEvent) -> list[int]:
        """Store one event and the calls it ends; returns their pks."""
        stored: list[int] = []
        with session_scope(self.session_factory) as session:
            fresh = self._fresh(session, [event])
            if not fresh:
                return stored
            service.log_events(db_session=session, events=[event])
            for facts in self.tracker.feed(event):
                call = service.upsert_call(db_session=session, facts=facts, settings=self.settings)
                if call is not None:
                    stored.append(call.id)
            if self.live is not None:
                self.live.observe(event)
        self._remember([d for _, d in fresh])
        self.stats.events += 1
        return stored


@dataclass(slots=True)
class LinkState:
    """What the connector's AMI link is doing (for /metrics and the wallboard)."""

    connected: bool = False
    connects: int = 0
    last_error: str | None = None


LinkFactory = Callable[..., AmiLink]


class Connector:
    """Keeps one AMI session up forever and feeds the writer; optionally follows queue_log."""

    def __init__(
        self,
        settings: Settings,
        session_factory: sessionmaker[Session],
        *,
        on_calls_committed: CallsCommitted | None = None,
        queue_log: Path | None = None,
        link_factory: LinkFactory = AmiLink,
    ) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.writer = EventWriter(
            session_factory, settings, on_calls_committed=on_calls_committed, live=True
        )
        self.link_factory = link_factory
        self.queue_log = queue_log
        self.state = LinkState()
        self.link: AmiLink | None = None
        self._stop = threading.Event()

    def stop(self) -> None:
        """Ask `run` to finish: log off, flush the writer, return."""
        self._stop.set()

    def _set_live_connected(self, connected: bool) -> None:
        if self.writer.live is not None:
            self.writer.live.connected = connected

    def _open_link(self) -> AmiLink:
        link = self.link_factory(
            self.settings.ami_host,
            self.settings.ami_port,
            self.settings.ami_username,
            self.settings.ami_secret,
            sink=self.writer.put,
            keep_all_events=self.settings.raw_event_log == "all",
        )
        link.open()
        return link

    def _resync(self, link: AmiLink) -> None:
        """Ask Asterisk which members and channels exist now, so no call is left dangling."""
        for action in ("QueueStatus", "CoreShowChannels"):
            response = link.action(action)
            if response is None or response.is_error():
                log.warning("resync %s got no usable answer: %s", action, response)

    def _start_queue_log(self) -> threading.Thread | None:
        if self.queue_log is None:
            return None
        key = f"queue_log:{self.queue_log}"
        with session_scope(self.session_factory) as session:
            start = FollowPosition.decode(service.get_state(db_session=session, key=key))
        parser = QueueLogParser(recording_for=recording_guess(self.settings))

        def on_calls(facts: list[CallFacts], position: FollowPosition) -> None:
            self.writer.put_calls(facts)
            # the position is stored only once the calls before it are committed
            self.writer.wait_idle(30)
            with session_scope(self.session_factory) as session:
                service.set_state(db_session=session, key=key, value=position.encode())

        follower = QueueLogFollower(self.queue_log, parser, on_calls, start=start)
        thread = threading.Thread(
            target=follower.run, args=(self._stop,), name="callscope-queue-log", daemon=True
        )
        thread.start()
        return thread

    def run(self) -> None:
        """Run until `stop()`; raises AmiAuthError/AmiProtocolError (retrying cannot help)."""
        self.writer.start()
        follower = self._start_queue_log()
        backoff = 0.5
        try:
            while not self._stop.is_set():
                try:
                    self.link = self._open_link()
                except (AmiAuthError, AmiProtocolError):
                    raise
                except AmiConnectError as exc:
                    self.state.connected = False
                    self.state.last_error = str(exc)
                    log.warning("%s; retrying in %.1f s", exc, backoff)
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, self.settings.ami_reconnect_max_s)
                    continue
                self.state.connected = True
                self._set_live_connected(True)
                self.state.connects += 1
                log.info(
                    "AMI link up to %s:%s (connect #%d)",
                    self.settings.ami_host,
                    self.settings.ami_port,
                    self.state.connects,
                )
                backoff = 0.5
                self._resync(self.link)
                self._keepalive(self.link)
                self.state.connected = False
                self._set_live_connected(False)
                if not self._stop.is_set():
                    self.state.last_error = str(self.link.error or "link lost")
                    log.warning("AMI link lost (%s); reconnecting", self.state.last_error)
        finally:
            if self.link is not None:
                self.link.close(logoff=True)
            if follower is not None:
                self._stop.set()
                follower.join(10)
            self.writer.stop()
            log.info(
                "connector stopped: %d events, %d calls written",
                self.writer.stats.events,
                self.writer.stats.calls_written,
            )

    def _keepalive(self, link: AmiLink) -> None:
        interval = self.settings.ami_ping_interval_s
        missed = 0
        while not self._stop.is_set() and link.alive:
            self._stop.wait(interval)
            if self._stop.is_set() or not link.alive:
                break
            if link.ping():
                missed = 0
                continue
            missed += 1
            if missed >= 3:
                log.warning("AMI link: 3 keepalive pings unanswered; dropping it")
                link.close()
                break


def recording_guess(settings: Settings) -> Callable[[str], str | None]:
    """For calls known only from queue_log: the MixMonitor file named after the uniqueid."""
    template = settings.recording_name_template

    def guess(uniqueid: str) -> str | None:
        if not template:
            return None
        return f"{settings.recording_dir.rstrip('/')}/{template.format(uniqueid=uniqueid)}"

    return guess


def import_queue_log(
    path: Path, session_factory: sessionmaker[Session], settings: Settings
) -> tuple[int, int, list[str]]:
    """Back-fill calls from a whole queue_log file. Returns (calls stored, kept, errors)."""
    errors: list[str] = []
    parser = QueueLogParser(recording_for=recording_guess(settings))
    from telephony.queue_log import parse_file

    facts = parse_file(
        path, parser, on_error=lambda n, line, why: errors.append(f"line {n}: {why}")
    )
    stored = kept = 0
    with session_scope(session_factory) as session:
        for item in facts:
            if service.upsert_call(db_session=session, facts=item, settings=settings) is None:
                kept += 1
            else:
                stored += 1
    return stored, kept, errors


def rebuild_calls(session_factory: sessionmaker[Session], settings: Settings) -> int:
    """Re-derive every AMI call from the raw event log (after a tracker fix)."""
    tracker = CallTracker()
    count = 0
    with session_scope(session_factory) as session:
        for event in service.iter_logged_events(db_session=session):
            for facts in tracker.feed(event):
                if service.upsert_call(
                    db_session=session, facts=facts, settings=settings, force=True
                ):
                    count += 1
    return count


__all__ = [
    "Connector",
    "EventWriter",
    "import_queue_log",
    "is_tracked",
    "rebuild_calls",
]
