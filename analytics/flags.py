"""Flag rules: which calls a person should look at, how urgently, and why.

Rules (each one flag per call, named by `rule`):

- `theme:<id>`: a complaint theme in the customer's speech. Its score already weighs the theme
  (lexicon weight) and repetition (weight x (1 + ln n)); score >= `theme_high_score` is high,
  >= `theme_medium_score` medium, below that no flag. A theme marked `always_flag` in the
  lexicon (safety, escalation) is always flagged: critical when listed in `critical_themes`,
  else high.
- `abandoned_after_target`: an inbound caller hung up after waiting past the target
  (answer_target_rings x ring_cycle_s of the call's queue, as `ring_policy` applies it): medium.
- `answered_late`: answered after the target ring: low.
- `long_silence`: the transcript's longest silence >= `long_silence_s`: low.
- `overtalk`: both sides talked at once for >= `overtalk_s` in all: low.
- `transcription_failed`: the recording of an answered call could not be transcribed: low.
- `survey_dissatisfied`: the customer scored the call 2 or less on a survey question: medium.

`evaluate_call` derives everything from what is stored (call, themes, transcript), so running it
again changes nothing; a flag that still holds keeps its `created_at`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics.errors import CallNotFound
from analytics.models import SEVERITIES, CallTheme, Flag, ThemeMatchRow
from analytics.surveys import lowscores
from core.settings import Settings
from telephony.models import Call
from telephony.rings import rings_for, target_seconds, within_target
from telephony.service import RingPolicy, ring_policy
from transcription.models import Transcript

THEME_RULE_PREFIX = "theme:"
ABANDONED_AFTER_TARGET = "abandoned_after_target"
ANSWERED_LATE = "answered_late"
LONG_SILENCE = "long_silence"
OVERTALK = "overtalk"
TRANSCRIPTION_FAILED = "transcription_failed"
SURVEY_DISSATISFIED = "survey_dissatisfied"


@dataclass(frozen=True, slots=True)
class FlagOptions:
    """Thresholds of the flag rules (defaults suit a dealership after-sales hotline)."""

    theme_medium_score: float = 1.0
    theme_high_score: float = 2.0
    critical_themes: tuple[str, ...] = ("safety", "escalation")
    long_silence_s: float = 20.0
    overtalk_s: float = 5.0
    flag_failed_transcription: bool = True

    def __post_init__(self) -> None:
        if not 0 < self.theme_medium_score <= self.theme_high_score:
            raise ValueError("need 0 < theme_medium_score <= theme_high_score")
        if self.long_silence_s <= 0 or self.overtalk_s <= 0:
            raise ValueError("long_silence_s and overtalk_s must be above 0")


@dataclass(frozen=True, slots=True)
class FlagDecision:
    """One rule that fires for a call."""

    rule: str
    severity: str
    reason: str


def theme_rule(theme: str) -> str:
    """The flag rule name of a complaint theme."""
    return f"{THEME_RULE_PREFIX}{theme}"


def is_theme_rule(rule: str) -> bool:
    """True for a complaint-theme flag."""
    return rule.startswith(THEME_RULE_PREFIX)


def clock(seconds: float | None) -> str:
    """Call time as m:ss."""
    if seconds is None:
        return "?"
    whole = max(0, int(round(seconds)))
    return f"{whole // 60}:{whole % 60:02d}"


def theme_decisions(
    themes: Sequence[CallTheme],
    matches: Sequence[ThemeMatchRow],
    options: FlagOptions,
) -> list[FlagDecision]:
    """Flags from a call's complaint themes."""
    first: dict[str, ThemeMatchRow] = {}
    for match in matches:
        first.setdefault(match.theme, match)
    out: list[FlagDecision] = []
    for theme in themes:
        times = "once" if theme.count == 1 else f"{theme.count} times"
        quote = ""
        if theme.theme in first:
            m = first[theme.theme]
            quote = f': "{m.text}" at {clock(m.time_s)}'
        if theme.always_flag:
            severity = "critical" if theme.theme in options.critical_themes else "high"
            reason = f"{theme.theme} is always flagged; said {times}{quote}"
        elif theme.score >= options.theme_high_score:
            severity = "high"
            reason = (
                f"complaint {theme.theme} said {times}, score {theme.score:.2f} "
                f">= {options.theme_high_score:g}{quote}"
            )
        elif theme.score >= options.theme_medium_score:
            severity = "medium"
            reason = (
                f"complaint {theme.theme} said {times}, score {theme.score:.2f} "
                f">= {options.theme_medium_score:g}{quote}"
            )
        else:
            continue
        out.append(FlagDecision(theme_rule(theme.theme), severity, reason))
    return out


