"""Build a realistic hotline day out of a real capture.

Editing events to vary ring times would produce streams Asterisk never sends, so a day is
made of whole captured calls: the capture is cut into call blocks (each `Linkedid` with its
channels, bridges and dial events; calls that overlap in the capture, like two callers
queueing together, stay one block; uncorrelated events such as `QueueMemberStatus` and
`DeviceStateChange` belong to the block they follow). Blocks are picked by scenario weight,
placed at arrival times over the opening hours (busier mornings), shifted whole, and
re-numbered as one PBX would have numbered them: Uniqueids/Linkedids in order of creation,
channel sequence numbers, bridge ids, caller numbers and names, and the recording file names
in `MIXMONITOR_FILENAME` (the manifest maps each new recording to the captured one, so the
demo can link the shared audio under the new name). Deterministic by seed.
"""

from __future__ import annotations

import heapq
import json
import random
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telephony.trace import (
    CALLER,
    CHAN,
    EPOCH,
    LOGIN,
    NAME,
    TS,
    UID,
    UUID,
    AmiPacket,
    PacketTemplate,
    Tokenizer,
    TraceError,
    trace_uniqueids,
    write_trace,
)

# Calls per opening hour, from 08:00: a morning peak, a lunch dip, a quiet evening.
DEFAULT_HOURLY_WEIGHTS = (6.0, 10.0, 11.0, 9.0, 6.0, 6.0, 8.0, 7.0, 6.0, 5.0, 3.0, 2.0)
# How common each captured scenario is on an ordinary day (others weigh 1).
DEFAULT_SCENARIO_WEIGHTS = {
    "answered-fast": 8.0,
    "answered-9s": 6.0,
    "answered-13s": 4.0,
    "ring-no-answer-then-next": 3.0,
    "abandoned-in-queue": 2.5,
    "direct-answered": 2.0,
    "ringall-fastest-wins": 3.0,
    "direct-unanswered": 1.0,
    "answered-1s-complaint": 2.0,
    "overtalk": 1.0,
    "two-callers-at-once": 1.5,
    "ringing-forever-abandoned": 1.0,
}


@dataclass
class DayOptions:
    """What day to make."""

    calls: int = 300  # call blocks placed (a block of two callers counts once)
    seed: int = 1
    date: date | None = None  # None: the capture's own date
    tz: str = "UTC"  # time zone of the opening hours ("local": this machine's)
    open_hour: float = 8.0
    close_hour: float = 20.0
    hourly_weights: tuple[float, ...] = DEFAULT_HOURLY_WEIGHTS
    scenario_weights: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_SCENARIO_WEIGHTS)
    )
    allow_overlap: bool = False  # False: a call starts after the previous one ended
    min_gap_s: float = 1.0  # quiet time between calls when they may not overlap

    def __post_init__(self) -> None:
        if self.calls < 1:
            raise TraceError(f"a day needs at least one call, not {self.calls}")
        if not 0 <= self.open_hour < self.close_hour <= 24:
            raise TraceError(
                f"opening hours {self.open_hour}-{self.close_hour} are not within one day"
            )


@dataclass(frozen=True)
class CallBlock:
    """One captured call (or calls that overlapped): its events and what identifies it."""

    scenario: str
    indices: tuple[int, ...]
    linkedids: tuple[str, ...]
    start_ts: float
    end_ts: float
    callers: dict[str, str]  # linkedid -> caller number
    caller_names: dict[str, str]  # linkedid -> caller name
    recordings: dict[str, tuple[str, str]]  # linkedid -> (recording uniqueid, file name)
    starts: dict[str, float]  # linkedid -> time of its first event

    @property
    def duration_s(self) -> float:
        """From the first to the last event."""
        return self.end_ts - self.start_ts


def _linkedid_of(
    packet: AmiPacket, by_uid: dict[str, str], by_bridge: dict[str, str]
) -> str | None:
    for key in ("Linkedid", "DestLinkedid", "LocalOneLinkedid"):
        value = packet.get(key)
        if value:
            return value
    for key in ("Uniqueid", "DestUniqueid"):
        value = packet.get(key)
        if value and value in by_uid:
            return by_uid[value]
    bridge = packet.get("BridgeUniqueid")
    return by_bridge.get(bridge) if bridge else None


