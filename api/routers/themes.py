"""Complaint themes: lexicon versions (read, create, activate, add phrases, try a sentence), a
call's themes and flags, and the flag list. Lexicon changes need `manage_lexicon` and are
audited."""

from __future__ import annotations

import copy
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response, status

from analytics import flags as flag_rules
from analytics import themes
from analytics.errors import LexiconError
from analytics.lexicon import lexicon_to_dict, parse_lexicon
from analytics.models import ThemeSet
from api import calls, exports, qa, service
from api.access import can
from api.analytics_schemas import (
    AnalyzeOut,
    CallThemesOut,
    FlagListQuery,
    FlagOut,
    FlagPage,
    LexiconCreate,
    LexiconTestIn,
    PhrasesIn,
    ThemeSetDetail,
    ThemeSetOut,
    ThemesOut,
)
from api.deps import ClientDep, CurrentUser, SessionDep, require
from api.errors import Conflict, InvalidRequest, NotFound
from api.models import User
from api.redact import redact_text
from api.routers import errors
from api.routers.calls import CallId
from api.schemas import PAGE_SIZE_CAP

router = APIRouter(tags=["themes"])

Version = Annotated[int, Path(ge=1, le=2**31 - 1, description="The lexicon version.")]
LexiconAdmin = Annotated[User, Depends(require("manage_lexicon"))]
FLAG_COLUMNS = ["call_id", "started_at", "agent", "queue", "rule", "severity", "reason"]


def _set_out(row: ThemeSet) -> dict[str, Any]:
    content = row.content or {}
    theme_list = content.get("themes", []) if isinstance(content, dict) else []
    phrases = sum(
        len(v)
        for t in theme_list
        if isinstance(t, dict)
        for v in (t.get("phrases") or {}).values()
        if isinstance(v, list)
    )
    return {
        "version": row.version,
        "active": row.active,
        "created_at": row.created_at,
        "created_by": row.created_by,
        "note": row.note,
        "fingerprint": row.fingerprint,
        "themes": len(theme_list),
        "phrases": phrases,
    }


def _detail(row: ThemeSet) -> ThemeSetDetail:
    return ThemeSetDetail.model_validate({**_set_out(row), "content": row.content})


def _audit_lexicon(
    db_session: Any, user: User, client: ClientDep, action: str, row: ThemeSet, **detail: Any
) -> None:
    service.audit(
        db_session=db_session,
        user=user,
        action=action,
        object_type="lexicon",
        object_id=str(row.version),
        detail={"version": row.version, "fingerprint": row.fingerprint, **detail},
        client=client,
    )


# --- themes and lexicon versions ---------------------------------------------------------------


@router.get("/themes", response_model=ThemesOut, responses=errors(401), summary="List themes")
def list_themes(user: CurrentUser, db_session: SessionDep) -> ThemesOut:
    """The complaint themes of the active lexicon with their labels and phrase counts."""
    with qa.analytics_errors():
        row = themes.active_theme_set(db_session=db_session)
        lexicon = themes.lexicon_of(row)
    return ThemesOut.model_validate(
        {
            "version": row.version,
            "themes": [
                {
                    "id": t.id,
                    "labels": dict(t.labels),
                    "weight": t.weight,
                    "always_flag": t.always_flag,
                    "description": t.description or None,
                    "phrases": {lang: len(p) for lang, p in t.phrases.items()},
                }
                for t in lexicon.themes
            ],
        }
    )


@router.get(
    "/lexicon/versions",
    response_model=list[ThemeSetOut],
    responses=errors(401),
    summary="List lexicon versions",
)
def list_versions(user: CurrentUser, db_session: SessionDep) -> list[ThemeSetOut]:
    """Every stored lexicon version, oldest first; exactly one is active."""
    themes.active_theme_set(db_session=db_session)  # version 1 is stored on first use
    rows = themes.list_theme_sets(db_session=db_session)
    return [ThemeSetOut.model_validate(_set_out(r)) for r in rows]


@router.get(
    "/lexicon/versions/{version}",
    response_model=ThemeSetDetail,
    responses=errors(401, 404, 422),
    summary="One lexicon version with its content",
)
def get_version(version: Version, user: CurrentUser, db_session: SessionDep) -> ThemeSetDetail:
    """A stored version: themes, phrases per language, proximity and negation rules."""
    themes.active_theme_set(db_session=db_session)
    with qa.analytics_errors():
        return _detail(themes.theme_set(db_session=db_session, version=version))


