"""Versioned complaint-theme lexicons in the database, and each call's themes from its transcript.

The lexicon in force is the active `ThemeSet`; on first use version 1 is seeded from the default
taxonomy shipped with callscope. Saving or importing a lexicon stores a new version and makes it
the active one; old versions stay, so a call's themes always say which version found them.
Matchers are cached per process by the lexicon's fingerprint: building one compiles every
phrase, so a worker builds it once per lexicon version, not once per call.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import yaml
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from analytics.errors import LexiconError, MatchInputError, ThemeSetError
from analytics.lexicon import Lexicon, lexicon_to_dict, load_lexicon, parse_lexicon
from analytics.matcher import Matcher
from analytics.models import CallTheme, ThemeMatchRow, ThemeSet
from analytics.theme_results import ThemeResult
from transcription.models import Transcript

SEED_AUTHOR = "callscope (default lexicon)"
_CACHE_SIZE = 4
_matchers: OrderedDict[str, Matcher] = OrderedDict()
_matchers_lock = threading.Lock()


# --- lexicon versions --------------------------------------------------------------------------


def active_theme_set(*, db_session: Session) -> ThemeSet:
    """The active lexicon version; version 1 (the default taxonomy) is stored on first use."""
    row = db_session.scalar(select(ThemeSet).where(ThemeSet.active.is_(True)))
    if row is not None:
        return row
    if db_session.scalar(select(func.count(ThemeSet.id))):
        # versions exist but none is active (edited by hand): the newest one is in force
        newest = db_session.scalar(select(ThemeSet).order_by(ThemeSet.version.desc()).limit(1))
        assert newest is not None
        newest.active = True
        db_session.flush()
        return newest
    return save_lexicon(
        db_session=db_session,
        lexicon=load_lexicon(),
        created_by=SEED_AUTHOR,
        note="the default taxonomy shipped with callscope",
    )


def active_lexicon(*, db_session: Session) -> Lexicon:
    """The lexicon in force (seeded from the default YAML on first use)."""
    return lexicon_of(active_theme_set(db_session=db_session))


def lexicon_of(theme_set: ThemeSet) -> Lexicon:
    """The Lexicon stored in a ThemeSet row."""
    try:
        return parse_lexicon(theme_set.content)
    except LexiconError as exc:
        raise exc.in_source(f"stored lexicon version {theme_set.version}") from None


def theme_set(*, db_session: Session, version: int) -> ThemeSet:
    """One stored lexicon version (ThemeSetError when there is none)."""
    row = db_session.scalar(select(ThemeSet).where(ThemeSet.version == version))
    if row is None:
        versions = db_session.scalars(select(ThemeSet.version).order_by(ThemeSet.version))
        known = ", ".join(str(v) for v in versions)
        raise ThemeSetError(f"no lexicon version {version}; stored versions: {known or 'none'}")
    return row


def list_theme_sets(*, db_session: Session) -> list[ThemeSet]:
    """Every stored lexicon version, oldest first."""
    return list(db_session.scalars(select(ThemeSet).order_by(ThemeSet.version)))


def save_lexicon(
    *,
    db_session: Session,
    lexicon: Lexicon,
    created_by: str | None = None,
    note: str | None = None,
) -> ThemeSet:
    """Store a lexicon as the next version and make it the active one."""
    newest = db_session.scalar(select(func.max(ThemeSet.version))) or 0
    versioned = replace(lexicon, version=newest + 1)
    _deactivate_all(db_session)
    row = ThemeSet(
        version=versioned.version,
        created_by=created_by,
        note=note,
        content=lexicon_to_dict(versioned),
        fingerprint=versioned.fingerprint(),
        active=True,
    )
    db_session.add(row)
    db_session.flush()
    return row


def activate_version(*, db_session: Session, version: int) -> ThemeSet:
    """Make a stored version the active one again (to undo an import)."""
    row = theme_set(db_session=db_session, version=version)
    if not row.active:
        _deactivate_all(db_session)
        row.active = True
        db_session.flush()
    return row


def _deactivate_all(db_session: Session) -> None:
    # before the new active row is written: the partial unique index allows one active row
    db_session.execute(
        update(ThemeSet).where(ThemeSet.active.is_(True)).values(active=False),
        execution_options={"synchronize_session": "fetch"},
    )
    db_session.flush()


# --- YAML export and import -------------------------------------------------------------------


def export_yaml(*, db_session: Session, version: int | None = None) -> str:
    """A stored lexicon version (default: the active one) as YAML for `import_yaml`."""
    row = (
        active_theme_set(db_session=db_session)
        if version is None
        else theme_set(db_session=db_session, version=version)
    )
    body = yaml.safe_dump(row.content, sort_keys=False, allow_unicode=True, width=100)
    header = f"# callscope complaint-theme lexicon, version {row.version}"
    if row.note:
        header += f"\n# note: {' '.join(row.note.split())}"
    return f"{header}\n{body}"


def parse_yaml(text: str, *, source: str = "the imported YAML") -> Lexicon:
    """A validated Lexicon from YAML text; errors name the theme and field to fix."""
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise LexiconError(f"not valid YAML: {exc}", source=source) from exc
    if isinstance(data, dict) and "version" not in data:
        data = {**data, "version": 1}  # the database numbers versions; a file need not
    try:
        return parse_lexicon(data)
    except LexiconError as exc:
        raise exc.in_source(source) from None


def import_yaml(
    *,
    db_session: Session,
    text: str,
    created_by: str | None = None,
    note: str | None = None,
    source: str = "the imported YAML",
) -> ThemeSet:
    """Validate a YAML lexicon and store it as the new active version."""
    lexicon = parse_yaml(text, source=source)
    return save_lexicon(db_session=db_session, lexicon=lexicon, created_by=created_by, note=note)


# --- matchers ----------------------------------------------------------------------------------


def matcher_for(lexicon: Lexicon) -> Matcher:
    """A matcher for this lexicon, built once per process per lexicon fingerprint."""
    return _cached_matcher(lexicon.fingerprint(), lambda: lexicon)


def active_matcher(*, db_session: Session) -> Matcher:
    """The matcher of the active lexicon (the stored content is parsed only on a cache miss)."""
    row = active_theme_set(db_session=db_session)
    return _cached_matcher(row.fingerprint, lambda: lexicon_of(row))


def _cached_matcher(fingerprint: str, lexicon: Callable[[], Lexicon]) -> Matcher:
    with _matchers_lock:
        matcher = _matchers.get(fingerprint)
        if matcher is not None:
            _matchers.move_to_end(fingerprint)
            return matcher
    built = Matcher.from_lexicon(lexicon())  # outside the lock: building takes a while
    with _matchers_lock:
        matcher = _matchers.setdefault(fingerprint, built)
        _matchers.move_to_end(fingerprint)
        while len(_matchers) > _CACHE_SIZE:
            _matchers.popitem(last=False)
    return matcher


def cached_matchers() -> int:
    """How many matchers this process holds (for tests and diagnostics)."""
    with _matchers_lock:
        return len(_matchers)


# --- a call's themes ---------------------------------------------------------------------------


def done_transcript(*, db_session: Session, call_pk: int) -> Transcript | None:
    """The call's newest transcript that is done, if any."""
    return db_session.scalar(
        select(Transcript)
        .where(Transcript.call_pk == call_pk, Transcript.status == "done")
        .order_by(Transcript.updated_at.desc(), Transcript.id.desc())
        .limit(1)
    )


