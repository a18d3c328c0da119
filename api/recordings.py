"""Serving a call's recording: the file is found from the call (never from a client path),
remapped to where this machine mounts the PBX's recordings, and sent whole or by byte range."""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from api.errors import NotFound, RangeNotSatisfiable
from core.settings import Settings
from telephony.models import Call

CHUNK = 64 * 1024
_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ByteRange:
    """Bytes `start` to `end` inclusive of a file of `size` bytes."""

    start: int
    end: int
    size: int

    @property
    def length(self) -> int:
        """How many bytes the range holds."""
        return self.end - self.start + 1

    @property
    def content_range(self) -> str:
        """The Content-Range header of a 206 answer."""
        return f"bytes {self.start}-{self.end}/{self.size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The single byte range a Range header asks for; None for the whole file.

    `bytes=a-b`, `bytes=a-` and `bytes=-n` (the last n bytes) are served; several ranges
    (`a-b,c-d`) are answered with the whole file, as RFC 9110 allows. A malformed range or one
    that starts past the end raises RangeNotSatisfiable (416 with `Content-Range: bytes */SIZE`).
    """
    if header is None:
        return None
    if "," in header and header.strip().lower().startswith("bytes"):
        return None
    match = _RANGE.match(header)
    if match is None:
        raise RangeNotSatisfiable(f"malformed Range header {header[:100]!r}", size=size)
    first, last = match.group(1), match.group(2)
    if not first and not last:
        raise RangeNotSatisfiable("a Range needs a start or a suffix length", size=size)
    if not first:
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable("an empty suffix range cannot be served", size=size)
        return ByteRange(max(0, size - suffix), size - 1, size)
    start = int(first)
    end = int(last) if last else size - 1
    if end < start:
        raise RangeNotSatisfiable("the Range ends before it starts", size=size)
    if start >= size:
        raise RangeNotSatisfiable(
            f"the Range starts past the end of the {size}-byte file", size=size
        )
    return ByteRange(start, min(end, size - 1), size)


def recording_path(call: Call, leg: str, settings: Settings) -> Path:
    """The local file of one leg of the call's recording; NotFound with the reason if none."""
    from transcription.audio import remap_recording_path  # heavy imports (PyAV) only when used

    pbx_path = {
        "mixed": call.recording_mixed,
        "customer": call.recording_customer,
        "agent": call.recording_agent,
    }[leg]
    if not pbx_path:
        raise NotFound(f"call {call.call_id} has no {leg} recording")
    local = remap_recording_path(pbx_path, settings.recording_prefixes())
    if not local.is_file():
        raise NotFound(
            f"the {leg} recording of call {call.call_id} ({Path(pbx_path).name}) is not on this "
            "server: check CALLSCOPE_RECORDING_PATH_MAP and the recordings mount"
        )
    return local


def media_type(path: Path) -> str:
    """The Content-Type of a recording file."""
    if path.suffix.lower() == ".wav":
        return "audio/wav"
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


def stream(handle: BinaryIO, start: int, length: int) -> Iterator[bytes]:
    """`length` bytes of an open file from `start`, in chunks; closes the file at the end."""
    try:
        handle.seek(start)
        remaining = length
        while remaining > 0:
            chunk = handle.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()
