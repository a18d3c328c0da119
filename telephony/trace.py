"""Raw AMI captures: packets, trace files, and packet templates for re-timing and re-numbering.

A trace file is the byte stream one manager session received: the banner line
(`Asterisk Call Manager/11.0.0`), then packets of `Key: Value` lines, each ended by a blank
line, all with CRLF line ends.

A `PacketTemplate` cuts a packet into literal bytes and the tokens that must change when a
capture is replayed again or re-arranged into a new day: the `Timestamp`, Uniqueids and
Linkedids (also inside values, e.g. a recording's file name), channel sequence numbers
(`Local/hotline@inbound-00000284;1`), bridge ids, epoch-valued member fields, and optionally
caller numbers and names. Rendering a template with a rewrite function is a join, so a trace
can be re-numbered many times cheaply.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from telephony.errors import TelephonyError

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
CRLF = b"\r\n"
END = b"\r\n\r\n"
_BANNER_PREFIX = b"Asterisk Call Manager/"

# Token kinds of a PacketTemplate.
TS, EPOCH, UID, CHAN, UUID, CALLER, NAME, LOGIN = range(8)

# Headers whose value is a channel's unique id (BridgeUniqueid is a UUID, not one of these).
_ID_KEY = re.compile(r"(?i)(uniqueid|linkedid)$")
_UID_VALUE = re.compile(r"\d+\.\d+")
_EPOCH_KEYS = (b"LastCall", b"LoginTime", b"LastPause")


class TraceError(TelephonyError):
    """A trace file that is not a raw AMI capture."""


@dataclass(slots=True)
class AmiPacket:
    """One AMI packet: its headers in wire order and its exact bytes (terminator included)."""

    headers: list[tuple[str, str]]
    raw: bytes

    @property
    def name(self) -> str:
        """The event name, or the response status for a response; '' when neither."""
        if self.headers:
            key, value = self.headers[0]
            if key.lower() in ("event", "response"):
                return value
        return ""

    @property
    def is_event(self) -> bool:
        """True for an `Event:` packet (an OriginateResponse event included)."""
        return bool(self.headers) and self.headers[0][0].lower() == "event"

    @property
    def is_response(self) -> bool:
        """True for a `Response:` packet."""
        return bool(self.headers) and self.headers[0][0].lower() == "response"

    def get(self, key: str) -> str | None:
        """The first value of a header (names compared without case, like Asterisk does)."""
        for k, v in self.headers:
            if k == key:
                return v
        lowered, size = key.lower(), len(key)
        for k, v in self.headers:
            if len(k) == size and k.lower() == lowered:
                return v
        return None

    @property
    def timestamp(self) -> float | None:
        """The `Timestamp` header as epoch seconds, None when absent or unreadable."""
        raw = self.get("Timestamp")
        if raw is None:
            return None
        try:
            return float(raw)
        except ValueError:
            return None

    def as_dict(self) -> dict[str, str]:
        """Headers as a dict (the first value of a repeated header wins)."""
        out: dict[str, str] = {}
        for k, v in self.headers:
            out.setdefault(k, v)
        return out


def serialize(headers: Iterable[tuple[str, str]]) -> bytes:
    """Headers as one wire packet: `Key: Value` CRLF lines and the blank line that ends it."""
    text = "".join(f"{k}: {v}\r\n" for k, v in headers)
    return text.encode("utf-8", "surrogateescape") + CRLF


def parse_packet(raw: bytes, *, strict: bool = True) -> AmiPacket:
    """Parse one packet (with or without its terminating blank line).

    Invalid UTF-8 survives as surrogate escapes. A line without a colon raises TraceError
    when `strict`, else it is skipped.
    """
    body = raw[:-4] if raw.endswith(END) else raw
    text = body.decode("utf-8", "surrogateescape")
    headers: list[tuple[str, str]] = []
    append = headers.append
    for line in text.split("\r\n"):
        key, sep, value = line.partition(":")
        if sep:
            append((key, value[1:] if value[:1] == " " else value))
        elif line and strict:
            raise TraceError(f"AMI line without a colon: {line[:80]!r}")
    return AmiPacket(headers, body + END)


def iter_packets(data: bytes, *, strict: bool = True) -> Iterator[AmiPacket]:
    """Every packet of a raw AMI byte stream (the banner line, when present, is skipped)."""
    start = 0
    if data.startswith(_BANNER_PREFIX):
        end = data.find(CRLF)
        if end == -1:
            return
        start = end + 2
    while True:
        end = data.find(END, start)
        if end == -1:
            tail = data[start:]
            if tail.strip() and strict:
                raise TraceError(f"the trace ends inside a packet: {tail[:80]!r}")
            return
        if end > start:
            yield parse_packet(data[start : end + 4], strict=strict)
        start = end + 4


def read_trace(path: Path) -> list[AmiPacket]:
    """The events of a capture, in order: no banner, no responses, no session FullyBooted."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TraceError(f"cannot read the AMI trace {path}: {exc.strerror or exc}") from exc
    try:
        return [p for p in iter_packets(data) if p.is_event and p.name != "FullyBooted"]
    except TraceError as exc:
        raise TraceError(f"{path}: {exc}") from exc


