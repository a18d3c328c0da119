"""Flag thresholds and the follow-up due time: read by reviewers, set by admins (audited)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from analytics import rules
from api import service
from api.deps import ClientDep, CurrentUser, SessionDep, StateDep, require
from api.errors import InvalidRequest
from api.models import User
from api.routers import errors
from api.schemas import RequestBody

router = APIRouter(prefix="/flag-rules", tags=["flags"])

SettingsAdmin = Annotated[User, Depends(require("manage_settings"))]


class FlagRulesIn(RequestBody):
    """The overrides in force after this request: a field left out or null follows its
    CALLSCOPE_* setting. Flags already stored change when their call is analysed again."""

    flag_theme_medium_score: float | None = Field(None, gt=0, le=100, examples=[1.0])
    flag_theme_high_score: float | None = Field(None, gt=0, le=100, examples=[2.0])
    flag_critical_themes: str | None = Field(
        None, max_length=500, pattern=r"^[a-z0-9_, ]*$", examples=["safety,escalation"]
    )
    flag_long_silence_s: float | None = Field(None, gt=0, le=3600, examples=[20.0])
    flag_overtalk_s: float | None = Field(None, gt=0, le=3600, examples=[5.0])
    flag_failed_transcription: bool | None = None
    followup_due_h: float | None = Field(None, gt=0, le=24 * 30, examples=[24.0])


class FlagRuleOut(BaseModel):
    """One threshold: the value in force, whether the console or the settings set it."""

    field: str = Field(examples=["flag_long_silence_s"])
    value: float | bool | str
    source: str = Field(description="console (set here) or settings (CALLSCOPE_<FIELD>)")
    setting: float | bool | str = Field(description="the CALLSCOPE_* setting's value")


class FlagRulesOut(BaseModel):
    """Every threshold, and who last changed them here."""

    rules: list[FlagRuleOut]
    changed_at: datetime | None
    changed_by: str | None


def _out(db_session: SessionDep, state: StateDep) -> FlagRulesOut:
    row = rules.stored_rules(db_session=db_session)
    stored = row.rules if row is not None else {}
    settings = state.settings
    return FlagRulesOut(
        rules=[
            FlagRuleOut(
                field=name,
                value=stored.get(name, getattr(settings, name)),
                source="console" if name in stored else "settings",
                setting=getattr(settings, name),
            )
            for name in rules.FLAG_RULE_FIELDS
        ],
        changed_at=row.created_at if row is not None else None,
        changed_by=row.created_by if row is not None else None,
    )


@router.get("", response_model=FlagRulesOut, responses=errors(401), summary="Flag thresholds")
def get_flag_rules(user: CurrentUser, db_session: SessionDep, state: StateDep) -> FlagRulesOut:
    """The thresholds the flag rules and follow-ups use now."""
    return _out(db_session, state)


@router.put(
    "",
    response_model=FlagRulesOut,
    responses=errors(400, 401, 403, 422),
    summary="Set flag thresholds",
)
def put_flag_rules(
    body: FlagRulesIn,
    admin: SettingsAdmin,
    db_session: SessionDep,
    state: StateDep,
    client: ClientDep,
) -> FlagRulesOut:
    """Store the overrides (the previous ones are kept as history). Audited."""
    overrides = body.model_dump(exclude_none=True)
    try:
        rules.save_rules(
            db_session=db_session, settings=state.settings, rules=overrides, by=admin.username
        )
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from exc
    service.audit(
        db_session=db_session,
        user=admin,
        action="flag_rules.update",
        object_type="flag_rules",
        detail=overrides,
        client=client,
    )
    return _out(db_session, state)
