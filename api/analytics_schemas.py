"""Request and response bodies of the analytics endpoints: QA forms and reviews, the review
queue, lexicon versions, flags, follow-ups and reports (request bodies forbid unknown fields)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.schemas import MAX_PAGE, PAGE_SIZE_CAP, PLAIN_TEXT, RequestBody, as_utc

Severity = Literal["low", "medium", "high", "critical"]
ReviewStatus = Literal["submitted", "acknowledged", "disputed", "resolved"]
ListFormat = Literal["json", "csv"]
CRITERION_KEY = r"^[a-z][a-z0-9_]{0,63}$"
THEME_ID = r"^[a-z][a-z0-9_]{0,63}$"
Comment = Annotated[str, Field(min_length=1, max_length=4000)]
ShortText = Annotated[str, Field(min_length=1, max_length=200, pattern=PLAIN_TEXT)]

# the earliest and latest days a review queue can be asked for (a date far outside these
# cannot be turned into a UTC time range on every database)
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2100, 12, 31)


class PageQuery(BaseModel):
    """A page of a list."""

    model_config = ConfigDict(extra="forbid")

    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int = Field(
        50, ge=1, description=f"Rows per page; larger values are capped to {PAGE_SIZE_CAP}."
    )
    format: ListFormat = Field(
        "json", description="json: one page of the list; csv: every matching row, as a download."
    )


class TimeRange(BaseModel):
    """since/until as aware UTC times (no zone = UTC)."""

    model_config = ConfigDict(extra="forbid")

    since: datetime | None = Field(
        None,
        description="At or after this ISO 8601 time (no zone = UTC).",
        examples=["2026-11-22T00:00:00Z"],
    )
    until: datetime | None = Field(
        None,
        description="Before this ISO 8601 time (no zone = UTC).",
        examples=["2026-11-23T00:00:00Z"],
    )

    @field_validator("since", "until")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return as_utc(value)


# --- QA forms ----------------------------------------------------------------------------------


class CriterionIn(RequestBody):
    """One criterion of a QA form."""

    key: str = Field(pattern=CRITERION_KEY, examples=["greeting"])
    label: ShortText = Field(examples=["Greeting and self-introduction"])
    description: str | None = Field(None, max_length=2000)
    weight: float = Field(
        1.0, gt=0, le=100, description="Share of the total, relative to the others."
    )
    max_score: int = Field(
        1, ge=1, le=100, description="1: met (1) or missed (0); more: a scale from 0."
    )
    critical: bool = Field(False, description="Scoring it 0 fails the call, whatever the total.")
    auto: Literal["answered_within_rings"] | None = Field(
        None,
        description="Filled from the call's facts unless the reviewer scores it: "
        "answered_within_rings = answered before ring `auto_rings` ended (queue's ring cycle).",
    )
    auto_rings: int | None = Field(None, ge=1, le=20, examples=[3])


class QaFormIn(RequestBody):
    """A new QA form."""

    name: ShortText = Field(examples=["Hotline call"])
    description: str | None = Field(None, max_length=2000)
    criteria: list[CriterionIn] = Field(min_length=1, max_length=50)
    is_default: bool = Field(False, description="New reviews use the default form unless told.")


class QaFormUpdate(RequestBody):
    """Changes to a form; fields left out stay. Past reviews keep the criteria they used."""

    name: ShortText | None = None
    description: str | None = Field(None, max_length=2000)
    criteria: list[CriterionIn] | None = Field(None, min_length=1, max_length=50)
    active: bool | None = Field(None, description="An inactive form takes no new reviews.")
    is_default: Literal[True] | None = Field(
        None, description="true makes this the default form (the old default stops being it)."
    )


class CriterionOut(BaseModel):
    """A criterion of a form."""

    model_config = ConfigDict(from_attributes=True)

    key: str
    label: str
    description: str | None
    weight: float
    max_score: int
    critical: bool
    auto: str | None
    auto_rings: int | None


class QaFormOut(BaseModel):
    """A QA form with its criteria in order."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str = Field(examples=["Hotline call (default)"])
    description: str | None
    is_default: bool
    active: bool
    created_at: datetime
    created_by: str | None
    updated_at: datetime
    criteria: list[CriterionOut]