def session_preamble(action_id: str = "callscope-1") -> bytes:
    """What a session receives before the events: banner, Login response, FullyBooted."""
    return (
        BANNER
        + serialize(
            [
                ("Response", "Success"),
                ("ActionID", action_id),
                ("Message", "Authentication accepted"),
            ]
        )
        + serialize(
            [
                ("Event", "FullyBooted"),
                ("Privilege", "system,all"),
                ("Uptime", "0"),
                ("LastReload", "0"),
                ("Status", "Fully Booted"),
            ]
        )
    )


def write_trace(path: Path, packets: Iterable[AmiPacket | bytes]) -> int:
    """Write a capture in the raw format (banner, login, FullyBooted, events); the event count."""
    count = 0
    with path.open("wb") as out:
        out.write(session_preamble())
        for packet in packets:
            out.write(packet.raw if isinstance(packet, AmiPacket) else packet)
            count += 1
    return count


# --------------------------------------------------------------------------- templates
Token = tuple[int, str]
Part = bytes | Token
Rewrite = Callable[[int, str], bytes]


@dataclass(frozen=True, slots=True)
class PacketTemplate:
    """A packet cut into literal bytes and tokens to rewrite."""

    parts: tuple[Part, ...]

    def render(self, rewrite: Rewrite) -> bytes:
        """The packet with every token replaced by `rewrite(kind, original)`."""
        return b"".join(p if isinstance(p, bytes) else rewrite(p[0], p[1]) for p in self.parts)

    def tokens(self) -> list[Token]:
        """The tokens, in order."""
        return [p for p in self.parts if not isinstance(p, bytes)]


def trace_uniqueids(packets: Iterable[AmiPacket]) -> set[str]:
    """Every channel Uniqueid/Linkedid named in the packets' id headers."""
    ids: set[str] = set()
    for packet in packets:
        for key, value in packet.headers:
            is_id = _ID_KEY.search(key) and key.lower() != "bridgeuniqueid"
            if is_id and _UID_VALUE.fullmatch(value):
                ids.add(value)
    return ids


class Tokenizer:
    """Turns packets into templates, knowing which numbers are channel ids or callers."""

    def __init__(
        self,
        uniqueids: Collection[str],
        callers: Collection[str] = (),
        caller_names: Collection[str] = (),
    ) -> None:
        self.uniqueids = frozenset(uniqueids)
        self.callers = frozenset(callers)

        def alternation(values: Collection[str]) -> bytes:
            ordered = sorted(values, key=lambda v: (-len(v), v))  # longest first
            return b"|".join(re.escape(v.encode("utf-8", "surrogateescape")) for v in ordered)

        # Ids and numbers live in runs of hex digits, dots and dashes: find those runs fast,
        # then look closely only inside them.
        shortest = min([7, *(len(c) for c in self.callers)])
        self._runs = re.compile(rb"[-.0-9a-f]{%d,}" % shortest)
        detail = (
            rb"(?P<uuid>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
            rb"|-(?<=[\w@]-)(?P<chan>[0-9a-f]{8})(?![0-9a-f-])"
            rb"|(?P<uid>\d+\.\d+)"
        )
        if self.callers:
            detail += rb"|(?<![\d.])(?P<caller>" + alternation(self.callers) + rb")(?![\d.])"
        self._detail = re.compile(detail)
        self._names = (
            re.compile(rb"(?P<name>" + alternation(caller_names) + rb")(?![\w-])")
            if caller_names
            else None
        )

    def template(self, raw: bytes) -> PacketTemplate:
        """The template of one packet's bytes."""
        found: list[tuple[int, int, int]] = []  # start, end, kind
        for key, kind in _HEADER_TOKENS:
            at = raw.find(key)
            if at != -1:
                start = at + len(key)
                end = raw.find(b"\r", start)
                if end > start and (kind == TS or raw[start:end] != b"0"):
                    found.append((start, end, kind))
        taken = {start for start, _, _ in found}
        for run in self._runs.finditer(raw):
            if run.start() in taken:
                continue
            for m in self._detail.finditer(raw, run.start(), run.end()):
                group = m.lastgroup or ""
                start, end = m.span(group)
                if group == "uid" and raw[start:end].decode() not in self.uniqueids:
                    continue
                found.append((start, end, _KINDS[group]))
        if self._names is not None:
            found.extend((m.start(), m.end(), NAME) for m in self._names.finditer(raw))
        found.sort()
        parts: list[Part] = []
        pos = 0
        for start, end, kind in found:
            if start < pos:
                continue  # inside a token already taken
            if start > pos:
                parts.append(raw[pos:start])
            parts.append((kind, raw[start:end].decode("utf-8", "surrogateescape")))
            pos = end
        if pos < len(raw):
            parts.append(raw[pos:])
        return PacketTemplate(tuple(parts))


