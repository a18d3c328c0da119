"""A pure state machine from AMI events to call facts (no I/O, no database).

Feed events in arrival order with `CallTracker.feed(event)`; it returns the calls that
finished with that event. One call is one Asterisk `Linkedid`; the caller channel is the one
that joins a queue, dials an agent, or carries the MixMonitor recording.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from telephony.events import AmiEvent

log = logging.getLogger(__name__)

_CHANNEL_SUFFIX = re.compile(r"-[0-9a-fA-F]+(;\d+)?$")

DIAL_OUTCOMES = {
    "ANSWER": "answered",
    "NOANSWER": "no_answer",
    "CANCEL": "cancelled",
    "BUSY": "busy",
    "CONGESTION": "failed",
    "CHANUNAVAIL": "failed",
    "DONTCALL": "failed",
    "TORTURE": "failed",
    "INVALIDARGS": "failed",
}


def interface_of(channel: str) -> str:
    """The device a channel belongs to: 'Local/agent3@agents-0000029;1' -> 'Local/agent3@agents'."""
    base = _CHANNEL_SUFFIX.sub("", channel)
    if base.endswith("/n"):
        base = base[:-2]
    return base


def _short_name(interface: str) -> str:
    """A readable agent name when none is configured: 'Local/agent3@agents' -> 'agent3'."""
    tail = interface.split("/", 1)[-1]
    return tail.split("@", 1)[0] or interface


@dataclass(slots=True)
class AttemptFacts:
    """One agent's phone ringing for a call."""

    agent: str
    interface: str | None
    started_ts: float
    ended_ts: float | None = None
    outcome: str | None = None
    reported_ring_s: float | None = None

    @property
    def ring_s(self) -> float | None:
        """Seconds the phone rang, from event times (Asterisk's own figure as a fallback)."""
        if self.ended_ts is not None:
            return max(0.0, self.ended_ts - self.started_ts)
        return self.reported_ring_s


@dataclass(slots=True)
class CallFacts:
    """What a finished (or re-synchronised) call amounts to."""

    call_id: str
    uniqueid: str
    started_ts: float
    ended_ts: float | None
    direction: str
    queue: str | None
    caller_number: str | None
    caller_name: str | None
    dialed_number: str | None
    answered: bool
    agent: str | None
    agent_interface: str | None
    answered_ts: float | None
    ring_to_answer_s: float | None
    abandoned: bool
    wait_s: float | None
    talk_s: float | None
    recording_mixed: str | None
    attempts: list[AttemptFacts]
    complete: bool
    source: str = "ami"


@dataclass(slots=True)
class _Channel:
    name: str
    alive: bool = True
    caller_number: str | None = None
    caller_name: str | None = None


@dataclass(slots=True)
class _CallState:
    linkedid: str
    started_ts: float
    seen_start: bool
    channels: dict[str, _Channel] = field(default_factory=dict)
    caller_uniqueid: str | None = None
    queue: str | None = None
    wait_start_ts: float | None = None
    attempts: dict[str, AttemptFacts] = field(default_factory=dict)
    answered_ts: float | None = None
    agent: str | None = None
    agent_interface: str | None = None
    abandoned_ts: float | None = None
    caller_gone_ts: float | None = None
    last_ts: float = 0.0
    recording: str | None = None
    dialed_number: str | None = None
    direction: str = "inbound"