# --- reviews -----------------------------------------------------------------------------------


class ScoreIn(RequestBody):
    """The score of one criterion: 0 to its max_score, or null when it does not apply."""

    criterion: str = Field(pattern=CRITERION_KEY, examples=["greeting"])
    score: int | None = Field(ge=0, le=100, examples=[1])
    comment: str | None = Field(None, max_length=2000)


class ReviewCreate(RequestBody):
    """A review of a call. Criteria with `auto` may be left out: the call's facts fill them."""

    form_id: int | None = Field(
        None, ge=1, le=2**31 - 1, description="The form to use [default: the default form]."
    )
    scores: list[ScoreIn] = Field(max_length=50)
    comment: str | None = Field(None, max_length=4000)


class AcknowledgeIn(RequestBody):
    """The agent accepts the review, optionally with a comment."""

    comment: str | None = Field(None, max_length=4000)


class DisputeIn(RequestBody):
    """The agent disputes the review and says why."""

    comment: Comment = Field(examples=["The caller hung up before I could close the call."])


class ResolveIn(RequestBody):
    """A supervisor settles a dispute: upheld keeps the scores, revised replaces the ones given."""

    resolution: Literal["upheld", "revised"]
    comment: Comment = Field(examples=["Listened again: the closing was cut off by the caller."])
    scores: list[ScoreIn] | None = Field(
        None, max_length=50, description="Only with `revised`: new scores of some criteria."
    )


class ReviewScoreOut(BaseModel):
    """One criterion's score, with the criterion as it was when scored."""

    model_config = ConfigDict(from_attributes=True)

    key: str
    label: str
    weight: float
    max_score: int
    critical: bool
    score: int | None = Field(description="null: not applicable (left out of the total).")
    auto: bool = Field(description="Filled from the call's facts, not by the reviewer.")
    comment: str | None
    missed: bool = Field(description="Scored 0; a missed critical item fails the review.")


class ReviewOut(BaseModel):
    """A QA review of a call."""

    id: int
    call_id: str = Field(examples=["1795331836.1288"])
    call_started_at: datetime
    agent: str | None = Field(examples=["Alice Kim"])
    queue: str | None = Field(examples=["hotline"])
    form_id: int | None
    form_name: str
    reviewer: str = Field(examples=["sup_hotline"])
    comment: str | None
    total_score: float = Field(
        description="100 x sum(weight x score / max_score) / sum(weight) over the criteria "
        "that apply, computed by the server.",
        examples=[87.5],
    )
    failed: bool = Field(description="A critical criterion scored 0.")
    status: ReviewStatus
    created_at: datetime
    updated_at: datetime
    agent_comment: str | None
    agent_responded_at: datetime | None
    agent_responded_by: str | None
    resolution: Literal["upheld", "revised"] | None
    resolution_comment: str | None
    resolved_by: str | None
    resolved_at: datetime | None
    scores: list[ReviewScoreOut]


class ReviewPage(BaseModel):
    """One page of reviews, newest first."""

    items: list[ReviewOut]
    total: int
    page: int
    page_size: int


class ReviewListQuery(PageQuery, TimeRange):
    """Filters of the review list (since/until: when the review was written)."""

    agent: str | None = Field(None, min_length=1, max_length=200, pattern=PLAIN_TEXT)
    queue: str | None = Field(None, min_length=1, max_length=200, pattern=PLAIN_TEXT)
    status: ReviewStatus | None = None
    failed: bool | None = None


