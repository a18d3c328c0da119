"""Complaint-theme matcher: one Aho-Corasick pass over normalised text for all languages.

Build a `Matcher` once per lexicon (`Matcher.from_lexicon(lex)`, or `Matcher.default()` for the
shipped taxonomy) and reuse it: building compiles every phrase, cue and rule term of every
language into a single automaton; matching a text is then one scan plus a little bookkeeping on
the (few) hits.

Rules applied to the raw hits:

- word boundaries: a phrase edge in Latin letters or digits must not touch another Latin
  letter/digit (`rude` does not match `prudent`); a Korean phrase must start a word but may be
  followed by particles and endings (`불친절` matches `불친절했어요`); Chinese has no boundaries.
  `*` at the end of a phrase drops the right boundary (`overcharg*` = overcharged, ...), at
  the start the left one (`*n't`); `$` at the end makes a Korean item a whole word (`안$`).
- overlaps: per theme the leftmost-longest hit wins; a phrase inside a longer phrase of another
  theme yields to it (还没修好 is a wait, not the 没修好 of a repeat repair).
- proximity rules: `terms` within N words (en, ko) or characters (zh) of `near`, in one sentence.
- negation: a cue of the hit's language close before it (en, zh; ko 안) or after it (ko 않/아니)
  denies it, unless a clause mark or a stop word ("but", 但是) lies between; cues that are part
  of a matched phrase or of an `ignore` look-alike ("not happy", 没想到) deny nothing.

Scores: weight * (1 + ln n) for n matches of a theme (repetition counts, with diminishing
returns). Only the customer's speech counts by default (`match_segments`).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import ahocorasick

from analytics.errors import MatchInputError
from analytics.lexicon import LANGUAGES, Lexicon, load_lexicon
from analytics.normalize import NormalizedText, Normalizer
from analytics.segments import (
    LEG_SPEAKERS,
    UNKNOWN_SPEAKER,
    Segment,
    coerce_segment,
    speaker_of,
)
from analytics.theme_results import ThemeMatch, ThemeResult, language_code

# Entry kinds in the automaton.
_PHRASE, _TERM, _BEFORE, _AFTER, _IGNORE, _STOP = range(6)
# Boundary requirements at a phrase edge.
_FREE, _LATIN, _HANGUL = range(3)
_LANG_INDEX = {lang: i for i, lang in enumerate(LANGUAGES)}
_ZH = _LANG_INDEX["zh"]
_CLAUSE_MARKS = frozenset(",.!?;:。、…")
_SENTENCE_MARKS = frozenset(".!?;。…")


@dataclass(frozen=True, slots=True)
class _Entry:
    kind: int
    lang: int
    theme: int  # -1: every theme (language-wide cue)
    length: int
    left: int
    right: int
    key: str
    rule: int = -1  # proximity rule index (terms)
    side: int = 0  # 0: rule.terms, 1: rule.near
    extend: bool = False  # a prefix phrase ("overcharg*"): the match runs to the end of the word


@dataclass(frozen=True, slots=True)
class _Rule:
    theme: int
    lang: int
    within: int


@dataclass(slots=True)
class _Hit:
    start: int
    end: int
    theme: int
    lang: int
    key: str
    proximity: bool = False
    inner_start: int = 0  # for proximity hits: the gap between the two terms
    inner_end: int = 0


def _is_latin(ch: str) -> bool:
    return ch < "\u3000" and ch.isalnum()


def _is_hangul(ch: str) -> bool:
    return "\uac00" <= ch <= "\ud7a3" or "\u1100" <= ch <= "\u11ff" or "\u3130" <= ch <= "\u318f"


def _edge(ch: str) -> int:
    if _is_latin(ch):
        return _LATIN
    if _is_hangul(ch):
        return _HANGUL
    return _FREE


def _words_between(gap: str) -> int:
    """Whole words in the gap between two items; a piece glued to either item is not a word."""
    tokens = gap.split()
    if tokens and not gap[0].isspace():
        tokens.pop(0)
    if tokens and not gap[-1].isspace():
        tokens.pop()
    return len(tokens)


def _distance(gap: str, lang: int) -> int:
    if lang == _ZH:
        return len(gap) - gap.count(" ")
    return _words_between(gap)


class Matcher:
    """Finds complaint themes in text; build once per lexicon, then call as often as needed."""

    def __init__(self, lexicon: Lexicon, normalizer: Normalizer | None = None) -> None:
        self._lexicon = lexicon
        self._norm = normalizer or Normalizer()
        self._themes = lexicon.themes
        self._order = {t.id: i for i, t in enumerate(lexicon.themes)}
        self._rules: list[_Rule] = []
        self._windows = [
            (lexicon.negation_for(lang).window_before, lexicon.negation_for(lang).window_after)
            for lang in LANGUAGES
        ]
        table: dict[str, dict[tuple[Any, ...], _Entry]] = {}

        def add(kind: int, lang: str, theme: int, raw: str, rule: int = -1, side: int = 0) -> None:
            raw = raw.strip()
            whole_word = raw.endswith("$")
            if whole_word:
                raw = raw[:-1]
            key = self._norm.phrase(raw.strip("*"))
            if not key:
                return
            left = _FREE if raw.startswith("*") else _edge(key[0])
            last = _edge(key[-1])
            if whole_word:
                right = last
            elif raw.endswith("*") or last == _HANGUL:
                right = _FREE  # a prefix, or a Korean stem followed by particles and endings
            else:
                right = last
            extend = raw.endswith("*") and last == _LATIN
            entry = _Entry(
                kind, _LANG_INDEX[lang], theme, len(key), left, right, key, rule, side, extend
            )
            table.setdefault(key, {})[(kind, entry.lang, theme, rule, side)] = entry

        for lang in LANGUAGES:
            rules = lexicon.negation_for(lang)
            for cue in rules.before:
                add(_BEFORE, lang, -1, cue)
            for cue in rules.after:
                add(_AFTER, lang, -1, cue)
            for cue in rules.ignore:
                add(_IGNORE, lang, -1, cue)
            for cue in rules.stop:
                add(_STOP, lang, -1, cue)
        for t, theme in enumerate(self._themes):
            for lang in LANGUAGES:
                for phrase in theme.phrases_for(lang):
                    add(_PHRASE, lang, t, phrase)
            for rule in theme.proximity:
                r = len(self._rules)
                self._rules.append(_Rule(t, _LANG_INDEX[rule.lang], rule.within))
                for term in rule.terms:
                    add(_TERM, rule.lang, t, term, r, 0)
                for term in rule.near:
                    add(_TERM, rule.lang, t, term, r, 1)
            for lang, cues in theme.negation.items():
                for cue in cues.before:
                    add(_BEFORE, lang, t, cue)
                for cue in cues.after:
                    add(_AFTER, lang, t, cue)

        automaton = ahocorasick.Automaton()
        for key, entries in table.items():
            automaton.add_word(key, tuple(entries.values()))
        automaton.make_automaton()
        self._automaton = automaton
        self._size = len(table)

    @classmethod
    def from_lexicon(cls, lexicon: Lexicon) -> Matcher:
        """A matcher for this lexicon (the build cost is paid here, once)."""
        return cls(lexicon)

    @classmethod
    def default(cls) -> Matcher:
        """The matcher for the shipped default lexicon, built on first use and then shared."""
        return _default_matcher()

    @property
    def lexicon(self) -> Lexicon:
        """The lexicon this matcher was built from."""
        return self._lexicon

    @property
    def size(self) -> int:
        """Distinct normalised keys (phrases, terms and cues) in the automaton."""
        return self._size

    # --- public matching ---------------------------------------------------------------

    def find(self, text: str, lang: str | None = None) -> list[ThemeMatch]:
        """Every match in one text, offsets in that text, in order of position."""
        lang_idx = self._lang_index(lang)
        norm = self._norm.normalize(text)
        return [self._to_match(norm, hit) for hit in self._scan(norm.text, lang_idx)]

    def match_text(self, text: str, lang: str | None = None) -> list[ThemeResult]:
        """Themes in one text (no speakers, no times); best score first."""
        return self._results(self.find(text, lang))

    def match_segments(
        self,
        segments: Iterable[Any],
        lang: str | None = None,
        speakers: Collection[str] | None = None,
    ) -> list[ThemeResult]:
        """Themes in a call's segments; by default only the customer's (or `unknown` if no legs).

        `segments` are `Segment`s, mappings or TranscriptSegment-like objects; matches carry
        the segment index and an estimated call time (from word times when present).
        """
        lang_idx = self._lang_index(lang)
        items = list(segments)
        try:
            who = [speaker_of(s) for s in items]
        except MatchInputError as exc:
            raise MatchInputError(f"a segment's {exc}") from None
        if speakers is None:
            allowed = {"customer"}
            if not any(s in LEG_SPEAKERS for s in who):
                allowed.add(UNKNOWN_SPEAKER)
        else:
            allowed = {s.lower() for s in speakers}
        matches: list[ThemeMatch] = []
        normalize, scan = self._norm.normalize, self._scan
        for i, item in enumerate(items):
            if who[i] not in allowed:
                continue
            seg = coerce_segment(item, i)
            if not seg.text:
                continue
            norm = normalize(seg.text)
            hits = scan(norm.text, lang_idx)
            if hits:
                matches.extend([self._to_match(norm, hit, seg, i) for hit in hits])
        return self._results(matches)

    # --- internals -----------------------------------------------------------------------

    @staticmethod
    def _lang_index(lang: str | None) -> int | None:
        code = language_code(lang)
        return None if code is None else _LANG_INDEX[code]

    def _to_match(
        self, norm: NormalizedText, hit: _Hit, seg: Segment | None = None, index: int | None = None
    ) -> ThemeMatch:
        start, end = norm.span(hit.start, hit.end)
        return ThemeMatch(
            theme=self._themes[hit.theme].id,
            text=norm.original[start:end],
            start=start,
            end=end,
            lang=LANGUAGES[hit.lang],
            phrase=hit.key,
            rule="proximity" if hit.proximity else "phrase",
            segment=index,
            speaker=None if seg is None else seg.speaker,
            time=None if seg is None else round(seg.time_at(start), 3),
            time_end=None if seg is None else round(seg.time_at(end, at_end=True), 3),
        )

    def _results(self, matches: list[ThemeMatch]) -> list[ThemeResult]:
        by_theme: dict[str, list[ThemeMatch]] = {}
        for m in matches:
            by_theme.setdefault(m.theme, []).append(m)
        results: list[ThemeResult] = []
        for theme in self._themes:
            found = by_theme.get(theme.id)
            if not found:
                continue
            score = theme.weight * (1.0 + math.log(len(found)))
            results.append(
                ThemeResult(theme.id, round(score, 4), len(found), theme.always_flag, tuple(found))
            )
        if len(results) > 1:
            order = self._order
            results.sort(key=lambda r: (-r.score, order[r.theme]))
        return results

    def _scan(self, s: str, lang: int | None) -> list[_Hit]:
        """Accepted hits in normalised text `s`, ordered by position."""
        n = len(s)
        phrases: list[_Hit] = []
        terms: list[tuple[int, int, _Entry]] = []
        cues: list[tuple[int, int, _Entry]] = []
        blocks: list[tuple[int, int, _Entry]] = []
        is_latin, is_hangul = _is_latin, _is_hangul
        for last, entries in self._automaton.iter(s):
            end = last + 1
            for e in entries:
                if lang is not None and e.lang != lang:
                    continue
                start = end - e.length
                if start and e.left:
                    prev = s[start - 1]
                    if is_latin(prev) if e.left == _LATIN else is_hangul(prev):
                        continue
                if e.right and end < n:
                    nxt = s[end]
                    if is_latin(nxt) if e.right == _LATIN else is_hangul(nxt):
                        continue
                kind = e.kind
                if kind == _PHRASE:
                    stop = end
                    if e.extend:
                        while stop < n and is_latin(s[stop]):
                            stop += 1
                    phrases.append(_Hit(start, stop, e.theme, e.lang, e.key))
                elif kind == _TERM:
                    stop = end
                    if e.extend:
                        while stop < n and is_latin(s[stop]):
                            stop += 1
                    terms.append((start, stop, e))
                elif kind <= _AFTER:
                    cues.append((start, end, e))
                else:
                    blocks.append((start, end, e))
        if not phrases and not terms:
            return []
        if terms:
            phrases.extend(self._proximity(s, terms))
            if not phrases:
                return []
        hits = self._resolve_overlaps(phrases) if len(phrases) > 1 else phrases
        if cues:
            cues = self._live_cues(cues, blocks, phrases, terms)
            if cues:
                stops = [(a, b, e.lang) for a, b, e in blocks if e.kind == _STOP]
                hits = [h for h in hits if not self._negated(s, h, cues, stops)]
        if len(hits) > 1:
            hits.sort(key=lambda h: (h.start, h.end, h.theme))
        return hits

    def _proximity(self, s: str, terms: list[tuple[int, int, _Entry]]) -> list[_Hit]:
        by_rule: dict[int, tuple[list[tuple[int, int, str]], list[tuple[int, int, str]]]] = {}
        for a, b, e in terms:
            sides = by_rule.setdefault(e.rule, ([], []))
            sides[e.side].append((a, b, e.key))
        out: list[_Hit] = []
        for r, (firsts, seconds) in by_rule.items():
            if not firsts or not seconds:
                continue
            rule = self._rules[r]
            for a0, a1, akey in firsts:
                best: tuple[int, int, int, str] | None = None
                for b0, b1, bkey in seconds:
                    if b0 < a1 and a0 < b1:
                        continue  # overlapping terms are one word, not two
                    gap = s[a1:b0] if a1 <= b0 else s[b1:a0]
                    if any(ch in _SENTENCE_MARKS for ch in gap):
                        continue
                    dist = _distance(gap, rule.lang)
                    if dist <= rule.within and (best is None or dist < best[0]):
                        best = (dist, b0, b1, bkey)
                if best is None:
                    continue
                _, b0, b1, bkey = best
                first, second = ((a0, a1), (b0, b1)) if a0 < b0 else ((b0, b1), (a0, a1))
                out.append(
                    _Hit(
                        first[0],
                        second[1],
                        rule.theme,
                        rule.lang,
                        f"{akey} ~ {bkey}",
                        proximity=True,
                        inner_start=first[1],
                        inner_end=second[0],
                    )
                )
        return out

    @staticmethod
    def _resolve_overlaps(hits: list[_Hit]) -> list[_Hit]:
        hits.sort(key=lambda h: (h.start, h.start - h.end))
        phrases = [h for h in hits if not h.proximity]
        kept: list[_Hit] = []
        for h in hits:
            length = h.end - h.start
            if any(
                p.theme != h.theme
                and p.start <= h.start
                and h.end <= p.end
                and p.end - p.start > length
                for p in phrases
            ):
                continue  # inside a longer phrase of another theme: that phrase says what it is
            if any(k.theme == h.theme and k.start < h.end and h.start < k.end for k in kept):
                continue  # same theme: leftmost-longest wins
            kept.append(h)
        return kept

    @staticmethod
    def _live_cues(
        cues: list[tuple[int, int, _Entry]],
        blocks: list[tuple[int, int, _Entry]],
        phrases: list[_Hit],
        terms: list[tuple[int, int, _Entry]],
    ) -> list[tuple[int, int, _Entry]]:
        """Cues that really deny: not part of a look-alike, a stop word or a matched phrase."""
        live: list[tuple[int, int, _Entry]] = []
        for a, b, e in cues:
            if any(x0 < b and a < x1 and be.lang == e.lang for x0, x1, be in blocks):
                continue
            if any(h.start <= a and b <= h.end for h in phrases if not h.proximity):
                continue
            if any(t0 <= a and b <= t1 for t0, t1, _ in terms):
                continue
            live.append((a, b, e))
        return live

    def _negated(
        self,
        s: str,
        hit: _Hit,
        cues: list[tuple[int, int, _Entry]],
        stops: list[tuple[int, int, int]],
    ) -> bool:
        window_before, window_after = self._windows[hit.lang]
        for a, b, e in cues:
            if e.lang != hit.lang or (e.theme != -1 and e.theme != hit.theme):
                continue
            if hit.proximity and hit.inner_start <= a and b <= hit.inner_end:
                return True  # "the price was not higher than the quote"
            if e.kind == _BEFORE and b <= hit.start:
                lo, hi, window = b, hit.start, window_before
            elif e.kind == _AFTER and a >= hit.end:
                lo, hi, window = hit.end, a, window_after
            else:
                continue
            gap = s[lo:hi]
            if _distance(gap, hit.lang) > window:
                continue
            if any(ch in _CLAUSE_MARKS for ch in gap):
                continue
            if any(lo <= x0 and x1 <= hi and lg == hit.lang for x0, x1, lg in stops):
                continue
            return True
        return False


@lru_cache(maxsize=1)
def _default_matcher() -> Matcher:
    return Matcher(load_lexicon())


__all__ = [
    "Matcher",
    "Segment",
    "ThemeMatch",
    "ThemeResult",
    "language_code",
]
