"""What runs after a call is stored or transcribed: themes, flags and follow-ups.

`after_transcript` and `after_call` work inside the caller's transaction (they flush only).
`analyze_transcription` and `analyze_committed_calls` open their own, for the transcription job
and the connector's after-commit hook: a failing analysis is logged and never undoes the
transcript or the calls (`callscope analyze --all` catches up).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from analytics import flags as flag_rules
from analytics import followups, rules, themes
from analytics.matcher import Matcher
from analytics.models import Flag, FollowUp
from analytics.theme_results import ThemeResult
from core.db import session_scope
from core.settings import Settings
from transcription.models import Transcript

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AnalysisOptions:
    """Flag thresholds and follow-up rules in one object."""

    flags: flag_rules.FlagOptions = field(default_factory=flag_rules.FlagOptions)
    followups: followups.FollowUpOptions = field(default_factory=followups.FollowUpOptions)

    @classmethod
    def from_settings(cls, settings: Settings) -> AnalysisOptions:
        """The options the CALLSCOPE_FLAG_* and CALLSCOPE_FOLLOWUP_* settings give."""
        critical = tuple(t.strip() for t in settings.flag_critical_themes.split(",") if t.strip())
        return cls(
            flags=flag_rules.FlagOptions(
                theme_medium_score=settings.flag_theme_medium_score,
                theme_high_score=settings.flag_theme_high_score,
                critical_themes=critical,
                long_silence_s=settings.flag_long_silence_s,
                overtalk_s=settings.flag_overtalk_s,
                flag_failed_transcription=settings.flag_failed_transcription,
            ),
            followups=followups.FollowUpOptions(due_h=settings.followup_due_h),
        )


@dataclass(slots=True)
class CallAnalysis:
    """What the analysis of one call produced."""

    call_pk: int
    themes: list[ThemeResult] | None  # None: themes were not re-run (no transcript step)
    flags: list[Flag]
    followup: FollowUp | None
    closed: list[FollowUp]  # follow-ups of other calls this outbound call closed


def after_transcript(
    *,
    db_session: Session,
    call_pk: int,
    settings: Settings,
    options: AnalysisOptions | None = None,
    matcher: Matcher | None = None,
) -> CallAnalysis:
    """Themes from the call's done transcript, then its flags and follow-ups."""
    found = themes.analyze_call(db_session=db_session, call_pk=call_pk, matcher=matcher)
    result = after_call(db_session=db_session, call_pk=call_pk, settings=settings, options=options)
    result.themes = found
    return result


def after_call(
    *,
    db_session: Session,
    call_pk: int,
    settings: Settings,
    options: AnalysisOptions | None = None,
) -> CallAnalysis:
    """Flags and follow-ups from what is stored (the call, its themes if any, its transcript)."""
    if options is None:
        in_force = rules.effective_settings(db_session=db_session, settings=settings)
        options = AnalysisOptions.from_settings(in_force)
    flags = flag_rules.evaluate_call(
        db_session=db_session, call_pk=call_pk, settings=settings, options=options.flags
    )
    followup = followups.sync_followup(
        db_session=db_session, call_pk=call_pk, settings=settings, options=options.followups
    )
    closed = followups.close_by_outbound(
        db_session=db_session, call_pk=call_pk, options=options.followups
    )
    return CallAnalysis(call_pk, None, flags, followup, closed)


def after_calls(
    *,
    db_session: Session,
    call_pks: Sequence[int],
    settings: Settings,
    options: AnalysisOptions | None = None,
) -> list[CallAnalysis]:
    """`after_call` for each call, in order."""
    return [
        after_call(db_session=db_session, call_pk=pk, settings=settings, options=options)
        for pk in call_pks
    ]


def ensure_lexicon(session_factory: sessionmaker[Session]) -> None:
    """Store the default lexicon as version 1 in a transaction of its own, if none is stored.

    Two workers seeding at once: one wins, the other's unique-version error is ignored.
    """
    try:
        with session_scope(session_factory) as session:
            themes.active_theme_set(db_session=session)
    except IntegrityError:
        log.info("another process stored the first lexicon version first")


def analyze_transcription(
    transcript_id: int,
    *,
    session_factory: sessionmaker[Session],
    settings: Settings,
    options: AnalysisOptions | None = None,
) -> CallAnalysis | None:
    """After a transcription job: analyse its call in a transaction of its own.

    A done transcript gets themes, flags and follow-ups; a failed one its flags. Errors are
    logged, not raised: the transcript is already stored and must stay so.
    """
    try:
        ensure_lexicon(session_factory)
        with session_scope(session_factory) as session:
            transcript = session.get(Transcript, transcript_id)
            if transcript is None:
                return None
            if transcript.status == "done":
                return after_transcript(
                    db_session=session,
                    call_pk=transcript.call_pk,
                    settings=settings,
                    options=options,
                )
            return after_call(
                db_session=session, call_pk=transcript.call_pk, settings=settings, options=options
            )
    except Exception:
        log.exception("analysing transcript %s failed; run `callscope analyze`", transcript_id)
        return None


def analyze_committed_calls(
    call_pks: Sequence[int],
    *,
    session_factory: sessionmaker[Session],
    settings: Settings,
    options: AnalysisOptions | None = None,
) -> int:
    """After the connector committed calls: flags and follow-ups from telephony facts.

    Returns how many calls were analysed; errors are logged, not raised.
    """
    try:
        with session_scope(session_factory) as session:
            return len(
                after_calls(
                    db_session=session, call_pks=call_pks, settings=settings, options=options
                )
            )
    except Exception:
        log.exception("analysing calls %s failed; `callscope analyze` can redo it", list(call_pks))
        return 0
