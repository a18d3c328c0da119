"""Lexicon versions in the database: seeding, saving, YAML export/import, errors, matcher cache."""

from __future__ import annotations

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from analytics import themes
from analytics.errors import LexiconError, ThemeSetError
from analytics.lexicon import lexicon_to_dict, load_lexicon
from analytics.models import ThemeSet
from core.db import session_scope


def test_version_1_is_the_default_lexicon_seeded_on_first_use(
    session_factory: sessionmaker[Session],
) -> None:
    with session_scope(session_factory) as session:
        assert session.scalar(select(func.count(ThemeSet.id))) == 0
        lexicon = themes.active_lexicon(db_session=session)
    default = load_lexicon()
    assert lexicon.version == 1
    assert lexicon.theme_ids == default.theme_ids
    assert lexicon_to_dict(lexicon) == lexicon_to_dict(default)
    with session_scope(session_factory) as session:
        # a second use seeds nothing more
        assert themes.active_lexicon(db_session=session).version == 1
        (row,) = themes.list_theme_sets(db_session=session)
        assert row.active and row.fingerprint == default.fingerprint()
        assert row.created_by == themes.SEED_AUTHOR


def test_saving_makes_a_new_active_version_and_keeps_the_old(
    session_factory: sessionmaker[Session],
) -> None:
    with session_scope(session_factory) as session:
        base = themes.active_lexicon(db_session=session)
        data = lexicon_to_dict(base)
        data["themes"] = [t for t in data["themes"] if t["id"] != "upsell"]
        row = themes.import_yaml(
            db_session=session, text=yaml.safe_dump(data), created_by="qa lead", note="no upsell"
        )
        assert row.version == 2
    with session_scope(session_factory) as session:
        rows = themes.list_theme_sets(db_session=session)
        assert [(r.version, r.active) for r in rows] == [(1, False), (2, True)]
        active = themes.active_lexicon(db_session=session)
        assert active.version == 2 and "upsell" not in active.theme_ids
        assert rows[1].note == "no upsell" and rows[1].created_by == "qa lead"
        assert rows[0].fingerprint != rows[1].fingerprint
        # undo: version 1 again, without a new version
        themes.activate_version(db_session=session, version=1)
    with session_scope(session_factory) as session:
        assert "upsell" in themes.active_lexicon(db_session=session).theme_ids
        assert len(themes.list_theme_sets(db_session=session)) == 2
        with pytest.raises(ThemeSetError, match="no lexicon version 7; stored versions: 1, 2"):
            themes.activate_version(db_session=session, version=7)


def test_only_one_version_can_be_active(session_factory: sessionmaker[Session]) -> None:
    with session_scope(session_factory) as session:
        row = themes.active_theme_set(db_session=session)
        content, fingerprint = row.content, row.fingerprint
    with pytest.raises(IntegrityError), session_scope(session_factory) as session:
        session.add(ThemeSet(version=9, content=content, fingerprint=fingerprint, active=True))
        session.flush()


def test_export_then_import_round_trips(session_factory: sessionmaker[Session]) -> None:
    with session_scope(session_factory) as session:
        text = themes.export_yaml(db_session=session)
        assert text.startswith("# callscope complaint-theme lexicon, version 1")
        row = themes.import_yaml(db_session=session, text=text, note="same again")
        assert row.version == 2
        again = themes.export_yaml(db_session=session, version=2)
    first = themes.parse_yaml(text)
    second = themes.parse_yaml(again)
    # the same lexicon but for the version number the database gave it
    assert first.version == 1 and second.version == 2
    assert lexicon_to_dict(first)["themes"] == lexicon_to_dict(second)["themes"]
    assert lexicon_to_dict(first)["negation"] == lexicon_to_dict(second)["negation"]


def test_a_file_without_version_gets_the_next_one(session_factory: sessionmaker[Session]) -> None:
    text = """
themes:
  - id: loaner_car
    labels: {en: Loaner car, zh: 代步车, ko: 대차}
    phrases:
      en: [no loaner, courtesy car]
"""
    with session_scope(session_factory) as session:
        themes.active_theme_set(db_session=session)
        row = themes.import_yaml(db_session=session, text=text)
        assert row.version == 2
        assert themes.active_lexicon(db_session=session).theme_ids == ("loaner_car",)


@pytest.mark.parametrize(
    ("text", "theme", "field", "detail"),
    [
        (
            "version: 1\nthemes:\n  - id: rude\n    labels: {en: Rude, zh: 粗鲁}\n"
            "    phrases: {en: [rude]}\n",
            "rude",
            "labels",
            "needs a label in 'ko'",
        ),
        (
            "version: 1\nthemes:\n  - id: rude\n    labels: {en: Rude, zh: 粗鲁, ko: 무례}\n"
            "    weight: -1\n    phrases: {en: [rude]}\n",
            "rude",
            "weight",
            "must be a number above 0",
        ),
        (
            "version: 1\nthemes:\n  - id: rude\n    labels: {en: Rude, zh: 粗鲁, ko: 무례}\n"
            "    phrases: {en: [rude, '']}\n",
            "rude",
            "phrases.en[1]",
            "must be a non-empty phrase",
        ),
        (
            "version: 1\nthemes:\n  - id: rude\n    labels: {en: Rude, zh: 粗鲁, ko: 무례}\n"
            "    phrases: {en: [rude]}\n    proximity:\n"
            "      - {lang: en, terms: [brakes], near: [noise], within: 99}\n",
            "rude",
            "proximity[0].within",
            "from 0 to 50",
        ),
    ],
)
def test_bad_yaml_names_theme_and_field_and_stores_nothing(
    session_factory: sessionmaker[Session], text: str, theme: str, field: str, detail: str
) -> None:
    with session_scope(session_factory) as session:
        themes.active_theme_set(db_session=session)
        with pytest.raises(LexiconError) as caught:
            themes.import_yaml(db_session=session, text=text, source="mine.yaml")
        assert caught.value.theme == theme
        assert caught.value.field == field
        assert detail in caught.value.detail
        message = str(caught.value)
        assert "mine.yaml" in message and repr(theme) in message and repr(field) in message
        assert [r.version for r in themes.list_theme_sets(db_session=session)] == [1]


def test_broken_yaml_syntax_is_reported(session_factory: sessionmaker[Session]) -> None:
    with (
        session_scope(session_factory) as session,
        pytest.raises(LexiconError, match="not valid YAML"),
    ):
        themes.import_yaml(db_session=session, text="themes: [unclosed", source="x.yaml")


def test_matchers_are_built_once_per_lexicon(session_factory: sessionmaker[Session]) -> None:
    with session_scope(session_factory) as session:
        first = themes.active_matcher(db_session=session)
        assert themes.active_matcher(db_session=session) is first
        assert themes.matcher_for(themes.active_lexicon(db_session=session)) is first
        data = lexicon_to_dict(themes.active_lexicon(db_session=session))
        data["themes"][0]["phrases"]["en"].append("grumpy")
        themes.import_yaml(db_session=session, text=yaml.safe_dump(data))
        second = themes.active_matcher(db_session=session)
    assert second is not first
    assert second.lexicon.version == 2
    assert [r.theme for r in second.match_text("the advisor was grumpy")] == ["service_attitude"]
    assert first.match_text("the advisor was grumpy") == []
