"""What transcription produces: words, segments and the transcript of one recording or leg."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Speaker = Literal["customer", "agent", "unknown"]
SPEAKERS: tuple[Speaker, ...] = ("customer", "agent", "unknown")


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word; times are seconds from the start of the recording."""

    start: float
    end: float
    text: str
    probability: float


@dataclass(frozen=True, slots=True)
class Segment:
    """One stretch of speech by one speaker."""

    start: float
    end: float
    speaker: Speaker
    text: str
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    words: list[Word] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Transcript:
    """The transcript of one audio stream (one leg, one channel or one mixed recording).

    `language_note` explains a language that differs from the one asked for, e.g. an
    English-only model forced to `en`.
    """

    language: str
    duration_s: float
    model: str
    segments: list[Segment]
    processing_s: float
    language_probability: float = 1.0
    language_note: str | None = None
