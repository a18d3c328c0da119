"""Word error rate: word-level Levenshtein distance over the reference's word count.

Text is compared after lower-casing and removing punctuation; Chinese and Japanese characters
count as one word each, since those languages write no spaces.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = re.compile(rf"[{_CJK}]|[^\s{_CJK}]+")


@dataclass(frozen=True)
class WerResult:
    """Edit counts of a hypothesis against a reference."""

    substitutions: int
    deletions: int
    insertions: int
    reference_words: int

    @property
    def errors(self) -> int:
        """All edits together."""
        return self.substitutions + self.deletions + self.insertions

    @property
    def wer(self) -> float:
        """Errors per reference word (0.0 for an empty reference and hypothesis)."""
        if self.reference_words == 0:
            return 0.0 if self.errors == 0 else float(self.errors)
        return self.errors / self.reference_words

    def __add__(self, other: WerResult) -> WerResult:
        return WerResult(
            self.substitutions + other.substitutions,
            self.deletions + other.deletions,
            self.insertions + other.insertions,
            self.reference_words + other.reference_words,
        )


def normalize_words(text: str) -> list[str]:
    """The words of `text`: NFKC, lower case, punctuation removed (apostrophes kept)."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("’", "'")
    cleaned = "".join(
        ch if unicodedata.category(ch)[0] in "LNM" or ch == "'" else " " for ch in text
    )
    return [w.strip("'") for w in _WORD.findall(cleaned) if w.strip("'")]


def compare(reference: str, hypothesis: str) -> WerResult:
    """Substitutions, deletions and insertions turning `reference` into `hypothesis`."""
    ref = normalize_words(reference)
    hyp = normalize_words(hypothesis)
    # Each cell holds (cost, substitutions, deletions, insertions) of the best alignment.
    previous = [(j, 0, 0, j) for j in range(len(hyp) + 1)]
    for i, ref_word in enumerate(ref, start=1):
        current = [(i, 0, i, 0)]
        for j, hyp_word in enumerate(hyp, start=1):
            diag = previous[j - 1]
            if ref_word == hyp_word:
                best = diag
            else:
                up, left = previous[j], current[j - 1]
                best = min(
                    (diag[0] + 1, diag[1] + 1, diag[2], diag[3]),
                    (up[0] + 1, up[1], up[2] + 1, up[3]),
                    (left[0] + 1, left[1], left[2], left[3] + 1),
                )
            current.append(best)
        previous = current
    _, subs, dels, ins = previous[-1]
    return WerResult(subs, dels, ins, len(ref))


def word_error_rate(references: Sequence[str] | str, hypotheses: Sequence[str] | str) -> float:
    """Corpus WER: all edits over all reference words (pairs of texts or two lists)."""
    refs = [references] if isinstance(references, str) else list(references)
    hyps = [hypotheses] if isinstance(hypotheses, str) else list(hypotheses)
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses")
    total = WerResult(0, 0, 0, 0)
    for ref, hyp in zip(refs, hyps, strict=True):
        total = total + compare(ref, hyp)
    return total.wer
