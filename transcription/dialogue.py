"""Who said what: a call's legs transcribed separately and merged into one dialogue."""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transcription.audio import Audio, Channel, load_audio, load_stereo_legs, recording_channels
from transcription.engine import Engine
from transcription.errors import TranscriptionError
from transcription.segments import Segment, Speaker, Transcript

Interval = tuple[float, float]


@dataclass(frozen=True)
class Dialogue:
    """A call's transcript: every speaker's segments in order of their start."""

    language: str
    duration_s: float
    model: str
    segments: list[Segment]
    processing_s: float
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DialogueMetrics:
    """Talk and silence of a call, from its words' timestamps.

    `silence_ratio` is the share of the recording in which nobody talks (ringing and hold
    included); `longest_silence_s` is the longest dead air between two utterances;
    `overtalk_s` is the time customer and agent talk at once.
    """

    talk_s: dict[str, float]
    silence_ratio: float
    longest_silence_s: float
    overtalk_s: float


def transcribe_call(
    mixed: Path | None = None,
    customer: Path | None = None,
    agent: Path | None = None,
    *,
    language: str | None = "auto",
    engine: Engine | None = None,
    customer_channel: Channel = "left",
) -> Dialogue:
    """Transcribe one call into a dialogue of customer and agent turns.

    With legs (`customer` and/or `agent`), each is transcribed on its own and labelled; the
    mixed file is then not needed. With only `mixed`: a stereo file's channels are the legs
    (`customer_channel` says which one is the customer), a mono file's speech is `unknown`.
    Every file is checked before any transcription starts, so a bad leg fails fast.
    """
    started = time.perf_counter()
    engine = engine or Engine()
    jobs: list[tuple[Speaker, Audio]] = []
    if customer is not None or agent is not None:
        if customer is not None:
            jobs.append(("customer", load_audio(customer)))
        if agent is not None:
            jobs.append(("agent", load_audio(agent)))
    elif mixed is not None:
        if recording_channels(mixed) == 2:
            customer_audio, agent_audio = load_stereo_legs(mixed, customer_channel=customer_channel)
            jobs += [("customer", customer_audio), ("agent", agent_audio)]
        else:
            jobs.append(("unknown", load_audio(mixed)))
    else:
        raise TranscriptionError(
            "nothing to transcribe: give the call's mixed recording or its customer and agent legs"
        )
    transcripts = transcribe_streams(engine, jobs, language=language)
    return merge_transcripts(transcripts, processing_s=time.perf_counter() - started)


def transcribe_streams(
    engine: Engine, streams: Sequence[tuple[Speaker, Audio]], *, language: str | None
) -> list[Transcript]:
    """Transcribe (speaker, audio) streams, as many at once as the engine allows."""
    engine.model()  # load before the threads start, so a model error is raised once

    def run(job: tuple[Speaker, Audio]) -> Transcript:
        return engine.transcribe(job[1], language=language, speaker=job[0])

    if len(streams) <= 1 or engine.concurrency <= 1:
        return [run(job) for job in streams]
    with ThreadPoolExecutor(max_workers=min(engine.concurrency, len(streams))) as pool:
        return list(pool.map(run, streams))


def merge_transcripts(transcripts: Sequence[Transcript], *, processing_s: float) -> Dialogue:
    """One dialogue from per-speaker transcripts, segments ordered by start time."""
    if not transcripts:
        raise TranscriptionError("no transcript to merge")
    segments = sorted(
        (s for t in transcripts for s in t.segments), key=lambda s: (s.start, s.end, s.speaker)
    )
    # The language of the stream with the most words speaks for the call.
    main = max(transcripts, key=lambda t: sum(len(s.words) or 1 for s in t.segments))
    notes = list(dict.fromkeys(t.language_note for t in transcripts if t.language_note))
    return Dialogue(
        language=main.language,
        duration_s=max(t.duration_s for t in transcripts),
        model=main.model,
        segments=segments,
        processing_s=round(processing_s, 3),
        notes=notes,
    )


def dialogue_metrics(dialogue: Dialogue, *, pause_s: float = 0.5) -> DialogueMetrics:
    """Talk per speaker, silence and overtalk; pauses shorter than `pause_s` are talk."""
    by_speaker: dict[str, list[Interval]] = {}
    for segment in dialogue.segments:
        spans = [(w.start, w.end) for w in segment.words] or [(segment.start, segment.end)]
        by_speaker.setdefault(segment.speaker, []).extend(spans)
    talk = {speaker: _union(spans, pause_s) for speaker, spans in by_speaker.items()}
    everyone = _union([span for spans in talk.values() for span in spans], pause_s)
    spoken = _length(everyone)
    gaps = [b[0] - a[1] for a, b in zip(everyone, everyone[1:], strict=False)]
    overtalk = _length(_intersection(talk.get("customer", []), talk.get("agent", [])))
    duration = max(dialogue.duration_s, everyone[-1][1] if everyone else 0.0)
    return DialogueMetrics(
        talk_s={speaker: round(_length(spans), 2) for speaker, spans in sorted(talk.items())},
        silence_ratio=round(1.0 - spoken / duration, 3) if duration > 0 else 1.0,
        longest_silence_s=round(max(gaps, default=0.0), 2),
        overtalk_s=round(overtalk, 2),
    )


def dialogue_to_json(dialogue: Dialogue) -> dict[str, Any]:
    """The dialogue as JSON-ready data: language, duration_s and segments."""
    return {
        "language": dialogue.language,
        "duration_s": dialogue.duration_s,
        "segments": [
            {"start": s.start, "end": s.end, "speaker": s.speaker, "text": s.text}
            for s in dialogue.segments
        ],
    }


def dialogue_to_text(dialogue: Dialogue) -> str:
    """The dialogue as one `[mm:ss.s - mm:ss.s] speaker: text` line per segment."""
    return "\n".join(
        f"[{_clock(s.start)} - {_clock(s.end)}] {s.speaker}: {s.text}" for s in dialogue.segments
    )


def _clock(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60.0)
    return f"{int(minutes):02d}:{rest:04.1f}"


def _union(spans: Sequence[Interval], join_gap: float) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(spans):
        if merged and start - merged[-1][1] <= join_gap:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, max(start, end)))
    return merged


def _intersection(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if end > start:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _length(spans: Sequence[Interval]) -> float:
    return sum(end - start for start, end in spans)
