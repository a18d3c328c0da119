"""Storing call facts: upserts, agents and queues, the raw event log, exports."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.settings import Settings
from telephony.events import AmiEvent
from telephony.models import Agent, AmiEventLog, Call, CallAttempt, ConnectorState, Queue
from telephony.rings import rings_for, within_target
from telephony.tracker import CallFacts

log = logging.getLogger(__name__)


def ts_to_dt(ts: float | None) -> datetime | None:
    """Epoch seconds to an aware UTC datetime."""
    return None if ts is None else datetime.fromtimestamp(ts, tz=UTC)


@dataclass(frozen=True, slots=True)
class RingPolicy:
    """The ring cycle and answer target in force for one queue."""

    ring_cycle_s: float
    answer_target_rings: int


def ring_policy(queue: Queue | None, settings: Settings) -> RingPolicy:
    """The queue's own ring cycle and target where set, else the global settings."""
    cycle = settings.ring_cycle_s
    target = settings.answer_target_rings
    if queue is not None:
        cycle = queue.ring_cycle_s or cycle
        target = queue.answer_target_rings or target
    return RingPolicy(cycle, target)


class NameCache:
    """Agent and queue ids by name (and each queue's ring policy, briefly), so a busy writer
    does not look them up for every call."""

    POLICY_TTL_S = 60.0

    def __init__(self) -> None:
        self.agents: dict[str, tuple[int, str | None]] = {}
        self.queues: dict[str, tuple[int, RingPolicy | None, float]] = {}


def agent_id_for(
    *, db_session: Session, name: str, interface: str | None = None, cache: NameCache | None = None
) -> int:
    """The id of the agent with this name, created on first sight."""
    if cache is not None and name in cache.agents:
        agent_id, known_interface = cache.agents[name]
        if not interface or interface == known_interface:
            return agent_id
    agent = get_or_create_agent(db_session=db_session, name=name, interface=interface)
    if cache is not None:
        cache.agents[name] = (agent.id, agent.interface)
    return agent.id


def get_or_create_agent(*, db_session: Session, name: str, interface: str | None = None) -> Agent:
    """The agent with this name, created on first sight."""
    agent = db_session.scalar(select(Agent).where(Agent.name == name))
    if agent is None:
        agent = Agent(name=name, interface=interface)
        db_session.add(agent)
        db_session.flush()
    elif interface and agent.interface != interface:
        agent.interface = interface
    return agent


def queue_for(
    *, db_session: Session, name: str, settings: Settings, cache: NameCache | None = None
) -> tuple[int, RingPolicy]:
    """The id and ring policy of the queue with this name, created on first sight."""
    now = time.monotonic()
    if cache is not None and name in cache.queues:
        queue_id, policy, at = cache.queues[name]
        if policy is not None and now - at < NameCache.POLICY_TTL_S:
            return queue_id, policy
    queue = get_or_create_queue(db_session=db_session, name=name)
    policy = ring_policy(queue, settings)
    if cache is not None:
        cache.queues[name] = (queue.id, policy, now)
    return queue.id, policy


def get_or_create_queue(*, db_session: Session, name: str) -> Queue:
    """The queue with this name, created on first sight."""
    queue = db_session.scalar(select(Queue).where(Queue.name == name))
    if queue is None:
        queue = Queue(name=name)
        db_session.add(queue)
        db_session.flush()
    return queue


QUEUE_LANGUAGES = ("zh", "ko", "en")
_UNSET: Any = object()