def analyze_call(
    *, db_session: Session, call_pk: int, matcher: Matcher | None = None
) -> list[ThemeResult]:
    """Replace the call's themes and matches with those in its done transcript; best first.

    Only the customer's speech counts (everything, as `unknown`, when the recording has no
    legs). Without a done transcript the call ends up with no themes.
    """
    db_session.execute(delete(ThemeMatchRow).where(ThemeMatchRow.call_pk == call_pk))
    db_session.execute(delete(CallTheme).where(CallTheme.call_pk == call_pk))
    transcript = done_transcript(db_session=db_session, call_pk=call_pk)
    if transcript is None:
        db_session.flush()
        return []
    if matcher is None:
        matcher = active_matcher(db_session=db_session)
    segments = list(transcript.segments)
    try:
        results = matcher.match_segments(segments)
    except MatchInputError as exc:
        raise MatchInputError(f"transcript {transcript.id} of call {call_pk}: {exc}") from None
    version = matcher.lexicon.version
    for result in results:
        db_session.add(
            CallTheme(
                call_pk=call_pk,
                transcript_id=transcript.id,
                theme_set_version=version,
                theme=result.theme,
                score=result.score,
                count=result.count,
                always_flag=result.always_flag,
            )
        )
        for match in result.matches:
            seq = segments[match.segment].seq if match.segment is not None else -1
            db_session.add(
                ThemeMatchRow(
                    call_pk=call_pk,
                    theme=result.theme,
                    text=match.text,
                    start=match.start,
                    end=match.end,
                    segment=seq,
                    speaker=match.speaker,
                    time_s=match.time,
                    time_end_s=match.time_end,
                    phrase=match.phrase,
                )
            )
    db_session.flush()
    return results


def call_themes(*, db_session: Session, call_pk: int) -> list[CallTheme]:
    """The call's stored themes, best score first."""
    return list(
        db_session.scalars(
            select(CallTheme)
            .where(CallTheme.call_pk == call_pk)
            .order_by(CallTheme.score.desc(), CallTheme.theme)
        )
    )


def theme_matches(
    *, db_session: Session, call_pk: int, theme: str | None = None
) -> list[ThemeMatchRow]:
    """The call's stored matches (of one theme, or all) in call order."""
    stmt = select(ThemeMatchRow).where(ThemeMatchRow.call_pk == call_pk)
    if theme is not None:
        stmt = stmt.where(ThemeMatchRow.theme == theme)
    return list(
        db_session.scalars(
            stmt.order_by(ThemeMatchRow.segment, ThemeMatchRow.start, ThemeMatchRow.id)
        )
    )
