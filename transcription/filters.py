"""Hallucination filter: what Whisper makes up on silence, noise and hold music.

Three kinds of made-up text are removed:
- segments Whisper itself thinks are not speech (high no-speech probability AND low average
  log-probability, the rule of Whisper's own paper);
- phantom phrases learnt from subtitled videos ("Thanks for watching!", "시청해주셔서
  감사합니다", "字幕由Amara.org社区提供"), dropped only when a segment consists of nothing else;
- loops: the same phrase repeated over and over inside a segment, or the same segment
  repeated back to back; one copy is kept.
"""

from __future__ import annotations

import dataclasses
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from transcription.errors import TranscriptionError
from transcription.segments import Segment

DEFAULT_PHANTOM_PHRASES: tuple[str, ...] = (
    # English
    "Thank you for watching",
    "Thank you so much for watching",
    "Thank you very much for watching",
    "Thanks for watching",
    "Thanks for watching!",
    "Please subscribe",
    "Please subscribe to my channel",
    "Please like and subscribe",
    "Like and subscribe",
    "Don't forget to like and subscribe",
    "Subscribe to my channel",
    "See you in the next video",
    "Subtitles by the Amara.org community",
    # Korean
    "시청해주셔서 감사합니다",
    "시청해 주셔서 감사합니다",
    "시청 해주셔서 감사합니다",
    "구독과 좋아요",
    "구독과 좋아요 부탁드립니다",
    "구독 좋아요 알림설정",
    "구독과 좋아요 알림설정 부탁드립니다",
    "다음 영상에서 만나요",
    # Chinese
    "字幕由Amara.org社区提供",
    "小编字幕由Amara.org社区提供",
    "请不吝点赞 订阅 转发 打赏支持明镜与点点栏目",
    "请不吝点赞 订阅 转发 打赏",
    "明镜与点点栏目",
    "中文字幕志愿者",
    "字幕志愿者",
    "感谢观看",
    "谢谢观看",
    "请订阅我的频道",
    "点赞订阅",
    # Japanese
    "ご視聴ありがとうございました",
    "チャンネル登録お願いします",
)
"""Phrases Whisper is known to produce on silence; extend them per deployment."""

_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[^\s{_CJK}]+")


@dataclass(frozen=True)
class FilterOptions:
    """How hard the hallucination filter works."""

    no_speech_threshold: float = 0.6
    logprob_threshold: float = -1.0
    use_default_phrases: bool = True
    phantom_phrases: tuple[str, ...] = field(default_factory=tuple)
    collapse_loops: bool = True
    segment_loop_min: int = 3


def normalize_phrase(text: str) -> str:
    """Text reduced for comparison: NFKC, lower case, no punctuation, symbols or spaces."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def is_no_speech(segment: Segment, no_speech_threshold: float, logprob_threshold: float) -> bool:
    """True when Whisper judged the segment silence and its words improbable at once."""
    return segment.no_speech_prob > no_speech_threshold and segment.avg_logprob < logprob_threshold


def is_phantom(text: str, phrases: Iterable[str]) -> bool:
    """True when `text` consists only of phantom phrases (one or several, in any order)."""
    target = normalize_phrase(text)
    if not target:
        return False
    pieces = sorted({p for p in (normalize_phrase(x) for x in phrases) if p}, key=len)
    # covered[i]: the first i characters are a sequence of phantom phrases.
    covered = [True] + [False] * len(target)
    for i in range(len(target)):
        if covered[i]:
            for piece in pieces:
                if target.startswith(piece, i):
                    covered[i + len(piece)] = True
    return covered[-1]


def find_loops(keys: Sequence[str], *, min_repeats: int = 3, min_words: int = 6) -> list[range]:
    """Index ranges of `keys` that repeat the phrase just before them (the extra copies).

    A phrase of k tokens (k <= 8) counts as a loop when it occurs at least `min_repeats` times
    in a row and the run spans at least `min_words` tokens, so "no, no, no" stays.
    """
    drops: list[range] = []
    i = 0
    n = len(keys)
    while i < n:
        found = False
        for k in range(1, min(8, (n - i) // 2) + 1):
            phrase = keys[i : i + k]
            repeats = 1
            while keys[i + repeats * k : i + (repeats + 1) * k] == phrase:
                repeats += 1
            if repeats >= max(min_repeats, math.ceil(min_words / k)):
                drops.append(range(i + k, i + repeats * k))
                i += repeats * k
                found = True
                break
        if not found:
            i += 1
    return drops


def collapse_loops(segment: Segment) -> Segment:
    """The segment with looping phrases reduced to one copy (words and text alike)."""
    if segment.words:
        keys = [normalize_phrase(w.text) for w in segment.words]
        drops = find_loops(keys)
        if not drops:
            return segment
        dropped = {i for r in drops for i in r}
        words = [w for i, w in enumerate(segment.words) if i not in dropped]
        return dataclasses.replace(
            segment,
            words=words,
            text="".join(w.text for w in words).strip(),
            end=max(segment.start, words[-1].end),
        )
    tokens = list(_TOKEN.finditer(segment.text))
    drops = find_loops([normalize_phrase(t.group()) for t in tokens])
    if not drops:
        return segment
    text = segment.text
    for r in reversed(drops):
        cut_from = tokens[r.start - 1].end()
        cut_to = tokens[r.stop - 1].end()
        text = text[:cut_from] + text[cut_to:]
    return dataclasses.replace(segment, text=text.strip())


def clean_segments(
    segments: Sequence[Segment], options: FilterOptions | None = None
) -> list[Segment]:
    """Segments without made-up text: no-speech, phantom phrases and loops removed."""
    opts = options or FilterOptions()
    phrases = (DEFAULT_PHANTOM_PHRASES if opts.use_default_phrases else ()) + tuple(
        opts.phantom_phrases
    )
    kept: list[Segment] = []
    for segment in segments:
        if is_no_speech(segment, opts.no_speech_threshold, opts.logprob_threshold):
            continue
        if is_phantom(segment.text, phrases):
            continue
        if opts.collapse_loops:
            segment = collapse_loops(segment)
        if normalize_phrase(segment.text):
            kept.append(segment)
    if not opts.collapse_loops:
        return kept
    # The same segment back to back `segment_loop_min` times or more is a loop: keep one.
    out: list[Segment] = []
    i = 0
    while i < len(kept):
        key = (kept[i].speaker, normalize_phrase(kept[i].text))
        j = i + 1
        while j < len(kept) and (kept[j].speaker, normalize_phrase(kept[j].text)) == key:
            j += 1
        out.extend(kept[i : i + 1] if j - i >= opts.segment_loop_min else kept[i:j])
        i = j
    return out


def load_phantom_phrases(path: Path | None) -> tuple[str, ...]:
    """Extra phantom phrases from a text file (one per line, '#' comments); () when unset."""
    if path is None:
        return ()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TranscriptionError(
            f"cannot read CALLSCOPE_PHANTOM_PHRASES_FILE {path}: {exc.strerror or exc}"
        ) from exc
    phrases = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return tuple(p for p in phrases if p)