def update_queue(
    *,
    db_session: Session,
    name: str,
    ring_cycle_s: float | None = _UNSET,
    answer_target_rings: int | None = _UNSET,
    language: str | None = _UNSET,
    retention_days: int | None = _UNSET,
) -> tuple[Queue, list[str]]:
    """Set a queue's ring cycle, answer target, transcription language or retention (None:
    back to the settings' default); returns the queue and the fields changed. Raises ValueError.
    """
    if ring_cycle_s is not _UNSET and ring_cycle_s is not None and not 0 < ring_cycle_s <= 60:
        raise ValueError("ring_cycle_s must be above 0 and at most 60 seconds")
    if (
        answer_target_rings is not _UNSET
        and answer_target_rings is not None
        and not (1 <= answer_target_rings <= 50)
    ):
        raise ValueError("answer_target_rings must be between 1 and 50")
    if language is not _UNSET and language is not None and language not in QUEUE_LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(QUEUE_LANGUAGES)} or null (auto)")
    if retention_days is not _UNSET and retention_days is not None and retention_days < 0:
        raise ValueError("retention_days must be 0 (keep forever) or more")
    queue = get_or_create_queue(db_session=db_session, name=name)
    changed = []
    for field, value in (
        ("ring_cycle_s", ring_cycle_s),
        ("answer_target_rings", answer_target_rings),
        ("language", language),
        ("retention_days", retention_days),
    ):
        if value is not _UNSET and getattr(queue, field) != value:
            setattr(queue, field, value)
            changed.append(field)
    db_session.flush()
    return queue, changed


def recording_legs(mixed: str | None, settings: Settings) -> tuple[str | None, str | None]:
    """The customer and agent leg paths MixMonitor writes beside the mixed file."""
    if not mixed or not settings.recording_has_legs:
        return None, None
    path = PurePosixPath(mixed)
    customer = path.with_name(f"{path.stem}{settings.recording_customer_suffix}{path.suffix}")
    agent = path.with_name(f"{path.stem}{settings.recording_agent_suffix}{path.suffix}")
    return str(customer), str(agent)


def find_call(*, db_session: Session, call_id: str, uniqueid: str | None = None) -> Call | None:
    """A call by its Linkedid, or by its caller channel's uniqueid."""
    return find_calls(db_session=db_session, keys=[(call_id, uniqueid)]).get(call_id)


def find_calls(*, db_session: Session, keys: Sequence[tuple[str, str | None]]) -> dict[str, Call]:
    """Stored calls for (call_id, uniqueid) pairs, by the given call_id; one query."""
    call_ids = [k for k, _ in keys]
    uniqueids = [u for _, u in keys if u]
    condition: ColumnElement[bool] = Call.call_id.in_(call_ids)
    if uniqueids:
        condition = or_(condition, Call.uniqueid.in_(uniqueids))
    found = list(db_session.scalars(select(Call).where(condition)).unique())
    by_call = {c.call_id: c for c in found}
    by_uid = {c.uniqueid: c for c in found}
    result: dict[str, Call] = {}
    for call_id, uniqueid in keys:
        call = by_call.get(call_id) or (by_uid.get(uniqueid) if uniqueid else None)
        if call is not None:
            result[call_id] = call
    return result


def upsert_call(
    *,
    db_session: Session,
    facts: CallFacts,
    settings: Settings,
    force: bool = False,
    cache: NameCache | None = None,
) -> Call | None:
    """Store one call's facts (see `upsert_calls`)."""
    stored = upsert_calls(
        db_session=db_session, facts=[facts], settings=settings, force=force, cache=cache
    )
    return stored[0] if stored else None


def upsert_calls(
    *,
    db_session: Session,
    facts: Sequence[CallFacts],
    settings: Settings,
    force: bool = False,
    cache: NameCache | None = None,
) -> list[Call]:
    """Store calls' facts once; the same facts again change nothing, never a second call.

    AMI facts win over queue_log ones (they know direct calls, recordings and cancelled
    attempts); queue_log facts only replace an AMI call whose start or end was missed.
    Facts from a call seen only in part never replace a complete stored call (unless `force`,
    used by rebuild). Returns the calls stored (those whose stored version was kept are left
    out). One query finds the stored calls; one flush writes them.
    """
    existing = find_calls(db_session=db_session, keys=[(f.call_id, f.uniqueid) for f in facts])
    stored: list[Call] = []
    for item in facts:
        call = existing.get(item.call_id)
        if call is not None and not force:
            if item.source == "queue_log" and call.source == "ami" and call.complete:
                continue
            if not item.complete and call.complete:
                continue
        if call is not None and item.source == "queue_log" and call.source == "ami":
            # keep the AMI identity (Linkedid) and what queue_log cannot know
            item.call_id = call.call_id
            item.recording_mixed = item.recording_mixed or call.recording_mixed
            item.caller_name = item.caller_name or call.caller_name
        if call is None:
            call = Call(call_id=item.call_id, uniqueid=item.uniqueid)
            with db_session.no_autoflush:
                _apply(db_session, call, item, settings, cache)
            db_session.add(call)  # only once complete: name look-ups may flush
        else:
            if call.attempts:
                call.attempts.clear()
                db_session.flush()  # old attempts go before new ones reuse their (call, seq)
            with db_session.no_autoflush:
                _apply(db_session, call, item, settings, cache)
        existing[item.call_id] = call
        stored.append(call)
    db_session.flush()
    return stored