def find_call_blocks(events: Sequence[AmiPacket]) -> list[CallBlock]:
    """Cut a capture into call blocks, in capture order (events before the first call dropped)."""
    by_uid: dict[str, str] = {}
    by_bridge: dict[str, str] = {}
    for packet in events:
        uid, lid = packet.get("Uniqueid"), packet.get("Linkedid")
        if uid and lid:
            by_uid.setdefault(uid, lid)
            bridge = packet.get("BridgeUniqueid")
            if bridge and packet.name == "BridgeEnter":
                by_bridge.setdefault(bridge, lid)
    owner: list[str | None] = [_linkedid_of(p, by_uid, by_bridge) for p in events]
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for index, lid in enumerate(owner):
        if lid is not None:
            first.setdefault(lid, index)
            last[lid] = index
    # Calls whose events interleave are one block.
    clusters: list[list[str]] = []
    cluster_end = -1
    for lid in sorted(first, key=first.__getitem__):
        if clusters and first[lid] <= cluster_end:
            clusters[-1].append(lid)
        else:
            clusters.append([lid])
        cluster_end = max(cluster_end, last[lid])
    cluster_of = {lid: n for n, lids in enumerate(clusters) for lid in lids}
    members: list[list[int]] = [[] for _ in clusters]
    current = -1
    for index, lid in enumerate(owner):
        if lid is not None:
            n = cluster_of[lid]
            current = max(current, n)
            members[n].append(index)
        elif current >= 0:  # an uncorrelated event belongs to the call it follows
            members[current].append(index)
    blocks = []
    for n, lids in enumerate(clusters):
        indices = sorted(members[n])
        block_events = [events[i] for i in indices]
        stamps = [t for t in (p.timestamp for p in block_events) if t is not None]
        blocks.append(
            CallBlock(
                scenario=_scenario_of(block_events) or f"call-{n + 1:02d}",
                indices=tuple(indices),
                linkedids=tuple(lids),
                start_ts=min(stamps, default=0.0),
                end_ts=max(stamps, default=0.0),
                callers=_callers(block_events, lids, "CallerIDNum"),
                caller_names=_callers(block_events, lids, "CallerIDName"),
                recordings=_recordings(block_events),
                starts={lid: events[first[lid]].timestamp or 0.0 for lid in lids},
            )
        )
    return blocks


def _scenario_of(events: Sequence[AmiPacket]) -> str | None:
    for packet in events:
        if packet.name == "VarSet" and packet.get("Variable") == "SCENARIO":
            return packet.get("Value") or None
    return None


def _callers(events: Sequence[AmiPacket], linkedids: Sequence[str], key: str) -> dict[str, str]:
    """The caller id of each call: as its first channel (Uniqueid = Linkedid) carries it."""
    found: dict[str, str] = {}
    for packet in events:
        uid = packet.get("Uniqueid")
        value = packet.get(key)
        if uid is None or uid not in linkedids or uid in found:
            continue
        if value and value != "<unknown>":
            found[uid] = value
    return found


def _recordings(events: Sequence[AmiPacket]) -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    for packet in events:
        if packet.name == "VarSet" and packet.get("Variable") == "MIXMONITOR_FILENAME":
            lid, uid, value = packet.get("Linkedid"), packet.get("Uniqueid"), packet.get("Value")
            if lid and uid and value and lid not in found:
                found[lid] = (uid, value)
    return found


def _zone(name: str) -> tzinfo:
    if name == "local":
        local = datetime.now().astimezone().tzinfo
        return local if local is not None else UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TraceError(
            f"unknown time zone {name!r} (use e.g. UTC, Asia/Shanghai, local)"
        ) from exc