@router.get(
    "/lexicon/versions/{version}/export.yaml",
    response_class=Response,
    responses={
        200: {
            "content": {"application/yaml": {"schema": {"type": "object"}}},
            "description": "YAML",
        },
        **errors(401, 404, 422),
    },
    summary="One lexicon version as YAML",
)
def export_version(version: Version, user: CurrentUser, db_session: SessionDep) -> Response:
    """The version as `callscope themes export` writes it (for `themes import`)."""
    themes.active_theme_set(db_session=db_session)
    with qa.analytics_errors():
        text = themes.export_yaml(db_session=db_session, version=version)
    return Response(
        content=text,
        media_type="application/yaml",
        headers={"Content-Disposition": f'attachment; filename="lexicon-v{version}.yaml"'},
    )


def _store(
    db_session: Any, lexicon_data: Any, user: User, note: str | None, activate: bool
) -> ThemeSet:
    """Validate and store a lexicon as the next version; keep the old one active if asked."""
    previous = themes.active_theme_set(db_session=db_session)
    try:
        lexicon = parse_lexicon(
            {**lexicon_data, "version": 1} if isinstance(lexicon_data, dict) else lexicon_data
        )
    except LexiconError as exc:
        raise InvalidRequest(str(exc)) from exc
    except (TypeError, ValueError, AttributeError) as exc:  # a shape the parser did not expect
        raise InvalidRequest(f"lexicon: cannot read it ({exc})") from exc
    row = themes.save_lexicon(
        db_session=db_session, lexicon=lexicon, created_by=user.username, note=note
    )
    if not activate:
        themes.activate_version(db_session=db_session, version=previous.version)
    return row


@router.post(
    "/lexicon/versions",
    response_model=ThemeSetDetail,
    status_code=status.HTTP_201_CREATED,
    responses=errors(400, 401, 403, 422),
    summary="Store a new lexicon version",
)
def create_version(
    body: LexiconCreate, user: LexiconAdmin, db_session: SessionDep, client: ClientDep
) -> ThemeSetDetail:
    """A new version from edited content (JSON `content`, or `yaml` as `themes export` writes
    it), active at once unless `activate` is false. Errors name the theme and field to fix.
    Stored calls keep the themes the old version found until they are analysed again."""
    if body.yaml is not None:
        with qa.analytics_errors():
            data: Any = lexicon_to_dict(themes.parse_yaml(body.yaml, source="the posted YAML"))
    else:
        data = body.content
    row = _store(db_session, data, user, body.note, body.activate)
    _audit_lexicon(db_session, user, client, "lexicon.create", row, note=body.note)
    return _detail(row)


@router.post(
    "/lexicon/versions/{version}/activate",
    response_model=ThemeSetOut,
    responses=errors(400, 401, 403, 404, 422),
    summary="Make a lexicon version the active one",
)
def activate_version(
    version: Version, user: LexiconAdmin, db_session: SessionDep, client: ClientDep
) -> ThemeSetOut:
    """New transcripts are matched with this version from now on (e.g. to undo a change)."""
    themes.active_theme_set(db_session=db_session)
    with qa.analytics_errors():
        row = themes.activate_version(db_session=db_session, version=version)
    _audit_lexicon(db_session, user, client, "lexicon.activate", row)
    return ThemeSetOut.model_validate(_set_out(row))


@router.post(
    "/lexicon/phrases",
    response_model=ThemeSetDetail,
    status_code=status.HTTP_201_CREATED,
    responses=errors(400, 401, 403, 404, 409, 422),
    summary="Add phrases to a theme",
)
def add_phrases(
    body: PhrasesIn, user: LexiconAdmin, db_session: SessionDep, client: ClientDep
) -> ThemeSetDetail:
    """Add phrases in one language (zh, zh_hant, ko, en) to a theme of the active lexicon;
    stored as a new active version. 409 when every phrase is there already."""
    current = themes.active_theme_set(db_session=db_session)
    content = copy.deepcopy(current.content)
    theme = next((t for t in content.get("themes", []) if t.get("id") == body.theme), None)
    if theme is None:
        raise NotFound(f"the active lexicon has no theme {body.theme!r}")
    phrases = theme.setdefault("phrases", {})
    existing = phrases.setdefault(body.lang, [])
    added = [p for p in dict.fromkeys(p.strip() for p in body.phrases) if p and p not in existing]
    if not added:
        raise Conflict(f"every phrase is already in {body.theme} ({body.lang})")
    existing.extend(added)
    note = body.note or f"added {len(added)} {body.lang} phrase(s) to {body.theme}"
    row = _store(db_session, content, user, note, True)
    _audit_lexicon(
        db_session,
        user,
        client,
        "lexicon.add_phrases",
        row,
        theme=body.theme,
        lang=body.lang,
        added=added,
    )
    return _detail(row)