def _apply(
    db_session: Session,
    call: Call,
    facts: CallFacts,
    settings: Settings,
    cache: NameCache | None,
) -> None:
    policy = RingPolicy(settings.ring_cycle_s, settings.answer_target_rings)
    queue_id = None
    if facts.queue:
        queue_id, policy = queue_for(
            db_session=db_session, name=facts.queue, settings=settings, cache=cache
        )
    call.call_id = facts.call_id
    call.uniqueid = facts.uniqueid
    call.source = facts.source
    call.started_at = ts_to_dt(facts.started_ts)  # type: ignore[assignment]
    call.ended_at = ts_to_dt(facts.ended_ts)
    call.direction = facts.direction
    call.queue_id = queue_id
    call.caller_number = facts.caller_number
    call.caller_name = facts.caller_name
    call.dialed_number = facts.dialed_number
    call.answered = facts.answered
    call.agent_id = (
        agent_id_for(
            db_session=db_session, name=facts.agent, interface=facts.agent_interface, cache=cache
        )
        if facts.agent
        else None
    )
    call.answered_at = ts_to_dt(facts.answered_ts)
    call.ring_to_answer_s = _round(facts.ring_to_answer_s)
    if facts.answered and facts.ring_to_answer_s is not None:
        call.rings = rings_for(facts.ring_to_answer_s, policy.ring_cycle_s)
        call.answered_within_target = within_target(
            facts.ring_to_answer_s, policy.ring_cycle_s, policy.answer_target_rings
        )
    else:
        call.rings = None
        call.answered_within_target = None
    call.abandoned = facts.abandoned
    call.wait_s = _round(facts.wait_s)
    call.talk_s = _round(facts.talk_s)
    call.recording_mixed = facts.recording_mixed
    call.recording_customer, call.recording_agent = recording_legs(facts.recording_mixed, settings)
    call.complete = facts.complete
    for seq, attempt in enumerate(facts.attempts):
        call.attempts.append(
            CallAttempt(
                seq=seq,
                agent_id=agent_id_for(
                    db_session=db_session,
                    name=attempt.agent,
                    interface=attempt.interface,
                    cache=cache,
                ),
                agent_name=attempt.agent,
                started_at=ts_to_dt(attempt.started_ts),
                ring_s=_round(attempt.ring_s),
                outcome=attempt.outcome or "cancelled",
            )
        )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def log_events(
    *, db_session: Session, events: Sequence[AmiEvent], digests: Sequence[str] | None = None
) -> int:
    """Append events to the raw log; an event already there is skipped. Returns rows tried."""
    if not events:
        return 0
    if digests is None:
        digests = [event.digest() for event in events]
    rows = [
        {
            "digest": digest,
            "name": event.name,
            "linkedid": event.headers.get("Linkedid"),
            "event_ts": _float_or_none(event.headers.get("Timestamp")),
            "received_ts": event.received_ts,
            "headers": dict(event.headers),
        }
        for event, digest in zip(events, digests, strict=True)
    ]
    table = cast(Table, AmiEventLog.__table__)
    dialect = db_session.get_bind().dialect.name
    stmt: Any
    if dialect == "postgresql":
        stmt = postgresql.insert(table).on_conflict_do_nothing(index_elements=["digest"])
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=["digest"])
    else:  # pragma: no cover - only the two supported databases reach here
        stmt = insert(table)
    db_session.connection().execute(stmt, rows)
    return len(rows)


def _float_or_none(raw: str | None) -> float | None:
    try:
        return float(raw) if raw else None
    except ValueError:
        return None


