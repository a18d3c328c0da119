"""Survey forms, responses and their answers, rejected inputs, callback list items."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow

SOURCES: tuple[str, ...] = ("console", "ivr", "csv")
"""How an answer arrived: an agent on the callback, the post-call IVR, an import."""

SCORE_MIN, SCORE_MAX = 1, 5
DISSATISFIED_MAX = 2
"""A score at or below this is a dissatisfied answer (it flags the call and opens a follow-up)."""

DEFAULT_FORM = "default"
DEFAULT_QUESTIONS: tuple[tuple[str, str], ...] = (
    ("overall", "Overall service"),
    ("reach_speed", "Speed of reaching a person"),
    ("ivr_menu", "IVR menu"),
    ("agent_attitude", "Agent attitude"),
    ("agent_resolution", "Agent's ability to solve the problem"),
    ("outcome", "Outcome of the call"),
)
"""The six dimensions hotlines ask about, each scored 1-5, in IVR question order."""


class SurveyForm(Base):
    """A survey: its questions (each scored 1-5) in order; free text and would-recommend too."""

    __tablename__ = "survey_forms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # [{"key": "overall", "label": "Overall service"}, ...]; IVR question n is the n-th
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(200))

    def question_keys(self) -> list[str]:
        """The question keys in order."""
        return [str(q["key"]) for q in self.questions]

    def label(self, key: str) -> str:
        """A question's label (its key when the form does not know it)."""
        return next((str(q["label"]) for q in self.questions if q["key"] == key), key)


class SurveyResponse(Base):
    """One customer's answers about one call (the judged call)."""

    __tablename__ = "survey_responses"
    __table_args__ = (Index("ix_survey_responses_answered_at", "answered_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    form_id: Mapped[int | None] = mapped_column(ForeignKey("survey_forms.id", ondelete="SET NULL"))
    form_name: Mapped[str] = mapped_column(String(100))  # kept when the form is gone
    call_pk: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    # the call on which the customer answered, when it was a callback by phone
    callback_call_pk: Mapped[int | None] = mapped_column(
        ForeignKey("calls.id", ondelete="SET NULL")
    )
    source: Mapped[str] = mapped_column(String(16))  # console|ivr|csv
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    entered_by: Mapped[str | None] = mapped_column(String(200))
    would_recommend: Mapped[bool | None] = mapped_column(Boolean)
    comment: Mapped[str | None] = mapped_column(Text)
    # identity for idempotent intake: "ivr:<call>:<survey channel>", "csv:<row digest>"
    external_ref: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    answers: Mapped[list[SurveyAnswer]] = relationship(
        order_by="SurveyAnswer.id", cascade="all, delete-orphan", lazy="selectin"
    )

    def scores(self) -> dict[str, int]:
        """Question key -> score."""
        return {a.question: a.score for a in self.answers}

    @property
    def dissatisfied(self) -> bool:
        """True when any answer is DISSATISFIED_MAX or less."""
        return any(a.score <= DISSATISFIED_MAX for a in self.answers)


class SurveyAnswer(Base):
    """The score (1-5) of one question in a response."""

    __tablename__ = "survey_answers"
    __table_args__ = (
        UniqueConstraint("response_id", "question"),
        Index("ix_survey_answers_question", "question"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("survey_responses.id", ondelete="CASCADE"), index=True
    )
    question: Mapped[str] = mapped_column(String(64))
    score: Mapped[int] = mapped_column(Integer)


class SurveyInput(Base):
    """One IVR event or CSV row taken in, accepted or rejected with the reason (nothing is lost)."""

    __tablename__ = "survey_inputs"
    __table_args__ = (Index("ix_survey_inputs_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))  # ivr|csv
    # the raw AMI event's digest, or the CSV row's: the same input twice is taken once
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    call_ref: Mapped[str | None] = mapped_column(String(200))  # the Linkedid as given
    status: Mapped[str] = mapped_column(String(16))  # accepted|rejected
    reason: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    response_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_responses.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CallbackItem(Base):
    """A customer to call back about a call: complaint, abandoned or sampled; one per call."""

    __tablename__ = "callback_items"
    __table_args__ = (Index("ix_callback_items_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    call_pk: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), unique=True)
    reason: Mapped[str] = mapped_column(String(16))  # complaint|abandoned|sample
    detail: Mapped[str | None] = mapped_column(Text)
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )
    number: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|done
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(200))
    closed_by_call_pk: Mapped[int | None] = mapped_column(
        ForeignKey("calls.id", ondelete="SET NULL")
    )
    note: Mapped[str | None] = mapped_column(Text)
    response_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_responses.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def status_at(self, now: datetime) -> str:
        """open, done, or overdue (open past its due time) at `now`."""
        if self.status == "open" and now > self.due_at:
            return "overdue"
        return self.status
