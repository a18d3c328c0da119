"""The live wallboard feed: what the hotline is doing now, as the connector's tracker sees it.

The connector's writer thread (the only thread that touches the tracker) calls
`LivePublisher.publish` about once a second; it stores one JSON snapshot in the
`connector_state` table under `LIVE_KEY`, where the API reads it (`read_snapshot`). Times
are the PBX's: event timestamps, moved on by the wall clock since the last event, so a
replayed capture and a real PBX give the same waits.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from core.settings import Settings
from telephony import service
from telephony.events import AmiEvent
from telephony.models import Call, ConnectorState
from telephony.tracker import CallFacts, CallTracker

LIVE_KEY = "live:wallboard"


@dataclass(slots=True)
class WaitingCall:
    """A caller waiting for a person now."""

    call_id: str
    queue: str | None
    wait_s: float
    ringing: list[str]  # agents whose phone rings for this call now


@dataclass(slots=True)
class AgentNow:
    """One agent: ringing, talking or free (free = known to the PBX and doing neither)."""

    name: str
    state: str  # ringing | talking | free
    queue: str | None = None
    since_s: float | None = None  # seconds in this state (ringing, talking)


@dataclass(slots=True)
class Today:
    """Today's inbound calls so far (in the hotline's time zone), as stored."""

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    answered_within_target: int = 0

    @property
    def within_target_rate(self) -> float | None:
        """answered_within_target / answered, as the compliance report's sl_answered."""
        return self.answered_within_target / self.answered if self.answered else None