class ReviewQueueItemOut(BaseModel):
    """A call to review on the day, with why it is there."""

    call_id: str
    started_at: datetime
    source: Literal["sampled", "flagged"]
    agent: str | None
    queue: str | None
    ring_to_answer_s: float | None
    rings: int | None = Field(description="Rings before the call was answered.")
    answered_within_target: bool | None
    severity: Severity | None = Field(description="The most severe flag; null: sampled only.")
    reasons: list[FlagOut]
    themes: list[str]
    review_status: str | None = Field(
        description="The newest review's status, or `queued` when not reviewed yet."
    )


class ReviewQueueOut(BaseModel):
    """One day's review queue: flagged calls most severe first, then newest first."""

    day: date
    tz: str
    built_now: bool = Field(description="True when this request built the day's queue.")
    items: list[ReviewQueueItemOut]


# --- flags -------------------------------------------------------------------------------------


class FlagOut(BaseModel):
    """A reason to look at a call."""

    model_config = ConfigDict(from_attributes=True)

    rule: str = Field(examples=["theme:safety"])
    severity: Severity
    reason: str = Field(examples=['safety is always flagged; said once: "brakes" at 0:02'])
    created_at: datetime


class FlagItem(FlagOut):
    """A flag in the flag list, with its call."""

    call_id: str
    started_at: datetime
    agent: str | None
    queue: str | None


class FlagPage(BaseModel):
    """One page of flags, most severe first, then newest call first."""

    items: list[FlagItem]
    total: int
    page: int
    page_size: int


class FlagListQuery(PageQuery, TimeRange):
    """Filters of the flag list (since/until: when the call started)."""

    severity: Severity | None = Field(None, description="This severity or a more severe one.")
    rule: str | None = Field(None, min_length=1, max_length=80, pattern=PLAIN_TEXT)
    queue: str | None = Field(None, min_length=1, max_length=200, pattern=PLAIN_TEXT)


# --- follow-ups --------------------------------------------------------------------------------


class FollowUpOut(BaseModel):
    """A customer to call back."""

    id: int
    call_id: str
    call_started_at: datetime
    agent: str | None
    queue: str | None
    number: str | None = Field(description="The customer's number, as they called.")
    reason: str = Field(examples=["complaint: safety"])
    due_at: datetime
    status: Literal["open", "overdue", "done"]
    created_at: datetime
    closed_at: datetime | None
    closed_by: str | None
    note: str | None
    closed_by_call_id: str | None = Field(description="The outbound call that closed it.")
    on_time: bool | None = Field(description="Closed by its due time; null while open.")


class FollowUpPage(BaseModel):
    """One page of follow-ups, soonest due first."""

    items: list[FollowUpOut]
    total: int
    page: int
    page_size: int


class FollowUpListQuery(PageQuery, TimeRange):
    """Filters of the follow-up list (since/until: when the call started)."""

    status: Literal["open", "overdue", "done"] | None = Field(
        None, description="open includes overdue; overdue = open past its due time."
    )
    queue: str | None = Field(None, min_length=1, max_length=200, pattern=PLAIN_TEXT)


class FollowUpCloseIn(RequestBody):
    """What was done for the customer."""

    note: Comment = Field(examples=["Called back, booked the brake check for Monday."])


# --- themes and lexicon ------------------------------------------------------------------------


class ThemeSetOut(BaseModel):
    """One stored lexicon version."""

    version: int
    active: bool
    created_at: datetime
    created_by: str | None
    note: str | None
    fingerprint: str
    themes: int = Field(description="How many themes it holds.")
    phrases: int = Field(description="How many phrases (all languages) it holds.")


class ThemeSetDetail(ThemeSetOut):
    """A lexicon version with its content (the YAML's data, as `themes export` writes it)."""

    content: dict[str, Any]


