"""Transcript segments as the matcher sees them, and mapping text offsets to call time.

The matcher accepts `Segment` objects, plain mappings (JSON: speaker, start, end, text, words)
or anything shaped like `transcription.models.TranscriptSegment` (start_s, end_s, words with
start_s/end_s), so this package never needs to import the database models.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from analytics.errors import MatchInputError

#: Speaker of a segment whose leg is not known (mono recording, or diarisation off).
UNKNOWN_SPEAKER = "unknown"
#: Speakers that mean the call has separate legs.
LEG_SPEAKERS = frozenset({"customer", "agent"})


@dataclass(slots=True)
class Word:
    """One recognised word with its times in the call (seconds)."""

    text: str
    start: float
    end: float


@dataclass(slots=True)
class Segment:
    """One stretch of speech by one speaker; times are seconds from the start of the call."""

    speaker: str
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()

    def time_at(self, offset: int, *, at_end: bool = False) -> float:
        """Estimated call time of a character offset in `text` (a match start, or its end)."""
        spans = _align_words(self.text, self.words)
        if spans:
            return _time_from_words(spans, offset, at_end)
        length = len(self.text)
        if length == 0 or self.end <= self.start:
            return self.start
        frac = min(max(offset / length, 0.0), 1.0)
        return self.start + (self.end - self.start) * frac


def _get(obj: Any, *names: str) -> Any:
    if type(obj) is dict:  # the common case (JSON); skips the slower Mapping check
        for name in names:
            if name in obj:
                return obj[name]
        return None
    for name in names:
        if isinstance(obj, Mapping):
            if name in obj:
                return obj[name]
        elif hasattr(obj, name):
            return getattr(obj, name)
    return None


def _seconds(value: Any, what: str, index: int) -> float:
    if type(value) is float:
        return value
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MatchInputError(f"segment {index}: {what} must be seconds, got {value!r}")
    return float(value)


def speaker_of(obj: Any) -> str:
    """The speaker of a segment-like object, lower-case; `unknown` when it has none."""
    if type(obj) is dict:
        speaker = obj.get("speaker")
        if type(speaker) is str and speaker:
            return speaker if speaker.islower() else speaker.lower()
    speaker = obj.speaker if isinstance(obj, Segment) else _get(obj, "speaker")
    if speaker is None or speaker == "":
        return UNKNOWN_SPEAKER
    if not isinstance(speaker, str):
        raise MatchInputError(f"speaker must be a string, got {speaker!r}")
    return speaker.lower()


def coerce_segment(obj: Any, index: int = 0) -> Segment:
    """A Segment from a Segment, a mapping, or a TranscriptSegment-like object."""
    if isinstance(obj, Segment):
        return obj
    if type(obj) is dict and not obj.get("words"):
        # The common case (JSON without word times), without the generic lookups.
        text = obj.get("text")
        speaker = obj.get("speaker") or UNKNOWN_SPEAKER
        if isinstance(text, str) and isinstance(speaker, str):
            start = _seconds(obj.get("start", obj.get("start_s")), "start", index)
            end = _seconds(obj.get("end", obj.get("end_s")), "end", index)
            return Segment(speaker.lower(), start, end if end > start else start, text)
    text = _get(obj, "text")
    if not isinstance(text, str):
        raise MatchInputError(f"segment {index}: text must be a string, got {text!r}")
    try:
        speaker = speaker_of(obj)
    except MatchInputError as exc:
        raise MatchInputError(f"segment {index}: {exc}") from None
    start = _seconds(_get(obj, "start", "start_s"), "start", index)
    end = _seconds(_get(obj, "end", "end_s"), "end", index)
    words_raw = _get(obj, "words") or ()
    words: list[Word] = []
    for w in words_raw:
        w_text = _get(w, "text", "word")
        w_start = _get(w, "start", "start_s")
        w_end = _get(w, "end", "end_s")
        if not isinstance(w_text, str) or w_start is None or w_end is None:
            continue  # a word without text or times cannot place a match; fall back to others
        words.append(
            Word(w_text, _seconds(w_start, "word start", index), _seconds(w_end, "word end", index))
        )
    return Segment(speaker, start, max(start, end), text, tuple(words))


def _align_words(text: str, words: Sequence[Word]) -> list[tuple[int, int, float, float]]:
    """Character spans of the words in the text, in order (words not found are skipped)."""
    spans: list[tuple[int, int, float, float]] = []
    cursor = 0
    for word in words:
        token = word.text.strip()
        if not token:
            continue
        at = text.find(token, cursor)
        if at < 0:
            continue
        spans.append((at, at + len(token), word.start, word.end))
        cursor = at + len(token)
    return spans


def _time_from_words(
    spans: list[tuple[int, int, float, float]], offset: int, at_end: bool
) -> float:
    if at_end:
        for a, b, t0, t1 in reversed(spans):
            if a < offset:
                if offset >= b:
                    return t1
                return t0 + (t1 - t0) * (offset - a) / (b - a)
        return spans[0][2]
    for a, b, t0, t1 in spans:
        if offset < b:
            if offset <= a:
                return t0
            return t0 + (t1 - t0) * (offset - a) / (b - a)
    return spans[-1][3]
