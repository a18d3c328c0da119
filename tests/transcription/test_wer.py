"""The word error rate used by tests and benchmarks."""

from __future__ import annotations

import pytest

from transcription.wer import compare, normalize_words, word_error_rate


def test_identical_text_after_normalisation_has_no_errors() -> None:
    assert word_error_rate("Hello, this is Park speaking.", "hello this is park speaking") == 0.0


def test_edits_are_counted_by_kind() -> None:
    result = compare("the brakes are still squeaking", "the breaks are squeaking loudly")

    assert (result.substitutions, result.deletions, result.insertions) == (1, 1, 1)
    assert result.reference_words == 5
    assert result.wer == pytest.approx(3 / 5)


def test_corpus_wer_weights_by_reference_length() -> None:
    refs = ["one two three four", "five"]
    hyps = ["one two three four", "six"]

    assert word_error_rate(refs, hyps) == pytest.approx(1 / 5)


def test_empty_cases() -> None:
    assert word_error_rate("", "") == 0.0
    assert word_error_rate("a b", "") == 1.0
    with pytest.raises(ValueError, match="2 references but 1 hypotheses"):
        word_error_rate(["a", "b"], ["a"])


def test_normalisation_keeps_apostrophes_and_splits_cjk() -> None:
    assert normalize_words("I don’t want THAT!") == ["i", "don't", "want", "that"]
    assert normalize_words("我要退款。") == ["我", "要", "退", "款"]
