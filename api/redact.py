"""Masking personal numbers in transcript text for users who may not see them.

What is masked (Chinese, Korean and generic forms, half- or full-width digits):

- phone numbers: Chinese mobiles `1[3-9]x` + 8 digits (`138****5678`, the carrier prefix and the
  last four kept), Korean mobiles `010-xxxx-xxxx` and variants (`010-****-5678`), and any other
  run of 7 or more digits with separators (spaces, `-`, `.`, `()`; the last four kept);
- licence plates: Chinese `京A12345`, `粤B·D12345` (new-energy), Korean `12가3456`, `123가4567`
  (region and Hangul letter kept, all but the last two characters masked);
- identity and card numbers: the Chinese 18-character ID (last four kept), the Korean RRN
  `YYMMDD-NNNNNNN` (fully masked), card numbers of 13-19 digits (last four kept).

Masking replaces characters one for one, so offsets, lengths and word boundaries are kept;
a segment's words are masked on their joined text, so a number spoken across several words
is masked in every one of them exactly as in the segment text.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass

MASK = "*"
_ASCII_LETTERS = frozenset(string.ascii_letters)

_CN_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# the Hangul letters Korean plates use (a closed set, so '10월 2024' is not a plate)
_KR_PLATE_LETTERS = (
    "가나다라마바사아자거너더러머버서어저고노도로모보소오조구누두루무부수우주하허호배육해공국합"
)
_SEP = r"[ \t\-.\u00b7()/]"  # separators inside a spoken or written number
# full-width digits, letters and punctuation (U+FF01-FF5E) read as their ASCII forms; one
# character for one, so positions found in the folded text are positions in the original
_FOLD = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


@dataclass(frozen=True, slots=True)
class _Rule:
    name: str
    pattern: re.Pattern[str]
    keep_head: int  # characters kept at the start (a group 'p' in the pattern: all of it)
    keep_tail: int
    min_digits: int = 0


_RULES: tuple[_Rule, ...] = (
    _Rule("cn_id", re.compile(r"(?<!\d)(?P<n>\d{17}[\dXx])(?![\dA-Za-z])"), 0, 4),
    _Rule("kr_rrn", re.compile(r"(?<!\d)(?P<n>\d{6}\s?-\s?[1-8]\d{6})(?!\d)"), 0, 0),
    _Rule(
        "cn_mobile",
        re.compile(r"(?<!\d)(?:\+?86[ \-]?)?(?P<n>(?P<p>1[3-9]\d)(?:[ \-]?\d){8})(?!\d)"),
        0,
        4,
    ),
    _Rule(
        "kr_mobile",
        re.compile(
            r"(?<!\d)(?:\+?82[ \-]?)?(?P<n>(?P<p>0?1[016789])[ \-.]?\d{3,4}[ \-.]?\d{4})(?!\d)"
        ),
        0,
        4,
    ),
    _Rule(
        "cn_plate",
        re.compile(
            rf"(?P<n>[{_CN_PROVINCES}][A-Za-z][ \u00b7\u2022\u30fb.\-]?[A-Za-z0-9]{{5,6}}"
            r"[挂学警港澳]?)(?![A-Za-z0-9])"
        ),
        0,
        2,
        min_digits=3,
    ),
    _Rule(
        "kr_plate",
        re.compile(rf"(?<!\d)(?P<n>\d{{2,3}}\s?[{_KR_PLATE_LETTERS}]\s?\d{{4}})(?!\d)"),
        0,
        2,
    ),
    _Rule(
        "number",
        re.compile(rf"(?<!\d)(?P<n>\+?\d(?:{_SEP}{{0,3}}\d){{6,}})(?!\d)"),
        0,
        4,
        min_digits=7,
    ),
)


def _maskable(char: str) -> bool:
    return char.isdecimal() or char.translate(_FOLD) in _ASCII_LETTERS


def _mask_span(chars: list[str], start: int, end: int, keep_head: int, keep_tail: int) -> None:
    positions = [i for i in range(start, end) if _maskable(chars[i])]
    tail = positions[max(0, len(positions) - keep_tail) :] if keep_tail else []
    keep = set(positions[:keep_head]) | set(tail)
    for i in positions:
        if i not in keep:
            chars[i] = MASK


@dataclass(frozen=True, slots=True)
class PiiSpan:
    """One personal number found in a text: where, what kind, what to leave readable."""

    start: int
    end: int
    kind: str
    keep_head: int
    keep_tail: int


def pii_spans(text: str) -> list[PiiSpan]:
    """Every personal number in `text`, in order; the first rule wins where two overlap."""
    taken: list[PiiSpan] = []
    text = text.translate(_FOLD)
    for rule in _RULES:
        for match in rule.pattern.finditer(text):
            start, end = match.span("n")
            if rule.min_digits and sum(c.isdecimal() for c in text[start:end]) < rule.min_digits:
                continue
            if any(start < t.end and t.start < end for t in taken):
                continue
            head = rule.keep_head
            if "p" in rule.pattern.groupindex:
                head = sum(_maskable(c) for c in match.group("p"))
            taken.append(PiiSpan(start, end, rule.name, head, rule.keep_tail))
    return sorted(taken, key=lambda span: span.start)


def redact_text(text: str) -> str:
    """`text` with every personal number masked; same length, other characters untouched."""
    spans = pii_spans(text)
    if not spans:
        return text
    chars = list(text)
    for span in spans:
        _mask_span(chars, span.start, span.end, span.keep_head, span.keep_tail)
    return "".join(chars)


def contains_pii(text: str) -> bool:
    """True when `text` holds something `redact_text` would mask."""
    return bool(pii_spans(text))


def redact_segment(text: str, words: Sequence[str]) -> tuple[str, list[str]]:
    """A segment's text and its words' texts, masked consistently.

    Whisper's words joined give the segment text (up to surrounding spaces); the masking is
    done once on the joined words and cut back into words, so a number split over words
    ('138', ' 1234', ' 5678') is recognised and each piece masked as in the segment text.
    """
    joined = "".join(words)
    masked_joined = redact_text(joined)
    masked_words: list[str] = []
    pos = 0
    for word in words:
        masked_words.append(masked_joined[pos : pos + len(word)])
        pos += len(word)
    core = joined.strip()
    if words and core and core == text.strip():
        lead = len(joined) - len(joined.lstrip())
        text_lead = len(text) - len(text.lstrip())
        masked_core = masked_joined[lead : lead + len(core)]
        return text[:text_lead] + masked_core + text[text_lead + len(core) :], masked_words
    return redact_text(text), masked_words
