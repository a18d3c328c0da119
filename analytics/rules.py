"""Flag thresholds and the follow-up due time: the settings, overridden from the console.

An admin's changes are stored as a new `FlagRuleSet` row holding only the fields they set; the
newest row is in force, on top of the CALLSCOPE_FLAG_* and CALLSCOPE_FOLLOWUP_DUE_H settings.
Flags already stored change when their call is analysed again (`callscope analyze --all`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics.models import FlagRuleSet
from core.settings import Settings

FLAG_RULE_FIELDS: tuple[str, ...] = (
    "flag_theme_medium_score",
    "flag_theme_high_score",
    "flag_critical_themes",
    "flag_long_silence_s",
    "flag_overtalk_s",
    "flag_failed_transcription",
    "followup_due_h",
)
"""The Settings fields an admin may override."""


def stored_rules(*, db_session: Session) -> FlagRuleSet | None:
    """The rule set in force (the newest), or None while only the settings apply."""
    return db_session.scalar(select(FlagRuleSet).order_by(FlagRuleSet.id.desc()).limit(1))


def effective_settings(*, db_session: Session, settings: Settings) -> Settings:
    """The settings with the stored overrides applied."""
    row = stored_rules(db_session=db_session)
    if row is None or not row.rules:
        return settings
    return settings.model_copy(update={k: v for k, v in row.rules.items() if k in FLAG_RULE_FIELDS})


def save_rules(
    *, db_session: Session, settings: Settings, rules: dict[str, Any], by: str | None
) -> FlagRuleSet:
    """Store a new rule set (only the fields given override the settings; an empty dict returns
    to the settings). Raises ValueError naming what is wrong."""
    unknown = sorted(set(rules) - set(FLAG_RULE_FIELDS))
    if unknown:
        raise ValueError(f"unknown flag rule fields: {', '.join(unknown)}")
    merged = settings.model_dump()
    merged.update(rules)
    try:
        Settings.model_validate(merged)
    except Exception as exc:  # pydantic's ValidationError, worded for the person editing
        raise ValueError(_first_problem(exc)) from exc
    from analytics.pipeline import AnalysisOptions  # the options must build, too

    AnalysisOptions.from_settings(settings.model_copy(update=rules))
    row = FlagRuleSet(rules=dict(rules), created_by=by)
    db_session.add(row)
    db_session.flush()
    return row


def _first_problem(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        for err in errors():
            field = ".".join(str(p) for p in err.get("loc", ()))
            return f"{field}: {err.get('msg')}"
    return str(exc)
