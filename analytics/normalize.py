"""Text normalisation for matching, with a map back to offsets in the original text.

Normalised text is NFKC, case-folded, Traditional Chinese converted to Simplified (OpenCC t2s),
typographic quotes made plain and every run of whitespace collapsed to one space. Matching runs
on that form; `NormalizedText.span()` turns a span of it back into offsets of the text the user
gave, so a highlighted match is always a real slice of the transcript.

Most text is handled by C-level calls (a `str.translate` over a per-character fold table, one
OpenCC call, a few checks); only text with characters that NFKC may expand or merge (combining
marks, ligatures, loose Hangul jamo, zero-width characters) takes the slower cluster-by-cluster
path.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

_QUOTES = {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2032": "'", "\u201c": '"', "\u201d": '"'}
_QUOTE_TABLE = str.maketrans(_QUOTES)
_QUOTE_CHARS = re.compile("[" + "".join(_QUOTES) + "]")
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WS_RUN = re.compile(r"\s+")
_JAMO = ((0x1100, 0x11FF), (0x3130, 0x318F), (0xA960, 0xA97F), (0xD7B0, 0xD7FF), (0xFFA0, 0xFFDC))


def _joins_previous(ch: str) -> bool:
    """True for marks, Hangul jamo and anything decomposing to a mark (halfwidth ﾞ): NFKC may
    compose them with the character before."""
    o = ord(ch)
    if unicodedata.category(ch).startswith("M") or any(a <= o <= b for a, b in _JAMO):
        return True
    if o < 0x80:
        return False
    head = unicodedata.normalize("NFKD", ch)[:1]
    return head != ch[:1] and bool(head) and unicodedata.category(head).startswith("M")


def _fold(chunk: str) -> str:
    out = unicodedata.normalize("NFKC", chunk).casefold().translate(_QUOTE_TABLE)
    for zw in _ZERO_WIDTH:
        out = out.replace(zw, "")
    return out


@lru_cache(maxsize=1)
def _tables() -> tuple[re.Pattern[str], list[str]]:
    """The slow-path trigger and the per-character fold table for the Basic Multilingual Plane.

    A character is "unsafe" when its folded form is not exactly one character, or when NFKC
    may merge it with a neighbour (marks, Hangul jamo, a decomposition that starts with a
    mark); every other character folds on its own, so `str.translate` over the table equals
    NFKC + casefold of the whole text. Built once per process (about 0.1 s).
    """
    table = [chr(o) for o in range(0x10000)]
    unsafe: list[int] = [ord(c) for c in _ZERO_WIDTH]
    special = set(_QUOTES) | set(_ZERO_WIDTH)
    for o in range(0x10000):
        if 0xD800 <= o <= 0xDFFF:
            continue
        ch = table[o]
        if _joins_previous(ch):
            unsafe.append(o)
            continue
        if not unicodedata.decomposition(ch) and ch.casefold() == ch and ch not in special:
            continue
        folded = _fold(ch)
        if len(folded) != 1:
            unsafe.append(o)
        else:
            table[o] = folded
    unsafe.sort()
    ranges: list[tuple[int, int]] = []
    for o in unsafe:
        if ranges and o <= ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], max(o, ranges[-1][1]))
        else:
            ranges.append((o, o))
    parts = [
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in ranges
    ]
    return re.compile("[" + "".join(parts) + "\U00010000-\U0010ffff]"), table


class _Converter(Protocol):
    def convert(self, text: str) -> str: ...


@dataclass(slots=True)
class NormalizedText:
    """Normalised text plus, per normalised character, where it came from in `original`."""

    text: str
    original: str
    starts: list[int] | None = None  # None: character i came from original[i]
    ends: list[int] | None = None

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original offsets of the normalised span [start, end)."""
        if self.starts is None or self.ends is None:
            return start, end
        if end <= start:
            pos = self.starts[start] if start < len(self.starts) else len(self.original)
            return pos, pos
        return self.starts[start], self.ends[end - 1]


