"""Precision and recall of the default lexicon on a labelled set of real-sounding utterances.

`fixtures/themes_testset.jsonl`: one utterance per line in zh, zh-Hant, ko or en with the themes a
person would tag (an empty list for neutral or denied complaints). Counted per (utterance,
theme) pair. Measured with the default lexicon: precision 0.986, recall 0.986 (144 expected
pairs, 172 utterances); the bounds leave a little room for lexicon edits, not for regressions.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from analytics.lexicon import load_lexicon
from analytics.matcher import Matcher

TESTSET = Path(__file__).parent / "fixtures" / "themes_testset.jsonl"
MIN_PRECISION = 0.95
MIN_RECALL = 0.95
MIN_RECALL_PER_LANGUAGE = 0.9


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    with TESTSET.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def test_testset_is_broad(rows: list[dict[str, Any]]) -> None:
    themes = set(load_lexicon().theme_ids)
    assert len(rows) >= 60
    langs = Counter(r["lang"] for r in rows)
    assert set(langs) == {"zh", "zh-Hant", "ko", "en"}
    assert min(langs.values()) >= 15
    assert sum(1 for r in rows if not r["themes"]) >= 20  # neutral and denied lines
    tagged = {t for r in rows for t in r["themes"]}
    assert tagged == themes
    for r in rows:
        assert set(r["themes"]) <= themes, r


def test_precision_and_recall(rows: list[dict[str, Any]]) -> None:
    matcher = Matcher.default()
    tp = fp = fn = 0
    per_lang: dict[str, list[int]] = {}
    errors: list[str] = []
    for row in rows:
        got = {r.theme for r in matcher.match_text(row["text"], row["lang"])}
        expected = set(row["themes"])
        hit, extra, missed = len(got & expected), len(got - expected), len(expected - got)
        tp, fp, fn = tp + hit, fp + extra, fn + missed
        lang = per_lang.setdefault(row["lang"], [0, 0])
        lang[0] += hit
        lang[1] += missed
        if got != expected:
            errors.append(f"{row['text']}: expected {sorted(expected)}, got {sorted(got)}")
    precision = tp / (tp + fp)
    recall = tp / (tp + fn)
    report = f"precision {precision:.3f} recall {recall:.3f}\n" + "\n".join(errors)
    assert precision >= MIN_PRECISION, report
    assert recall >= MIN_RECALL, report
    for lang, (hit, missed) in per_lang.items():
        assert hit / (hit + missed) >= MIN_RECALL_PER_LANGUAGE, f"{lang}: {report}"
