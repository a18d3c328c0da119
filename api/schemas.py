"""Request and response bodies of the API (Pydantic v2); request bodies forbid unknown fields."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Role = Literal["agent", "supervisor", "manager", "admin"]
TranscriptStatus = Literal["none", "pending", "done", "failed"]
Leg = Literal["mixed", "customer", "agent"]
Speaker = Literal["customer", "agent", "unknown"]
CallSort = Literal[
    "started_at",
    "-started_at",
    "wait_s",
    "-wait_s",
    "ring_to_answer_s",
    "-ring_to_answer_s",
    "talk_s",
    "-talk_s",
]

USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$"
# names and search text: no control characters (PostgreSQL refuses NUL in text, and a tab or
# newline in a queue name is a typo, not a name)
PLAIN_TEXT = r"^[^\x00-\x1f\x7f]*$"
MAX_PAGE = 10_000
PAGE_SIZE_CAP = 200


def as_utc(value: datetime | None) -> datetime | None:
    """An aware UTC time (no zone = UTC); ValueError for a time UTC cannot hold."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("the time is out of range in UTC") from exc


QueueName = Annotated[str, Field(min_length=1, max_length=200, pattern=PLAIN_TEXT)]


class RequestBody(BaseModel):
    """Base of request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class ErrorOut(BaseModel):
    """Every 4xx/5xx answer except validation errors: what went wrong, for a person."""

    detail: str = Field(examples=["call not found"])


class ValidationIssue(BaseModel):
    """One problem with a request value: where (`loc`), what (`msg`), which check (`type`)."""

    model_config = ConfigDict(extra="allow")

    loc: list[str | int]
    msg: str
    type: str


class InvalidOut(BaseModel):
    """422: a list of value problems from validation, or one sentence from the endpoint."""

    detail: str | list[ValidationIssue] = Field(
        examples=[
            [
                {
                    "loc": ["query", "since"],
                    "msg": "Input should be a valid datetime",
                    "type": "datetime_from_date_parsing",
                }
            ]
        ]
    )


# --- users and auth ------------------------------------------------------------------------


class UserOut(BaseModel):
    """A user as the API shows it (never the password hash)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str = Field(examples=["alice"])
    role: Role
    agent_name: str | None = Field(None, examples=["Alice Kim"])
    queues: list[str] = Field(default_factory=list, examples=[["hotline"]])
    active: bool
    created_at: datetime


class LoginIn(RequestBody):
    """Credentials for `POST /auth/login`."""

    username: str = Field(min_length=1, max_length=100, pattern=PLAIN_TEXT, examples=["alice"])
    password: str = Field(min_length=1, max_length=1024, examples=["correct horse battery"])


class LoginOut(BaseModel):
    """The signed-in user and the CSRF token to send as `X-CSRF-Token` on every change."""

    user: UserOut
    csrf_token: str


class MeOut(BaseModel):
    """Who is calling, how, and what they may do."""

    user: UserOut
    auth: Literal["cookie", "bearer"]
    csrf_token: str | None = Field(
        None, description="The session's CSRF token (cookie sessions only)."
    )
    permissions: list[str] = Field(examples=[["view_unredacted"]])


class UserCreate(RequestBody):
    """A new user. Agents need `agent_name`; supervisors need at least one queue."""

    username: str = Field(pattern=USERNAME_PATTERN, examples=["alice"])
    password: str = Field(min_length=10, max_length=1024, examples=["correct horse battery"])
    role: Role
    agent_name: str | None = Field(
        None, min_length=1, max_length=200, pattern=PLAIN_TEXT, examples=["Alice Kim"]
    )
    queues: list[QueueName] = Field(default_factory=list, max_length=100, examples=[["hotline"]])
    active: bool = True


class UserUpdate(RequestBody):
    """Changes to a user; fields left out stay as they are."""

    password: str | None = Field(None, min_length=10, max_length=1024)
    role: Role | None = None
    agent_name: str | None = Field(None, min_length=1, max_length=200, pattern=PLAIN_TEXT)
    queues: list[QueueName] | None = Field(None, max_length=100)
    active: bool | None = None


class TokenCreate(RequestBody):
    """A new personal token's name (what it is for)."""

    name: str = Field(min_length=1, max_length=100, pattern=PLAIN_TEXT, examples=["wallboard"])


class TokenOut(BaseModel):
    """A personal token without its secret."""

    id: int
    name: str
    user_id: int
    username: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    """A new personal token; `token` is shown only this once."""

    token: str = Field(examples=["cs_Jk2...Q"])


# --- calls ---------------------------------------------------------------------------------


class CallFilters(BaseModel):
    """Filters shared by the call list and the CSV export (query parameters)."""

    model_config = ConfigDict(extra="forbid")

    since: datetime | None = Field(
        None,
        description="Calls that started at or after this ISO 8601 time (no zone = UTC).",
        examples=["2026-11-22T00:00:00Z"],
    )
    until: datetime | None = Field(
        None,
        description="Calls that started before this ISO 8601 time (no zone = UTC).",
        examples=["2026-11-23T00:00:00Z"],
    )
    queue: str | None = Field(
        None, min_length=1, max_length=200, pattern=PLAIN_TEXT, examples=["hotline"]
    )
    agent: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        pattern=PLAIN_TEXT,
        description="The answering agent's name.",
        examples=["Alice Kim"],
    )
    answered: bool | None = None
    within_target: bool | None = Field(
        None, description="Answered within the queue's target number of rings."
    )
    abandoned: bool | None = None
    theme: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9_]+$",
        description="Calls with this complaint theme (its id).",
        examples=["repeat_repair"],
    )
    flagged: bool | None = Field(None, description="Calls with (true) or without (false) flags.")
    reviewed: bool | None = Field(
        None, description="Calls with (true) or without (false) a QA review."
    )
    q: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        pattern=PLAIN_TEXT,
        description="Text the call's transcript contains (case-insensitive).",
        examples=["brake"],
    )

    @field_validator("since", "until")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return as_utc(value)


