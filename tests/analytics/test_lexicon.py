"""The default lexicon's content, its YAML round trip, and validation errors a user can act on."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from analytics.errors import LexiconError
from analytics.lexicon import (
    LABEL_LANGUAGES,
    PHRASE_LISTS,
    Lexicon,
    NegationRules,
    Theme,
    dump_lexicon,
    lexicon_to_dict,
    load_lexicon,
)
from analytics.matcher import Matcher

THEMES = {
    "service_attitude",
    "repeat_repair",
    "long_wait",
    "pricing",
    "parts_quality",
    "upsell",
    "no_callback",
    "unanswered_phone",
    "safety",
    "escalation",
}


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return load_lexicon()


def test_default_lexicon_has_every_theme_in_every_language(lexicon: Lexicon) -> None:
    assert set(lexicon.theme_ids) == THEMES
    assert lexicon.version >= 1
    for theme in lexicon.themes:
        for lang in LABEL_LANGUAGES:
            assert theme.labels[lang].strip(), (theme.id, lang)
        for lang in PHRASE_LISTS:
            # Many phrases per language, not a token list.
            assert len(theme.phrases.get(lang, ())) >= 15, (theme.id, lang)
        assert theme.weight > 0


def test_only_safety_and_escalation_always_flag(lexicon: Lexicon) -> None:
    flagged = {t.id for t in lexicon.themes if t.always_flag}
    assert flagged == {"safety", "escalation"}


def test_traditional_lists_really_are_traditional(lexicon: Lexicon) -> None:
    """Most zh_hant phrases must change under t2s, or they prove nothing about the conversion."""
    from analytics.normalize import Normalizer

    norm = Normalizer()
    for theme in lexicon.themes:
        hant = theme.phrases["zh_hant"]
        converted = sum(1 for p in hant if norm.phrase(p) != p)
        assert converted >= len(hant) // 2, theme.id


def test_yaml_round_trip_is_lossless(lexicon: Lexicon, tmp_path: Path) -> None:
    path = tmp_path / "lex.yaml"
    dump_lexicon(lexicon, path)
    again = load_lexicon(path)
    assert again == lexicon
    assert again.fingerprint() == lexicon.fingerprint()
    # And the dumped file is ordinary YAML with the documented top-level keys.
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert set(data) == {"version", "negation", "themes"}


def test_edited_lexicon_changes_matching(lexicon: Lexicon, tmp_path: Path) -> None:
    data = lexicon_to_dict(lexicon)
    pricing = next(t for t in data["themes"] if t["id"] == "pricing")
    pricing["phrases"]["en"].append("daylight robbery")
    data["version"] = lexicon.version + 1
    path = tmp_path / "edited.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    edited = load_lexicon(path)
    assert edited.version == lexicon.version + 1
    assert edited.fingerprint() != lexicon.fingerprint()
    text = "Four hundred for an oil change is daylight robbery."
    assert [r.theme for r in Matcher.from_lexicon(edited).match_text(text, "en")] == ["pricing"]
    assert Matcher.from_lexicon(lexicon).match_text(text, "en") == []


def _write(tmp_path: Path, doc: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(doc, encoding="utf-8")
    return path


GOOD_THEME = """
  - id: pricing
    labels: {en: Pricing, zh: 收费, ko: 비용}
    weight: 1.0
    phrases: {en: [overcharged]}
"""


@pytest.mark.parametrize(
    ("doc", "theme", "field", "words"),
    [
        (
            "version: 1\nthemes:\n" + GOOD_THEME.replace("weight: 1.0", "weight: -2"),
            "pricing",
            "weight",
            "above 0",
        ),
        (
            "version: 1\nthemes:\n" + GOOD_THEME.replace("phrases:", "phrase:"),
            "pricing",
            "(theme)",
            "phrase",
        ),
        (
            "version: 1\nthemes:\n" + GOOD_THEME.replace(", ko: 비용", ""),
            "pricing",
            "labels",
            "'ko'",
        ),
        (
            # Unquoted `no` is a YAML boolean: the error says which item and how to fix it.
            "version: 1\nthemes:\n" + GOOD_THEME.replace("[overcharged]", "[overcharged, no]"),
            "pricing",
            "phrases.en[1]",
            "quote it",
        ),
        (
            "version: 1\nthemes:\n"
            + GOOD_THEME
            + "    proximity:\n      - {lang: fr, terms: [a], near: [b], within: 3}\n",
            "pricing",
            "proximity[0].lang",
            "fr",
        ),
        (
            "version: 1\nthemes:\n"
            + GOOD_THEME
            + "    proximity:\n      - {lang: en, terms: [price], near: [higher], within: many}\n",
            "pricing",
            "proximity[0].within",
            "whole number",
        ),
        ("version: 1\nthemes:\n" + GOOD_THEME + GOOD_THEME, "pricing", "id", "twice"),
        (
            "version: 1\nnegation: {en: {window_before: -1}}\nthemes:\n" + GOOD_THEME,
            None,
            "negation.en.window_before",
            "0 to 50",
        ),
    ],
)
def test_validation_errors_name_theme_and_field(
    tmp_path: Path, doc: str, theme: str | None, field: str, words: str
) -> None:
    path = _write(tmp_path, doc)
    with pytest.raises(LexiconError) as info:
        load_lexicon(path)
    err = info.value
    assert err.theme == theme
    assert err.field == field
    assert words in str(err)
    assert str(path) in str(err)


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(LexiconError, match="cannot read"):
        load_lexicon(tmp_path / "missing.yaml")
    with pytest.raises(LexiconError, match="not valid YAML"):
        load_lexicon(_write(tmp_path, "version: 1\nthemes: [\n"))
    with pytest.raises(LexiconError, match="'version'"):
        load_lexicon(_write(tmp_path, "themes: []\n"))


def test_dataclasses_validate_when_built_in_code() -> None:
    with pytest.raises(LexiconError) as info:
        Theme(id="Bad Id", labels={"en": "x", "zh": "x", "ko": "x"}, phrases={"en": ("a",)})
    assert info.value.field == "id"
    theme = Theme(id="ok", labels={"en": "x", "zh": "x", "ko": "x"}, phrases={"en": ("a",)})
    with pytest.raises(LexiconError) as info:
        replace(theme, phrases={"en": ("a", "  ")})
    assert (info.value.theme, info.value.field) == ("ok", "phrases.en[1]")
    with pytest.raises(LexiconError):
        Lexicon(version=0, themes=(theme,))
    with pytest.raises(LexiconError):
        NegationRules(window_after=99)
