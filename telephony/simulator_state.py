"""What the simulated PBX knows while it replays a capture: live channels, queues, callers.

The replay applies each event it emits; `CoreShowChannels` and `QueueStatus` answer from this
state the way Asterisk builds those lists (field names and order as in Asterisk 22's
manager.c and app_queue.c). The state keeps references to the replayed packets, not copies:
a listing renders the packets it needs through the replay pass's rewrite, so ids and times
match what the session received.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from telephony.trace import AmiPacket, serialize

# The channel snapshot Asterisk puts in every channel event and in CoreShowChannel.
CHANNEL_FIELDS = (
    "Channel",
    "ChannelState",
    "ChannelStateDesc",
    "CallerIDNum",
    "CallerIDName",
    "ConnectedLineNum",
    "ConnectedLineName",
    "Language",
    "AccountCode",
    "Context",
    "Exten",
    "Priority",
    "Uniqueid",
    "Linkedid",
)
_MEMBER_EVENTS = frozenset(
    {
        "QueueMemberStatus",
        "QueueMemberAdded",
        "QueueMemberPause",
        "QueueMemberPenalty",
        "QueueMemberRinginuse",
    }
)
_MEMBER_DEFAULTS = {
    "Membership": "static",
    "Penalty": "0",
    "CallsTaken": "0",
    "LastCall": "0",
    "LastPause": "0",
    "LoginTime": "0",
    "InCall": "0",
    "Status": "1",
    "Paused": "0",
    "PausedReason": "",
    "Wrapuptime": "0",
}

# Operations one event applies to the state (computed once per capture).
(_NEW, _SNAP, _APP, _HANGUP, _BRIDGE, _UNBRIDGE, _JOIN, _LEAVE, _MEMBER, _MEMBER_SEEN) = range(10)
(_MEMBER_GONE, _HOLD, _TALK, _ABANDON) = range(10, 14)
Op = tuple[int, str, str]

# Renders packet `index` of the capture as pass `pass_no` sent it.
PacketRenderer = Callable[[int, int], AmiPacket]


def _ops_of(packet: AmiPacket) -> tuple[Op, ...]:
    name = packet.name
    uid = packet.get("Uniqueid")
    ops: list[Op] = []
    has_snapshot = uid is not None and packet.get("ChannelState") is not None
    if name == "Newchannel" and uid:
        ops.append((_NEW, uid, ""))
    elif name == "Hangup" and uid:
        ops.append((_HANGUP, uid, ""))
        has_snapshot = False
    if has_snapshot and uid:
        ops.append((_SNAP, uid, ""))
    if name == "Newexten" and uid:
        ops.append((_APP, uid, ""))
    elif name == "BridgeEnter" and uid:
        ops.append((_BRIDGE, uid, ""))
    elif name == "BridgeLeave" and uid:
        ops.append((_UNBRIDGE, uid, ""))
    queue = packet.get("Queue") or ""
    if name == "QueueCallerJoin" and uid:
        ops.append((_JOIN, queue, uid))
    elif name in ("QueueCallerLeave", "QueueCallerAbandon") and uid:
        ops.append((_LEAVE, queue, uid))
        if name == "QueueCallerAbandon":
            ops.append((_ABANDON, queue, ""))
    elif name in _MEMBER_EVENTS:
        ops.append((_MEMBER, queue, packet.get("Interface") or ""))
    elif name == "QueueMemberRemoved":
        ops.append((_MEMBER_GONE, queue, packet.get("Interface") or ""))
    elif name == "AgentCalled":
        ops.append((_MEMBER_SEEN, queue, packet.get("Interface") or ""))
    elif name == "AgentConnect":
        ops.append((_HOLD, queue, packet.get("HoldTime") or "0"))
    elif name == "AgentComplete":
        ops.append((_TALK, queue, packet.get("TalkTime") or "0"))
    return tuple(ops)


@dataclass(slots=True)
class _Channel:
    pass_no: int
    created_v: float
    snapshot: int
    app: int | None = None
    bridge: int | None = None


_LIVE, _INITIAL, _SEEN_ONLY = range(3)


@dataclass(slots=True)
class _Member:
    pass_no: int
    source: int  # packet index of the latest member event
    mode: int  # _LIVE: as the event says; _INITIAL: idle; _SEEN_ONLY: from AgentCalled


@dataclass(slots=True)
class _Entry:
    pass_no: int
    joined_v: float
    packet: int


@dataclass(slots=True)
class _Queue:
    members: dict[str, _Member] = field(default_factory=dict)
    entries: dict[str, _Entry] = field(default_factory=dict)  # by pass-qualified uniqueid
    completed: int = 0
    completed_in_sl: int = 0
    abandoned: int = 0
    holdtime: int = 0
    talktime: int = 0


def _duration(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


class PbxState:
    """Live channels, queue members and waiting callers of a replay."""

    def __init__(
        self,
        events: Sequence[AmiPacket],
        *,
        queue_strategies: Mapping[str, str] | None = None,
        service_level_s: int = 0,
    ) -> None:
        self.events = events
        self.queue_strategies = dict(queue_strategies or {})
        self.service_level_s = service_level_s
        self._ops: list[tuple[Op, ...]] = [_ops_of(p) for p in events]
        self.channels: dict[tuple[int, str], _Channel] = {}
        self.queues: dict[str, _Queue] = {}
        # A PBX knows its static members before they take calls: learn them from the whole
        # capture (from their first member event, else from AgentCalled), idle at the start.
        for index, ops in enumerate(self._ops):
            for kind, queue, other in ops:
                if kind in (_JOIN, _LEAVE, _HOLD, _TALK):
                    self.queues.setdefault(queue, _Queue())
                elif kind in (_MEMBER, _MEMBER_SEEN):
                    members = self.queues.setdefault(queue, _Queue()).members
                    known = members.get(other)  # other: the member's interface
                    if kind == _MEMBER and (known is None or known.mode == _SEEN_ONLY):
                        members[other] = _Member(0, index, _INITIAL)
                    elif kind == _MEMBER_SEEN and known is None:
                        members[other] = _Member(0, index, _SEEN_ONLY)

    def apply(self, index: int, pass_no: int, virtual_ts: float) -> None:
        """Apply event `index` as replay pass `pass_no` emits it at `virtual_ts`."""
        for kind, a, b in self._ops[index]:
            if kind == _SNAP:
                channel = self.channels.get((pass_no, a))
                if channel is not None:
                    channel.snapshot = index
            elif kind == _NEW:
                self.channels[(pass_no, a)] = _Channel(pass_no, virtual_ts, index)
            elif kind == _HANGUP:
                self.channels.pop((pass_no, a), None)
            elif kind == _APP:
                channel = self.channels.get((pass_no, a))
                if channel is not None:
                    channel.app = index
            elif kind == _BRIDGE:
                channel = self.channels.get((pass_no, a))
                if channel is not None:
                    channel.bridge = index
            elif kind == _UNBRIDGE:
                channel = self.channels.get((pass_no, a))
                if channel is not None:
                    channel.bridge = None
            elif kind == _JOIN:
                q = self.queues.setdefault(a, _Queue())
                q.entries[f"{pass_no}/{b}"] = _Entry(pass_no, virtual_ts, index)
            elif kind == _LEAVE:
                self.queues.setdefault(a, _Queue()).entries.pop(f"{pass_no}/{b}", None)
            elif kind == _ABANDON:
                self.queues.setdefault(a, _Queue()).abandoned += 1
            elif kind == _MEMBER:
                self.queues.setdefault(a, _Queue()).members[b] = _Member(pass_no, index, _LIVE)
            elif kind == _MEMBER_SEEN:
                members = self.queues.setdefault(a, _Queue()).members
                if b not in members:
                    members[b] = _Member(pass_no, index, _SEEN_ONLY)
            elif kind == _MEMBER_GONE:
                self.queues.setdefault(a, _Queue()).members.pop(b, None)
            elif kind == _HOLD:
                q = self.queues.setdefault(a, _Queue())
                hold = int(b) if b.isdigit() else 0
                q.holdtime = (q.holdtime * 3 + hold) // 4  # Asterisk's running average
                q.completed += 1
                if hold <= self.service_level_s:
                    q.completed_in_sl += 1
            elif kind == _TALK:
                q = self.queues.setdefault(a, _Queue())
                talk = int(b) if b.isdigit() else 0
                q.talktime = (q.talktime * 3 + talk) // 4

    # ------------------------------------------------------------------ listings
    def core_show_channels(
        self, render: PacketRenderer, now_v: float, action_id: str | None
    ) -> bytes:
        """The whole CoreShowChannels answer: response, one event per channel, completion."""
        idh = [("ActionID", action_id)] if action_id is not None else []
        out = [
            serialize(
                [("Response", "Success"), *idh]
                + [("EventList", "start"), ("Message", "Channels will follow")]
            )
        ]
        for channel in self.channels.values():
            snap = render(channel.snapshot, channel.pass_no)
            app = render(channel.app, channel.pass_no) if channel.app is not None else None
            bridge = render(channel.bridge, channel.pass_no) if channel.bridge is not None else None
            headers = [("Event", "CoreShowChannel"), *idh]
            headers += [(k, snap.get(k) or "") for k in CHANNEL_FIELDS]
            headers += [
                ("Application", (app.get("Application") or "") if app else ""),
                ("ApplicationData", (app.get("AppData") or "") if app else ""),
                ("Duration", _duration(now_v - channel.created_v)),
                ("BridgeId", (bridge.get("BridgeUniqueid") or "") if bridge else ""),
            ]
            out.append(serialize(headers))
        out.append(
            serialize(
                [("Event", "CoreShowChannelsComplete"), *idh]
                + [("EventList", "Complete"), ("ListItems", str(len(self.channels)))]
            )
        )
        return b"".join(out)

    def queue_status(
        self,
        render: PacketRenderer,
        now_v: float,
        action_id: str | None,
        queue_filter: str | None = None,
        member_filter: str | None = None,
    ) -> bytes:
        """The whole QueueStatus answer: QueueParams, QueueMember, QueueEntry events."""
        idh = [("ActionID", action_id)] if action_id is not None else []
        out = [
            serialize(
                [("Response", "Success"), *idh]
                + [("EventList", "start"), ("Message", "Queue status will follow")]
            )
        ]
        items = 0
        for name, q in self.queues.items():
            if queue_filter and name.lower() != queue_filter.lower():
                continue
            done = q.completed
            sl = 100.0 * q.completed_in_sl / done if done else 0.0
            sl2 = 100.0 * q.completed_in_sl / (done + q.abandoned) if done + q.abandoned else 0.0
            out.append(
                serialize(
                    [
                        ("Event", "QueueParams"),
                        ("Queue", name),
                        ("Max", "0"),
                        ("Strategy", self.queue_strategies.get(name, "ringall")),
                        ("Calls", str(len(q.entries))),
                        ("Holdtime", str(q.holdtime)),
                        ("TalkTime", str(q.talktime)),
                        ("Completed", str(q.completed)),
                        ("Abandoned", str(q.abandoned)),
                        ("ServiceLevel", str(self.service_level_s)),
                        ("ServicelevelPerf", f"{sl:.1f}"),
                        ("ServicelevelPerf2", f"{sl2:.1f}"),
                        ("Weight", "0"),
                        *idh,
                    ]
                )
            )
            items += 1
            for interface, member in q.members.items():
                source = render(member.source, member.pass_no)
                values = dict(_MEMBER_DEFAULTS)
                if member.mode != _SEEN_ONLY:
                    values.update({k: source.get(k) or values[k] for k in _MEMBER_DEFAULTS})
                if member.mode == _INITIAL:
                    values.update(InCall="0", Status="1")
                member_name = source.get("MemberName") or interface
                if member_filter and member_filter not in (interface, member_name):
                    continue
                state_interface = source.get("StateInterface") or interface
                out.append(
                    serialize(
                        [
                            ("Event", "QueueMember"),
                            ("Queue", name),
                            ("Name", member_name),
                            ("Location", interface),
                            ("StateInterface", state_interface),
                            ("Membership", values["Membership"]),
                            ("Penalty", values["Penalty"]),
                            ("CallsTaken", values["CallsTaken"]),
                            ("LastCall", values["LastCall"]),
                            ("LastPause", values["LastPause"]),
                            ("LoginTime", values["LoginTime"]),
                            ("InCall", values["InCall"]),
                            ("Status", values["Status"]),
                            ("Paused", values["Paused"]),
                            ("PausedReason", values["PausedReason"]),
                            ("Wrapuptime", values["Wrapuptime"]),
                            *idh,
                        ]
                    )
                )
                items += 1
            for position, entry in enumerate(q.entries.values(), start=1):
                joined = render(entry.packet, entry.pass_no)
                out.append(
                    serialize(
                        [
                            ("Event", "QueueEntry"),
                            ("Queue", name),
                            ("Position", str(position)),
                            ("Channel", joined.get("Channel") or ""),
                            ("Uniqueid", joined.get("Uniqueid") or ""),
                            ("CallerIDNum", _known(joined.get("CallerIDNum"))),
                            ("CallerIDName", _known(joined.get("CallerIDName"))),
                            ("ConnectedLineNum", _known(joined.get("ConnectedLineNum"))),
                            ("ConnectedLineName", _known(joined.get("ConnectedLineName"))),
                            ("Wait", str(max(0, int(now_v - entry.joined_v)))),
                            ("Priority", "0"),
                            *idh,
                        ]
                    )
                )
                items += 1
        out.append(
            serialize(
                [("Event", "QueueStatusComplete"), *idh]
                + [("EventList", "Complete"), ("ListItems", str(items))]
            )
        )
        return b"".join(out)


def _known(value: str | None) -> str:
    """Asterisk writes 'unknown' for a missing caller id in QueueEntry."""
    return value if value and value != "<unknown>" else "unknown"