class CallListQuery(CallFilters):
    """The call list's filters, order and page."""

    sort: CallSort = Field("-started_at", description="Order; '-' = descending.")
    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int = Field(
        50, ge=1, description=f"Calls per page; larger values are capped to {PAGE_SIZE_CAP}."
    )


class AttemptOut(BaseModel):
    """One agent's phone ringing for the call."""

    agent: str
    ring_s: float | None
    outcome: str = Field(examples=["answered"])


class RecordingPaths(BaseModel):
    """The recording files as the PBX names them (play them through the recording endpoint)."""

    mixed: str | None
    customer: str | None
    agent: str | None


class CallItem(BaseModel):
    """One call as the console lists it."""

    call_id: str = Field(description="Asterisk Linkedid.", examples=["1795331836.1288"])
    uniqueid: str
    started_at: datetime
    ended_at: datetime | None
    direction: str = Field(examples=["inbound"])
    queue: str | None = Field(examples=["hotline"])
    caller_number: str | None
    caller_name: str | None
    answered: bool
    agent: str | None = Field(examples=["Alice Kim"])
    ring_to_answer_s: float | None
    rings: int | None
    answered_within_target: bool | None
    abandoned: bool
    wait_s: float | None
    talk_s: float | None
    attempts: list[AttemptOut]
    recording: RecordingPaths
    source: str = Field(examples=["ami"])
    transcript_status: TranscriptStatus
    themes: list[str] = Field(description="Complaint themes found (empty until analysed).")
    flags: list[str] = Field(description="Review flags raised (empty until analysed).")
    review_status: str | None = Field(
        description="The newest QA review's status (submitted, acknowledged, disputed, "
        "resolved), `queued` while it waits in a review queue (not shown to agents), else null."
    )


class CallPage(BaseModel):
    """One page of calls. `total` is exact up to `total_cap`; past it `total_exact` is false."""

    items: list[CallItem]
    total: int = Field(examples=[1234])
    total_exact: bool = Field(
        description="False when more calls match than were counted (narrow the filters)."
    )
    page: int
    page_size: int


class AttemptDetail(BaseModel):
    """One attempt on the call's timeline."""

    seq: int
    agent: str
    started_at: datetime | None
    ring_s: float | None
    outcome: str


class WordOut(BaseModel):
    """One word with its time in the recording."""

    start_s: float
    end_s: float
    text: str
    probability: float | None


class SegmentOut(BaseModel):
    """One stretch of speech by one speaker."""

    seq: int
    start_s: float
    end_s: float
    speaker: Speaker
    text: str
    words: list[WordOut]


class TranscriptMetrics(BaseModel):
    """Talk figures derived from the transcript."""

    talk_customer_s: float | None
    talk_agent_s: float | None
    talk_unknown_s: float | None
    silence_ratio: float | None
    longest_silence_s: float | None
    overtalk_s: float | None


class TranscriptOut(BaseModel):
    """The call's transcript; `redacted` says personal numbers were masked for this user."""

    status: Literal["pending", "running", "done", "failed"]
    model: str
    language: str | None
    audio_s: float | None
    error: str | None
    redacted: bool
    metrics: TranscriptMetrics
    segments: list[SegmentOut]


class CallDetail(CallItem):
    """A call with its attempts timeline and transcript."""

    timeline: list[AttemptDetail]
    transcript: TranscriptOut | None


# --- audit ---------------------------------------------------------------------------------


class AuditQuery(BaseModel):
    """Filters and page of the audit trail."""

    model_config = ConfigDict(extra="forbid")

    action: str | None = Field(None, max_length=64, pattern=PLAIN_TEXT, examples=["recording.play"])
    username: str | None = Field(None, max_length=100, pattern=PLAIN_TEXT)
    since: datetime | None = None
    until: datetime | None = None
    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int = Field(
        50, ge=1, description=f"Entries per page; larger values are capped to {PAGE_SIZE_CAP}."
    )

    @field_validator("since", "until")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return as_utc(value)


class AuditOut(BaseModel):
    """One audit entry."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    user_id: int | None
    username: str
    action: str = Field(examples=["recording.play"])
    object_type: str | None = Field(examples=["call"])
    object_id: str | None
    detail: dict[str, Any]
    ip: str | None
    user_agent: str | None


class AuditPage(BaseModel):
    """One page of the audit trail, newest first."""

    items: list[AuditOut]
    total: int
    page: int
    page_size: int


# --- operations ----------------------------------------------------------------------------


class CheckOut(BaseModel):
    """One dependency's health."""

    ok: bool
    detail: str | None = None


class HealthOut(BaseModel):
    """`ok` when every dependency answers; otherwise which one failed."""

    status: Literal["ok", "unavailable"]
    checks: dict[str, CheckOut]
