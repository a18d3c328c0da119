"""What the theme matcher returns: one match, one theme's result; and language tags."""

from __future__ import annotations

from dataclasses import dataclass

from analytics.errors import MatchInputError
from analytics.lexicon import LANGUAGES

_LANG_ALIASES = {"cmn": "zh", "yue": "zh", "wuu": "zh", "kor": "ko", "eng": "en"}


def language_code(lang: str | None) -> str | None:
    """zh/ko/en from a language tag ('zh-Hant', 'ko-KR', 'en_US'); None for all languages."""
    if lang is None:
        return None
    tag = lang.strip().lower().replace("_", "-")
    if tag in ("", "auto", "all", "*"):
        return None
    base = tag.split("-", 1)[0]
    base = _LANG_ALIASES.get(base, base)
    if base not in LANGUAGES:
        raise MatchInputError(f"unsupported language {lang!r}: use one of {', '.join(LANGUAGES)}")
    return base


@dataclass(slots=True)
class ThemeMatch:
    """One piece of text that counts for a theme.

    `start`/`end` are offsets in the original text of the segment (`text` is exactly that
    slice); `segment` is the segment's index in the input and `time`/`time_end` its estimated
    call time in seconds (both None for `match_text`).
    """

    theme: str
    text: str
    start: int
    end: int
    lang: str
    phrase: str
    rule: str  # "phrase" or "proximity"
    segment: int | None = None
    speaker: str | None = None
    time: float | None = None
    time_end: float | None = None


@dataclass(slots=True)
class ThemeResult:
    """A theme found in a text or call: its score and every match behind it."""

    theme: str
    score: float
    count: int
    always_flag: bool
    matches: tuple[ThemeMatch, ...]