def iter_logged_events(*, db_session: Session, batch: int = 5000) -> Iterable[AmiEvent]:
    """Every logged event in the order it was received."""
    last_id = 0
    while True:
        rows = db_session.execute(
            select(AmiEventLog.id, AmiEventLog.name, AmiEventLog.headers, AmiEventLog.received_ts)
            .where(AmiEventLog.id > last_id)
            .order_by(AmiEventLog.id)
            .limit(batch)
        ).all()
        if not rows:
            return
        for row in rows:
            yield AmiEvent(row.name, row.headers, row.received_ts)
        last_id = rows[-1].id


def get_state(*, db_session: Session, key: str) -> str | None:
    """A stored connector state value."""
    row = db_session.get(ConnectorState, key)
    return row.value if row else None


def set_state(*, db_session: Session, key: str, value: str) -> None:
    """Store a connector state value."""
    row = db_session.get(ConnectorState, key)
    if row is None:
        db_session.add(ConnectorState(key=key, value=value))
    else:
        row.value = value
    db_session.flush()


def export_row(call: Call) -> dict[str, Any]:
    """A call as the export (and the API) shows it."""
    return {
        "call_id": call.call_id,
        "uniqueid": call.uniqueid,
        "started_at": call.started_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "ended_at": call.ended_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
        if call.ended_at
        else None,
        "direction": call.direction,
        "queue": call.queue.name if call.queue else None,
        "caller_number": call.caller_number,
        "caller_name": call.caller_name,
        "answered": call.answered,
        "agent": call.agent.name if call.agent else None,
        "ring_to_answer_s": call.ring_to_answer_s,
        "rings": call.rings,
        "answered_within_target": call.answered_within_target,
        "abandoned": call.abandoned,
        "wait_s": call.wait_s,
        "talk_s": call.talk_s,
        "attempts": [
            {"agent": a.agent_name, "ring_s": a.ring_s, "outcome": a.outcome} for a in call.attempts
        ],
        "recording": {
            "mixed": call.recording_mixed,
            "customer": call.recording_customer,
            "agent": call.recording_agent,
        },
        "source": call.source,
    }


CSV_COLUMNS = [
    "call_id",
    "uniqueid",
    "started_at",
    "ended_at",
    "direction",
    "queue",
    "caller_number",
    "caller_name",
    "answered",
    "agent",
    "ring_to_answer_s",
    "rings",
    "answered_within_target",
    "abandoned",
    "wait_s",
    "talk_s",
    "attempts",
    "recording_mixed",
    "recording_customer",
    "recording_agent",
    "source",
]


def csv_row(row: dict[str, Any]) -> dict[str, Any]:
    """Flatten an export row for spreadsheets (attempts as 'agent:ring_s:outcome; ...')."""
    flat = {k: row.get(k) for k in CSV_COLUMNS if k in row}
    flat["attempts"] = "; ".join(
        f"{a['agent']}:{a['ring_s']}:{a['outcome']}" for a in row["attempts"]
    )
    flat["recording_mixed"] = row["recording"]["mixed"]
    flat["recording_customer"] = row["recording"]["customer"]
    flat["recording_agent"] = row["recording"]["agent"]
    return flat


def list_calls(
    *,
    db_session: Session,
    since: datetime | None = None,
    until: datetime | None = None,
    queue: str | None = None,
    agent: str | None = None,
) -> list[Call]:
    """Calls in start order, filtered by time range, queue name and agent name."""
    stmt = select(Call).order_by(Call.started_at, Call.id)
    if since is not None:
        stmt = stmt.where(Call.started_at >= since)
    if until is not None:
        stmt = stmt.where(Call.started_at < until)
    if queue is not None:
        stmt = stmt.join(Queue, Call.queue_id == Queue.id).where(Queue.name == queue)
    if agent is not None:
        stmt = stmt.join(Agent, Call.agent_id == Agent.id).where(Agent.name == agent)
    return list(db_session.scalars(stmt).unique())


def dumps(rows: list[dict[str, Any]]) -> str:
    """JSON text of export rows."""
    return json.dumps(rows, ensure_ascii=False, indent=2)