class Normalizer:
    """Builds NormalizedText; holds the OpenCC converter and the character cache (reuse it)."""

    def __init__(self, converter: _Converter | None = None) -> None:
        if converter is None:
            import opencc

            converter = opencc.OpenCC("t2s")
        self._t2s = converter
        self._unsafe, self._table = _tables()
        self._char_t2s: dict[str, str] = {}

    def phrase(self, text: str) -> str:
        """The normalised form of a lexicon phrase (no offset map, ends trimmed)."""
        return self.normalize(text).text.strip()

    def normalize(self, text: str) -> NormalizedText:
        """Normalise `text`, keeping the offset map back to it."""
        starts: list[int] | None = None
        ends: list[int] | None = None
        if text.isascii():
            folded = text.lower()
        else:
            folded = ""
            if self._unsafe.search(text) is None:
                # Every character folds on its own to exactly one character (see _tables), so
                # character i still comes from original[i].
                if unicodedata.is_normalized("NFKC", text):
                    folded = text.casefold()
                    if _QUOTE_CHARS.search(folded):
                        folded = folded.translate(_QUOTE_TABLE)
                else:
                    folded = text.translate(self._table)
            if len(folded) != len(text):
                folded, starts, ends = self._fold_slow(text)
            if _CJK.search(folded):
                folded, starts, ends = self._to_simplified(folded, starts, ends)
        if "  " in folded or not folded.isprintable():
            folded, starts, ends = self._collapse_ws(folded, starts, ends)
        return NormalizedText(folded, text, starts, ends)

    @staticmethod
    def _fold_slow(text: str) -> tuple[str, list[int], list[int]]:
        out: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        i, n = 0, len(text)
        while i < n:
            j = i + 1
            while j < n and _joins_previous(text[j]):
                j += 1
            folded = _fold(text[i:j])
            out.append(folded)
            starts.extend([i] * len(folded))
            ends.extend([j] * len(folded))
            i = j
        return "".join(out), starts, ends

    def _to_simplified(
        self, text: str, starts: list[int] | None, ends: list[int] | None
    ) -> tuple[str, list[int] | None, list[int] | None]:
        converted = self._t2s.convert(text)
        if len(converted) == len(text):
            return converted, starts, ends
        # A phrase-level conversion changed the length: convert character by character so every
        # output character still knows its source.
        out: list[str] = []
        new_starts: list[int] = []
        new_ends: list[int] = []
        for i, ch in enumerate(text):
            conv = self._char_t2s.get(ch)
            if conv is None:
                conv = self._t2s.convert(ch) if _CJK.match(ch) else ch
                self._char_t2s[ch] = conv
            out.append(conv)
            s = starts[i] if starts is not None else i
            e = ends[i] if ends is not None else i + 1
            new_starts.extend([s] * len(conv))
            new_ends.extend([e] * len(conv))
        return "".join(out), new_starts, new_ends

    @staticmethod
    def _collapse_ws(
        text: str, starts: list[int] | None, ends: list[int] | None
    ) -> tuple[str, list[int], list[int]]:
        out: list[str] = []
        new_starts: list[int] = []
        new_ends: list[int] = []
        pos = 0
        for m in _WS_RUN.finditer(text):
            a, b = m.span()
            for i in range(pos, a):
                out.append(text[i])
                new_starts.append(starts[i] if starts is not None else i)
                new_ends.append(ends[i] if ends is not None else i + 1)
            out.append(" ")
            new_starts.append(starts[a] if starts is not None else a)
            new_ends.append(ends[b - 1] if ends is not None else b)
            pos = b
        for i in range(pos, len(text)):
            out.append(text[i])
            new_starts.append(starts[i] if starts is not None else i)
            new_ends.append(ends[i] if ends is not None else i + 1)
        return "".join(out), new_starts, new_ends
