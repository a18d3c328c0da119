"""Normalisation equals NFKC + casefold + t2s + collapsed spaces, and maps back to the original."""

from __future__ import annotations

import random
import re
import unicodedata

import opencc

from analytics.normalize import Normalizer

POOL = [
    *"abcXYZ 09'’\"“\t\n\u3000，。！？；：ＡＢＣ１２３ﬁ㎞ßİéèØ",
    *"가나다한불친절ㄱㅏ\u1100\u1161\u11a8",
    *"服務態度很差臺灣裡面著火乾淨发票",
    "e\u0301",
    "\u200b",
    "\u212b",
    "ǅ",
    "①",
    "²",
    "½",
    "\U0001f600",
    "ｶﾞ",
]


def reference(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    for src, dst in (("’", "'"), ("“", '"')):
        folded = folded.replace(src, dst)
    folded = folded.replace("\u200b", "")
    return re.sub(r"\s+", " ", opencc.OpenCC("t2s").convert(folded))


def test_fast_paths_agree_with_whole_string_normalisation() -> None:
    norm = Normalizer()
    rng = random.Random(20261122)
    for _ in range(3000):
        text = "".join(rng.choice(POOL) for _ in range(rng.randint(0, 14)))
        result = norm.normalize(text)
        assert result.text == reference(text), repr(text)
        # Every normalised character points at a real, non-empty span of the original, in order.
        for i in range(len(result.text)):
            start, end = result.span(i, i + 1)
            assert 0 <= start < end <= len(text), (repr(text), i)
        if result.text:
            assert result.span(0, len(result.text)) == (
                result.span(0, 1)[0],
                result.span(len(result.text) - 1, len(result.text))[1],
            )


def test_spans_cover_what_was_folded() -> None:
    norm = Normalizer()
    text = "Ｉ ﬁxed it\t\t twice, 服務 e\u0301té"
    result = norm.normalize(text)
    assert result.text == "i fixed it twice, 服务 été"
    i = result.text.index("fixed")
    assert text[slice(*result.span(i, i + 5))] == "ﬁxed"  # the ligature is one source char
    j = result.text.index("服务")
    assert text[slice(*result.span(j, j + 2))] == "服務"
    k = result.text.index("été")
    assert text[slice(*result.span(k, k + 3))] == "e\u0301té"
