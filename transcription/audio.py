"""Recordings: find them, check them, and load them as 16 kHz mono float32 for Whisper.

Asterisk's MixMonitor writes 8 kHz mono 16-bit WAV files: `<uniqueid>.wav` (both directions
mixed) and, with the r()/t() options, `<uniqueid>-in.wav` (the caller, i.e. the customer) and
`<uniqueid>-out.wav` (what the caller hears, i.e. the agent). Other formats and stereo files
are read through PyAV (FFmpeg), as faster-whisper does.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import av
import numpy as np
import numpy.typing as npt
from faster_whisper import decode_audio

from transcription.errors import AudioError, RecordingCorrupt, RecordingEmpty, RecordingMissing

SAMPLE_RATE = 16_000
"""Whisper's input rate; every loader returns audio at this rate."""

Audio = npt.NDArray[np.float32]
Channel = Literal["left", "right"]

_WAV_FORMATS = {1: "pcm", 3: "float", 6: "alaw", 7: "ulaw", 0x31: "gsm", 0xFFFE: "extensible"}
_UNFINISHED_SIZES = (0, 0xFFFFFFFF)


@dataclass(frozen=True)
class RecordingInfo:
    """What a recording holds, read from its header."""

    path: Path
    format: str
    channels: int
    sample_rate: int
    duration_s: float | None


@dataclass(frozen=True)
class CallLegs:
    """The two per-direction recordings of one call."""

    customer: Path
    agent: Path


def remap_recording_path(path: str | Path, prefixes: Sequence[tuple[str, str]]) -> Path:
    """The local path of a recording the PBX names `path`, using (pbx, local) prefix pairs.

    The longest matching PBX prefix wins; a prefix only matches whole path components, so
    `/monitor` does not rewrite `/monitor2/x.wav`. Without a match the path is unchanged.
    """
    text = str(path)
    for pbx, local in sorted(prefixes, key=lambda pair: len(pair[0]), reverse=True):
        base = pbx.rstrip("/")
        if not base:
            continue
        if text == base or text.startswith(base + "/"):
            rest = text[len(base) :].lstrip("/")
            return Path(local) / rest if rest else Path(local)
    return Path(text)


def find_legs(
    mixed: Path, *, customer_suffix: str = "-in", agent_suffix: str = "-out"
) -> CallLegs | None:
    """The `<stem>-in` / `<stem>-out` legs beside a MixMonitor mixed file, if both exist."""
    customer = mixed.with_name(f"{mixed.stem}{customer_suffix}{mixed.suffix}")
    agent = mixed.with_name(f"{mixed.stem}{agent_suffix}{mixed.suffix}")
    if customer.is_file() and agent.is_file():
        return CallLegs(customer=customer, agent=agent)
    return None


