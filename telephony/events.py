"""The AMI event as the tracker sees it, and the cheap filter for events that matter."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

# Events the call tracker reads. Everything else (Newexten, DeviceStateChange, most VarSets...)
# is noise for call facts and is skipped before it costs anything.
TRACKED_EVENTS = frozenset(
    {
        "Newchannel",
        "NewCallerid",
        "Hangup",
        "VarSet",
        "DialBegin",
        "DialEnd",
        "QueueCallerJoin",
        "QueueCallerLeave",
        "QueueCallerAbandon",
        "AgentCalled",
        "AgentConnect",
        "AgentRingNoAnswer",
        "AgentComplete",
        "AgentDump",
        "BridgeEnter",
        "QueueMemberStatus",
        "QueueMemberAdded",
        "QueueMember",
        "CoreShowChannel",
        "CoreShowChannelsComplete",
        "UserEvent",
    }
)
TRACKED_VARIABLES = frozenset({"MIXMONITOR_FILENAME"})


@dataclass(slots=True)
class AmiEvent:
    """One AMI event: its name, its headers, and when this process received it."""

    name: str
    headers: Mapping[str, str]
    received_ts: float

    @property
    def ts(self) -> float:
        """When it happened: the `Timestamp` header if present and valid, else receive time."""
        raw = self.headers.get("Timestamp")
        if raw:
            try:
                return float(raw)
            except ValueError:
                pass
        return self.received_ts

    def get(self, key: str) -> str | None:
        """A header value, with Asterisk's '<unknown>' and empty strings read as missing."""
        value = self.headers.get(key)
        if value is None or value == "" or value == "<unknown>":
            return None
        return value

    def digest(self) -> str:
        """Identity of this event for idempotent ingest (same event twice = same digest)."""
        payload = self.name + "\n" + "\n".join(f"{k}: {v}" for k, v in self.headers.items())
        if "Timestamp" not in self.headers:
            # Without Asterisk's timestamp two identical events are only the same when
            # received at the same moment.
            payload += f"\n@{self.received_ts:.6f}"
        return hashlib.sha1(payload.encode("utf-8", "surrogatepass")).hexdigest()


def is_tracked(name: str, headers: Mapping[str, str]) -> bool:
    """True when the call tracker needs this event (the connector's cheap pre-filter)."""
    if name not in TRACKED_EVENTS:
        return False
    if name == "VarSet":
        return headers.get("Variable") in TRACKED_VARIABLES
    return True
