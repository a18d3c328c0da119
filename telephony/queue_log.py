"""Asterisk queue_log: parse it into call facts, import a file, and follow it across rotation.

Lines are `epoch|callid|queue|agent|EVENT|params...`; the callid is the caller channel's
Uniqueid, which is how queue_log calls merge with the calls seen over AMI.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from telephony.tracker import AttemptFacts, CallFacts

log = logging.getLogger(__name__)

FINISHING = {
    "ABANDON",
    "COMPLETECALLER",
    "COMPLETEAGENT",
    "EXITWITHTIMEOUT",
    "EXITWITHKEY",
    "EXITEMPTY",
    "TRANSFER",
    "BLINDTRANSFER",
    "ATTENDEDTRANSFER",
}


class QueueLogError(ValueError):
    """A queue_log line that cannot be read."""


@dataclass(slots=True)
class _Pending:
    callid: str
    queue: str
    entered_ts: float
    first_offset: int
    caller_number: str | None = None
    attempts: list[AttemptFacts] = field(default_factory=list)
    answered_ts: float | None = None
    ring_to_answer_s: float | None = None
    agent: str | None = None


@dataclass(frozen=True, slots=True)
class QueueLogLine:
    """One parsed queue_log line."""

    ts: float
    callid: str
    queue: str
    agent: str
    event: str
    params: tuple[str, ...]


def parse_line(line: str) -> QueueLogLine:
    """Split one queue_log line; raises QueueLogError naming what is wrong."""
    parts = line.rstrip("\r\n").split("|")
    if len(parts) < 5:
        raise QueueLogError(f"expected at least 5 '|'-separated fields, got {len(parts)}")
    try:
        ts = float(parts[0])
    except ValueError as exc:
        raise QueueLogError(f"time {parts[0]!r} is not epoch seconds") from exc
    return QueueLogLine(ts, parts[1], parts[2], parts[3], parts[4], tuple(parts[5:]))


def _num(params: tuple[str, ...], index: int) -> float | None:
    try:
        return float(params[index])
    except (IndexError, ValueError):
        return None


class QueueLogParser:
    """Turns queue_log lines into finished calls; remembers calls still in the queue."""

    def __init__(self, recording_for: Callable[[str], str | None] | None = None) -> None:
        self._pending: dict[str, _Pending] = {}
        self._recording_for = recording_for or (lambda _uid: None)

    def safe_offset(self, current: int) -> int:
        """The earliest offset a restart must re-read so no call in flight is lost."""
        return min([p.first_offset for p in self._pending.values()] + [current])

    def feed(self, line: str, offset: int = 0) -> list[CallFacts]:
        """Apply one line (at byte `offset`); return the calls it finished."""
        entry = parse_line(line)
        if entry.callid in ("", "NONE"):
            return []  # queue/agent bookkeeping (CONFIGRELOAD, ADDMEMBER, PAUSE ...)
        pending = self._pending.get(entry.callid)
        if entry.event == "ENTERQUEUE":
            self._pending[entry.callid] = _Pending(
                callid=entry.callid,
                queue=entry.queue,
                entered_ts=entry.ts,
                first_offset=offset,
                caller_number=(entry.params[1] or None) if len(entry.params) > 1 else None,
            )
            return []
        if pending is None:
            log.info(
                "queue_log %s for call %s whose ENTERQUEUE was not seen; skipped",
                entry.event,
                entry.callid,
            )
            return []
        agent = entry.agent if entry.agent not in ("", "NONE") else None
        if entry.event in ("RINGNOANSWER", "RINGCANCELED") and agent:
            ring_ms = _num(entry.params, 0) or 0.0
            pending.attempts.append(
                AttemptFacts(
                    agent=agent,
                    interface=None,
                    started_ts=entry.ts - ring_ms / 1000.0,
                    ended_ts=entry.ts,
                    outcome="no_answer" if entry.event == "RINGNOANSWER" else "cancelled",
                    reported_ring_s=ring_ms / 1000.0,
                )
            )
        elif entry.event == "CONNECT" and agent:
            hold = _num(entry.params, 0)
            ring = _num(entry.params, 2) or 0.0
            pending.answered_ts = entry.ts
            pending.ring_to_answer_s = hold if hold is not None else entry.ts - pending.entered_ts
            pending.agent = agent
            pending.attempts.append(
                AttemptFacts(
                    agent=agent,
                    interface=None,
                    started_ts=entry.ts - ring,
                    ended_ts=entry.ts,
                    outcome="answered",
                    reported_ring_s=ring,
                )
            )
        elif entry.event in FINISHING:
            del self._pending[entry.callid]
            return [self._facts(pending, entry)]
        return []

    def _facts(self, pending: _Pending, end: QueueLogLine) -> CallFacts:
        answered = pending.answered_ts is not None
        abandoned = end.event == "ABANDON" and not answered
        wait: float | None
        talk: float | None = None
        if answered:
            wait = pending.ring_to_answer_s
            talk = _num(end.params, 1) if end.event.startswith("COMPLETE") else None
            if talk is None:
                talk = max(0.0, end.ts - (pending.answered_ts or end.ts))
            ended = (pending.answered_ts or end.ts) + talk
        else:
            wait = _num(end.params, 2)
            if wait is None:
                wait = end.ts - pending.entered_ts
            ended = end.ts
        attempts = sorted(pending.attempts, key=lambda a: (a.started_ts, a.agent))
        return CallFacts(
            call_id=pending.callid,
            uniqueid=pending.callid,
            started_ts=pending.entered_ts,
            ended_ts=ended,
            direction="inbound",
            queue=pending.queue,
            caller_number=pending.caller_number,
            caller_name=None,
            dialed_number=None,
            answered=answered,
            agent=pending.agent,
            agent_interface=None,
            answered_ts=pending.answered_ts,
            ring_to_answer_s=pending.ring_to_answer_s,
            abandoned=abandoned,
            wait_s=wait,
            talk_s=talk,
            recording_mixed=self._recording_for(pending.callid),
            attempts=attempts,
            complete=True,
            source="queue_log",
        )


def read_lines(path: Path, start: int = 0) -> Iterable[tuple[int, str]]:
    """(offset, line) for each complete line from byte `start`; a partial last line is left."""
    with path.open("rb") as fh:
        fh.seek(start)
        offset = start
        for raw in fh:
            if not raw.endswith(b"\n"):
                return
            yield offset, raw.decode("utf-8", errors="replace")
            offset += len(raw)


def parse_file(
    path: Path, parser: QueueLogParser, on_error: Callable[[int, str, str], None] | None = None
) -> list[CallFacts]:
    """Every call finished in a whole queue_log file; bad lines are reported and skipped."""
    facts: list[CallFacts] = []
    for lineno, (offset, line) in enumerate(read_lines(path), start=1):
        if not line.strip():
            continue
        try:
            facts.extend(parser.feed(line, offset))
        except QueueLogError as exc:
            log.warning(
                "%s:%d: skipped unreadable queue_log line (%s): %r", path, lineno, exc, line
            )
            if on_error:
                on_error(lineno, line, str(exc))
    return facts


@dataclass(slots=True)
class FollowPosition:
    """Where a follower stands in the file: which file (inode) and which byte."""

    inode: int
    offset: int

    def encode(self) -> str:
        """As stored in connector state."""
        return f"{self.inode}:{self.offset}"

    @classmethod
    def decode(cls, raw: str | None) -> FollowPosition | None:
        """From connector state; None when absent or unreadable."""
        if not raw or ":" not in raw:
            return None
        inode, offset = raw.split(":", 1)
        try:
            return cls(int(inode), int(offset))
        except ValueError:
            return None


class QueueLogFollower:
    """Catches up from the saved position (or the beginning), then follows the file.

    Survives rotation (a new file under the same name: the old one is read to its end
    first) and truncation (read again from the start).
    """

    def __init__(
        self,
        path: Path,
        parser: QueueLogParser,
        on_calls: Callable[[list[CallFacts], FollowPosition], None],
        start: FollowPosition | None = None,
        poll_s: float = 0.5,
    ) -> None:
        self.path = path
        self.parser = parser
        self.on_calls = on_calls
        self.start = start
        self.poll_s = poll_s
        self.errors = 0
        self._fh: BinaryIO | None = None
        self._inode = -1
        self._offset = 0

    def _consume(self, fh: BinaryIO, inode: int, offset: int) -> int:
        fh.seek(offset)
        finished: list[CallFacts] = []
        while True:
            raw = fh.readline()
            if not raw or not raw.endswith(b"\n"):
                break  # wait for the rest of a partly written line
            line = raw.decode("utf-8", errors="replace")
            if line.strip():
                try:
                    finished.extend(self.parser.feed(line, offset))
                except QueueLogError as exc:
                    self.errors += 1
                    log.warning(
                        "%s@%d: skipped unreadable queue_log line (%s): %r",
                        self.path,
                        offset,
                        exc,
                        line,
                    )
            offset += len(raw)
        self.on_calls(finished, FollowPosition(inode, self.parser.safe_offset(offset)))
        return offset

    def poll_once(self) -> None:
        """Read whatever is new since the last call (handles rotation and truncation)."""
        if self._fh is not None:
            self._offset = self._consume(self._fh, self._inode, self._offset)
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            log.debug("queue_log %s not there (yet)", self.path)
            return
        if self._fh is None or stat.st_ino != self._inode:
            first = self._fh is None
            if self._fh is not None:
                log.info("queue_log %s was rotated; following the new file", self.path)
                self._fh.close()
            self._fh = self.path.open("rb")
            self._inode = stat.st_ino
            begin = 0
            if (
                first
                and self.start is not None
                and self.start.inode == stat.st_ino
                and stat.st_size >= self.start.offset
            ):
                begin = self.start.offset
            self._offset = self._consume(self._fh, self._inode, begin)
        elif stat.st_size < self._offset:
            log.warning("queue_log %s shrank; reading it again from the start", self.path)
            self._offset = self._consume(self._fh, self._inode, 0)

    def close(self) -> None:
        """Release the file."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def run(self, stop: threading.Event) -> None:
        """Poll until `stop` is set."""
        try:
            while not stop.is_set():
                try:
                    self.poll_once()
                except OSError as exc:
                    log.warning("queue_log %s: %s; retrying", self.path, exc)
                stop.wait(self.poll_s)
            self.poll_once()
        finally:
            self.close()