_HEADER_TOKENS = (
    (b"\nTimestamp: ", TS),
    (b"\nLastCall: ", EPOCH),
    (b"\nLastPause: ", EPOCH),
    (b"\nLoginTime: ", LOGIN),
)
_KINDS = {"uuid": UUID, "chan": CHAN, "uid": UID, "caller": CALLER}


def split_uniqueid(uid: str) -> tuple[int, int]:
    """A Uniqueid's creation second and sequence number."""
    epoch, _, seq = uid.rpartition(".")
    return int(epoch), int(seq)


@dataclass(frozen=True, slots=True)
class TraceSpan:
    """The extent of a capture's times and numbers, for shifting whole passes of it."""

    first_ts: float
    last_ts: float
    seq_min: int
    seq_max: int
    chan_min: int
    chan_max: int

    @classmethod
    def of(cls, packets: Sequence[AmiPacket], templates: Sequence[PacketTemplate]) -> TraceSpan:
        """Measure a capture."""
        stamps = [t for t in (p.timestamp for p in packets) if t is not None]
        seqs: list[int] = []
        chans: list[int] = []
        for template in templates:
            for kind, value in template.tokens():
                if kind == UID:
                    seqs.append(split_uniqueid(value)[1])
                elif kind == CHAN:
                    chans.append(int(value, 16))
        return cls(
            first_ts=min(stamps, default=0.0),
            last_ts=max(stamps, default=0.0),
            seq_min=min(seqs, default=0),
            seq_max=max(seqs, default=0),
            chan_min=min(chans, default=0),
            chan_max=max(chans, default=0),
        )


class PassRewrite:
    """Rewrites pass `n` of a looped replay: later times, fresh ids that never collide.

    Pass n moves timestamps by `n * pass_span_s + shift_s`, adds n times the capture's range
    of sequence numbers to every Uniqueid (and of channel numbers to channel names) and
    derives new bridge ids; `shift_s` alone re-times pass 0 (e.g. to now).
    """

    def __init__(self, span: TraceSpan, pass_no: int, pass_span_s: float, shift_s: float) -> None:
        self.pass_no = pass_no
        self.ts_shift = pass_no * pass_span_s + shift_s
        self.epoch_shift = math.floor(self.ts_shift)
        self.seq_shift = pass_no * (span.seq_max - span.seq_min + 1)
        self.chan_shift = pass_no * (span.chan_max - span.chan_min + 1)
        self._cache: dict[Token, bytes] = {}

    @property
    def identity(self) -> bool:
        """True when nothing changes (pass 0 without a time shift)."""
        return self.pass_no == 0 and self.ts_shift == 0

    def __call__(self, kind: int, value: str) -> bytes:
        key = (kind, value)
        out = self._cache.get(key)
        if out is not None:
            return out
        text: str
        if kind == TS:
            text = f"{float(value) + self.ts_shift:.6f}"
        elif kind in (EPOCH, LOGIN):
            text = str(int(value) + self.epoch_shift)
        elif kind == UID:
            epoch, seq = split_uniqueid(value)
            text = f"{epoch + self.epoch_shift}.{seq + self.seq_shift}"
        elif kind == CHAN:
            text = f"{int(value, 16) + self.chan_shift:08x}"
        elif kind == UUID and self.pass_no:
            text = str(uuid.uuid5(uuid.NAMESPACE_URL, f"callscope-pass:{self.pass_no}:{value}"))
        else:
            text = value
        out = text.encode("utf-8", "surrogateescape")
        if kind != TS:  # timestamps rarely repeat; do not let the cache grow with them
            self._cache[key] = out
        return out