class LexiconCreate(RequestBody):
    """A new lexicon version from edited content: `content` (JSON) or `yaml`, not both."""

    content: dict[str, Any] | None = Field(None, description="The lexicon as JSON data.")
    yaml: str | None = Field(None, min_length=1, max_length=2_000_000)
    note: str | None = Field(None, max_length=2000, examples=["more ways to say 'overcharged'"])
    activate: bool = Field(True, description="Make it the active version at once.")

    @model_validator(mode="after")
    def _one_source(self) -> LexiconCreate:
        if (self.content is None) == (self.yaml is None):
            raise ValueError("send either content or yaml")
        return self


class PhrasesIn(RequestBody):
    """Phrases to add to a theme of the active lexicon (stored as a new active version)."""

    theme: str = Field(pattern=THEME_ID, examples=["pricing"])
    lang: Literal["zh", "zh_hant", "ko", "en"]
    phrases: list[ShortText] = Field(min_length=1, max_length=200, examples=[["charged twice"]])
    note: str | None = Field(None, max_length=2000)


class LexiconTestIn(RequestBody):
    """A sentence to try against a lexicon version (default: the active one)."""

    lang: Literal["zh", "ko", "en"] | None = Field(
        None, description="zh covers Traditional Chinese too; null: phrases of every language."
    )
    text: str = Field(min_length=1, max_length=10_000, examples=["the brakes failed again"])
    version: int | None = Field(None, ge=1, le=2**31 - 1)


class MatchOut(BaseModel):
    """Where a theme matched: `text` is exactly text[start:end]."""

    text: str
    start: int
    end: int


class ThemeScoreOut(BaseModel):
    """A theme found in the text."""

    theme: str
    score: float
    matches: list[MatchOut]


class AnalyzeOut(BaseModel):
    """The same JSON as `callscope analyze-text`."""

    themes: list[ThemeScoreOut]


class ThemeOut(BaseModel):
    """A theme of the active lexicon."""

    id: str
    labels: dict[str, str]
    weight: float
    always_flag: bool
    description: str | None
    phrases: dict[str, int] = Field(description="Phrases per list (zh, zh_hant, ko, en).")


class ThemesOut(BaseModel):
    """The themes of the active lexicon version."""

    version: int
    themes: list[ThemeOut]


class CallThemeOut(BaseModel):
    """A theme found in the call's transcript."""

    theme: str
    score: float
    count: int
    always_flag: bool
    lexicon_version: int


class CallThemeMatchOut(BaseModel):
    """One stretch of the transcript that counts for a theme, with its call time."""

    theme: str
    text: str
    start: int = Field(description="Offset in the segment's text.")
    end: int
    segment: int = Field(description="The segment's seq in the transcript.")
    speaker: str | None
    time_s: float | None
    time_end_s: float | None
    phrase: str | None


class CallThemesOut(BaseModel):
    """The call's themes and every match behind them, in call order."""

    themes: list[CallThemeOut]
    matches: list[CallThemeMatchOut]


# --- reports -----------------------------------------------------------------------------------


class ReportRange(BaseModel):
    """since/until of a report; a time without a zone is read in the report's `tz`."""

    model_config = ConfigDict(extra="forbid")

    since: datetime | None = Field(
        None,
        description="Calls started at or after (ISO 8601; no zone = in `tz`, as the CLI reads it).",
        examples=["2026-11-22T00:00:00+08:00"],
    )
    until: datetime | None = Field(
        None,
        description="Calls started before (ISO 8601; no zone = in `tz`).",
        examples=["2026-11-23T00:00:00+08:00"],
    )
    queue: str | None = Field(None, min_length=1, max_length=200, pattern=PLAIN_TEXT)
    tz: str | None = Field(
        None,
        max_length=64,
        pattern=r"^[A-Za-z0-9_+\-/]+$",
        description="IANA time zone of the buckets and of zoneless times [CALLSCOPE_TIMEZONE].",
        examples=["Asia/Shanghai"],
    )