@router.post(
    "/lexicon/test",
    response_model=AnalyzeOut,
    responses=errors(400, 401, 404, 422),
    summary="Try a sentence against a lexicon",
)
def test_sentence(body: LexiconTestIn, user: CurrentUser, db_session: SessionDep) -> AnalyzeOut:
    """The themes a lexicon version (default: the active one) finds in a sentence: the same
    JSON as `callscope analyze-text --lang LANG TEXT`. Nothing is stored."""
    with qa.analytics_errors():
        if body.version is None:
            matcher = themes.active_matcher(db_session=db_session)
        else:
            row = themes.theme_set(db_session=db_session, version=body.version)
            matcher = themes.matcher_for(themes.lexicon_of(row))
        results = matcher.match_text(body.text, body.lang)
    return AnalyzeOut.model_validate(
        {
            "themes": [
                {
                    "theme": r.theme,
                    "score": r.score,
                    "matches": [
                        {"text": m.text, "start": m.start, "end": m.end} for m in r.matches
                    ],
                }
                for r in results
            ]
        }
    )


# --- a call's themes and flags -----------------------------------------------------------------


@router.get(
    "/calls/{call_id}/themes",
    response_model=CallThemesOut,
    responses=errors(401, 404),
    summary="The call's complaint themes with offsets and times",
)
def call_themes(call_id: CallId, user: CurrentUser, db_session: SessionDep) -> CallThemesOut:
    """Themes found in the customer's speech and every match (segment, offsets, call time), to
    highlight and seek. Personal numbers in match texts are masked without `view_unredacted`."""
    call = calls.get_call(db_session=db_session, user=user, call_id=call_id)
    redact = not can(user, "view_unredacted")
    found = themes.call_themes(db_session=db_session, call_pk=call.id)
    matches = themes.theme_matches(db_session=db_session, call_pk=call.id)
    return CallThemesOut.model_validate(
        {
            "themes": [
                {
                    "theme": t.theme,
                    "score": t.score,
                    "count": t.count,
                    "always_flag": t.always_flag,
                    "lexicon_version": t.theme_set_version,
                }
                for t in found
            ],
            "matches": [
                {
                    "theme": m.theme,
                    "text": redact_text(m.text) if redact else m.text,
                    "start": m.start,
                    "end": m.end,
                    "segment": m.segment,
                    "speaker": m.speaker,
                    "time_s": m.time_s,
                    "time_end_s": m.time_end_s,
                    "phrase": m.phrase,
                }
                for m in matches
            ],
        }
    )


@router.get(
    "/calls/{call_id}/flags",
    response_model=list[FlagOut],
    responses=errors(401, 404),
    summary="The call's flags",
)
def call_flags(call_id: CallId, user: CurrentUser, db_session: SessionDep) -> list[FlagOut]:
    """Why the call needs a look, most severe first, each with its reason."""
    call = calls.get_call(db_session=db_session, user=user, call_id=call_id)
    return [
        FlagOut.model_validate(f)
        for f in flag_rules.flags_for(db_session=db_session, call_pk=call.id)
    ]


@router.get(
    "/flags",
    response_model=FlagPage,
    responses={**exports.CSV_RESPONSE, **errors(401, 422)},
    summary="List flagged calls",
)
def list_flags(
    query: Annotated[FlagListQuery, Query()],
    user: CurrentUser,
    db_session: SessionDep,
    client: ClientDep,
) -> FlagPage | Response:
    """Flags of the calls you may see: most severe first, then newest call first.
    `format=csv` downloads every matching flag (audited)."""
    if query.format == "csv":
        items, _ = qa.list_flags(db_session=db_session, user=user, filters=query, paged=False)
        rows = ({**i, "started_at": i["started_at"].isoformat()} for i in items)
        return exports.csv_download(
            db_session=db_session,
            user=user,
            client=client,
            text=exports.csv_text(rows, FLAG_COLUMNS),
            filename="flags.csv",
            action="flags.export",
            detail={
                "filters": query.model_dump(mode="json", exclude_none=True),
                "rows": len(items),
            },
        )
    items, total = qa.list_flags(db_session=db_session, user=user, filters=query)
    return FlagPage.model_validate(
        {
            "items": items,
            "total": total,
            "page": query.page,
            "page_size": min(query.page_size, PAGE_SIZE_CAP),
        }
    )