def inspect_recording(path: Path) -> RecordingInfo:
    """Check that `path` is a readable, complete, non-empty recording and describe it.

    Raises RecordingMissing, RecordingEmpty or RecordingCorrupt with a message that says what
    happened to the file and what to do about it.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise RecordingMissing(
            path,
            f"recording {path} does not exist: check that the PBX's monitor directory is "
            "mounted here and that CALLSCOPE_RECORDING_PATH_MAP maps the PBX's path to it",
        ) from None
    except OSError as exc:
        raise AudioError(path, f"cannot read recording {path}: {exc.strerror}") from exc
    if path.is_dir():
        raise AudioError(path, f"recording {path} is a directory, not an audio file")
    if size == 0:
        raise RecordingEmpty(
            path, f"recording {path} is empty (0 bytes): the PBX created it but wrote nothing"
        )
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError as exc:
        raise AudioError(path, f"cannot read recording {path}: {exc.strerror}") from exc
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return _inspect_wav(path, size)
    if path.suffix.lower() == ".wav" and head[:4] != b"RF64":
        raise RecordingCorrupt(
            path,
            f"recording {path} is not a WAV file (it starts with {head[:8]!r} instead of "
            "'RIFF....WAVE'): it is damaged or not audio at all",
        )
    return _inspect_with_av(path)


def load_audio(path: Path) -> Audio:
    """The recording as 16 kHz mono float32 (stereo is mixed down); checks it first."""
    inspect_recording(path)
    return _decode(path, split_stereo=False)[0]


def load_stereo_legs(path: Path, *, customer_channel: Channel = "left") -> tuple[Audio, Audio]:
    """The (customer, agent) channels of a stereo recording, each 16 kHz mono float32."""
    info = inspect_recording(path)
    if info.channels != 2:
        raise RecordingCorrupt(
            path, f"recording {path} has {info.channels} channel(s), not the 2 of a stereo call"
        )
    left, right = _decode(path, split_stereo=True)
    return (left, right) if customer_channel == "left" else (right, left)


def recording_channels(path: Path) -> int:
    """How many channels the recording has (1 = mono mixed, 2 = stereo legs)."""
    return inspect_recording(path).channels


def _inspect_wav(path: Path, size: int) -> RecordingInfo:
    fmt: tuple[int, int, int, int, int] | None = None
    offset = 12
    with path.open("rb") as handle:
        while True:
            handle.seek(offset)
            header = handle.read(8)
            if len(header) < 8:
                raise RecordingCorrupt(
                    path,
                    f"recording {path} is truncated: its WAV header ends after {size} bytes "
                    "without a data chunk; copy it again from the PBX",
                )
            chunk_id, chunk_size = header[:4], struct.unpack("<I", header[4:])[0]
            body = offset + 8
            if chunk_id == b"fmt ":
                raw = handle.read(16)
                if chunk_size < 16 or len(raw) < 16:
                    raise RecordingCorrupt(path, f"recording {path} has a damaged WAV format chunk")
                tag, channels, rate, _byte_rate, block = struct.unpack("<HHIIH", raw[:14])
                bits = struct.unpack("<H", raw[14:16])[0]
                fmt = (tag, channels, rate, block, bits)
            elif chunk_id == b"data":
                if fmt is None:
                    raise RecordingCorrupt(
                        path, f"recording {path} has audio data before its WAV format chunk"
                    )
                return _check_wav_data(path, size, body, chunk_size, fmt)
            offset = body + chunk_size + (chunk_size & 1)


def _check_wav_data(
    path: Path, size: int, body: int, declared: int, fmt: tuple[int, int, int, int, int]
) -> RecordingInfo:
    tag, channels, rate, block, bits = fmt
    if channels == 0 or rate == 0 or block == 0:
        raise RecordingCorrupt(
            path,
            f"recording {path} has an impossible WAV format ({channels} channels, {rate} Hz)",
        )
    present = size - body
    if present == 0:
        raise _empty_wav(path, size)
    if declared in _UNFINISHED_SIZES:
        raise RecordingCorrupt(
            path,
            f"recording {path} has an unfinished WAV header ({present} bytes of audio, but "
            "the header announces none): the PBX is still writing it or stopped before "
            "closing it; transcribe it after the call has ended",
        )
    if declared > present:
        raise RecordingCorrupt(
            path,
            f"recording {path} is truncated: its WAV header announces {declared} bytes of "
            f"audio but only {present} are present; copy it again from the PBX",
        )
    if declared < block:
        raise _empty_wav(path, size)
    name = _WAV_FORMATS.get(tag, f"0x{tag:04x}")
    return RecordingInfo(
        path=path,
        format=f"wav-{name}{bits if tag == 1 else ''}",
        channels=channels,
        sample_rate=rate,
        duration_s=(declared // block) / rate,
    )


def _empty_wav(path: Path, size: int) -> RecordingEmpty:
    return RecordingEmpty(
        path,
        f"recording {path} is empty ({size}-byte WAV header, no audio): "
        "the call never reached a person",
    )


def _inspect_with_av(path: Path) -> RecordingInfo:
    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise RecordingCorrupt(path, f"recording {path} has no audio stream")
            stream = container.streams.audio[0]
            duration = (
                float(stream.duration * stream.time_base)
                if stream.duration is not None and stream.time_base is not None
                else None
            )
            return RecordingInfo(
                path=path,
                format=f"{container.format.name}-{stream.codec_context.name}",
                channels=stream.codec_context.channels,
                sample_rate=stream.codec_context.sample_rate,
                duration_s=duration,
            )
    except av.error.FFmpegError as exc:
        raise RecordingCorrupt(
            path, f"recording {path} is not audio FFmpeg can read ({exc.strerror})"
        ) from exc


def _decode(path: Path, *, split_stereo: bool) -> tuple[Audio, ...]:
    try:
        decoded = decode_audio(str(path), sampling_rate=SAMPLE_RATE, split_stereo=split_stereo)
    except av.error.FFmpegError as exc:
        raise RecordingCorrupt(
            path, f"recording {path} cannot be decoded ({exc.strerror}): it is damaged"
        ) from exc
    channels = decoded if isinstance(decoded, tuple) else (decoded,)
    out = tuple(np.ascontiguousarray(c, dtype=np.float32) for c in channels)
    if not out or out[0].size == 0:
        raise RecordingEmpty(path, f"recording {path} decodes to no audio at all")
    return out