def ring_decisions(call: Call, policy: RingPolicy) -> list[FlagDecision]:
    """Flags from how long an inbound caller waited."""
    if call.direction != "inbound":
        return []
    cycle, rings = policy.ring_cycle_s, policy.answer_target_rings
    target_s = target_seconds(cycle, rings)
    out: list[FlagDecision] = []
    if call.abandoned and call.wait_s is not None and call.wait_s >= target_s:
        out.append(
            FlagDecision(
                ABANDONED_AFTER_TARGET,
                "medium",
                f"caller hung up after waiting {call.wait_s:.0f} s, past the {target_s:g} s "
                f"target ({rings} rings x {cycle:g} s)",
            )
        )
    ring_s = call.ring_to_answer_s
    if call.answered and ring_s is not None and not within_target(ring_s, cycle, rings):
        out.append(
            FlagDecision(
                ANSWERED_LATE,
                "low",
                f"answered on ring {rings_for(ring_s, cycle)} after {ring_s:.0f} s; the target "
                f"is ring {rings} ({target_s:g} s)",
            )
        )
    return out


def transcript_decisions(
    call: Call, transcript: Transcript | None, failed: Transcript | None, options: FlagOptions
) -> list[FlagDecision]:
    """Flags from the done transcript's talk figures, or from a failed transcription.

    A failed transcription only counts for an answered call: the recording of a call nobody
    answered has no speech to lose.
    """
    out: list[FlagDecision] = []
    if transcript is not None:
        silence = transcript.longest_silence_s
        if silence is not None and silence >= options.long_silence_s:
            out.append(
                FlagDecision(
                    LONG_SILENCE,
                    "low",
                    f"nobody spoke for {silence:.0f} s (limit {options.long_silence_s:g} s)",
                )
            )
        overtalk = transcript.overtalk_s
        if overtalk is not None and overtalk >= options.overtalk_s:
            out.append(
                FlagDecision(
                    OVERTALK,
                    "low",
                    f"customer and agent talked at once for {overtalk:.1f} s "
                    f"(limit {options.overtalk_s:g} s)",
                )
            )
    elif failed is not None and call.answered and options.flag_failed_transcription:
        out.append(
            FlagDecision(
                TRANSCRIPTION_FAILED,
                "low",
                f"the recording could not be transcribed: {failed.error or 'no reason given'}",
            )
        )
    return out


def survey_decisions(db_session: Session, call: Call) -> list[FlagDecision]:
    """A flag when the customer answered a survey about the call with a low score."""
    low = lowscores.low_answers(db_session=db_session, call_pk=call.id)
    if not low:
        return []
    reason = f"the customer was dissatisfied: {lowscores.describe(low)}"
    return [FlagDecision(SURVEY_DISSATISFIED, "medium", reason)]


def decide(
    *,
    db_session: Session,
    call: Call,
    settings: Settings,
    options: FlagOptions,
) -> list[FlagDecision]:
    """Every rule that fires for a call, from what is stored; most severe first."""
    themes = list(db_session.scalars(select(CallTheme).where(CallTheme.call_pk == call.id)))
    matches = list(
        db_session.scalars(
            select(ThemeMatchRow)
            .where(ThemeMatchRow.call_pk == call.id)
            .order_by(ThemeMatchRow.segment, ThemeMatchRow.start)
        )
    )
    transcripts = list(
        db_session.scalars(
            select(Transcript)
            .where(Transcript.call_pk == call.id)
            .order_by(Transcript.updated_at.desc(), Transcript.id.desc())
        )
    )
    done = next((t for t in transcripts if t.status == "done"), None)
    failed = next((t for t in transcripts if t.status == "failed"), None)
    if any(t.status in ("pending", "running") for t in transcripts):
        failed = None  # being retried: not a failure yet
    decisions = [
        *theme_decisions(themes, matches, options),
        *ring_decisions(call, ring_policy(call.queue, settings)),
        *transcript_decisions(call, done, failed, options),
        *survey_decisions(db_session, call),
    ]
    decisions.sort(key=lambda d: (-SEVERITIES.index(d.severity), d.rule))
    return decisions


def evaluate_call(
    *,
    db_session: Session,
    call_pk: int,
    settings: Settings,
    options: FlagOptions | None = None,
) -> list[Flag]:
    """Replace the call's flags with the rules that fire now; most severe first. Idempotent."""
    call = db_session.get(Call, call_pk)
    if call is None:
        raise CallNotFound(f"no call with id {call_pk}")
    decisions = decide(
        db_session=db_session, call=call, settings=settings, options=options or FlagOptions()
    )
    existing = {f.rule: f for f in db_session.scalars(select(Flag).where(Flag.call_pk == call_pk))}
    wanted = {d.rule for d in decisions}
    for rule, flag in existing.items():
        if rule not in wanted:
            db_session.delete(flag)
    db_session.flush()  # deletions first: a rule may come back under the same (call, rule)
    flags: list[Flag] = []
    for decision in decisions:
        stored = existing.get(decision.rule)
        flag = stored if stored is not None else Flag(call_pk=call_pk, rule=decision.rule)
        if stored is None:
            db_session.add(flag)
        flag.severity = decision.severity
        flag.reason = decision.reason
        flags.append(flag)
    db_session.flush()
    return flags


def flags_for(*, db_session: Session, call_pk: int) -> list[Flag]:
    """The call's stored flags, most severe first."""
    rows = list(db_session.scalars(select(Flag).where(Flag.call_pk == call_pk)))
    rows.sort(key=lambda f: (-SEVERITIES.index(f.severity), f.rule))
    return rows