class ComplianceQuery(ReportRange):
    """The compliance report's grouping, range and format."""

    by: Literal["queue", "agent", "hour", "day", "week"] = "queue"
    short_abandon_s: float | None = Field(
        None, ge=0, le=3600, description="Abandons that waited less are short [settings, 5]."
    )
    format: ListFormat = Field("json", description="csv: the rows as a download.")


class ComplianceSettingsOut(BaseModel):
    """What the report was computed with."""

    ring_cycle_s: float = Field(
        description="Seconds per ring (the settings; a queue may override)."
    )
    answer_target_rings: int = Field(description="Target rings (the settings; queue override).")
    short_abandon_s: float
    tz: str
    since: str | None
    until: str | None
    by: str
    queue: str | None
    queues: list[str] | None = Field(
        description="The queues the figures cover for this user (null: every queue)."
    )


class ComplianceRowOut(BaseModel):
    """The figures of one group. Fractions are 0-1, null when their denominator is 0."""

    group: str | None = Field(description="Queue, agent, or time bucket; null: no queue/agent.")
    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    answered_within_target: int
    abandoned_within_target: int
    sl_answered: float | None = Field(
        description="ANSWERED-ONLY service level (like Asterisk's SL): "
        "answered_within_target / answered."
    )
    sl_inclusive: float | None = Field(
        description="INCLUSIVE service level (abandons count, like QueueMetrics' inclusive SLA): "
        "answered_within_target / (answered + abandoned - short_abandoned)."
    )
    asa_s: float | None = Field(description="Average speed of answer, seconds.")
    max_wait_s: float | None
    abandon_rate: float | None
    talk_s: float
    followups_opened: int
    followups_on_time: int
    followup_on_time_rate: float | None


class ThemeChangeOut(BaseModel):
    """A phrase that rose against the previous period."""

    phrase: str
    matches: int
    previous_matches: int
    change: int


class ThemeTrendOut(BaseModel):
    """One theme: calls in the period against the previous period of equal length."""

    theme: str
    calls: int
    matches: int
    previous_calls: int
    change: int
    change_rate: float | None = Field(description="change / previous_calls; null when 0 before.")
    rising_phrases: list[ThemeChangeOut]


class ComplianceReportOut(BaseModel):
    """The compliance report: settings used, what each figure means, one row per group."""

    settings: ComplianceSettingsOut
    definitions: dict[str, str]
    rows: list[ComplianceRowOut]
    top_themes: list[ThemeTrendOut] | None = Field(
        None, description="Only when both since and until are given."
    )


class ThemeReportQuery(ReportRange):
    """The theme report's period (required) and queue."""

    since: datetime = Field(
        description="Calls started at or after (no zone = in `tz`).",
        examples=["2026-11-22T00:00:00+08:00"],
    )
    until: datetime = Field(
        description="Calls started before (no zone = in `tz`).",
        examples=["2026-11-23T00:00:00+08:00"],
    )
    top_phrases: int = Field(5, ge=0, le=50)


class ThemeReportOut(BaseModel):
    """Themes of [since, until) against [previous_since, since), most calls first."""

    since: str
    until: str
    previous_since: str
    queue: str | None
    calls_transcribed: int
    themes: list[ThemeTrendOut]


class FollowUpReportQuery(ReportRange):
    """The follow-up on-time report's grouping."""

    by: Literal["queue", "agent", "hour", "day", "week"] | None = Field(
        None, description="One row per group; null: one row for everything."
    )


class FollowUpRateOut(BaseModel):
    """Follow-up figures of one group."""

    group: str | None
    opened: int
    closed: int
    closed_on_time: int
    overdue: int
    open_not_due: int
    on_time_rate: float | None = Field(
        description="closed_on_time / (closed + overdue); null when both are 0."
    )


class FollowUpReportOut(BaseModel):
    """On-time follow-up rates of calls started in the range."""

    since: str | None
    until: str | None
    by: str | None
    tz: str
    queues: list[str] | None
    rows: list[FollowUpRateOut]


ReviewQueueItemOut.model_rebuild()