class CallTracker:
    """Turns AMI events into `CallFacts`; keeps only calls in flight in memory."""

    def __init__(self, agent_names: dict[str, str] | None = None) -> None:
        self._calls: dict[str, _CallState] = {}
        self._by_uniqueid: dict[str, str] = {}
        # interface -> member name, learned from queue events or given by configuration
        self.agent_names: dict[str, str] = {
            interface_of(k): v for k, v in (agent_names or {}).items()
        }
        self._resync_seen: set[str] | None = None

    # ------------------------------------------------------------------ public
    @property
    def calls_in_flight(self) -> int:
        """How many calls have started and not finished."""
        return len(self._calls)

    def live_calls(self) -> list[CallFacts]:
        """Facts so far for every call in flight (for wallboards and resync)."""
        return [self._facts(state, complete=False) for state in self._calls.values()]

    def feed(self, event: AmiEvent) -> list[CallFacts]:
        """Apply one event; return the calls it finished."""
        handler = getattr(self, "_on_" + event.name, None)
        if handler is None:
            return []
        try:
            result: list[CallFacts] | None = handler(event)
        except (KeyError, ValueError) as exc:
            log.warning(
                "skipping malformed %s event (%s): %s", event.name, exc, dict(event.headers)
            )
            return []
        return result or []

    # ------------------------------------------------------------------ helpers
    def _state(self, event: AmiEvent) -> _CallState | None:
        linkedid = event.get("Linkedid")
        uniqueid = event.get("Uniqueid")
        if linkedid is None and uniqueid is not None:
            linkedid = self._by_uniqueid.get(uniqueid)
        if linkedid is None:
            return None
        state = self._calls.get(linkedid)
        ts = event.ts
        if state is None:
            seen_start = event.name == "Newchannel"
            if not seen_start:
                log.info("call %s: first event is %s; its start was missed", linkedid, event.name)
            state = _CallState(linkedid=linkedid, started_ts=ts, seen_start=seen_start)
            self._calls[linkedid] = state
        state.last_ts = max(state.last_ts, ts)
        if uniqueid is not None and uniqueid not in state.channels:
            channel = event.get("Channel") or ""
            state.channels[uniqueid] = _Channel(name=channel)
            self._by_uniqueid[uniqueid] = linkedid
            if uniqueid == linkedid and channel and interface_of(channel) in self.agent_names:
                state.direction = "outbound"
        return state

    def _agent_for(self, interface: str) -> str:
        return self.agent_names.get(interface) or _short_name(interface)

    def _learn_member(self, event: AmiEvent) -> None:
        name = event.get("MemberName") or event.get("Name")
        interface = event.get("Interface") or event.get("Location") or event.get("StateInterface")
        if name and interface:
            self.agent_names[interface_of(interface)] = name

    def _set_caller(self, state: _CallState, event: AmiEvent) -> None:
        uniqueid = event.get("Uniqueid")
        if uniqueid is not None:
            state.caller_uniqueid = uniqueid

    # ------------------------------------------------------------------ channel life
    def _on_Newchannel(self, event: AmiEvent) -> None:
        state = self._state(event)
        if state is None:
            return
        channel = state.channels[event.headers["Uniqueid"]]
        channel.caller_number = event.get("CallerIDNum") or channel.caller_number
        channel.caller_name = event.get("CallerIDName") or channel.caller_name
        if event.get("Uniqueid") == state.linkedid and state.direction == "outbound":
            state.dialed_number = event.get("Exten")

    def _on_NewCallerid(self, event: AmiEvent) -> None:
        state = self._state(event)
        if state is None:
            return
        channel = state.channels[event.headers["Uniqueid"]]
        channel.caller_number = event.get("CallerIDNum") or channel.caller_number
        channel.caller_name = event.get("CallerIDName") or channel.caller_name

    def _on_Hangup(self, event: AmiEvent) -> list[CallFacts]:
        state = self._state(event)
        if state is None:
            return []
        uniqueid = event.headers["Uniqueid"]
        state.channels[uniqueid].alive = False
        if uniqueid == state.caller_uniqueid and state.caller_gone_ts is None:
            state.caller_gone_ts = event.ts
        if any(ch.alive for ch in state.channels.values()):
            return []
        return [self._finish(state)]

    def _on_VarSet(self, event: AmiEvent) -> None:
        if event.get("Variable") != "MIXMONITOR_FILENAME":
            return
        state = self._state(event)
        if state is None:
            return
        state.recording = event.get("Value")
        if state.caller_uniqueid is None:
            self._set_caller(state, event)

    def _on_BridgeEnter(self, event: AmiEvent) -> None:
        self._state(event)

    # ------------------------------------------------------------------ queues
    def _on_QueueCallerJoin(self, event: AmiEvent) -> None:
        state = self._state(event)
        if state is None:
            return
        self._set_caller(state, event)
        if state.queue is None:
            state.queue = event.get("Queue")
        if state.wait_start_ts is None:
            state.wait_start_ts = event.ts

    def _on_QueueCallerAbandon(self, event: AmiEvent) -> None:
        state = self._state(event)
        if state is None or state.answered_ts is not None:
            return
        state.abandoned_ts = event.ts
        if state.queue is None:
            state.queue = event.get("Queue")
        if state.wait_start_ts is None and event.get("HoldTime"):
            state.wait_start_ts = event.ts - float(event.headers["HoldTime"])

    def _on_QueueCallerLeave(self, event: AmiEvent) -> None:
        self._state(event)

    def _on_AgentCalled(self, event: AmiEvent) -> None:
        state = self._state(event)
        if state is None:
            return
        self._learn_member(event)
        self._set_caller(state, event)
        dest = event.headers["DestUniqueid"]
        interface = event.get("Interface")
        state.attempts[dest] = AttemptFacts(
            agent=event.get("MemberName") or self._agent_for(interface_of(interface or "")),
            interface=interface_of(interface) if interface else None,
            started_ts=event.ts,
        )
        if state.queue is None:
            state.queue = event.get("Queue")

    def _attempt(self, state: _CallState, event: AmiEvent) -> AttemptFacts | None:
        dest = event.get("DestUniqueid")
        return state.attempts.get(dest) if dest else None

    def _on_AgentRingNoAnswer(self, event: AmiEvent) -> None:
        state = self._state(event)
        if state is None:
            return
        attempt = self._attempt(state, event)
        if attempt is not None:
            attempt.outcome = "no_answer"
            attempt.ended_ts = event.ts
            if event.get("RingTime"):
                attempt.reported_ring_s = float(event.headers["RingTime"]) / 1000.0

    def _on_AgentConnect(self, event: AmiEvent) -> None:
        state = self._state(event)
        if state is None:
            return
        self._learn_member(event)
        attempt = self._attempt(state, event)
        if attempt is None:
            # The AgentCalled was missed (we joined mid-call): rebuild from the reported ring.
            ring = float(event.get("RingTime") or 0)
            interface = event.get("Interface")
            attempt = AttemptFacts(
                agent=event.get("MemberName") or self._agent_for(interface_of(interface or "")),
                interface=interface_of(interface) if interface else None,
                started_ts=event.ts - ring,
            )
            state.attempts[event.get("DestUniqueid") or f"connect-{event.ts}"] = attempt
        attempt.outcome = "answered"
        attempt.ended_ts = event.ts
        self._answer(state, event.ts, attempt)
        if state.wait_start_ts is None and event.get("HoldTime"):
            state.wait_start_ts = event.ts - float(event.headers["HoldTime"])
        if state.queue is None:
            state.queue = event.get("Queue")

    def _on_AgentComplete(self, event: AmiEvent) -> None:
        self._state(event)

    def _on_AgentDump(self, event: AmiEvent) -> None:
        state = self._state(event)
        if state is None:
            return
        attempt = self._attempt(state, event)
        if attempt is not None and attempt.outcome is None:
            attempt.outcome = "cancelled"
            attempt.ended_ts = event.ts

    def _learn(self, event: AmiEvent) -> None:
        self._learn_member(event)

    _on_QueueMemberStatus = _learn
    _on_QueueMemberAdded = _learn
    _on_QueueMember = _learn

    # ------------------------------------------------------------------ dial (direct calls)
    def _on_DialBegin(self, event: AmiEvent) -> None:
        if event.get("Channel") is None:
            return  # an Originate's own dial: no caller channel yet
        state = self._state(event)
        if state is None:
            return
        dest = event.get("DestUniqueid")
        if dest is None or dest in state.attempts:
            return  # queue attempts are already known from AgentCalled
        dest_interface = interface_of(event.get("DestChannel") or "")
        if state.direction == "outbound" and dest_interface not in self.agent_names:
            state.dialed_number = state.dialed_number or event.get("DestCallerIDNum")
            return
        if state.queue is None:
            self._set_caller(state, event)
            if state.wait_start_ts is None:
                state.wait_start_ts = event.ts
        state.attempts[dest] = AttemptFacts(
            agent=self._agent_for(dest_interface),
            interface=dest_interface,
            started_ts=event.ts,
        )

    def _on_DialEnd(self, event: AmiEvent) -> None:
        if event.get("Channel") is None:
            return
        state = self._state(event)
        if state is None:
            return
        attempt = self._attempt(state, event)
        status = event.get("DialStatus") or ""
        if attempt is None or attempt.outcome is not None:
            if status == "ANSWER" and state.direction == "outbound" and state.answered_ts is None:
                state.answered_ts = event.ts
            return
        attempt.outcome = DIAL_OUTCOMES.get(status, "failed")
        attempt.ended_ts = event.ts
        if attempt.outcome == "answered":
            self._answer(state, event.ts, attempt)

    def _answer(self, state: _CallState, ts: float, attempt: AttemptFacts) -> None:
        if state.answered_ts is not None:
            return
        state.answered_ts = ts
        if attempt.interface and attempt.interface in self.agent_names:
            attempt.agent = self.agent_names[attempt.interface]
        state.agent = attempt.agent
        state.agent_interface = attempt.interface

    # ------------------------------------------------------------------ resync after reconnect
    def _on_CoreShowChannel(self, event: AmiEvent) -> None:
        if self._resync_seen is None:
            self._resync_seen = set()
        uniqueid = event.get("Uniqueid")
        if uniqueid:
            self._resync_seen.add(uniqueid)
        linkedid = event.get("Linkedid")
        if linkedid and linkedid not in self._calls and event.get("Duration"):
            # A call that started while we were away: date it from its reported duration.
            duration = _duration_s(event.headers["Duration"])
            state = self._state(event)
            if state is not None:
                state.started_ts = event.ts - duration
        else:
            self._state(event)

    def _on_CoreShowChannelsComplete(self, event: AmiEvent) -> list[CallFacts]:
        alive = self._resync_seen or set()
        self._resync_seen = None
        finished: list[CallFacts] = []
        for state in list(self._calls.values()):
            for uniqueid, channel in state.channels.items():
                if channel.alive and uniqueid not in alive:
                    channel.alive = False
                    if uniqueid == state.caller_uniqueid and state.caller_gone_ts is None:
                        state.caller_gone_ts = state.last_ts
            if not any(ch.alive for ch in state.channels.values()):
                finished.append(self._finish(state, complete=False))
        return finished

    def _on_UserEvent(self, event: AmiEvent) -> None:
        return None

    # ------------------------------------------------------------------ results
    def _finish(self, state: _CallState, complete: bool = True) -> CallFacts:
        del self._calls[state.linkedid]
        for uniqueid in state.channels:
            self._by_uniqueid.pop(uniqueid, None)
        return self._facts(state, complete=complete and state.seen_start)

    def _facts(self, state: _CallState, *, complete: bool) -> CallFacts:
        caller_uid = state.caller_uniqueid or state.linkedid
        caller = state.channels.get(caller_uid) or state.channels.get(state.linkedid)
        owner = state.channels.get(state.linkedid)
        number = (caller.caller_number if caller else None) or (
            owner.caller_number if owner else None
        )
        name = (caller.caller_name if caller else None) or (owner.caller_name if owner else None)
        ended_ts = state.caller_gone_ts or state.last_ts
        wait_start = state.wait_start_ts if state.wait_start_ts is not None else state.started_ts
        answered = state.answered_ts is not None
        ring_to_answer = max(0.0, state.answered_ts - wait_start) if answered else None  # type: ignore[operator]
        abandoned = False
        wait_s: float | None = ring_to_answer
        if not answered:
            gave_up_ts = state.abandoned_ts
            if gave_up_ts is None and state.queue is None and state.direction == "inbound":
                cancelled = [a for a in state.attempts.values() if a.outcome == "cancelled"]
                if cancelled:
                    gave_up_ts = max(a.ended_ts or 0.0 for a in cancelled)
            if gave_up_ts is not None:
                abandoned = True
                wait_s = max(0.0, gave_up_ts - wait_start)
            elif state.caller_gone_ts is not None:
                wait_s = max(0.0, state.caller_gone_ts - wait_start)
        for attempt in state.attempts.values():
            if attempt.outcome is None and state.caller_gone_ts is not None:
                attempt.outcome = "cancelled"
                attempt.ended_ts = state.caller_gone_ts
        for attempt in state.attempts.values():
            if attempt.interface and attempt.interface in self.agent_names:
                attempt.agent = self.agent_names[attempt.interface]
        agent = state.agent
        if state.agent_interface and state.agent_interface in self.agent_names:
            agent = self.agent_names[state.agent_interface]
        talk_s = None
        if answered and ended_ts is not None:
            talk_s = max(0.0, ended_ts - state.answered_ts)  # type: ignore[operator]
        attempts = sorted(state.attempts.values(), key=lambda a: (a.started_ts, a.agent))
        return CallFacts(
            call_id=state.linkedid,
            uniqueid=caller_uid,
            started_ts=state.started_ts,
            ended_ts=ended_ts,
            direction=state.direction,
            queue=state.queue,
            caller_number=number,
            caller_name=name,
            dialed_number=state.dialed_number,
            answered=answered,
            agent=agent,
            agent_interface=state.agent_interface,
            answered_ts=state.answered_ts,
            ring_to_answer_s=ring_to_answer,
            abandoned=abandoned,
            wait_s=wait_s,
            talk_s=talk_s,
            recording_mixed=state.recording,
            attempts=attempts,
            complete=complete,
        )


def _duration_s(raw: str) -> float:
    """Asterisk's channel Duration 'HH:MM:SS' (or plain seconds) in seconds."""
    if ":" not in raw:
        return float(raw)
    seconds = 0.0
    for part in raw.split(":"):
        seconds = seconds * 60 + float(part)
    return seconds