class _Numbering:
    """Ids handed out in order of appearance, as one PBX would: shared by all calls."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seq = rng.randrange(1000, 9000)
        self.chan = rng.randrange(0x100, 0x1000)
        self.numbers: set[str] = set()

    def caller_number(self) -> str:
        while True:
            number = f"1{self.rng.choice('3578')}{self.rng.randrange(10**9):09d}"
            if number not in self.numbers:
                self.numbers.add(number)
                return number


class _CallRewrite:
    """Rewrites one placed call: shifted times, fresh ids, its own caller."""

    def __init__(
        self, numbering: _Numbering, shift_s: float, login_epoch: int, callers: dict[str, str]
    ) -> None:
        self.numbering = numbering
        self.shift_s = shift_s
        self.login_epoch = login_epoch
        self.callers = callers  # original caller number or name -> new
        self.ids: dict[str, str] = {}
        self.chans: dict[str, str] = {}
        self.bridges: dict[str, str] = {}
        self.now = 0.0  # the new time of the event being rendered

    def __call__(self, kind: int, value: str) -> bytes:
        if kind == TS:
            text = f"{float(value) + self.shift_s:.6f}"
        elif kind == UID:
            text = self.ids.get(value) or self._new_uid(value)
        elif kind == CHAN:
            text = self.chans.get(value) or self._new_chan(value)
        elif kind == UUID:
            text = self.bridges.setdefault(
                value, str(uuid.UUID(int=self.numbering.rng.getrandbits(128), version=4))
            )
        elif kind in (CALLER, NAME):
            text = self.callers.get(value, value)
        elif kind == EPOCH:
            text = str(int(int(value) + self.shift_s))
        elif kind == LOGIN:
            text = str(self.login_epoch)
        else:
            text = value
        return text.encode("utf-8", "surrogateescape")

    def _new_uid(self, original: str) -> str:
        self.numbering.seq += 1
        uid = f"{int(self.now)}.{self.numbering.seq}"
        self.ids[original] = uid
        return uid

    def _new_chan(self, original: str) -> str:
        self.numbering.chan += 1
        chan = f"{self.numbering.chan:08x}"
        self.chans[original] = chan
        return chan


@dataclass
class TraceDay:
    """A generated day: the events (wire bytes, in time order) and the manifest."""

    events: list[bytes]
    manifest: dict[str, Any]

    def write(self, trace_path: Path, manifest_path: Path) -> None:
        """Write the raw AMI trace and the JSON manifest."""
        write_trace(trace_path, self.events)
        manifest_path.write_text(json.dumps(self.manifest, indent=1, ensure_ascii=False) + "\n")


def _arrivals(rng: random.Random, options: DayOptions, opening: datetime) -> list[float]:
    hours = options.close_hour - options.open_hour
    slots = max(1, int(-(-hours // 1)))
    weights = list(options.hourly_weights[:slots])
    weights += [1.0] * (slots - len(weights))
    starts = []
    for _ in range(options.calls):
        slot = rng.choices(range(slots), weights)[0]
        offset = (slot + rng.random()) * 3600.0
        starts.append(opening.timestamp() + min(offset, hours * 3600.0))
    return sorted(starts)


def make_trace_day(events: Sequence[AmiPacket], options: DayOptions | None = None) -> TraceDay:
    """Arrange the capture's calls into a day of `options.calls` calls."""
    options = options or DayOptions()
    blocks = find_call_blocks(events)
    if not blocks:
        raise TraceError("the capture has no calls (no event carries a Linkedid)")
    rng = random.Random(options.seed)
    zone = _zone(options.tz)
    day = options.date or datetime.fromtimestamp(blocks[0].start_ts, zone).date()
    opening = datetime.combine(day, time(0), zone) + timedelta(hours=options.open_hour)
    login_epoch = int(opening.timestamp()) - 15 * 60  # agents logged in before opening

    callers = {v for b in blocks for v in b.callers.values()}
    names = {v for b in blocks for v in b.caller_names.values()}
    tokenizer = Tokenizer(trace_uniqueids(events), callers, names)
    templates: dict[int, PacketTemplate] = {}
    for block in blocks:
        for i in block.indices:
            templates[i] = tokenizer.template(events[i].raw)
    stamps = [events[i].timestamp for i in range(len(events))]

    by_scenario: dict[str, list[CallBlock]] = {}
    for block in blocks:
        by_scenario.setdefault(block.scenario, []).append(block)
    scenario_ids = list(by_scenario)
    weights = [options.scenario_weights.get(s, 1.0) for s in scenario_ids]
    if not any(w > 0 for w in weights):
        raise TraceError("every scenario of the capture has weight 0")

    numbering = _Numbering(rng)
    placed: list[tuple[float, CallBlock, _CallRewrite]] = []
    free_at = 0.0
    for n, desired in enumerate(_arrivals(rng, options, opening)):
        block = rng.choice(by_scenario[rng.choices(scenario_ids, weights)[0]])
        start = desired if options.allow_overlap else max(desired, free_at + options.min_gap_s)
        free_at = start + block.duration_s
        mapping: dict[str, str] = {}
        for j, lid in enumerate(block.linkedids):
            if lid in block.callers:
                mapping[block.callers[lid]] = numbering.caller_number()
            if lid in block.caller_names:
                mapping[block.caller_names[lid]] = f"Customer {n + 1}-{j}"
        placed.append(
            (start, block, _CallRewrite(numbering, start - block.start_ts, login_epoch, mapping))
        )

    def stream(k: int) -> Iterator[tuple[float, int, int, int]]:
        start, block, rewrite = placed[k]
        last = block.start_ts
        for pos, i in enumerate(block.indices):
            ts = stamps[i]
            last = ts if ts is not None else last
            yield last + rewrite.shift_s, k, pos, i

    out: list[bytes] = []
    for new_ts, k, _, i in heapq.merge(*(stream(k) for k in range(len(placed)))):
        rewrite = placed[k][2]
        rewrite.now = new_ts
        out.append(templates[i].render(rewrite))

    calls: dict[str, Any] = {}
    recordings: dict[str, str] = {}
    for _, block, rewrite in placed:
        for lid in block.linkedids:
            new_lid = rewrite.ids.get(lid, lid)
            call_start = block.starts[lid] + rewrite.shift_s
            recording = None
            if lid in block.recordings:
                orig_uid, orig_file = block.recordings[lid]
                new_uid = rewrite.ids.get(orig_uid, orig_uid)
                recording = {
                    "uniqueid": new_uid,
                    "original_uniqueid": orig_uid,
                    "file": orig_file.replace(orig_uid, new_uid),
                    "original_file": orig_file,
                }
                recordings[new_uid] = orig_uid
            caller = block.callers.get(lid)
            calls[new_lid] = {
                "scenario": block.scenario,
                "original_linkedid": lid,
                "started": round(call_start, 6),
                "started_at": datetime.fromtimestamp(call_start, zone).isoformat(
                    timespec="seconds"
                ),
                "caller": rewrite.callers.get(caller, caller) if caller else None,
                "original_caller": caller,
                "recording": recording,
            }
    manifest = {
        "seed": options.seed,
        "date": day.isoformat(),
        "tz": options.tz,
        "events": len(out),
        "blocks": len(placed),
        "calls": calls,
        "recordings": recordings,
    }
    return TraceDay(out, manifest)