@dataclass(slots=True)
class LiveSnapshot:
    """One wallboard frame."""

    at: str  # ISO 8601 UTC, PBX time
    connected: bool
    waiting: list[WaitingCall] = field(default_factory=list)
    agents: list[AgentNow] = field(default_factory=list)
    today: Today = field(default_factory=Today)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with the derived figures the wallboard shows."""
        data = asdict(self)
        data["today"]["within_target_rate"] = self.today.within_target_rate
        data["longest_wait_s"] = max((w.wait_s for w in self.waiting), default=0.0)
        counts = {"ringing": 0, "talking": 0, "free": 0}
        for agent in self.agents:
            counts[agent.state] += 1
        data["agent_counts"] = counts
        return data


def _is_waiting(facts: CallFacts) -> bool:
    if facts.direction != "inbound" or facts.answered or facts.abandoned:
        return False
    return facts.queue is not None or bool(facts.attempts)


def snapshot_calls(
    calls: list[CallFacts], *, now_ts: float, known_agents: set[str]
) -> tuple[list[WaitingCall], list[AgentNow]]:
    """Waiting calls (longest first) and agent states from the calls in flight."""
    waiting: list[WaitingCall] = []
    busy: dict[str, AgentNow] = {}
    for facts in calls:
        if facts.answered and facts.agent and facts.answered_ts is not None:
            busy[facts.agent] = AgentNow(
                facts.agent, "talking", facts.queue, round(max(0.0, now_ts - facts.answered_ts), 1)
            )
    for facts in calls:
        ringing = [
            a
            for a in facts.attempts
            if not facts.answered and a.outcome is None and a.ended_ts is None
        ]
        for attempt in ringing:
            if attempt.agent not in busy:
                busy[attempt.agent] = AgentNow(
                    attempt.agent,
                    "ringing",
                    facts.queue,
                    round(max(0.0, now_ts - attempt.started_ts), 1),
                )
        if _is_waiting(facts):
            waiting.append(
                WaitingCall(
                    call_id=facts.call_id,
                    queue=facts.queue,
                    wait_s=round(max(0.0, now_ts - facts.started_ts), 1),
                    ringing=sorted(a.agent for a in ringing),
                )
            )
    agents = sorted(busy.values(), key=lambda a: a.name)
    agents += [AgentNow(name, "free") for name in sorted(known_agents - set(busy))]
    waiting.sort(key=lambda w: -w.wait_s)
    return waiting, agents


def today_figures(*, db_session: Session, zone: ZoneInfo, now: datetime) -> Today:
    """Inbound calls stored since local midnight: offered, answered, abandoned, within target."""
    local = now.astimezone(zone)
    midnight = datetime(local.year, local.month, local.day, tzinfo=zone).astimezone(UTC)
    until = midnight + timedelta(days=1)
    row = db_session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((Call.answered, 1), else_=0)), 0),
            func.coalesce(func.sum(case((Call.abandoned, 1), else_=0)), 0),
            func.coalesce(
                func.sum(case((Call.answered & Call.answered_within_target.is_(True), 1), else_=0)),
                0,
            ),
        ).where(Call.direction == "inbound", Call.started_at >= midnight, Call.started_at < until)
    ).one()
    return Today(int(row[0]), int(row[1]), int(row[2]), int(row[3]))


class LivePublisher:
    """Builds and stores snapshots; owned by the thread that feeds the tracker."""

    def __init__(self, tracker: CallTracker, settings: Settings, interval_s: float = 1.0) -> None:
        self.tracker = tracker
        self.zone = ZoneInfo(settings.timezone)
        self.interval_s = interval_s
        self.connected = False
        self.seen_agents: set[str] = set()
        self._pbx_ts: float | None = None  # the last event's time...
        self._pbx_wall: float = 0.0  # ...and when it came
        self._stamped = False  # the PBX sends Timestamp headers
        self._last_publish = 0.0

    def observe(self, event: AmiEvent) -> None:
        """Note the time of an event just fed to the tracker.

        Once the PBX stamps its events (`timestampevents=yes`), events without a stamp (the
        answers to a resync) do not move the clock: they carry only the receive time.
        """
        first_stamp = False
        if event.headers.get("Timestamp") is not None:
            first_stamp, self._stamped = not self._stamped, True
        elif self._stamped:
            return
        ts = event.ts
        if first_stamp or self._pbx_ts is None or ts >= self._pbx_ts:
            self._pbx_ts = ts
            self._pbx_wall = time.time()

    def pbx_now(self) -> float:
        """The PBX's clock now: the last event's time plus the wall time since."""
        if self._pbx_ts is None:
            return time.time()
        return self._pbx_ts + (time.time() - self._pbx_wall)

    def due(self) -> bool:
        """True when the last snapshot is an interval old."""
        return time.monotonic() - self._last_publish >= self.interval_s

    def build(self, db_session: Session) -> LiveSnapshot:
        """A snapshot of now."""
        now_ts = self.pbx_now()
        calls = self.tracker.live_calls()
        for facts in calls:
            self.seen_agents.update(a.agent for a in facts.attempts)
        known = set(self.tracker.agent_names.values()) | self.seen_agents
        waiting, agents = snapshot_calls(calls, now_ts=now_ts, known_agents=known)
        now = datetime.fromtimestamp(now_ts, UTC)
        return LiveSnapshot(
            at=now.isoformat(timespec="seconds"),
            connected=self.connected,
            waiting=waiting,
            agents=agents,
            today=today_figures(db_session=db_session, zone=self.zone, now=now),
        )

    def publish(self, db_session: Session) -> LiveSnapshot:
        """Build a snapshot and store it (flush only)."""
        snap = self.build(db_session)
        service.set_state(db_session=db_session, key=LIVE_KEY, value=json.dumps(snap.as_dict()))
        self._last_publish = time.monotonic()
        return snap


def read_snapshot(*, db_session: Session) -> dict[str, Any] | None:
    """The last stored snapshot, with `age_s` (how long ago it was stored), or None."""
    row = db_session.get(ConnectorState, LIVE_KEY)
    if row is None:
        return None
    data: dict[str, Any] = json.loads(row.value)
    data["age_s"] = round(max(0.0, (datetime.now(UTC) - row.updated_at).total_seconds()), 1)
    return data
